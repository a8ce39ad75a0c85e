"""Just-in-time provisioning and registration through the real AWS IoT Device SDK (awscrt): the first
connection is dropped without a CONNACK, the reconnect succeeds with what JITP created, or once the JITR
event was acted on (the test plays the JITR Lambda)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from awscrt import mqtt, mqtt5
from awscrt.exceptions import AwsCrtError

from mock_iotprov import MockIotProvisioning
from mock_iotprov.pki import certificate_id
from tests.device_sdk import TIMEOUT, Credentials, Inbox, mqtt3_connection, mqtt5_session
from tests.helpers import iot_client
from tests.jit_support import JITP_TEMPLATE, AutoRegisteringCA, prepare_jitp_registry
from tests.policy_support import allow_everything

FAST_RETRY = {
    "min_reconnect_delay_ms": 100,
    "max_reconnect_delay_ms": 300,
    "retry_jitter_mode": mqtt5.ExponentialBackoffJitterMode.NONE,
}


@pytest.fixture
def iot(iot_provisioning_mqtt: MockIotProvisioning) -> Any:
    return iot_client()


@pytest.fixture
def mock(iot_provisioning_mqtt: MockIotProvisioning) -> MockIotProvisioning:
    return iot_provisioning_mqtt


@pytest.fixture
def authority() -> AutoRegisteringCA:
    return AutoRegisteringCA.create("JIT Device CA")


def test_jitp_first_connection_dropped_then_the_mqtt5_retry_connects(
    mock: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA
) -> None:
    prepare_jitp_registry(iot)
    authority.register_for_jit(iot, JITP_TEMPLATE)
    device = authority.device("bulb-5g")
    credentials = Credentials(device.certificate_pem, device.private_key_pem)
    with mqtt5_session(mock, credentials, "bulb-5g", expect_connect=False, **FAST_RETRY) as session:
        first = session.failure.result(TIMEOUT)
        assert first.connack_packet is None  # dropped without an answer
        session.connected.result(TIMEOUT)
        publish = mqtt5.PublishPacket(
            topic="lights/bulb-5g/state", payload=b"on", qos=mqtt5.QoS.AT_LEAST_ONCE
        )
        assert (
            session.client.publish(publish).result(TIMEOUT).puback.reason_code
            == mqtt5.PubackReasonCode.SUCCESS
        )
    thing = iot.describe_thing(thingName="bulb-5g")
    assert thing["attributes"]["serialNumber"] == "0001"
    described = iot.describe_certificate(certificateId=certificate_id(device.certificate))
    assert described["certificateDescription"]["status"] == "ACTIVE"


def test_jitp_over_mqtt311_reconnect_uses_the_template_policy(
    mock: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA
) -> None:
    prepare_jitp_registry(iot)
    authority.register_for_jit(iot, JITP_TEMPLATE)
    device = authority.device("bulb-311")
    credentials = Credentials(device.certificate_pem, device.private_key_pem)
    with pytest.raises(AwsCrtError):
        with mqtt3_connection(mock, credentials, "bulb-311"):
            pass
    inbox = Inbox()
    with mqtt3_connection(mock, credentials, "bulb-311") as connection:
        connection.subscribe("lights/bulb-311/+", mqtt.QoS.AT_LEAST_ONCE, inbox.on_message)[0].result(TIMEOUT)
        connection.publish("lights/bulb-311/state", b"on", mqtt.QoS.AT_LEAST_ONCE)[0].result(TIMEOUT)
        assert inbox.wait_for("lights/bulb-311/state") == b"on"
    with pytest.raises(AwsCrtError):  # the template's policy allows only the thing's own client id
        with mqtt3_connection(mock, credentials, "someone-else"):
            pass


def test_jitr_event_then_activation_lets_the_device_in(
    mock: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA
) -> None:
    ca_id = authority.register_for_jit(iot)
    device = authority.device("sensor-jitr")
    cid = certificate_id(device.certificate)
    lambda_side = iot.create_keys_and_certificate(setAsActive=True)
    allow_everything(iot, lambda_side["certificateArn"])
    events = Inbox()
    topic = f"$aws/events/certificates/registered/{ca_id}"
    listener = Credentials(lambda_side["certificatePem"], lambda_side["keyPair"]["PrivateKey"])
    with mqtt3_connection(mock, listener, "jitr-lambda") as listening:
        listening.subscribe(
            "$aws/events/certificates/registered/+", mqtt.QoS.AT_LEAST_ONCE, events.on_message
        )[0].result(TIMEOUT)
        credentials = Credentials(device.certificate_pem, device.private_key_pem)
        with mqtt5_session(mock, credentials, "sensor-jitr", expect_connect=False, **FAST_RETRY) as session:
            event = json.loads(events.wait_for(topic))
            assert event["certificateId"] == cid and event["certificateStatus"] == "PENDING_ACTIVATION"
            assert session.failure.result(TIMEOUT).connack_packet is None
            assert not session.connected.done()
            # what a JITR Lambda does: activate the certificate and give it a policy
            iot.update_certificate(certificateId=event["certificateId"], newStatus="ACTIVE")
            certificate_arn = iot.describe_certificate(certificateId=cid)["certificateDescription"][
                "certificateArn"
            ]
            allow_everything(iot, certificate_arn)
            session.connected.result(TIMEOUT)
