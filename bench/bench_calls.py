"""Per-call cost of common operations, against botocore's ``Stubber`` answering the same call with the same
response, and against moto's ``mock_aws`` for the operations moto has.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.stub import Stubber
from common import Row, Settings, interleaved, median_seconds
from moto import mock_aws

from mock_iotprov import mock_iot_provisioning

ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
)
REGISTER_TEMPLATE = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}, "AWS::IoT::Certificate::Id": {"Type": "String"}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Ref": "ThingName"},
                    "AttributePayload": {"model": "m1", "rev": "2"},
                },
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"},
            },
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "device-policy"}},
        },
    }
)


def _client() -> Any:
    return boto3.client("iot", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")


@dataclass
class Case:
    """One benchmarked call: how to prepare state, and the call's parameters (fresh per call if needed)."""

    name: str
    operation: str
    setup: Callable[[Any], dict[str, Any]]
    params: Callable[[dict[str, Any]], dict[str, Any]]
    goal: str
    moto: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _template(client: Any) -> dict[str, Any]:
    client.create_provisioning_template(templateName="t1", templateBody="{}", provisioningRoleArn=ROLE_ARN)
    return {}


def _thing(client: Any) -> dict[str, Any]:
    client.create_thing(thingName="thing-1", attributePayload={"attributes": {"model": "m1", "rev": "2"}})
    return {}


def _hundred_things(client: Any) -> dict[str, Any]:
    for index in range(100):
        client.create_thing(thingName=f"thing-{index:03d}")
    return {}


def _registration(client: Any) -> dict[str, Any]:
    certificate = client.create_keys_and_certificate(setAsActive=True)
    client.create_policy(policyName="device-policy", policyDocument=POLICY)
    return {"certificateId": certificate["certificateId"]}


_names = itertools.count()

CASES = [
    Case("describe_provisioning_template", "describe_provisioning_template", _template,
         lambda s: {"templateName": "t1"}, "≤ 1.5×"),
    Case("describe_thing", "describe_thing", _thing, lambda s: {"thingName": "thing-1"}, "≤ 1.5×", moto=True),
    Case("create_thing", "create_thing", lambda c: {}, lambda s: {"thingName": f"new-{next(_names)}"},
         "", moto=True),
    Case("list_things (page of 100)", "list_things", _hundred_things, lambda s: {"maxResults": 100}, "≤ 1.5×",
         moto=True),
    Case("register_thing", "register_thing", _registration,
         lambda s: {"templateBody": REGISTER_TEMPLATE,
                    "parameters": {"ThingName": "device-1", "AWS::IoT::Certificate::Id": s["certificateId"]}},
         "≤ 2.0×"),
]


def _stubbed_call(case: Case, response: dict[str, Any], params: dict[str, Any]) -> Callable[[], None]:
    # A loopback endpoint: the active mock leaves this client alone, so the Stubber answers it.
    client = boto3.client(
        "iot", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="a", aws_secret_access_key="b",
    )
    stubber = Stubber(client)
    stubber.activate()
    call = getattr(client, case.operation)

    def one() -> None:
        stubber.add_response(case.operation, response)
        call(**params)

    return one


def _measure_against_stubber(case: Case, rounds: int, per_round: int) -> tuple[float, float]:
    """(ours, Stubber) per-call medians, measured in alternating rounds in one process."""
    with mock_iot_provisioning():
        client = _client()
        state = case.setup(client)
        call = getattr(client, case.operation)
        sample_params = case.params(state)
        response = call(**sample_params)
        response.pop("ResponseMetadata", None)
        stubbed = _stubbed_call(case, response, sample_params)
        return interleaved(lambda: call(**case.params(state)), stubbed, rounds, per_round)


def _measure_moto(case: Case, runs: int) -> float:
    with mock_aws():
        client = _client()
        state = case.setup(client)
        call = getattr(client, case.operation)
        return median_seconds(lambda: call(**case.params(state)), runs, warmup=min(20, runs))


def run(settings: Settings) -> list[Row]:
    rows = []
    rounds = 3 if settings.smoke else 21
    per_round = settings.count(200)
    for case in CASES:
        ours, stubber = _measure_against_stubber(case, rounds, per_round)
        rows.append(Row(case.name, ours, "Stubber", stubber, case.goal))
        if case.moto:
            rows.append(Row(case.name, ours, "moto mock_aws", _measure_moto(case, settings.count(500)), ""))
    return rows
