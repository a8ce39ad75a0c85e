"""The provisioning-template control plane: defaults, versions, limits, conflicts, errors, tags."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
import time_machine

from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE, error_of, iot_client

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:pre-provisioning-hook"


@pytest.fixture
def client(iot_provisioning: Any) -> Any:
    return iot_client()


def _create(client: Any, name: str = "t", **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.create_provisioning_template(
        templateName=name, templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN, **extra
    )
    return result


def _error(call: Any) -> tuple[str, int, str]:
    with pytest.raises(Exception) as excinfo:
        call()
    return error_of(excinfo)


def test_create_returns_arn_and_default_version(client: Any) -> None:
    created = _create(client)
    assert created["templateArn"] == "arn:aws:iot:us-east-1:123456789012:provisioningtemplate/t"
    assert created["templateName"] == "t"
    assert created["defaultVersionId"] == 1


def test_defaults_disabled_fleet_provisioning(client: Any) -> None:
    _create(client, description="d")
    described = client.describe_provisioning_template(templateName="t")
    assert described["enabled"] is False
    assert described["type"] == "FLEET_PROVISIONING"
    assert described["templateBody"] == SIMPLE_TEMPLATE
    assert described["provisioningRoleArn"] == ROLE_ARN
    assert described["description"] == "d"
    assert "preProvisioningHook" not in described
    assert isinstance(described["creationDate"], datetime.datetime)
    assert client.list_provisioning_templates()["templates"][0]["enabled"] is False


def test_enabled_and_jitp_type(client: Any) -> None:
    _create(client, enabled=True, type="JITP")
    described = client.describe_provisioning_template(templateName="t")
    assert (described["enabled"], described["type"]) == (True, "JITP")


def test_hook_payload_version_defaults(client: Any) -> None:
    _create(client, preProvisioningHook={"targetArn": LAMBDA})
    hook = client.describe_provisioning_template(templateName="t")["preProvisioningHook"]
    assert hook == {"targetArn": LAMBDA, "payloadVersion": "2020-04-01"}


def test_hook_only_on_fleet_provisioning(client: Any) -> None:
    code, status, message = _error(
        lambda: _create(client, type="JITP", preProvisioningHook={"targetArn": LAMBDA})
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert "FLEET_PROVISIONING" in message
    _create(client, type="JITP")
    code, _, _ = _error(
        lambda: client.update_provisioning_template(
            templateName="t", preProvisioningHook={"targetArn": LAMBDA}
        )
    )
    assert code == "InvalidRequestException"


def test_hook_must_target_lambda(client: Any) -> None:
    code, _, message = _error(
        lambda: _create(client, preProvisioningHook={"targetArn": "arn:aws:sns:us-east-1:123456789012:topic"})
    )
    assert code == "InvalidRequestException" and "Lambda" in message


def test_update_and_remove_hook(client: Any) -> None:
    _create(client)
    client.update_provisioning_template(
        templateName="t", preProvisioningHook={"targetArn": LAMBDA, "payloadVersion": "2020-04-01"}
    )
    assert "preProvisioningHook" in client.describe_provisioning_template(templateName="t")
    code, _, _ = _error(
        lambda: client.update_provisioning_template(
            templateName="t", preProvisioningHook={"targetArn": LAMBDA}, removePreProvisioningHook=True
        )
    )
    assert code == "InvalidRequestException"
    client.update_provisioning_template(templateName="t", removePreProvisioningHook=True)
    assert "preProvisioningHook" not in client.describe_provisioning_template(templateName="t")


def test_update_fields_and_type_is_immutable(client: Any) -> None:
    _create(client)
    client.update_provisioning_template(
        templateName="t", description="new", enabled=True, provisioningRoleArn=ROLE_ARN + "2"
    )
    described = client.describe_provisioning_template(templateName="t")
    assert (described["description"], described["enabled"]) == ("new", True)
    assert described["provisioningRoleArn"] == ROLE_ARN + "2"
    assert described["type"] == "FLEET_PROVISIONING"


def test_duplicate_name_conflicts(client: Any) -> None:
    arn = _create(client)["templateArn"]
    with pytest.raises(client.exceptions.ResourceAlreadyExistsException) as excinfo:
        _create(client)
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert (response["resourceId"], response["resourceArn"]) == ("t", arn)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.describe_provisioning_template(templateName="missing"),
        lambda c: c.update_provisioning_template(templateName="missing", enabled=True),
        lambda c: c.delete_provisioning_template(templateName="missing"),
        lambda c: c.create_provisioning_template_version(templateName="missing", templateBody="{}"),
        lambda c: c.list_provisioning_template_versions(templateName="missing"),
        lambda c: c.describe_provisioning_template_version(templateName="missing", versionId=1),
        lambda c: c.delete_provisioning_template_version(templateName="missing", versionId=2),
    ],
)
def test_missing_template_is_not_found(client: Any, call: Any) -> None:
    code, status, _ = _error(lambda: call(client))
    assert (code, status) == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"text"', "", "{"])
def test_body_must_be_a_json_object(client: Any, body: str) -> None:
    code, status, _ = _error(
        lambda: client.create_provisioning_template(
            templateName="t", templateBody=body, provisioningRoleArn=ROLE_ARN
        )
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert client.list_provisioning_templates()["templates"] == []
    _create(client, "ok")
    code, _, _ = _error(
        lambda: client.create_provisioning_template_version(templateName="ok", templateBody=body)
    )
    assert code == "InvalidRequestException"
    client.delete_provisioning_template(templateName="ok")


def test_versions_increase_and_set_as_default_defaults_false(client: Any) -> None:
    _create(client)
    body_v2 = json.dumps({"Resources": {}})
    second = client.create_provisioning_template_version(templateName="t", templateBody=body_v2)
    assert (second["versionId"], second["isDefaultVersion"]) == (2, False)
    assert second["templateArn"].endswith(":provisioningtemplate/t")
    third = client.create_provisioning_template_version(
        templateName="t", templateBody=body_v2, setAsDefault=True
    )
    assert (third["versionId"], third["isDefaultVersion"]) == (3, True)
    described = client.describe_provisioning_template(templateName="t")
    assert (described["defaultVersionId"], described["templateBody"]) == (3, body_v2)
    versions = client.list_provisioning_template_versions(templateName="t")["versions"]
    assert [(v["versionId"], v["isDefaultVersion"]) for v in versions] == [(1, False), (2, False), (3, True)]
    version_one = client.describe_provisioning_template_version(templateName="t", versionId=1)
    assert (version_one["templateBody"], version_one["isDefaultVersion"]) == (SIMPLE_TEMPLATE, False)


def test_version_ids_are_never_reused(client: Any) -> None:
    _create(client)
    client.create_provisioning_template_version(templateName="t", templateBody="{}")
    client.delete_provisioning_template_version(templateName="t", versionId=2)
    again = client.create_provisioning_template_version(templateName="t", templateBody="{}")
    assert again["versionId"] == 3
    code, status, _ = _error(
        lambda: client.describe_provisioning_template_version(templateName="t", versionId=2)
    )
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_at_most_five_versions(client: Any) -> None:
    _create(client)
    for _ in range(4):
        client.create_provisioning_template_version(templateName="t", templateBody="{}")
    code, status, _ = _error(
        lambda: client.create_provisioning_template_version(templateName="t", templateBody="{}")
    )
    assert (code, status) == ("VersionsLimitExceededException", 409)
    assert len(client.list_provisioning_template_versions(templateName="t")["versions"]) == 5


def test_default_version_cannot_be_deleted(client: Any) -> None:
    _create(client)
    code, status, _ = _error(
        lambda: client.delete_provisioning_template_version(templateName="t", versionId=1)
    )
    assert (code, status) == ("DeleteConflictException", 409)
    client.create_provisioning_template_version(templateName="t", templateBody="{}", setAsDefault=True)
    client.delete_provisioning_template_version(templateName="t", versionId=1)
    assert [
        v["versionId"] for v in client.list_provisioning_template_versions(templateName="t")["versions"]
    ] == [2]


def test_deleting_a_template_deletes_its_versions(client: Any) -> None:
    _create(client)
    client.create_provisioning_template_version(templateName="t", templateBody="{}")
    client.delete_provisioning_template(templateName="t")
    code, _, _ = _error(lambda: client.describe_provisioning_template_version(templateName="t", versionId=2))
    assert code == "ResourceNotFoundException"
    _create(client)
    assert [
        v["versionId"] for v in client.list_provisioning_template_versions(templateName="t")["versions"]
    ] == [1]


def test_update_default_version_to_missing_version(client: Any) -> None:
    _create(client)
    code, status, _ = _error(
        lambda: client.update_provisioning_template(templateName="t", defaultVersionId=7)
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    client.create_provisioning_template_version(templateName="t", templateBody="{}")
    client.update_provisioning_template(templateName="t", defaultVersionId=2)
    assert client.describe_provisioning_template(templateName="t")["defaultVersionId"] == 2


def test_failed_update_changes_nothing(client: Any) -> None:
    _create(client)
    _error(lambda: client.update_provisioning_template(templateName="t", enabled=True, defaultVersionId=9))
    assert client.describe_provisioning_template(templateName="t")["enabled"] is False


def test_creating_a_version_bumps_last_modified(client: Any) -> None:
    start = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
    with time_machine.travel(start, tick=False):
        _create(client)
    with time_machine.travel(start + datetime.timedelta(minutes=10), tick=False):
        client.create_provisioning_template_version(templateName="t", templateBody="{}")
    described = client.describe_provisioning_template(templateName="t")
    assert described["creationDate"] == start
    assert described["lastModifiedDate"] == start + datetime.timedelta(minutes=10)
    version = client.describe_provisioning_template_version(templateName="t", versionId=2)
    assert version["creationDate"] == start + datetime.timedelta(minutes=10)


def test_pagination_with_paginators(client: Any) -> None:
    for index in range(7):
        _create(client, f"t{index}")
    first = client.list_provisioning_templates(maxResults=3)
    assert [t["templateName"] for t in first["templates"]] == ["t0", "t1", "t2"]
    assert "nextToken" in first
    pages = list(
        client.get_paginator("list_provisioning_templates").paginate(PaginationConfig={"PageSize": 3})
    )
    assert [len(p["templates"]) for p in pages] == [3, 3, 1]
    assert [t["templateName"] for p in pages for t in p["templates"]] == [f"t{i}" for i in range(7)]
    for _ in range(4):
        client.create_provisioning_template_version(templateName="t0", templateBody="{}")
    version_pages = list(
        client.get_paginator("list_provisioning_template_versions").paginate(
            templateName="t0", PaginationConfig={"PageSize": 2}
        )
    )
    assert [[v["versionId"] for v in p["versions"]] for p in version_pages] == [[1, 2], [3, 4], [5]]
    code, _, _ = _error(lambda: client.list_provisioning_templates(nextToken="garbage!"))
    assert code == "InvalidRequestException"


def test_template_quota(client: Any) -> None:
    for index in range(256):
        _create(client, f"t{index:03d}")
    code, status, _ = _error(lambda: _create(client, "one-too-many"))
    assert (code, status) == ("LimitExceededException", 410)


def test_tags(client: Any) -> None:
    arn = _create(client, tags=[{"Key": "team", "Value": "devices"}])["templateArn"]
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "devices"}]
    client.tag_resource(
        resourceArn=arn, tags=[{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "x"}]
    )
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"Key": "env", "Value": "test"},
        {"Key": "team", "Value": "x"},
    ]
    client.untag_resource(resourceArn=arn, tagKeys=["team", "absent"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "env", "Value": "test"}]
    code, _, _ = _error(lambda: client.tag_resource(resourceArn=arn, tags=[{"Key": "aws:x", "Value": "v"}]))
    assert code == "InvalidRequestException"
    client.delete_provisioning_template(templateName="t")
    code, status, _ = _error(lambda: client.list_tags_for_resource(resourceArn=arn))
    assert (code, status) == ("ResourceNotFoundException", 404)
    _create(client)
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_state_is_per_region(iot_provisioning: Any) -> None:
    _create(iot_client("us-east-1"))
    _create(iot_client("eu-central-1"), "t")
    assert len(iot_client("us-east-1").list_provisioning_templates()["templates"]) == 1
