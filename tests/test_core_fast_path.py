"""The in-process fast path answers before botocore serializes, and nothing a caller can observe changes.

Each test compares with botocore's normal path (the mock answering at ``before-call``), which a call
takes as soon as anything but botocore's own handlers listens on the client; a client whose serializer
is never asked for a request shows that the fast path answered.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from botocore.stub import Stubber

from mock_iotprov import MockIotProvisioning
from mock_iotprov.doors.fast_path import _plain_input
from mock_iotprov.protocol.model import operation_model
from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE

POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}'
EVENTS = ["provide-client-params", "before-parameter-build", "before-call", "after-call"]


def _client(**kwargs: Any) -> Any:
    return boto3.client(
        "iot", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b", **kwargs
    )


class Serializations:
    """Counts the requests a client's serializer builds (none when the fast path answers)."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        original = client._serializer.serialize_to_request

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        client._serializer.serialize_to_request = counting


@pytest.fixture
def fast(iot_provisioning: MockIotProvisioning) -> Iterator[tuple[Any, Serializations]]:
    client = _client()
    yield client, Serializations(client)


@pytest.fixture
def normal(iot_provisioning: MockIotProvisioning) -> Iterator[tuple[Any, Serializations]]:
    """A client on the normal path: a user's (harmless) before-call handler is registered on it."""
    client = _client()
    client.meta.events.register("before-call.iot", lambda **_: None)
    yield client, Serializations(client)


def _comparable(response: dict[str, Any]) -> dict[str, Any]:
    metadata = dict(response["ResponseMetadata"])
    headers = dict(metadata.pop("HTTPHeaders"))
    assert headers.pop("x-amzn-requestid") == metadata.pop("RequestId")
    assert set(headers) == {"content-type", "content-length", "date"}
    headers.pop("date")
    return {**response, "ResponseMetadata": {**metadata, "HTTPHeaders": headers}}


def _prepare(client: Any) -> dict[str, str]:
    client.create_thing(thingName="lamp", attributePayload={"attributes": {"model": "m1"}})
    client.create_provisioning_template(
        templateName="fleet", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN
    )
    client.create_policy(policyName="p", policyDocument=POLICY)
    return {"certificateId": client.create_keys_and_certificate(setAsActive=True)["certificateId"]}


def test_fast_path_answers_without_serializing(fast: Any) -> None:
    client, serializations = fast
    _prepare(client)
    assert client.describe_thing(thingName="lamp")["attributes"] == {"model": "m1"}
    assert serializations.count == 0


def test_fast_and_normal_paths_answer_alike(fast: Any, normal: Any) -> None:
    (client, fast_count), (other, normal_count) = fast, normal
    created = _prepare(client)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("describe_thing", {"thingName": "lamp"}),
        ("list_things", {}),
        ("list_things", {"maxResults": 1, "attributeName": "model", "attributeValue": "m1"}),
        ("describe_provisioning_template", {"templateName": "fleet"}),
        ("list_provisioning_templates", {}),
        ("get_policy", {"policyName": "p"}),
        ("describe_certificate", {"certificateId": created["certificateId"]}),
        ("list_certificates", {"pageSize": 5}),
        (
            "update_thing",
            {"thingName": "lamp", "attributePayload": {"attributes": {"a": "b"}, "merge": True}},
        ),
        ("describe_thing", {"thingName": "lamp"}),
    ]
    for operation, params in calls:
        mine = getattr(client, operation)(**params)
        theirs = getattr(other, operation)(**params)
        assert _comparable(mine) == _comparable(theirs), operation
        assert repr(_comparable(mine)) == repr(_comparable(theirs)), operation  # types and order too
    assert fast_count.count == 0 and normal_count.count == len(calls)


def test_response_metadata_and_datetimes(fast: Any) -> None:
    client, _ = fast
    _prepare(client)
    described = client.describe_provisioning_template(templateName="fleet")
    assert isinstance(described["creationDate"], datetime.datetime) and described["creationDate"].tzinfo
    metadata = described["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == 200 and metadata["RetryAttempts"] == 0
    assert metadata["HTTPHeaders"]["content-type"] == "application/json"
    assert int(metadata["HTTPHeaders"]["content-length"]) > 0
    assert metadata["RequestId"] == metadata["HTTPHeaders"]["x-amzn-requestid"]


def test_errors_are_the_modeled_exception_classes(fast: Any, normal: Any) -> None:
    (client, count), (other, _) = fast, normal
    found = []
    for target in (client, other):
        with pytest.raises(target.exceptions.ResourceNotFoundException) as caught:
            target.describe_thing(thingName="missing")
        found.append(caught.value)
    mine, theirs = found
    assert mine.response["Error"] == theirs.response["Error"]
    assert mine.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert mine.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert str(mine) == str(theirs)
    assert mine.__cause__ is None and mine.__context__ is None
    assert count.count == 0


def test_client_side_validation_stays(fast: Any) -> None:
    client, count = fast
    with pytest.raises(ParamValidationError, match="thingName"):
        client.describe_thing(thingName=5)
    with pytest.raises(ParamValidationError, match="Missing required parameter"):
        client.describe_thing()
    assert count.count == 0


def test_server_side_validation_stays(fast: Any) -> None:
    client, count = fast
    with pytest.raises(ClientError) as caught:
        client.describe_thing(thingName="not a valid name")  # a pattern: botocore does not check it
    assert caught.value.response["Error"]["Code"] == "InvalidRequestException"
    assert count.count == 0


def test_without_client_side_validation_the_normal_path_sends_what_it_is_given(iot_provisioning: Any) -> None:
    client = _client(config=Config(parameter_validation=False))
    count = Serializations(client)
    with pytest.raises(ClientError) as caught:
        client.create_provisioning_template(
            templateName="t", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN, enabled="yes"
        )
    assert caught.value.response["Error"]["Code"] == "InvalidRequestException"
    assert count.count == 1


@pytest.mark.parametrize("event", EVENTS)
def test_a_users_handler_is_called_on_the_normal_path(iot_provisioning: Any, event: str) -> None:
    client = _client()
    count = Serializations(client)
    client.create_thing(thingName="lamp")
    seen: list[str] = []
    client.meta.events.register(f"{event}.iot.DescribeThing", lambda **kwargs: seen.append(event))
    assert client.describe_thing(thingName="lamp")["thingName"] == "lamp"
    assert seen == [event]
    assert count.count == 1  # the create was answered by the fast path, the describe was not


def test_a_handler_registered_later_or_unregistered_is_seen(fast: Any) -> None:
    client, count = fast
    client.create_thing(thingName="lamp")
    client.describe_thing(thingName="lamp")
    seen: list[str] = []

    def handler(**_: Any) -> None:
        seen.append("called")

    client.meta.events.register("after-call.iot.DescribeThing", handler)
    client.describe_thing(thingName="lamp")
    assert (seen, count.count) == (["called"], 1)
    client.meta.events.unregister("after-call.iot.DescribeThing", handler)
    client.describe_thing(thingName="lamp")
    assert (seen, count.count) == (["called"], 1)


def test_a_users_parameter_hook_changes_the_call(iot_provisioning: Any) -> None:
    client = _client()
    client.create_thing(thingName="lamp")

    def rename(params: dict[str, Any], **_: Any) -> None:
        params["thingName"] = "lamp"

    client.meta.events.register("provide-client-params.iot.DescribeThing", rename)
    assert client.describe_thing(thingName="other")["thingName"] == "lamp"


def test_an_active_stubber_answers_its_client(iot_provisioning: Any) -> None:
    client = _client()
    client.create_thing(thingName="lamp")
    with Stubber(client) as stubber:
        stubber.add_response("describe_thing", {"thingName": "stubbed", "version": 7}, {"thingName": "lamp"})
        answered = client.describe_thing(thingName="lamp")
        stubber.assert_no_pending_responses()
    assert (answered["thingName"], answered["version"]) == ("stubbed", 7)
    assert client.describe_thing(thingName="lamp")["thingName"] == "lamp"  # the mock again


def test_the_mock_keeps_no_object_of_the_caller(fast: Any) -> None:
    client, _ = fast
    attributes = {"model": "m1"}
    client.create_thing(thingName="lamp", attributePayload={"attributes": attributes})
    attributes["model"] = "changed"
    assert client.describe_thing(thingName="lamp")["attributes"] == {"model": "m1"}


def test_a_loopback_endpoint_is_left_to_that_endpoint(iot_provisioning: Any) -> None:
    client = _client(endpoint_url="http://127.0.0.1:9", config=Config(retries={"max_attempts": 0}))
    with pytest.raises(EndpointConnectionError):
        client.describe_thing(thingName="lamp")


def test_inputs_whose_wire_form_differs_take_the_normal_path(fast: Any) -> None:
    assert _plain_input(operation_model("CreateThing"))
    assert _plain_input(operation_model("RegisterThing"))
    assert not _plain_input(operation_model("ListAuditFindings"))  # timestamps
    assert not _plain_input(operation_model("CreateCustomMetric"))  # an idempotency token botocore fills
    assert not _plain_input(operation_model("AttachThingPrincipal"))  # a member sent as a header
    client, count = fast
    created = _prepare(client)
    arn = client.describe_certificate(certificateId=created["certificateId"])["certificateDescription"][
        "certificateArn"
    ]
    client.attach_thing_principal(thingName="lamp", principal=arn)
    assert count.count == 1
    assert client.list_thing_principals(thingName="lamp")["principals"] == [arn]
