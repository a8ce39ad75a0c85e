"""Every kind of model constraint is enforced server-side, as the service does.

Clients use ``parameter_validation=False`` so that botocore sends what it is given, like other SDKs do.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from mock_iotprov.protocol.validate import compiled_pattern
from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE, error_of, iot_client


@pytest.fixture
def client(iot_provisioning: Any) -> Any:
    return iot_client(validate=False)


def _create(client: Any, **overrides: Any) -> Any:
    params = {"templateName": "t", "templateBody": SIMPLE_TEMPLATE, "provisioningRoleArn": ROLE_ARN}
    params.update(overrides)
    return client.create_provisioning_template(**{k: v for k, v in params.items() if v is not None})


def _rejected(call: Any, member: str, constraint: str) -> None:
    with pytest.raises(Exception) as excinfo:
        call()
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400), message
    assert member in message and constraint in message, message


def test_required_member(client: Any) -> None:
    _rejected(lambda: _create(client, provisioningRoleArn=None), "provisioningRoleArn", "must not be null")


def test_type(client: Any) -> None:
    _rejected(lambda: _create(client, enabled="yes"), "enabled", "type Boolean")


def test_min_length(client: Any) -> None:
    _rejected(lambda: _create(client, provisioningRoleArn="arn:short"), "provisioningRoleArn", "length")


def test_max_length(client: Any) -> None:
    _rejected(lambda: _create(client, description="d" * 501), "description", "less than or equal to 500")


def test_max_length_of_template_body(client: Any) -> None:
    _rejected(lambda: _create(client, templateBody="{" + " " * 10240 + "}"), "templateBody", "length")


def test_min_and_max_value(client: Any) -> None:
    _rejected(lambda: client.list_provisioning_templates(maxResults=0), "maxResults", "greater than")
    _rejected(lambda: client.list_provisioning_templates(maxResults=251), "maxResults", "less than")


def test_pattern(client: Any) -> None:
    _rejected(lambda: _create(client, templateName="has space"), "templateName", "regular expression")
    _rejected(lambda: _create(client, description="bell\x07"), "description", "regular expression")


def test_enum(client: Any) -> None:
    _rejected(lambda: _create(client, type="BOGUS"), "type", "enum value set")


def test_nested_structure_members(client: Any) -> None:
    _rejected(
        lambda: _create(client, preProvisioningHook={"payloadVersion": "2020-04-01"}),
        "preProvisioningHook.targetArn",
        "must not be null",
    )
    _rejected(lambda: _create(client, tags=[{"Key": "k" * 129, "Value": "v"}]), "tags.1.member.Key", "length")


def test_querystring_type(client: Any) -> None:
    _create(client)
    _rejected(
        lambda: client.create_provisioning_template_version(
            templateName="t", templateBody=SIMPLE_TEMPLATE, setAsDefault="maybe"
        ),
        "setAsDefault",
        "true or false",
    )


def test_failed_call_changes_nothing(client: Any) -> None:
    with pytest.raises(ClientError):
        _create(client, type="BOGUS")
    assert client.list_provisioning_templates()["templates"] == []


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        ("[^\\p{C}]*", "héllo wörld", "tab\there"),
        ("[\\p{Graph}\\x20]*", "A-z ~!", "é"),
        ("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "Ünïcode 123", "semi;colon"),
        ("[\\p{Upper}\\p{Digit}_]+", "ABC_12", "abc"),
        ("[^\\p{Cntrl}]*", "plain", "nul\x00"),
        ("[a-zA-Z0-9:_-]+", "thing:1", "thing 1"),
        ("[\\w=,@-]+", "a_b=c", "ü"),
    ],
)
def test_java_patterns_match_the_whole_value(pattern: str, good: str, bad: str) -> None:
    matches = compiled_pattern(pattern)
    assert matches(good) is not None
    assert matches(bad) is None
