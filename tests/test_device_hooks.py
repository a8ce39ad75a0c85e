"""Pre-provisioning hooks: a user's Lambda handler decides RegisterThing over MQTT (spec section 6.4)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning
from tests.device_support import DeviceClient, claim_client, create_template
from tests.helpers import registry_snapshot

HOOK_ARN = "arn:aws:lambda:us-east-1:123456789012:function:pre-provision"


@pytest.fixture
def device(iot_provisioning: MockIotProvisioning, iot: Any) -> DeviceClient:
    create_template(iot, preProvisioningHook={"targetArn": HOOK_ARN})
    return claim_client(iot_provisioning, iot, client_id="hooked-device")


def _register(
    device: DeviceClient, iot: Any, parameters: dict[str, str]
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    keys = device.create_keys()
    before = registry_snapshot(iot)
    outcome, reply = device.register(keys["certificateOwnershipToken"], parameters)
    return outcome, reply, {"keys": keys, "before": before}


def test_hook_sees_the_event_and_its_overrides_win(
    iot_provisioning: MockIotProvisioning, iot: Any, device: DeviceClient
) -> None:
    seen: list[tuple[dict[str, Any], Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append((event, context))
        return {"allowProvisioning": True, "parameterOverrides": {"SerialNumber": "from-hook"}}

    iot_provisioning.register_lambda(HOOK_ARN, handler)
    outcome, reply, info = _register(device, iot, {"SerialNumber": "from-device"})
    assert outcome == "accepted", reply
    assert reply["thingName"] == "device-from-hook"
    [(event, context)] = seen
    keys = info["keys"]
    template_arn = iot.describe_provisioning_template(templateName="fleet")["templateArn"]
    assert event == {
        "claimCertificateId": device.principal.certificate_id,
        "certificateId": keys["certificateId"],
        "certificatePem": keys["certificatePem"],
        "templateArn": template_arn,
        "clientId": "hooked-device",
        "parameters": {"SerialNumber": "from-device"},
    }
    assert context.function_name == "pre-provision"
    assert context.invoked_function_arn == HOOK_ARN
    assert context.aws_request_id and context.function_version == "$LATEST"
    assert 0 < context.get_remaining_time_in_millis() <= 5000


@pytest.mark.parametrize(
    "answer",
    [
        {"allowProvisioning": False},
        {},
        {"parameterOverrides": {"SerialNumber": "x"}},
        None,
        "yes",
        {"allowProvisioning": "true"},
    ],
)
def test_hook_that_does_not_allow_refuses(
    iot_provisioning: MockIotProvisioning, iot: Any, device: DeviceClient, answer: Any
) -> None:
    iot_provisioning.register_lambda(HOOK_ARN, lambda event, context: answer)
    outcome, reply, info = _register(device, iot, {"SerialNumber": "1"})
    assert outcome == "rejected" and (reply["statusCode"], reply["errorCode"]) == (403, "AccessDenied")
    assert registry_snapshot(iot) == info["before"]


def test_hook_that_raises_refuses(
    iot_provisioning: MockIotProvisioning, iot: Any, device: DeviceClient
) -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise KeyError("serial not in allow list")

    iot_provisioning.register_lambda(HOOK_ARN, handler)
    outcome, reply, info = _register(device, iot, {"SerialNumber": "1"})
    assert (
        outcome == "rejected" and reply["errorCode"] == "AccessDenied" and "KeyError" in reply["errorMessage"]
    )
    assert registry_snapshot(iot) == info["before"]


def test_unregistered_hook_refuses(iot: Any, device: DeviceClient) -> None:
    outcome, reply, info = _register(device, iot, {"SerialNumber": "1"})
    assert (
        outcome == "rejected"
        and reply["errorCode"] == "AccessDenied"
        and "no such function" in reply["errorMessage"]
    )
    assert registry_snapshot(iot) == info["before"]


def test_hook_slower_than_five_seconds_refuses(
    iot_provisioning: MockIotProvisioning, iot: Any, device: DeviceClient
) -> None:
    release = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        release.wait(30)
        return {"allowProvisioning": True}

    iot_provisioning.register_lambda(HOOK_ARN, handler)
    try:
        outcome, reply, info = _register(device, iot, {"SerialNumber": "1"})
    finally:
        release.set()
    assert outcome == "rejected" and reply["errorCode"] == "AccessDenied" and "5 s" in reply["errorMessage"]
    assert registry_snapshot(iot) == info["before"]


def test_register_lambda_checks_the_arn(iot_provisioning: MockIotProvisioning) -> None:
    with pytest.raises(ValueError, match="Lambda function ARN"):
        iot_provisioning.register_lambda("arn:aws:sns:us-east-1:123456789012:topic", lambda e, c: {})
    with pytest.raises(TypeError):
        iot_provisioning.register_lambda(HOOK_ARN, "not callable")  # type: ignore[arg-type]


def test_registrations_survive_reset(iot_provisioning: MockIotProvisioning, iot: Any) -> None:
    iot_provisioning.register_lambda(HOOK_ARN, lambda event, context: {"allowProvisioning": True})
    iot_provisioning.reset()
    create_template(iot, preProvisioningHook={"targetArn": HOOK_ARN})
    device = claim_client(iot_provisioning, iot)
    outcome, reply, _ = _register(device, iot, {"SerialNumber": "2"})
    assert outcome == "accepted", reply
