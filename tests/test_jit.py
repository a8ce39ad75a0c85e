"""Just-in-time provisioning and registration at CONNECT, through the broker's hooks (no network)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
import time_machine

from mock_iotprov import MockIotProvisioning
from mock_iotprov.pki import certificate_id
from tests.device_support import hello_for
from tests.helpers import ROLE_ARN, pem_text, subject_name
from tests.jit_support import DAY, JITP_TEMPLATE, AutoRegisteringCA, prepare_jitp_registry
from tests.policy_support import allow_everything

UTC = datetime.timezone.utc


@pytest.fixture
def authority() -> AutoRegisteringCA:
    return AutoRegisteringCA.create("JIT Device CA")


def test_jitp_provisions_on_first_connect_and_drops_it(
    iot_provisioning: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA
) -> None:
    prepare_jitp_registry(iot)
    ca_id = authority.register_for_jit(iot, JITP_TEMPLATE)
    device = authority.device("bulb-1", country="US", serial="SN-42")
    hooks = iot_provisioning.device_service
    first = hooks.admit(hello_for(device.certificate_pem, "bulb-1"))
    assert not first.accepted and first.close_without_connack, first.reason
    assert first.events == ()
    cid = certificate_id(device.certificate)
    described = iot.describe_certificate(certificateId=cid)["certificateDescription"]
    assert (described["status"], described["caCertificateId"]) == ("ACTIVE", ca_id)
    thing = iot.describe_thing(thingName="bulb-1")
    assert thing["attributes"] == {"version": "v1", "serialNumber": "SN-42"}
    assert thing["thingTypeName"] == "lightBulb-versionA"
    groups = iot.list_thing_groups_for_thing(thingName="bulb-1")["thingGroups"]
    assert sorted(g["groupName"] for g in groups) == ["US", "v1-lightbulbs"]
    assert iot.list_thing_principals(thingName="bulb-1")["principals"] == [described["certificateArn"]]
    assert len(iot.list_attached_policies(target=described["certificateArn"])["policies"]) == 1
    second = hooks.admit(hello_for(device.certificate_pem, "bulb-1"))
    assert second.accepted, second.reason
    assert hooks.authorize(second.principal, "bulb-1", "iot:Publish", "lights/bulb-1/state")
    assert not hooks.authorize(second.principal, "bulb-1", "iot:Publish", "lights/bulb-2/state")
    assert not hooks.admit(hello_for(device.certificate_pem, "bulb-2")).accepted  # policy: client id = thing


def test_jitp_fills_every_certificate_parameter_from_the_subject(
    iot_provisioning: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA
) -> None:
    fields = {
        "Country": ("COUNTRY_NAME", "DE"),
        "Organization": ("ORGANIZATION_NAME", "Example-Corp"),
        "OrganizationalUnit": ("ORGANIZATIONAL_UNIT_NAME", "Lighting"),
        "DistinguishedNameQualifier": ("DN_QUALIFIER", "dnq-7"),
        "StateName": ("STATE_OR_PROVINCE_NAME", "Bavaria"),
        "SerialNumber": ("SERIAL_NUMBER", "SN-0099"),
    }
    parameters = ["CommonName", "Id", *fields]
    template = {
        "Parameters": {f"AWS::IoT::Certificate::{name}": {"Type": "String"} for name in parameters},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Ref": "AWS::IoT::Certificate::CommonName"},
                    "ThingTypeName": "lamp",  # a thing without a type has at most three attributes
                    "AttributePayload": {
                        name: {"Ref": f"AWS::IoT::Certificate::{name}"} for name in ["Id", *fields]
                    },
                },
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"},
            },
        },
    }
    iot.create_thing_type(thingTypeName="lamp")
    authority.register_for_jit(iot, json.dumps(template))
    device = authority.issue(subject_name("lamp-all", **dict(fields.values())))
    first = iot_provisioning.device_service.admit(hello_for(pem_text(device), "lamp-all"))
    assert first.close_without_connack and "registered" in first.reason, first.reason
    expected = {name: value for name, (_, value) in fields.items()}
    expected["Id"] = certificate_id(device)
    assert iot.describe_thing(thingName="lamp-all")["attributes"] == expected


def test_jitp_with_a_stored_jitp_template(
    iot_provisioning: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA
) -> None:
    prepare_jitp_registry(iot)
    iot.create_provisioning_template(
        templateName="jitp", templateBody=JITP_TEMPLATE, provisioningRoleArn=ROLE_ARN, type="JITP"
    )
    ca_id = authority.register_for_jit(iot)
    iot.update_ca_certificate(certificateId=ca_id, registrationConfig={"templateName": "jitp"})
    device = authority.device("bulb-7")
    first = iot_provisioning.device_service.admit(hello_for(device.certificate_pem, "bulb-7"))
    assert first.close_without_connack
    assert iot.describe_thing(thingName="bulb-7")["thingName"] == "bulb-7"
    assert iot_provisioning.device_service.admit(hello_for(device.certificate_pem, "bulb-7")).accepted


def test_jitp_fails_without_a_declared_subject_attribute_and_leaves_nothing(
    iot_provisioning: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA
) -> None:
    prepare_jitp_registry(iot)
    authority.register_for_jit(iot, JITP_TEMPLATE)
    device = authority.device("bulb-2", country=None)
    first = iot_provisioning.device_service.admit(hello_for(device.certificate_pem, "bulb-2"))
    assert first.close_without_connack and "AWS::IoT::Certificate::Country" in first.reason
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_things()["things"] == []


def test_jitp_template_failure_changes_nothing(
    iot_provisioning: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA
) -> None:
    authority.register_for_jit(iot, JITP_TEMPLATE)  # the thing type and groups do not exist
    device = authority.device("bulb-3")
    first = iot_provisioning.device_service.admit(hello_for(device.certificate_pem, "bulb-3"))
    assert first.close_without_connack and "lightBulb-versionA" in first.reason
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_things()["things"] == []


@pytest.mark.parametrize("template", [None, JITP_TEMPLATE], ids=["JITR", "JITP"])
@pytest.mark.parametrize(
    "problem", ["inactive CA", "auto-registration off", "expired", "not yet valid", "forged issuer"]
)
def test_no_just_in_time_registration_when_the_checks_fail(
    iot_provisioning: MockIotProvisioning,
    iot: Any,
    authority: AutoRegisteringCA,
    problem: str,
    template: str | None,
) -> None:
    prepare_jitp_registry(iot)
    ca_id = authority.register_for_jit(iot, template, active=problem != "inactive CA")
    if problem == "auto-registration off":
        iot.update_ca_certificate(certificateId=ca_id, newAutoRegistrationStatus="DISABLE")
    now = datetime.datetime.now(UTC)
    not_before = {"expired": now - 400 * DAY, "not yet valid": now + DAY}.get(problem)
    # an impostor CA with the registered CA's subject name but another key
    signer = AutoRegisteringCA.create("JIT Device CA") if problem == "forged issuer" else authority
    assert signer.certificate.subject == authority.certificate.subject
    device = signer.device("late", not_before=not_before)
    refused = iot_provisioning.device_service.admit(hello_for(device.certificate_pem, "late"))
    assert not refused.accepted and not refused.close_without_connack and not refused.events
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_things()["things"] == []


def test_jitr_registers_pending_activation_publishes_the_event_and_drops(
    iot_provisioning: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA
) -> None:
    ca_id = authority.register_for_jit(iot)
    device = authority.device("sensor-9")
    cid = certificate_id(device.certificate)
    hooks = iot_provisioning.device_service
    registered_at = (datetime.datetime.now(UTC) + datetime.timedelta(hours=1)).replace(microsecond=123000)
    with time_machine.travel(registered_at, tick=False):
        first = hooks.admit(hello_for(device.certificate_pem, "sensor-9"))
    assert not first.accepted and first.close_without_connack
    [event] = first.events
    assert event.topic == f"$aws/events/certificates/registered/{ca_id}"
    assert json.loads(event.payload) == {
        "certificateId": cid,
        "caCertificateId": ca_id,
        "timestamp": int(registered_at.timestamp() * 1000),
        "certificateStatus": "PENDING_ACTIVATION",
        "awsAccountId": "123456789012",
        "certificateRegistrationTimestamp": str(int(registered_at.timestamp() * 1000)),
    }
    described = iot.describe_certificate(certificateId=cid)["certificateDescription"]
    assert (described["status"], described["caCertificateId"]) == ("PENDING_ACTIVATION", ca_id)
    later = registered_at + datetime.timedelta(minutes=3)
    with time_machine.travel(later, tick=False):
        again = hooks.admit(hello_for(device.certificate_pem, "sensor-9"))
    assert again.close_without_connack
    [repeated] = again.events
    repeated_payload = json.loads(repeated.payload)
    assert repeated_payload["timestamp"] == int(later.timestamp() * 1000)
    assert repeated_payload["certificateRegistrationTimestamp"] == str(int(registered_at.timestamp() * 1000))
    # the test acts as the JITR Lambda: activate and attach a policy
    iot.update_certificate(certificateId=cid, newStatus="ACTIVE")
    allow_everything(iot, described["certificateArn"])
    admitted = hooks.admit(hello_for(device.certificate_pem, "sensor-9"))
    assert admitted.accepted and not admitted.events


def test_jitr_certificate_revoked_by_the_lambda_stays_out(
    iot_provisioning: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA
) -> None:
    authority.register_for_jit(iot)
    device = authority.device("intruder")
    hooks = iot_provisioning.device_service
    assert hooks.admit(hello_for(device.certificate_pem, "intruder")).close_without_connack
    iot.update_certificate(certificateId=certificate_id(device.certificate), newStatus="REVOKED")
    refused = hooks.admit(hello_for(device.certificate_pem, "intruder"))
    assert not refused.accepted and not refused.close_without_connack and not refused.events


@pytest.mark.parametrize("change", [{"newStatus": "INACTIVE"}, {"newAutoRegistrationStatus": "DISABLE"}])
def test_pending_certificate_gets_no_event_once_its_ca_stops_auto_registering(
    iot_provisioning: MockIotProvisioning, iot: Any, authority: AutoRegisteringCA, change: dict[str, str]
) -> None:
    ca_id = authority.register_for_jit(iot)
    device = authority.device("waiting")
    hooks = iot_provisioning.device_service
    assert hooks.admit(hello_for(device.certificate_pem, "waiting")).events
    iot.update_ca_certificate(certificateId=ca_id, **change)
    refused = hooks.admit(hello_for(device.certificate_pem, "waiting"))
    assert not refused.accepted and not refused.close_without_connack and not refused.events
