"""The fleet-provisioning API over reserved topics, called through the broker's ``BrokerHooks`` interface
(no network): CreateKeysAndCertificate, CreateCertificateFromCsr, RegisterThing and their rejections."""

from __future__ import annotations

import datetime
import json
from typing import Any

import cbor2
import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mock_iotprov import MockIotProvisioning
from tests.device_support import NO_THING_TEMPLATE, DeviceClient, claim_client, create_template
from tests.helpers import make_csr, registry_snapshot, subject_name

UTC = datetime.timezone.utc


@pytest.fixture
def device(iot_provisioning: MockIotProvisioning, iot: Any) -> DeviceClient:
    create_template(iot)
    return claim_client(iot_provisioning, iot)


def _status(iot: Any, certificate_id: str) -> str:
    return str(iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"])


@pytest.mark.parametrize("fmt", ["json", "cbor"])
def test_create_keys_and_certificate_pending_activation_with_matching_key(
    device: DeviceClient, iot: Any, fmt: str
) -> None:
    reply = device.create_keys(fmt)
    assert set(reply) == {"certificateId", "certificatePem", "privateKey", "certificateOwnershipToken"}
    certificate = x509.load_pem_x509_certificate(reply["certificatePem"].encode())
    key = serialization.load_pem_private_key(reply["privateKey"].encode(), None)
    assert reply["privateKey"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert _status(iot, reply["certificateId"]) == "PENDING_ACTIVATION"
    assert reply["certificateOwnershipToken"]


def test_empty_payload_is_an_empty_request(device: DeviceClient) -> None:
    outcome, reply = device.request("$aws/certificates/create/json")
    assert outcome == "accepted" and reply["certificateOwnershipToken"]


def test_create_certificate_from_csr_keeps_subject_and_key(device: DeviceClient, iot: Any) -> None:
    csr, key = make_csr(subject_name("sensor-7", ORGANIZATION_NAME="Example"))
    outcome, reply = device.request(
        "$aws/certificates/create-from-csr/json", {"certificateSigningRequest": csr}
    )
    assert outcome == "accepted", reply
    assert set(reply) == {"certificateId", "certificatePem", "certificateOwnershipToken"}
    certificate = x509.load_pem_x509_certificate(reply["certificatePem"].encode())
    assert certificate.subject == subject_name("sensor-7", ORGANIZATION_NAME="Example")
    assert certificate.public_key() == key.public_key()
    assert _status(iot, reply["certificateId"]) == "PENDING_ACTIVATION"


def _small_rsa_csr() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return make_csr(subject_name("weak"), key)[0]


@pytest.mark.parametrize(
    ("document", "code", "fragment"),
    [
        ({}, "InvalidPayload", "certificateSigningRequest is required"),
        ({"certificateSigningRequest": 5}, "InvalidPayload", "must be a string"),
        ({"certificateSigningRequest": "not a csr"}, "InvalidRequest", "Invalid certificate signing request"),
        ({"certificateSigningRequest": "SMALL"}, "InvalidRequest", "at least 2048 bits"),
    ],
)
def test_bad_csr_rejected_like_the_control_plane(
    device: DeviceClient, iot: Any, document: dict[str, Any], code: str, fragment: str
) -> None:
    if document.get("certificateSigningRequest") == "SMALL":
        document = {"certificateSigningRequest": _small_rsa_csr()}
    before = registry_snapshot(iot)
    outcome, reply = device.request("$aws/certificates/create-from-csr/json", document)
    assert outcome == "rejected"
    assert reply["statusCode"] == 400 and reply["errorCode"] == code and fragment in reply["errorMessage"]
    assert registry_snapshot(iot) == before


@pytest.mark.parametrize("payload", [b"{", b"[1, 2]", b"\xff\xfe", b'"text"'])
def test_undecodable_json_payload_rejected(device: DeviceClient, payload: bytes) -> None:
    replies = device.hooks.reserved(
        device.principal, device.client_id, "$aws/certificates/create/json", payload
    )
    assert replies is not None and [r.topic for r in replies] == ["$aws/certificates/create/json/rejected"]
    assert json.loads(replies[0].payload)["errorCode"] == "InvalidPayload"


@pytest.mark.parametrize(
    "payload", [b"\xff\xff\xff", b"\x9f" * 5000, b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff", b"\x01"]
)
def test_hostile_cbor_payload_rejected(device: DeviceClient, payload: bytes) -> None:
    replies = device.hooks.reserved(
        device.principal, device.client_id, "$aws/certificates/create/cbor", payload
    )
    assert replies is not None and [r.topic for r in replies] == ["$aws/certificates/create/cbor/rejected"]
    assert cbor2.loads(replies[0].payload)["errorCode"] == "InvalidPayload"


def test_register_thing_provisions_with_the_token_certificate(device: DeviceClient, iot: Any) -> None:
    keys = device.create_keys()
    outcome, reply = device.register(keys["certificateOwnershipToken"], {"SerialNumber": "42"})
    assert outcome == "accepted", reply
    assert reply == {
        "deviceConfiguration": {"FallbackUrl": "https://www.example.com/"},
        "thingName": "device-42",
    }
    assert _status(iot, keys["certificateId"]) == "ACTIVE"
    principals = iot.list_thing_principals(thingName="device-42")["principals"]
    assert [p.rsplit("/", 1)[1] for p in principals] == [keys["certificateId"]]
    assert iot.describe_thing(thingName="device-42")["attributes"] == {"serial": "42"}
    arn = principals[0]
    assert len(iot.list_attached_policies(target=arn)["policies"]) == 1


def test_register_thing_over_cbor(device: DeviceClient) -> None:
    keys = device.create_keys("cbor")
    outcome, reply = device.register(keys["certificateOwnershipToken"], {"SerialNumber": "9"}, fmt="cbor")
    assert outcome == "accepted" and reply["thingName"] == "device-9"


def test_thing_name_absent_when_template_makes_no_thing(
    iot_provisioning: MockIotProvisioning, iot: Any
) -> None:
    create_template(iot, "bare", NO_THING_TEMPLATE)
    device = claim_client(iot_provisioning, iot, "bare")
    keys = device.create_keys()
    outcome, reply = device.register(keys["certificateOwnershipToken"], template="bare")
    assert outcome == "accepted" and reply == {"deviceConfiguration": {}}
    assert _status(iot, keys["certificateId"]) == "ACTIVE"


def test_device_cannot_name_another_certificate(device: DeviceClient, iot: Any) -> None:
    keys = device.create_keys()
    other = iot.create_keys_and_certificate()["certificateId"]
    parameters = {"SerialNumber": "1", "AWS::IoT::Certificate::Id": other}
    outcome, reply = device.register(keys["certificateOwnershipToken"], parameters)
    assert outcome == "accepted", reply
    principals = iot.list_thing_principals(thingName="device-1")["principals"]
    assert [p.rsplit("/", 1)[1] for p in principals] == [keys["certificateId"]]


def _assert_rejected(
    reply: tuple[str, dict[str, Any]], status: int, code: str, message: str | None = None
) -> None:
    outcome, document = reply
    assert outcome == "rejected", document
    assert set(document) == {"statusCode", "errorCode", "errorMessage"}
    assert (document["statusCode"], document["errorCode"]) == (status, code), document
    if message is not None:
        assert document["errorMessage"] == message


def test_empty_token_rejected_with_aws_message(device: DeviceClient) -> None:
    _assert_rejected(
        device.register("", {"SerialNumber": "1"}),
        400,
        "InvalidCertificateOwnershipToken",
        "Certificate ownership token cannot be empty.",
    )
    _assert_rejected(
        device.request("$aws/provisioning-templates/fleet/provision/json", {}),
        400,
        "InvalidCertificateOwnershipToken",
    )


def test_unknown_token_rejected(device: DeviceClient, iot: Any) -> None:
    before = registry_snapshot(iot)
    _assert_rejected(
        device.register("bm90LWEtdG9rZW4", {"SerialNumber": "1"}), 400, "InvalidCertificateOwnershipToken"
    )
    assert registry_snapshot(iot) == before


def test_foreign_token_rejected(
    iot_provisioning: MockIotProvisioning, iot: Any, device: DeviceClient
) -> None:
    keys = device.create_keys()
    other = claim_client(iot_provisioning, iot, client_id="device-2")
    _assert_rejected(
        other.register(keys["certificateOwnershipToken"], {"SerialNumber": "1"}),
        400,
        "InvalidCertificateOwnershipToken",
    )
    assert not iot.list_things()["things"]
    assert device.register(keys["certificateOwnershipToken"], {"SerialNumber": "1"})[0] == "accepted"


def test_token_of_a_deleted_certificate_rejected(device: DeviceClient, iot: Any) -> None:
    keys = device.create_keys()
    iot.delete_certificate(certificateId=keys["certificateId"])
    _assert_rejected(
        device.register(keys["certificateOwnershipToken"], {"SerialNumber": "1"}),
        400,
        "InvalidCertificateOwnershipToken",
    )


def test_missing_template_rejected(
    iot_provisioning: MockIotProvisioning, iot: Any, device: DeviceClient
) -> None:
    keys = device.create_keys()
    _assert_rejected(
        device.register(keys["certificateOwnershipToken"], template="absent"), 404, "ResourceNotFound"
    )
    assert _status(iot, keys["certificateId"]) == "PENDING_ACTIVATION"


def test_disabled_template_rejected(iot_provisioning: MockIotProvisioning, iot: Any) -> None:
    create_template(iot, "off", enabled=False)
    device = claim_client(iot_provisioning, iot, "off")
    keys = device.create_keys()
    before = registry_snapshot(iot)
    _assert_rejected(
        device.register(keys["certificateOwnershipToken"], {"SerialNumber": "1"}, template="off"),
        400,
        "InvalidRequest",
        "The provisioning template off is disabled.",
    )
    assert registry_snapshot(iot) == before


def test_jitp_template_rejected(
    iot_provisioning: MockIotProvisioning, iot: Any, device: DeviceClient
) -> None:
    create_template(iot, "jitp", NO_THING_TEMPLATE, type="JITP")
    keys = device.create_keys()
    _assert_rejected(
        device.register(keys["certificateOwnershipToken"], template="jitp"), 400, "InvalidRequest"
    )


def test_failed_register_thing_changes_nothing(iot_provisioning: MockIotProvisioning, iot: Any) -> None:
    body = json.loads(NO_THING_TEMPLATE)
    body["Resources"]["thing"] = {
        "Type": "AWS::IoT::Thing",
        "Properties": {"ThingName": "t1", "ThingGroups": ["missing-group"]},
    }
    create_template(iot, "broken", json.dumps(body))
    device = claim_client(iot_provisioning, iot, "broken")
    keys = device.create_keys()
    before = registry_snapshot(iot)
    _assert_rejected(
        device.register(keys["certificateOwnershipToken"], template="broken"),
        400,
        "ResourceRegistrationFailure",
    )
    assert registry_snapshot(iot) == before
    assert _status(iot, keys["certificateId"]) == "PENDING_ACTIVATION"


def test_template_using_a_csr_instead_of_the_token_rejected(
    iot_provisioning: MockIotProvisioning, iot: Any
) -> None:
    body = {
        "Resources": {
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {
                    "CertificateSigningRequest": make_csr(subject_name("x"))[0],
                    "Status": "ACTIVE",
                },
            }
        }
    }
    create_template(iot, "csr", json.dumps(body))
    device = claim_client(iot_provisioning, iot, "csr")
    keys = device.create_keys()
    before = registry_snapshot(iot)
    _assert_rejected(
        device.register(keys["certificateOwnershipToken"], template="csr"), 400, "InvalidRequest"
    )
    assert registry_snapshot(iot) == before


def test_missing_template_parameter_rejected(device: DeviceClient, iot: Any) -> None:
    keys = device.create_keys()
    before = registry_snapshot(iot)
    outcome, reply = device.register(keys["certificateOwnershipToken"])
    assert outcome == "rejected" and reply["errorCode"] == "InvalidRequest", reply
    assert registry_snapshot(iot) == before


def test_parameters_must_be_strings(device: DeviceClient) -> None:
    keys = device.create_keys()
    _assert_rejected(
        device.register(keys["certificateOwnershipToken"], {"SerialNumber": 5}), 400, "InvalidPayload"
    )  # type: ignore[dict-item]


def test_token_expires_after_an_hour_and_unused_certificate_is_deleted(
    device: DeviceClient, iot: Any
) -> None:
    with time_machine.travel(datetime.datetime.now(UTC), tick=False) as frozen:
        unused = device.create_keys()
        used = device.create_keys()
        assert device.register(used["certificateOwnershipToken"], {"SerialNumber": "5"})[0] == "accepted"
        frozen.shift(datetime.timedelta(minutes=59))
        assert _status(iot, unused["certificateId"]) == "PENDING_ACTIVATION"
        frozen.shift(datetime.timedelta(minutes=1, seconds=1))
        listed = {c["certificateId"] for c in iot.list_certificates()["certificates"]}
        assert unused["certificateId"] not in listed and used["certificateId"] in listed
        _assert_rejected(
            device.register(unused["certificateOwnershipToken"], {"SerialNumber": "6"}),
            400,
            "InvalidCertificateOwnershipToken",
        )
        _assert_rejected(
            device.register(used["certificateOwnershipToken"], {"SerialNumber": "5"}),
            400,
            "InvalidCertificateOwnershipToken",
        )


def test_expired_token_keeps_a_certificate_someone_activated(device: DeviceClient, iot: Any) -> None:
    with time_machine.travel(datetime.datetime.now(UTC), tick=False) as frozen:
        keys = device.create_keys()
        iot.update_certificate(certificateId=keys["certificateId"], newStatus="ACTIVE")
        frozen.shift(datetime.timedelta(hours=2))
        assert _status(iot, keys["certificateId"]) == "ACTIVE"


def test_publishes_to_reply_topics_are_swallowed(device: DeviceClient) -> None:
    for topic in (
        "$aws/certificates/create/json/accepted",
        "$aws/provisioning-templates/fleet/provision/json/rejected",
        "$aws/certificates/create/xml",
    ):
        assert device.hooks.reserved(device.principal, device.client_id, topic, b"{}") == []
    assert (
        device.hooks.reserved(device.principal, device.client_id, "$aws/things/x/shadow/update", b"{}")
        is None
    )
    assert device.hooks.reserved(device.principal, device.client_id, "sensors/1", b"{}") is None


def test_token_expiry_follows_freezegun(device: DeviceClient) -> None:
    from freezegun import freeze_time

    with freeze_time(datetime.datetime.now(UTC)) as frozen:
        keys = device.create_keys()
        frozen.tick(datetime.timedelta(hours=1, seconds=1))
        _assert_rejected(
            device.register(keys["certificateOwnershipToken"], {"SerialNumber": "1"}),
            400,
            "InvalidCertificateOwnershipToken",
        )


def test_register_thing_uses_the_default_version(device: DeviceClient, iot: Any) -> None:
    body = json.loads(NO_THING_TEMPLATE)
    body["DeviceConfiguration"] = {"version": "2"}
    iot.create_provisioning_template_version(
        templateName="fleet", templateBody=json.dumps(body), setAsDefault=False
    )
    keys = device.create_keys()
    outcome, reply = device.register(keys["certificateOwnershipToken"], {"SerialNumber": "v1"})
    assert outcome == "accepted" and reply["deviceConfiguration"] == {
        "FallbackUrl": "https://www.example.com/"
    }
    iot.update_provisioning_template(templateName="fleet", defaultVersionId=2)
    keys = device.create_keys()
    outcome, reply = device.register(keys["certificateOwnershipToken"])
    assert outcome == "accepted" and reply == {"deviceConfiguration": {"version": "2"}}


def test_concurrent_devices_each_get_their_own_certificate(
    iot_provisioning: MockIotProvisioning, iot: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    create_template(iot, "many")
    devices = [claim_client(iot_provisioning, iot, "many", client_id=f"d{i}") for i in range(8)]

    def provision(index: int) -> str:
        keys = devices[index].create_keys()
        outcome, reply = devices[index].register(
            keys["certificateOwnershipToken"], {"SerialNumber": str(index)}, template="many"
        )
        assert outcome == "accepted", reply
        return str(keys["certificateId"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        certificate_ids = list(pool.map(provision, range(8)))
    assert len(set(certificate_ids)) == 8
    for index, certificate_id in enumerate(certificate_ids):
        [principal] = iot.list_thing_principals(thingName=f"device-{index}")["principals"]
        assert principal.endswith(certificate_id)
