"""Role aliases through real boto3 clients: create, describe, list, update, delete, tags, errors."""

from __future__ import annotations

from typing import Any

import pytest

from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.registry import role_aliases
from tests.helpers import endpoint_client, failure, iot_client

ROLE = "arn:aws:iam::123456789012:role/CredentialsRole"
OTHER_ROLE = "arn:aws:iam::123456789012:role/service-role/Other"
ALIAS_ARN = "arn:aws:iot:us-east-1:123456789012:rolealias/{}"


def test_create_and_describe_with_default_duration(iot: Any) -> None:
    created = iot.create_role_alias(roleAlias="edge-creds", roleArn=ROLE)
    assert created["roleAlias"] == "edge-creds"
    assert created["roleAliasArn"] == ALIAS_ARN.format("edge-creds")
    described = iot.describe_role_alias(roleAlias="edge-creds")["roleAliasDescription"]
    assert described["roleArn"] == ROLE
    assert described["owner"] == "123456789012"
    assert described["credentialDurationSeconds"] == 3600
    assert described["roleAliasArn"] == created["roleAliasArn"]
    assert described["creationDate"] == described["lastModifiedDate"]


def test_create_with_duration_and_tags(iot: Any) -> None:
    arn = iot.create_role_alias(
        roleAlias="a", roleArn=ROLE, credentialDurationSeconds=900, tags=[{"Key": "team", "Value": "x"}]
    )["roleAliasArn"]
    assert iot.describe_role_alias(roleAlias="a")["roleAliasDescription"]["credentialDurationSeconds"] == 900
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "x"}]
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "env", "Value": "dev"}])
    iot.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "env", "Value": "dev"}]


def test_duplicate_alias_is_already_exists(iot: Any) -> None:
    iot.create_role_alias(roleAlias="dup", roleArn=ROLE)
    code, status, response = failure(iot.create_role_alias, roleAlias="dup", roleArn=OTHER_ROLE)
    assert (code, status) == ("ResourceAlreadyExistsException", 409)
    assert response["resourceArn"] == ALIAS_ARN.format("dup")
    assert iot.describe_role_alias(roleAlias="dup")["roleAliasDescription"]["roleArn"] == ROLE


@pytest.mark.parametrize("duration", [899, 43201])
def test_duration_outside_the_model_range_is_invalid(iot_provisioning: Any, duration: int) -> None:
    client = iot_client(validate=False)
    code, status, _ = failure(
        client.create_role_alias, roleAlias="d", roleArn=ROLE, credentialDurationSeconds=duration
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert client.list_role_aliases()["roleAliases"] == []


@pytest.mark.parametrize("role_arn", ["arn:aws:iam::123456789012:user/someone", "not-an-arn-but-long-enough"])
def test_role_arn_must_name_an_iam_role(iot: Any, role_arn: str) -> None:
    code, status, _ = failure(iot.create_role_alias, roleAlias="r", roleArn=role_arn)
    assert (code, status) == ("InvalidRequestException", 400)
    iot.create_role_alias(roleAlias="r", roleArn=ROLE)
    code, _, _ = failure(iot.update_role_alias, roleAlias="r", roleArn=role_arn)
    assert code == "InvalidRequestException"
    assert iot.describe_role_alias(roleAlias="r")["roleAliasDescription"]["roleArn"] == ROLE


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("create_role_alias", {"roleArn": ROLE}),
        ("describe_role_alias", {}),
        ("update_role_alias", {"credentialDurationSeconds": 1000}),
        ("delete_role_alias", {}),
    ],
)
def test_bad_alias_name_is_invalid(iot_provisioning: Any, operation: str, params: dict[str, Any]) -> None:
    client = iot_client(validate=False)
    code, status, _ = failure(getattr(client, operation), roleAlias="has space", **params)
    assert (code, status) == ("InvalidRequestException", 400)


@pytest.mark.parametrize("duration", [899, 43201])
def test_update_with_a_duration_outside_the_range_is_invalid(iot_provisioning: Any, duration: int) -> None:
    client = iot_client(validate=False)
    client.create_role_alias(roleAlias="kept", roleArn=ROLE)
    code, status, _ = failure(client.update_role_alias, roleAlias="kept", credentialDurationSeconds=duration)
    assert (code, status) == ("InvalidRequestException", 400)
    described = client.describe_role_alias(roleAlias="kept")["roleAliasDescription"]
    assert described["credentialDurationSeconds"] == 3600


def test_missing_alias_is_not_found_for_describe_update_delete(iot: Any) -> None:
    for call, kwargs in [
        (iot.describe_role_alias, {}),
        (iot.update_role_alias, {"credentialDurationSeconds": 1000}),
        (iot.delete_role_alias, {}),
    ]:
        code, status, _ = failure(call, roleAlias="ghost", **kwargs)
        assert (code, status) == ("ResourceNotFoundException", 404)


def test_update_changes_role_and_duration(iot: Any) -> None:
    iot.create_role_alias(roleAlias="u", roleArn=ROLE)
    answer = iot.update_role_alias(roleAlias="u", roleArn=OTHER_ROLE, credentialDurationSeconds=43200)
    assert answer["roleAliasArn"] == ALIAS_ARN.format("u")
    described = iot.describe_role_alias(roleAlias="u")["roleAliasDescription"]
    assert (described["roleArn"], described["credentialDurationSeconds"]) == (OTHER_ROLE, 43200)
    assert described["lastModifiedDate"] >= described["creationDate"]


def test_delete_removes_alias_and_tags(iot: Any) -> None:
    arn = iot.create_role_alias(roleAlias="gone", roleArn=ROLE, tags=[{"Key": "k", "Value": "v"}])[
        "roleAliasArn"
    ]
    iot.delete_role_alias(roleAlias="gone")
    assert failure(iot.describe_role_alias, roleAlias="gone")[0] == "ResourceNotFoundException"
    assert failure(iot.list_tags_for_resource, resourceArn=arn)[0] == "ResourceNotFoundException"
    iot.create_role_alias(roleAlias="gone", roleArn=ROLE)
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_list_pages_in_both_orders(iot: Any) -> None:
    names = [f"alias-{i:02d}" for i in range(7)]
    for name in names:
        iot.create_role_alias(roleAlias=name, roleArn=ROLE)
    ascending = iot.get_paginator("list_role_aliases").paginate(
        ascendingOrder=True, PaginationConfig={"PageSize": 3}
    )
    pages = [page["roleAliases"] for page in ascending]
    assert pages == [names[0:3], names[3:6], names[6:7]]
    descending = iot.get_paginator("list_role_aliases").paginate(PaginationConfig={"PageSize": 3})
    assert [n for page in descending for n in page["roleAliases"]] == names[::-1]
    first = iot.list_role_aliases(pageSize=3, ascendingOrder=True)
    assert first["nextMarker"]


def test_foreign_marker_is_invalid(iot: Any) -> None:
    code, status, _ = failure(iot.list_role_aliases, marker="////")
    assert (code, status) == ("InvalidRequestException", 400)


def test_alias_quota_is_limit_exceeded(iot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(role_aliases, "MAX_ROLE_ALIASES", 2)
    iot.create_role_alias(roleAlias="one", roleArn=ROLE)
    iot.create_role_alias(roleAlias="two", roleArn=ROLE)
    code, status, _ = failure(iot.create_role_alias, roleAlias="three", roleArn=ROLE)
    assert (code, status) == ("LimitExceededException", 410)
    assert sorted(iot.list_role_aliases()["roleAliases"]) == ["one", "two"]


def test_role_aliases_over_the_local_endpoint() -> None:
    with IotProvisioningServer(port=0) as server:
        client = endpoint_client(server.url, "eu-west-1")
        arn = client.create_role_alias(roleAlias="http", roleArn=ROLE)["roleAliasArn"]
        assert arn == "arn:aws:iot:eu-west-1:123456789012:rolealias/http"
        assert client.list_role_aliases()["roleAliases"] == ["http"]
        assert failure(client.create_role_alias, roleAlias="http", roleArn=ROLE)[0] == (
            "ResourceAlreadyExistsException"
        )
        client.delete_role_alias(roleAlias="http")
        assert failure(client.delete_role_alias, roleAlias="http")[0] == "ResourceNotFoundException"
