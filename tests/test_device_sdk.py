"""The device side through the real AWS IoT Device SDK (awsiotsdk on awscrt) over mutual TLS: the V1
callback client over MQTT 3.1.1, the V2 request/response client over MQTT 5 and 3.1.1, rejections, reply
isolation, reconnecting with the new certificate, authentication at CONNECT, presence events."""

from __future__ import annotations

import datetime
import json
from concurrent.futures import Future
from typing import Any

import pytest
import time_machine
from awscrt import mqtt, mqtt5
from awsiot import V2ServiceException, iotidentity

from mock_iotprov import MockIotProvisioning
from tests.device_sdk import (
    TIMEOUT,
    Credentials,
    Inbox,
    claim_credentials,
    identity_v2,
    mqtt3_connection,
    mqtt5_session,
)
from tests.device_support import FLEET_TEMPLATE, NO_THING_TEMPLATE, create_template
from tests.helpers import ROLE_ARN, TestCertificateAuthority, iot_client, make_csr, pem_text, subject_name
from tests.policy_support import allow_everything

UTC = datetime.timezone.utc
HOOK_ARN = "arn:aws:lambda:us-east-1:123456789012:function:check-serial"


@pytest.fixture
def iot(iot_provisioning_mqtt: MockIotProvisioning) -> Any:
    client = iot_client()
    create_template(client)
    return client


@pytest.fixture
def mock(iot_provisioning_mqtt: MockIotProvisioning) -> MockIotProvisioning:
    return iot_provisioning_mqtt


def _v1_call(
    subscribe_accepted: Any, subscribe_rejected: Any, publish: Any, subscription: Any, request: Any
) -> Any:
    """Subscribe to accepted and rejected, publish, and wait: the accepted response or the error response."""
    answer: Future[Any] = Future()
    subscribe_accepted(subscription, mqtt.QoS.AT_LEAST_ONCE, lambda r: answer.set_result(("accepted", r)))[
        0
    ].result(TIMEOUT)
    subscribe_rejected(subscription, mqtt.QoS.AT_LEAST_ONCE, lambda r: answer.set_result(("rejected", r)))[
        0
    ].result(TIMEOUT)
    publish(request, mqtt.QoS.AT_LEAST_ONCE).result(TIMEOUT)
    return answer.result(TIMEOUT)


def _v1_create_keys(client: iotidentity.IotIdentityClient) -> Any:
    outcome, response = _v1_call(
        client.subscribe_to_create_keys_and_certificate_accepted,
        client.subscribe_to_create_keys_and_certificate_rejected,
        client.publish_create_keys_and_certificate,
        iotidentity.CreateKeysAndCertificateSubscriptionRequest(),
        iotidentity.CreateKeysAndCertificateRequest(),
    )
    assert outcome == "accepted", response
    return response


def _v1_register(
    client: iotidentity.IotIdentityClient, token: str, parameters: dict[str, str], template: str = "fleet"
) -> Any:
    return _v1_call(
        client.subscribe_to_register_thing_accepted,
        client.subscribe_to_register_thing_rejected,
        client.publish_register_thing,
        iotidentity.RegisterThingSubscriptionRequest(template_name=template),
        iotidentity.RegisterThingRequest(
            template_name=template, certificate_ownership_token=token, parameters=parameters
        ),
    )


def test_v1_client_over_mqtt311_keys_then_register_then_reconnect(
    mock: MockIotProvisioning, iot: Any
) -> None:
    with mqtt3_connection(mock, claim_credentials(iot), "v1-device") as connection:
        client = iotidentity.IotIdentityClient(connection)
        keys = _v1_create_keys(client)
        outcome, registered = _v1_register(client, keys.certificate_ownership_token, {"SerialNumber": "311"})
    assert outcome == "accepted", registered
    assert registered.thing_name == "device-311"
    assert registered.device_configuration == {"FallbackUrl": "https://www.example.com/"}
    described = iot.describe_certificate(certificateId=keys.certificate_id)["certificateDescription"]
    assert described["status"] == "ACTIVE"
    device = Credentials(keys.certificate_pem, keys.private_key)
    _publish_between_two_clients(mock, iot, device)


def _publish_between_two_clients(mock: MockIotProvisioning, iot: Any, device: Credentials) -> None:
    """The provisioned device reconnects with its new certificate and talks to another client."""
    other = iot.create_keys_and_certificate(setAsActive=True)
    allow_everything(iot, other["certificateArn"])
    listener = Credentials(other["certificatePem"], other["keyPair"]["PrivateKey"])
    inbox = Inbox()
    with mqtt3_connection(mock, listener, "listener") as receiving:
        receiving.subscribe("telemetry/+", mqtt.QoS.AT_LEAST_ONCE, inbox.on_message)[0].result(TIMEOUT)
        with mqtt3_connection(mock, device, "device-311") as sending:
            sending.publish("telemetry/device-311", b'{"t": 21.5}', mqtt.QoS.AT_LEAST_ONCE)[0].result(TIMEOUT)
            assert inbox.wait_for("telemetry/device-311") == b'{"t": 21.5}'


def test_v1_client_create_certificate_from_csr(mock: MockIotProvisioning, iot: Any) -> None:
    csr, key = make_csr(subject_name("csr-device"))
    with mqtt3_connection(mock, claim_credentials(iot), "csr-device") as connection:
        client = iotidentity.IotIdentityClient(connection)
        outcome, created = _v1_call(
            client.subscribe_to_create_certificate_from_csr_accepted,
            client.subscribe_to_create_certificate_from_csr_rejected,
            client.publish_create_certificate_from_csr,
            iotidentity.CreateCertificateFromCsrSubscriptionRequest(),
            iotidentity.CreateCertificateFromCsrRequest(certificate_signing_request=csr),
        )
        assert outcome == "accepted", created
        outcome, registered = _v1_register(
            client, created.certificate_ownership_token, {"SerialNumber": "csr"}
        )
    assert outcome == "accepted" and registered.thing_name == "device-csr"
    from cryptography import x509

    assert x509.load_pem_x509_certificate(created.certificate_pem.encode()).public_key() == key.public_key()


def test_v2_client_over_mqtt5(mock: MockIotProvisioning, iot: Any) -> None:
    with mqtt5_session(mock, claim_credentials(iot), "v2-mqtt5") as session:
        identity = identity_v2(session.client)
        keys = identity.create_keys_and_certificate(iotidentity.CreateKeysAndCertificateRequest()).result(
            TIMEOUT
        )
        registered = identity.register_thing(
            iotidentity.RegisterThingRequest(
                template_name="fleet",
                certificate_ownership_token=keys.certificate_ownership_token,
                parameters={"SerialNumber": "5"},
            )
        ).result(TIMEOUT)
    assert registered.thing_name == "device-5"
    assert iot.describe_thing(thingName="device-5")["attributes"] == {"serial": "5"}
    with mqtt5_session(mock, Credentials(keys.certificate_pem, keys.private_key), "device-5"):
        pass


def test_v2_client_over_mqtt311_with_csr(mock: MockIotProvisioning, iot: Any) -> None:
    csr, _ = make_csr(subject_name("v2-csr"))
    with mqtt3_connection(mock, claim_credentials(iot), "v2-mqtt311") as connection:
        identity = identity_v2(connection)
        created = identity.create_certificate_from_csr(
            iotidentity.CreateCertificateFromCsrRequest(certificate_signing_request=csr)
        ).result(TIMEOUT)
        registered = identity.register_thing(
            iotidentity.RegisterThingRequest(
                template_name="fleet",
                certificate_ownership_token=created.certificate_ownership_token,
                parameters={"SerialNumber": "6"},
            )
        ).result(TIMEOUT)
    assert registered.thing_name == "device-6"


def _v2_rejection(future: Future[Any]) -> Any:
    with pytest.raises(V2ServiceException) as raised:
        future.result(TIMEOUT)
    error = raised.value.modeled_error
    assert error is not None, raised.value.message
    return error


def _register_request(
    token: str, template: str = "fleet", serial: str = "1"
) -> iotidentity.RegisterThingRequest:
    return iotidentity.RegisterThingRequest(
        template_name=template, certificate_ownership_token=token, parameters={"SerialNumber": serial}
    )


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("empty token", 400, "InvalidCertificateOwnershipToken"),
        ("unknown token", 400, "InvalidCertificateOwnershipToken"),
        ("foreign token", 400, "InvalidCertificateOwnershipToken"),
        ("expired token", 400, "InvalidCertificateOwnershipToken"),
        ("missing template", 404, "ResourceNotFound"),
        ("disabled template", 400, "InvalidRequest"),
        ("JITP template", 400, "InvalidRequest"),
        ("hook denies", 403, "AccessDenied"),
        ("hook raises", 403, "AccessDenied"),
        ("hook unregistered", 403, "AccessDenied"),
        ("template fails", 400, "ResourceRegistrationFailure"),
    ],
)
def test_register_thing_rejections_through_the_sdk(
    mock: MockIotProvisioning, iot: Any, case: str, status: int, code: str
) -> None:
    template = {"missing template": "absent", "disabled template": "off", "JITP template": "jitp"}.get(
        case, "fleet"
    )
    if case == "disabled template":
        create_template(iot, "off", enabled=False)
    if case == "JITP template":
        create_template(iot, "jitp", NO_THING_TEMPLATE, type="JITP")
    if case.startswith("hook"):
        iot.update_provisioning_template(templateName="fleet", preProvisioningHook={"targetArn": HOOK_ARN})
        if case == "hook denies":
            mock.register_lambda(HOOK_ARN, lambda event, context: {"allowProvisioning": False})
        elif case == "hook raises":
            mock.register_lambda(HOOK_ARN, lambda event, context: 1 / 0)
    if case == "template fails":
        broken = json.loads(FLEET_TEMPLATE)
        broken["Resources"]["thing"]["Properties"]["ThingGroups"] = ["no-such-group"]
        create_template(iot, "broken", json.dumps(broken))
        template = "broken"
    claim_template = template if case in ("disabled template", "template fails") else "fleet"
    credentials = claim_credentials(iot, claim_template)
    if case in ("missing template", "JITP template"):  # no claim for those: a trusted device's certificate
        trusted = iot.create_keys_and_certificate(setAsActive=True)
        allow_everything(iot, trusted["certificateArn"])
        credentials = Credentials(trusted["certificatePem"], trusted["keyPair"]["PrivateKey"])
    with time_machine.travel(datetime.datetime.now(UTC), tick=True) as traveller:
        with mqtt5_session(mock, credentials, "rejected-device") as session:
            identity = identity_v2(session.client)
            keys = identity.create_keys_and_certificate(iotidentity.CreateKeysAndCertificateRequest()).result(
                TIMEOUT
            )
            token = {"empty token": "", "unknown token": "bm90LWEtdG9rZW4"}.get(
                case, keys.certificate_ownership_token
            )
            if case == "foreign token":
                with mqtt5_session(mock, claim_credentials(iot), "other-device") as other:
                    other_identity = identity_v2(other.client)
                    request = iotidentity.CreateKeysAndCertificateRequest()
                    token = (
                        other_identity.create_keys_and_certificate(request)
                        .result(TIMEOUT)
                        .certificate_ownership_token
                    )
            if case == "expired token":
                traveller.shift(datetime.timedelta(hours=1, seconds=1))
            before = {t["thingName"] for t in iot.list_things()["things"]}
            error = _v2_rejection(identity.register_thing(_register_request(token, template)))
    assert (error.status_code, error.error_code) == (status, code), error.error_message
    assert error.error_message
    if case == "empty token":
        assert error.error_message == "Certificate ownership token cannot be empty."
    assert {t["thingName"] for t in iot.list_things()["things"]} == before == set()


def test_bad_csr_rejected_through_the_sdk(mock: MockIotProvisioning, iot: Any) -> None:
    with mqtt5_session(mock, claim_credentials(iot), "bad-csr") as session:
        identity = identity_v2(session.client)
        request = iotidentity.CreateCertificateFromCsrRequest(
            certificate_signing_request="-----BEGIN CERTIFICATE REQUEST-----"
        )
        error = _v2_rejection(identity.create_certificate_from_csr(request))
    assert (error.status_code, error.error_code) == (400, "InvalidRequest")
    assert "Invalid certificate signing request" in error.error_message


def test_hook_allows_with_overrides_through_the_sdk(mock: MockIotProvisioning, iot: Any) -> None:
    iot.update_provisioning_template(templateName="fleet", preProvisioningHook={"targetArn": HOOK_ARN})
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return {"allowProvisioning": True, "parameterOverrides": {"SerialNumber": "approved"}}

    mock.register_lambda(HOOK_ARN, handler)
    with mqtt5_session(mock, claim_credentials(iot), "hooked") as session:
        identity = identity_v2(session.client)
        keys = identity.create_keys_and_certificate(iotidentity.CreateKeysAndCertificateRequest()).result(
            TIMEOUT
        )
        registered = identity.register_thing(_register_request(keys.certificate_ownership_token)).result(
            TIMEOUT
        )
    assert registered.thing_name == "device-approved"
    assert [e["clientId"] for e in events] == ["hooked"] and events[0]["parameters"] == {"SerialNumber": "1"}


def test_hook_timeout_through_the_sdk(mock: MockIotProvisioning, iot: Any) -> None:
    import threading

    iot.update_provisioning_template(templateName="fleet", preProvisioningHook={"targetArn": HOOK_ARN})
    release = threading.Event()
    mock.register_lambda(HOOK_ARN, lambda event, context: release.wait(30) and {"allowProvisioning": True})
    try:
        with mqtt5_session(mock, claim_credentials(iot), "slow-hook") as session:
            identity = identity_v2(session.client)
            keys = identity.create_keys_and_certificate(iotidentity.CreateKeysAndCertificateRequest()).result(
                TIMEOUT
            )
            error = _v2_rejection(
                identity.register_thing(_register_request(keys.certificate_ownership_token))
            )
    finally:
        release.set()
    assert (error.status_code, error.error_code) == (403, "AccessDenied")
    assert not iot.list_things()["things"]


def test_replies_reach_only_the_requesting_connection(mock: MockIotProvisioning, iot: Any) -> None:
    other = iot.create_keys_and_certificate(setAsActive=True)
    allow_everything(iot, other["certificateArn"])
    snooper_inbox, claim_inbox = Inbox(), Inbox()
    with (
        mqtt3_connection(
            mock, Credentials(other["certificatePem"], other["keyPair"]["PrivateKey"]), "snooper"
        ) as snooper,
        mqtt3_connection(mock, claim_credentials(iot), "claim-snooper") as claim_snooper,
    ):
        for topic_filter in ("#", "$aws/certificates/#", "$aws/provisioning-templates/#"):
            snooper.subscribe(topic_filter, mqtt.QoS.AT_LEAST_ONCE, snooper_inbox.on_message)[0].result(
                TIMEOUT
            )
        for topic_filter in (
            "$aws/certificates/create/json/accepted",
            "$aws/provisioning-templates/fleet/provision/json/accepted",
        ):
            claim_snooper.subscribe(topic_filter, mqtt.QoS.AT_LEAST_ONCE, claim_inbox.on_message)[0].result(
                TIMEOUT
            )
        with mqtt3_connection(mock, claim_credentials(iot), "requester") as connection:
            client = iotidentity.IotIdentityClient(connection)
            keys = _v1_create_keys(client)
            assert (
                _v1_register(client, keys.certificate_ownership_token, {"SerialNumber": "x"})[0] == "accepted"
            )
        # Sentinels: whatever was routed to the snoopers before arrives before their own next message.
        snooper.publish("sentinel", b"", mqtt.QoS.AT_LEAST_ONCE)[0].result(TIMEOUT)
        snooper_inbox.wait_for("sentinel")
        claim_snooper.publish("$aws/certificates/create/json", b"{}", mqtt.QoS.AT_LEAST_ONCE)[0].result(
            TIMEOUT
        )
        own = json.loads(claim_inbox.wait_for("$aws/certificates/create/json/accepted"))
        assert own["certificateId"] != keys.certificate_id
    assert snooper_inbox.topics() == ["sentinel"]
    assert claim_inbox.topics() == ["$aws/certificates/create/json/accepted"]
    assert keys.private_key.encode() not in b"".join(p for _, p in claim_inbox.messages)


def test_connect_refused_for_unknown_and_inactive_certificates(mock: MockIotProvisioning, iot: Any) -> None:
    inactive = iot.create_keys_and_certificate(setAsActive=False)
    for credentials in (
        Credentials(inactive["certificatePem"], inactive["keyPair"]["PrivateKey"]),
        _own_certificate(),
    ):
        with mqtt5_session(mock, credentials, "refused", expect_connect=False) as session:
            failure = session.failure.result(TIMEOUT)
        assert failure.connack_packet is not None
        assert failure.connack_packet.reason_code == mqtt5.ConnectReasonCode.NOT_AUTHORIZED


def test_connect_refused_once_the_claim_expired(mock: MockIotProvisioning, iot: Any) -> None:
    credentials = claim_credentials(iot)
    with time_machine.travel(datetime.datetime.now(UTC) + datetime.timedelta(minutes=5, seconds=1)):
        with mqtt5_session(mock, credentials, "late-device", expect_connect=False) as session:
            failure = session.failure.result(TIMEOUT)
    assert failure.connack_packet.reason_code == mqtt5.ConnectReasonCode.NOT_AUTHORIZED


def _own_certificate(authority: TestCertificateAuthority | None = None) -> Credentials:
    """A certificate and key from a CA of the test's own (not registered anywhere yet)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    authority = authority or TestCertificateAuthority.create()
    key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime.now(UTC) - dt.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject_name("own-device"))
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .sign(authority.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Credentials(pem_text(certificate), key_pem.decode())


def test_certificates_registered_while_the_broker_runs_connect(mock: MockIotProvisioning, iot: Any) -> None:
    without_ca = _own_certificate()
    registered = iot.register_certificate_without_ca(
        certificatePem=without_ca.certificate_pem, status="ACTIVE"
    )
    allow_everything(iot, registered["certificateArn"])
    authority = TestCertificateAuthority.create()
    authority.register(iot)
    from_ca = _own_certificate(authority)
    registered = iot.register_certificate(certificatePem=from_ca.certificate_pem, status="ACTIVE")
    allow_everything(iot, registered["certificateArn"])
    with mqtt5_session(mock, without_ca, "no-ca"), mqtt3_connection(mock, from_ca, "own-ca"):
        assert mock.device_service is not None


def test_presence_events(mock: MockIotProvisioning, iot: Any) -> None:
    watcher = iot.create_keys_and_certificate(setAsActive=True)
    device = iot.create_keys_and_certificate(setAsActive=True)
    allow_everything(iot, watcher["certificateArn"])
    allow_everything(iot, device["certificateArn"])
    inbox = Inbox()
    with mqtt3_connection(
        mock, Credentials(watcher["certificatePem"], watcher["keyPair"]["PrivateKey"]), "watcher"
    ) as watching:
        watching.subscribe("$aws/events/presence/+/+", mqtt.QoS.AT_LEAST_ONCE, inbox.on_message)[0].result(
            TIMEOUT
        )
        with mqtt3_connection(
            mock, Credentials(device["certificatePem"], device["keyPair"]["PrivateKey"]), "thermostat"
        ):
            connected = json.loads(inbox.wait_for("$aws/events/presence/connected/thermostat"))
        disconnected = json.loads(inbox.wait_for("$aws/events/presence/disconnected/thermostat"))
    assert set(connected) == {
        "clientId",
        "timestamp",
        "eventType",
        "sessionIdentifier",
        "principalIdentifier",
        "ipAddress",
        "versionNumber",
    }
    assert connected["eventType"] == "connected" and connected["ipAddress"] == "127.0.0.1"
    assert connected["principalIdentifier"] == device["certificateId"]
    assert disconnected["eventType"] == "disconnected"
    assert disconnected["clientInitiatedDisconnect"] is True
    assert disconnected["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT"
    assert disconnected["sessionIdentifier"] == connected["sessionIdentifier"]


def test_describe_endpoint_answers_the_broker(mock: MockIotProvisioning, iot: Any) -> None:
    for endpoint_type in ("iot:Data-ATS", "iot:Data"):
        assert iot.describe_endpoint(endpointType=endpoint_type)["endpointAddress"] == mock.mqtt_host
    assert iot.describe_endpoint()["endpointAddress"] == mock.mqtt_host
    assert iot.describe_endpoint(endpointType="iot:Jobs")["endpointAddress"].endswith(".amazonaws.com")


def test_broker_stops_with_the_mock_and_patch_session_runs_one() -> None:
    import boto3

    from mock_iotprov import mock_iot_provisioning, patch_session

    with mock_iot_provisioning(mqtt=True) as outer:
        port = outer.mqtt_port
        broker = outer._broker
    assert not broker.running
    with pytest.raises(RuntimeError):
        _ = outer.mqtt_port
    session = boto3.Session(region_name="us-east-1")
    handle = patch_session(session, mqtt=True)
    try:
        client = session.client("iot")
        client.create_provisioning_template(
            templateName="fleet", templateBody="{}", provisioningRoleArn=ROLE_ARN, enabled=True
        )
        assert client.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"] == "127.0.0.1"
        assert handle.mqtt_port > 0 and handle.mqtt_port != port or handle.mqtt_port > 0
        with mqtt5_session(handle, claim_credentials(client), "patched") as session5:
            identity = identity_v2(session5.client)
            keys = identity.create_keys_and_certificate(iotidentity.CreateKeysAndCertificateRequest()).result(
                TIMEOUT
            )
        assert (
            client.describe_certificate(certificateId=keys.certificate_id)["certificateDescription"]["status"]
            == "PENDING_ACTIVATION"
        )
    finally:
        handle.stop()


def test_decorator_runs_a_broker_for_each_call() -> None:
    import boto3

    from mock_iotprov import active, mock_iot_provisioning

    endpoints: list[str] = []

    @mock_iot_provisioning(mqtt=True, mqtt_host="localhost")
    def look_up_endpoint() -> None:
        client = boto3.client("iot", region_name="us-east-1")
        endpoints.append(client.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"])
        running = active.global_mock()
        assert running is not None and running.mqtt_port > 0

    look_up_endpoint()
    look_up_endpoint()
    assert endpoints == ["localhost", "localhost"]
