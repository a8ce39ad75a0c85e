"""Deeply nested JSON gets the operation's declared error, and a 500 never tells the caller its cause.

``json.loads`` raises ``RecursionError`` a little under 1,000 levels deep (less when the caller's stack is
already deep), so each case nests far deeper than that, and also just under the interpreter's limit, where
parsing succeeds and a later recursive walk would be the one to fail.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mock_iotprov import MockIotProvisioning
from mock_iotprov.dispatch import answer
from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.protocol.messages import WireRequest
from mock_iotprov.service import OPERATIONS
from mock_iotprov.state import Backend, MockOptions
from tests.helpers import ROLE_ARN, error_of, iot_client

DEPTHS = [950, 5_000, 100_000]


def nested(depth: int, inner: str = "") -> str:
    return "[" * depth + inner + "]" * depth


def _error(call: Any, **params: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return error_of(caught)


# -- policy documents, tokens, templates, RegisterThing parameters -------------------------------------


@pytest.fixture
def iot(iot_provisioning: MockIotProvisioning) -> Any:
    return iot_client()


@pytest.mark.parametrize("depth", [40, 990, 1_010])
def test_a_deep_policy_document_is_malformed(iot: Any, depth: int) -> None:
    """Depths that fit in the 2,048-character limit, up to and past the interpreter's recursion limit."""
    document = '{"Statement":' + nested(depth) + "}"
    code, status, message = _error(iot.create_policy, policyName="deep", policyDocument=document)
    assert (code, status) == ("MalformedPolicyException", 400)
    assert "nests more than" in message
    iot.create_policy(
        policyName="p", policyDocument='{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
    )
    code, status, _ = _error(iot.create_policy_version, policyName="p", policyDocument=document)
    assert (code, status) == ("MalformedPolicyException", 400)
    assert [p["policyName"] for p in iot.list_policies()["policies"]] == ["p"]


@pytest.mark.parametrize("depth", DEPTHS)
def test_a_deep_next_token_is_an_invalid_request(iot: Any, depth: int) -> None:
    token = base64.urlsafe_b64encode(nested(depth).encode()).decode()
    for call in (iot.list_things, iot.list_thing_groups, iot.list_provisioning_templates):
        code, status, _ = _error(call, nextToken=token)
        assert (code, status) == ("InvalidRequestException", 400)


@pytest.mark.parametrize("depth", [150, 900, 5_000])
def test_a_deep_template_body_is_an_invalid_request(iot: Any, depth: int) -> None:
    thing = {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "x", "AttributePayload": "@"}}
    body = json.dumps({"Resources": {"thing": thing}}).replace('"@"', nested(depth, "1"))
    code, status, message = _error(
        iot.create_provisioning_template, templateName="deep", templateBody=body, provisioningRoleArn=ROLE_ARN
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert "levels deep" in message
    code, status, message = _error(iot.register_thing, templateBody=body)
    assert (code, status) == ("InvalidRequestException", 400)
    assert iot.list_provisioning_templates()["templates"] == []


@pytest.mark.parametrize("depth", [50, 950, 2_000])
def test_a_deep_policy_document_in_register_thing_parameters_is_an_invalid_request(
    iot: Any, depth: int
) -> None:
    template = {
        "Parameters": {"Document": {"Type": "String"}},
        "Resources": {
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": {"Ref": "Document"}}}
        },
    }
    document = '{"Statement":' + nested(depth) + "}"
    code, status, message = _error(
        iot.register_thing, templateBody=json.dumps(template), parameters={"Document": document}
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert "levels deep" in message
    assert iot.list_policies()["policies"] == []


# -- request bodies: in process and over the endpoint ----------------------------------------------------


def _deep_policy_body(depth: int) -> bytes:
    return ('{"policyDocument": ' + nested(depth, '"x"') + "}").encode()


@pytest.mark.parametrize("depth", DEPTHS)
def test_a_deep_request_body_is_answered_400_in_process(depth: int) -> None:
    request = WireRequest("POST", "/policies/deep", {}, {}, _deep_policy_body(depth))
    response = answer(Backend(), MockOptions(), "us-east-1", request)
    assert response.status == 400
    assert response.headers["x-amzn-errortype"] == "InvalidRequestException"
    assert b"levels deep" in response.body


def test_a_deep_request_body_through_boto3_is_an_invalid_request(iot: Any) -> None:
    """botocore serializes what it is given when its validation is off; the mock refuses the depth."""
    unchecked = iot_client(validate=False)
    payload: Any = "x"
    for _ in range(200):
        payload = [payload]
    code, status, message = _error(
        unchecked.create_thing, thingName="deep", attributePayload={"attributes": {"a": payload}}
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert "levels deep" in message


@pytest.fixture
def server() -> Iterator[IotProvisioningServer]:
    with IotProvisioningServer(port=0) as running:
        yield running


def _post(server: IotProvisioningServer, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("depth", DEPTHS)
def test_a_deep_request_body_over_the_endpoint_is_answered_400(
    server: IotProvisioningServer, depth: int
) -> None:
    status, headers, body = _post(server, "/policies/deep", _deep_policy_body(depth))
    assert (status, headers["x-amzn-errortype"]) == (400, "InvalidRequestException")
    assert "levels deep" in json.loads(body)["message"]


# -- a 500 names no cause ----------------------------------------------------------------------------------

SECRET = "internal-detail-/home/user/secret.pem"


def _explode(*_: Any, **__: Any) -> Any:
    raise RuntimeError(SECRET)


def test_an_unexpected_error_in_process_is_a_500_without_its_cause(
    iot: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(OPERATIONS, "ListThings", _explode)
    with caplog.at_level(logging.ERROR, logger="mock_iotprov"):
        code, status, message = _error(iot.list_things)
    assert (code, status) == ("InternalFailureException", 500)
    assert "ListThings" in message and SECRET not in message and "RuntimeError" not in message
    assert any(SECRET in (record.exc_text or "") for record in caplog.records)


def test_an_unexpected_error_while_parsing_is_a_500_without_its_cause(
    iot: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("mock_iotprov.dispatch.parse_input", _explode)
    client = iot_client()  # a handler of the caller's own: the request is parsed from its wire form
    client.meta.events.register("before-call.iot", lambda **_: None)
    with caplog.at_level(logging.ERROR, logger="mock_iotprov"):
        code, status, message = _error(client.list_things)
    assert (code, status) == ("InternalFailureException", 500)
    assert SECRET not in message
    assert any(SECRET in (record.exc_text or "") for record in caplog.records)


def test_an_unexpected_error_over_the_endpoint_is_a_500_without_its_cause(
    server: IotProvisioningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(OPERATIONS, "CreatePolicy", _explode)
    with caplog.at_level(logging.ERROR, logger="mock_iotprov"):
        status, headers, body = _post(server, "/policies/p", b'{"policyDocument": "{}"}')
    assert (status, headers["x-amzn-errortype"]) == (500, "InternalFailureException")
    assert SECRET.encode() not in body and b"RuntimeError" not in body
    assert any(SECRET in (record.exc_text or "") for record in caplog.records)
