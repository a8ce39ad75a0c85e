"""Authentication at CONNECT, the claim's scope, and presence events, through ``BrokerHooks`` (no network)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
import time_machine

from mock_iotprov import MockIotProvisioning
from mock_iotprov.mqtt.hooks import CONNECT, PUBLISH, RECEIVE, RETAIN_PUBLISH, SUBSCRIBE
from tests.device_support import DeviceClient, claim_client, create_template, hello_for
from tests.helpers import TestCertificateAuthority, pem_text, subject_name
from tests.policy_support import allow_everything

UTC = datetime.timezone.utc


@pytest.fixture
def fleet(iot: Any) -> Any:
    create_template(iot)
    return iot


def _admitted(mock: MockIotProvisioning, pem: str) -> bool:
    return mock.device_service.admit(hello_for(pem)).accepted


def test_unexpired_claim_admitted_expired_refused(iot_provisioning: MockIotProvisioning, fleet: Any) -> None:
    with time_machine.travel(datetime.datetime.now(UTC), tick=False) as traveller:
        claim = fleet.create_provisioning_claim(templateName="fleet")
        admission = iot_provisioning.device_service.admit(hello_for(claim["certificatePem"]))
        assert admission.accepted
        assert admission.principal.kind == "claim" and admission.principal.template_name == "fleet"
        assert (admission.principal.account_id, admission.principal.region) == ("123456789012", "us-east-1")
        traveller.shift(datetime.timedelta(minutes=5, seconds=1))
        refused = iot_provisioning.device_service.admit(hello_for(claim["certificatePem"]))
        assert not refused.accepted and "expired" in refused.reason


def test_claim_of_another_region_belongs_to_that_region(iot_provisioning: MockIotProvisioning) -> None:
    from tests.helpers import iot_client

    west = iot_client("eu-west-1")
    create_template(west)
    claim = west.create_provisioning_claim(templateName="fleet")
    admission = iot_provisioning.device_service.admit(hello_for(claim["certificatePem"]))
    assert admission.accepted and admission.principal.region == "eu-west-1"


def test_only_active_certificates_admitted(iot_provisioning: MockIotProvisioning, iot: Any) -> None:
    created = iot.create_keys_and_certificate(setAsActive=False)
    allow_everything(iot, created["certificateArn"])
    assert not _admitted(iot_provisioning, created["certificatePem"])
    iot.update_certificate(certificateId=created["certificateId"], newStatus="ACTIVE")
    assert _admitted(iot_provisioning, created["certificatePem"])
    iot.update_certificate(certificateId=created["certificateId"], newStatus="REVOKED")
    assert not _admitted(iot_provisioning, created["certificatePem"])


def test_unknown_certificate_or_none_refused(iot_provisioning: MockIotProvisioning) -> None:
    stranger = pem_text(TestCertificateAuthority.create().issue(subject_name("stranger")))
    assert not _admitted(iot_provisioning, stranger)
    hello = hello_for(stranger)
    from dataclasses import replace

    assert not iot_provisioning.device_service.admit(replace(hello, certificate_der=b"")).accepted


def test_certificate_registered_without_ca_admitted(iot_provisioning: MockIotProvisioning, iot: Any) -> None:
    pem = pem_text(TestCertificateAuthority.create().issue(subject_name("own")))
    assert not _admitted(iot_provisioning, pem)
    registered = iot.register_certificate_without_ca(certificatePem=pem, status="ACTIVE")
    allow_everything(iot, registered["certificateArn"])
    assert _admitted(iot_provisioning, pem)


def test_certificate_of_a_registered_ca_follows_the_ca_status(
    iot_provisioning: MockIotProvisioning, iot: Any
) -> None:
    authority = TestCertificateAuthority.create()
    ca_id = authority.register(iot)
    pem = pem_text(authority.issue(subject_name("fleet-device")))
    registered = iot.register_certificate(certificatePem=pem, status="ACTIVE")
    allow_everything(iot, registered["certificateArn"])
    assert _admitted(iot_provisioning, pem)
    iot.update_ca_certificate(certificateId=ca_id, newStatus="INACTIVE")
    assert not _admitted(iot_provisioning, pem)
    iot.update_ca_certificate(certificateId=ca_id, newStatus="ACTIVE")
    assert _admitted(iot_provisioning, pem)


def test_claim_scoped_to_its_template_topics(iot_provisioning: MockIotProvisioning, fleet: Any) -> None:
    device = claim_client(iot_provisioning, fleet)
    allowed = device.hooks.authorize
    principal = device.principal
    assert allowed(principal, "c", CONNECT, "c")
    for action in (PUBLISH, RECEIVE, SUBSCRIBE):
        assert allowed(principal, "c", action, "$aws/certificates/create/json/accepted")
        assert allowed(principal, "c", action, "$aws/certificates/create-from-csr/json")
        assert allowed(principal, "c", action, "$aws/provisioning-templates/fleet/provision/json/accepted")
        assert not allowed(principal, "c", action, "$aws/provisioning-templates/other/provision/json")
        assert not allowed(principal, "c", action, "sensors/1")
        assert not allowed(principal, "c", action, "$aws/events/presence/connected/x")
    assert not allowed(principal, "c", SUBSCRIBE, "#")
    assert not allowed(principal, "c", RETAIN_PUBLISH, "$aws/certificates/create/json")
    assert not allowed(None, "c", PUBLISH, "sensors/1")


def test_active_certificate_with_allow_all_policy_may_use_any_topic(
    iot_provisioning: MockIotProvisioning, iot: Any
) -> None:
    created = iot.create_keys_and_certificate(setAsActive=True)
    allow_everything(iot, created["certificateArn"])
    device = DeviceClient(iot_provisioning, created["certificatePem"])
    assert device.hooks.authorize(device.principal, "c", SUBSCRIBE, "#")
    assert device.hooks.authorize(device.principal, "c", PUBLISH, "sensors/1")


def test_presence_events_carry_aws_fields(iot_provisioning: MockIotProvisioning, iot: Any) -> None:
    created = iot.create_keys_and_certificate(setAsActive=True)
    allow_everything(iot, created["certificateArn"])
    device = DeviceClient(iot_provisioning, created["certificatePem"], client_id="sensor-1")
    moment = datetime.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        [connected] = device.hooks.connected(device.principal, device.hello)
        [disconnected] = device.hooks.disconnected(
            device.principal, "sensor-1", "CLIENT_INITIATED_DISCONNECT"
        )
    assert connected.topic == "$aws/events/presence/connected/sensor-1"
    assert disconnected.topic == "$aws/events/presence/disconnected/sensor-1"
    up, down = json.loads(connected.payload), json.loads(disconnected.payload)
    assert up == {
        "clientId": "sensor-1",
        "timestamp": int(moment.timestamp() * 1000),
        "eventType": "connected",
        "sessionIdentifier": device.principal.session_identifier,
        "principalIdentifier": created["certificateId"],
        "ipAddress": "127.0.0.1",
        "versionNumber": 0,
    }
    assert down == {
        "clientId": "sensor-1",
        "timestamp": int(moment.timestamp() * 1000),
        "eventType": "disconnected",
        "sessionIdentifier": device.principal.session_identifier,
        "principalIdentifier": created["certificateId"],
        "clientInitiatedDisconnect": True,
        "disconnectReason": "CLIENT_INITIATED_DISCONNECT",
        "versionNumber": 0,
    }
    again = DeviceClient(iot_provisioning, created["certificatePem"], client_id="sensor-1")
    [reconnected] = again.hooks.connected(again.principal, again.hello)
    [taken_over] = again.hooks.disconnected(again.principal, "sensor-1", "DUPLICATE_CLIENTID")
    assert json.loads(reconnected.payload)["versionNumber"] == 1
    assert json.loads(reconnected.payload)["sessionIdentifier"] != up["sessionIdentifier"]
    assert json.loads(taken_over.payload)["clientInitiatedDisconnect"] is False


def test_no_presence_events_for_wildcard_client_ids(iot_provisioning: MockIotProvisioning, iot: Any) -> None:
    created = iot.create_keys_and_certificate(setAsActive=True)
    allow_everything(iot, created["certificateArn"])
    device = DeviceClient(iot_provisioning, created["certificatePem"], client_id="odd#id")
    assert list(device.hooks.connected(device.principal, device.hello)) == []
