"""Every implemented operation works through the local endpoint with boto3 and ``endpoint_url``.

Each operation is called with its required members filled in (plausible values of the right type and
length); whatever the registry holds, the endpoint must route it to that operation and answer either
success or an error the model declares for it, never a 5xx, an unknown operation or ``NotImplemented``.
A second pass runs a real provisioning flow over HTTP.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.model import Shape

from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.protocol.model import operation_model
from mock_iotprov.service import OPERATIONS
from tests.helpers import endpoint_client

GENERIC_ERRORS = {"InvalidRequestException", "ThrottlingException", "UnauthorizedException"}


@pytest.fixture(scope="module")
def server() -> Iterator[IotProvisioningServer]:
    with IotProvisioningServer(port=0) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: IotProvisioningServer) -> Any:
    return endpoint_client(server.url)


def _value(shape: Shape, name: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return {
            member: _value(member_shape, member)
            for member, member_shape in shape.members.items()  # type: ignore[attr-defined]
            if member in shape.required_members  # type: ignore[attr-defined]
        }
    if kind == "list":
        return [_value(shape.member, name)]  # type: ignore[attr-defined]
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return int(shape.metadata.get("min", 1))
    if kind in ("double", "float"):
        return 1.0
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    if kind == "blob":
        return b"x"
    enum = shape.metadata.get("enum")
    if enum:
        return enum[0]
    if name.lower().endswith("arn") or name in ("target", "principal", "resourceArn"):
        return "arn:aws:iot:us-east-1:123456789012:thing/probe"
    if "document" in name.lower() or "body" in name.lower():
        return "{}"
    return "probe" + "1" * max(0, int(shape.metadata.get("min", 1)) - 5)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_operation_is_answered_over_http(client: Any, operation: str) -> None:
    model = operation_model(operation)
    params = _value(model.input_shape, "") if model.input_shape is not None else {}
    try:
        response = getattr(client, xform_name(operation))(**params)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        declared = {shape.name for shape in model.error_shapes} | GENERIC_ERRORS
        assert status < 500, (operation, code, error.response["Error"].get("Message"))
        assert code in declared, (operation, code)
    else:
        assert response["ResponseMetadata"]["HTTPStatusCode"] < 300


def test_a_provisioning_flow_over_http(client: Any, server: IotProvisioningServer) -> None:
    client.create_thing_type(thingTypeName="sensor")
    client.create_thing_group(thingGroupName="fleet")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
    client.create_policy(policyName="device", policyDocument=json.dumps(policy))
    certificate = client.create_keys_and_certificate(setAsActive=False)
    template = {
        "Parameters": {"ThingName": {"Type": "String"}, "AWS::IoT::Certificate::Id": {"Type": "String"}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Ref": "ThingName"},
                    "ThingTypeName": "sensor",
                    "ThingGroups": ["fleet"],
                },
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "Active"},
                "OverrideSettings": {"Status": "REPLACE"},
            },
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "device"}},
        },
    }
    result = client.register_thing(
        templateBody=json.dumps(template),
        parameters={"ThingName": "over-http", "AWS::IoT::Certificate::Id": certificate["certificateId"]},
    )
    assert sorted(result["resourceArns"]) == ["certificate", "thing"]
    principals = client.list_thing_principals(thingName="over-http")["principals"]
    assert principals == [certificate["certificateArn"]]
    groups = client.list_thing_groups_for_thing(thingName="over-http")["thingGroups"]
    assert [g["groupName"] for g in groups] == ["fleet"]
    described = client.describe_certificate(certificateId=certificate["certificateId"])
    assert described["certificateDescription"]["status"] == "ACTIVE"
