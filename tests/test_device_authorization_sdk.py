"""What a device sees when IoT policies say no, through the real AWS IoT Device SDK (awscrt) over mutual
TLS: CONNECT refused "not authorized", a denied publish (MQTT 5: PUBACK 0x87; MQTT 3.1.1: the connection
is closed), a denied subscription (SUBACK failure), a denied receive (not delivered), a claim outside its
template's topics."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import pytest
from awscrt import mqtt, mqtt5
from awscrt.exceptions import AwsCrtError
from awsiot import mqtt_connection_builder

from mock_iotprov import MockIotProvisioning
from tests.device_sdk import TIMEOUT, Credentials, Inbox, claim_credentials, mqtt3_connection, mqtt5_session
from tests.device_support import create_template
from tests.helpers import iot_client
from tests.policy_support import policy_document

ARN = "arn:aws:iot:us-east-1:123456789012:"


@pytest.fixture
def iot(iot_provisioning_mqtt: MockIotProvisioning) -> Any:
    return iot_client()


@pytest.fixture
def mock(iot_provisioning_mqtt: MockIotProvisioning) -> MockIotProvisioning:
    return iot_provisioning_mqtt


def device_with_policy(iot: Any, name: str, *statements: dict[str, Any]) -> Credentials:
    """A new ACTIVE certificate with a policy of these statements attached."""
    created = iot.create_keys_and_certificate(setAsActive=True)
    iot.create_policy(policyName=name, policyDocument=policy_document(*statements))
    iot.attach_policy(policyName=name, target=created["certificateArn"])
    return Credentials(created["certificatePem"], created["keyPair"]["PrivateKey"])


def allow(action: Any, resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@contextmanager
def watched_mqtt3(
    mock: MockIotProvisioning, credentials: Credentials, client_id: str
) -> Iterator[tuple[mqtt.Connection, Future[Any]]]:
    """A connected MQTT 3.1.1 connection and a future set when the broker interrupts it."""
    interrupted: Future[Any] = Future()

    def on_interrupted(connection: Any, error: Any, **kwargs: Any) -> None:
        if not interrupted.done():
            interrupted.set_result(error)

    connection = mqtt_connection_builder.mtls_from_bytes(
        endpoint=mock.mqtt_host,
        port=mock.mqtt_port,
        cert_bytes=credentials.certificate_pem.encode(),
        pri_key_bytes=credentials.private_key_pem.encode(),
        ca_bytes=mock.ca_bundle_pem.encode(),
        client_id=client_id,
        clean_session=True,
        keep_alive_secs=30,
        on_connection_interrupted=on_interrupted,
    )
    connection.connect().result(TIMEOUT)
    try:
        yield connection, interrupted
    finally:
        connection.disconnect().result(TIMEOUT)


def test_connect_refused_when_the_client_id_is_not_the_thing_name(
    mock: MockIotProvisioning, iot: Any
) -> None:
    credentials = device_with_policy(
        iot, "thing-only", allow("iot:Connect", ARN + "client/${iot:Connection.Thing.ThingName}")
    )
    certificate_arn = iot.list_certificates()["certificates"][0]["certificateArn"]
    iot.create_thing(thingName="lamp")
    iot.attach_thing_principal(thingName="lamp", principal=certificate_arn)
    with mqtt5_session(mock, credentials, "not-the-lamp", expect_connect=False) as session:
        failure = session.failure.result(TIMEOUT)
    assert failure.connack_packet is not None
    assert failure.connack_packet.reason_code == mqtt5.ConnectReasonCode.NOT_AUTHORIZED
    with pytest.raises(AwsCrtError):  # awscrt reports CONNACK return code 5 as an error of connect()
        with mqtt3_connection(mock, credentials, "not-the-lamp-either"):
            pass
    with mqtt5_session(mock, credentials, "lamp") as session:
        assert session.connected.done()


def test_denied_publish_gets_puback_not_authorized_on_mqtt5(mock: MockIotProvisioning, iot: Any) -> None:
    credentials = device_with_policy(
        iot, "publisher", allow("iot:Connect", "*"), allow("iot:Publish", ARN + "topic/allowed/*")
    )
    with mqtt5_session(mock, credentials, "publisher") as session:
        client = session.client
        denied = client.publish(
            mqtt5.PublishPacket(topic="forbidden/x", payload=b"1", qos=mqtt5.QoS.AT_LEAST_ONCE)
        )
        assert denied.result(TIMEOUT).puback.reason_code == mqtt5.PubackReasonCode.NOT_AUTHORIZED
        fine = client.publish(
            mqtt5.PublishPacket(topic="allowed/x", payload=b"2", qos=mqtt5.QoS.AT_LEAST_ONCE)
        )
        assert fine.result(TIMEOUT).puback.reason_code == mqtt5.PubackReasonCode.SUCCESS


def test_denied_publish_closes_the_connection_on_mqtt311(mock: MockIotProvisioning, iot: Any) -> None:
    credentials = device_with_policy(
        iot, "publisher", allow("iot:Connect", "*"), allow("iot:Publish", ARN + "topic/allowed/*")
    )
    with watched_mqtt3(mock, credentials, "publisher-311") as (connection, interrupted):
        connection.publish("allowed/x", b"1", mqtt.QoS.AT_LEAST_ONCE)[0].result(TIMEOUT)
        assert not interrupted.done()
        connection.publish("forbidden/x", b"2", mqtt.QoS.AT_LEAST_ONCE)
        assert interrupted.result(TIMEOUT) is not None


def test_denied_subscription_gets_a_suback_failure(mock: MockIotProvisioning, iot: Any) -> None:
    credentials = device_with_policy(
        iot, "subscriber", allow("iot:Connect", "*"), allow("iot:Subscribe", ARN + "topicfilter/sensors/+")
    )
    with mqtt5_session(mock, credentials, "subscriber") as session:
        subscribe = mqtt5.SubscribePacket(
            subscriptions=[
                mqtt5.Subscription("sensors/+", mqtt5.QoS.AT_LEAST_ONCE),
                mqtt5.Subscription("sensors/#", mqtt5.QoS.AT_LEAST_ONCE),  # + and # are literal in policies
            ]
        )
        suback = session.client.subscribe(subscribe).result(TIMEOUT)
        assert suback.reason_codes == [
            mqtt5.SubackReasonCode.GRANTED_QOS_1,
            mqtt5.SubackReasonCode.NOT_AUTHORIZED,
        ]
    with mqtt3_connection(mock, credentials, "subscriber-311") as connection:
        granted, _ = connection.subscribe("sensors/+", mqtt.QoS.AT_LEAST_ONCE, lambda **kw: None)
        assert granted.result(TIMEOUT)["qos"] == mqtt.QoS.AT_LEAST_ONCE
        refused, _ = connection.subscribe("sensors/#", mqtt.QoS.AT_LEAST_ONCE, lambda **kw: None)
        with pytest.raises(mqtt.SubscribeError):  # awscrt's report of SUBACK return code 0x80
            refused.result(TIMEOUT)


def test_denied_receive_is_not_delivered(mock: MockIotProvisioning, iot: Any) -> None:
    """A subscription allowed on topicfilter/… without iot:Receive on topic/… receives nothing."""
    listener = device_with_policy(
        iot,
        "listener",
        allow("iot:Connect", "*"),
        allow("iot:Subscribe", ARN + "topicfilter/room/*"),
        allow("iot:Receive", ARN + "topic/room/open"),
    )
    talker = device_with_policy(iot, "talker", allow(["iot:Connect", "iot:Publish"], "*"))
    inbox = Inbox()
    with mqtt3_connection(mock, listener, "listener") as receiving:
        receiving.subscribe("room/+", mqtt.QoS.AT_LEAST_ONCE, inbox.on_message)[0].result(TIMEOUT)
        with mqtt3_connection(mock, talker, "talker") as sending:
            sending.publish("room/secret", b"hidden", mqtt.QoS.AT_LEAST_ONCE)[0].result(TIMEOUT)
            sending.publish("room/open", b"visible", mqtt.QoS.AT_LEAST_ONCE)[0].result(TIMEOUT)
            assert inbox.wait_for("room/open") == b"visible"
    assert inbox.topics() == ["room/open"]


def test_claim_may_publish_only_to_its_templates_topics(mock: MockIotProvisioning, iot: Any) -> None:
    create_template(iot, "fleet")
    with mqtt5_session(mock, claim_credentials(iot, "fleet"), "claimed") as session:
        client = session.client
        outside = client.publish(
            mqtt5.PublishPacket(topic="telemetry", payload=b"1", qos=mqtt5.QoS.AT_LEAST_ONCE)
        )
        assert outside.result(TIMEOUT).puback.reason_code == mqtt5.PubackReasonCode.NOT_AUTHORIZED
        other = client.publish(
            mqtt5.PublishPacket(
                topic="$aws/provisioning-templates/other/provision/json",
                payload=b"{}",
                qos=mqtt5.QoS.AT_LEAST_ONCE,
            )
        )
        assert other.result(TIMEOUT).puback.reason_code == mqtt5.PubackReasonCode.NOT_AUTHORIZED
        suback = session.client.subscribe(
            mqtt5.SubscribePacket(
                subscriptions=[mqtt5.Subscription("$aws/certificates/create/json/accepted")]
            )
        ).result(TIMEOUT)
        assert suback.reason_codes == [mqtt5.SubackReasonCode.GRANTED_QOS_0]


def test_bulk_claim_gets_only_what_its_policy_allows(mock: MockIotProvisioning, iot: Any) -> None:
    """A registered certificate used as a claim, with AWS's claim-policy example attached: CreateKeys
    works; CreateCertificateFromCsr, which the example policy leaves out, is refused."""
    create_template(iot, "fleet")
    topics = [
        ARN + "topic/$aws/certificates/create/*",
        ARN + "topic/$aws/provisioning-templates/fleet/provision/*",
    ]
    credentials = device_with_policy(
        iot,
        "claim-policy",
        allow("iot:Connect", "*"),
        allow(["iot:Publish", "iot:Receive"], topics),
        allow("iot:Subscribe", [t.replace(":topic/", ":topicfilter/") for t in topics]),
    )
    inbox = Inbox()
    with mqtt5_session(
        mock,
        credentials,
        "bulk-claim",
        on_publish_received=lambda e: inbox.on_message(e.publish_packet.topic, e.publish_packet.payload),
    ) as session:
        client = session.client
        subscribe = mqtt5.SubscribePacket(
            subscriptions=[
                mqtt5.Subscription("$aws/certificates/create/json/accepted", mqtt5.QoS.AT_LEAST_ONCE)
            ]
        )
        assert client.subscribe(subscribe).result(TIMEOUT).reason_codes == [
            mqtt5.SubackReasonCode.GRANTED_QOS_1
        ]
        create = mqtt5.PublishPacket(
            topic="$aws/certificates/create/json", payload=b"{}", qos=mqtt5.QoS.AT_LEAST_ONCE
        )
        assert client.publish(create).result(TIMEOUT).puback.reason_code == mqtt5.PubackReasonCode.SUCCESS
        assert b"certificateOwnershipToken" in inbox.wait_for("$aws/certificates/create/json/accepted")
        from_csr = mqtt5.PublishPacket(
            topic="$aws/certificates/create-from-csr/json", payload=b"{}", qos=mqtt5.QoS.AT_LEAST_ONCE
        )
        assert (
            client.publish(from_csr).result(TIMEOUT).puback.reason_code
            == mqtt5.PubackReasonCode.NOT_AUTHORIZED
        )
