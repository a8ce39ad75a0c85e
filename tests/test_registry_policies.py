"""Policies, policy versions and policy attachments, through real boto3 clients."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
import time_machine

from mock_iotprov import MockIotProvisioning
from tests.helpers import error_of, iot_client

ACCOUNT = "123456789012"
REGION = "us-east-1"
DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["*"]}],
    }
)
OTHER_DOCUMENT = json.dumps({"Statement": {"Effect": "Deny", "Action": "iot:Publish", "Resource": "*"}})
COGNITO_ID = "us-east-1:12345678-1234-1234-1234-123456789012"
MARKER = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def cognito_id(n: int) -> str:
    return f"us-east-1:{n:08x}-1234-1234-1234-123456789012"


@pytest.fixture
def iot(iot_provisioning: MockIotProvisioning) -> Any:
    return iot_client()


def policy_names(iot: Any, **kwargs: Any) -> list[str]:
    return [p["policyName"] for p in iot.list_policies(**kwargs)["policies"]]


def version_ids(iot: Any, name: str) -> list[str]:
    return [v["versionId"] for v in iot.list_policy_versions(policyName=name)["policyVersions"]]


def create_certificate_arn(iot: Any) -> str:
    arn: str = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
    return arn


# CreatePolicy / GetPolicy


def test_create_policy_returns_version_one(iot: Any) -> None:
    created = iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    assert created["policyName"] == "p1"
    assert created["policyArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/p1"
    assert created["policyDocument"] == DOCUMENT
    assert created["policyVersionId"] == "1"


def test_get_policy_returns_the_default_version(iot: Any) -> None:
    moment = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    with time_machine.travel(moment, tick=False):
        iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    got = iot.get_policy(policyName="p1")
    assert got["policyName"] == "p1"
    assert got["policyArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/p1"
    assert got["policyDocument"] == DOCUMENT
    assert got["defaultVersionId"] == "1"
    assert got["creationDate"] == moment
    assert got["lastModifiedDate"] == moment
    assert re.fullmatch(r"[0-9a-f]{64}", got["generationId"])


def test_document_is_returned_exactly_as_sent(iot: Any) -> None:
    document = '{ "Statement" : [ {"Effect":"Allow",\n "Action":"iot:*", "Resource":"*"} ] }'
    iot.create_policy(policyName="spaced", policyDocument=document)
    assert iot.get_policy(policyName="spaced")["policyDocument"] == document


@pytest.mark.parametrize(
    "document",
    [
        OTHER_DOCUMENT,
        json.dumps({"Statement": [{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}]}),
        json.dumps({"Statement": [{"Effect": "Deny", "Action": "iot:*", "NotResource": ["arn:x"]}]}),
        json.dumps(
            {
                "Version": "2008-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "iot:*", "Resource": "*", "Condition": {"Bool": {"a": "b"}}}
                ],
            }
        ),
    ],
)
def test_well_formed_documents_are_accepted(iot: Any, document: str) -> None:
    iot.create_policy(policyName="ok", policyDocument=document)
    assert iot.get_policy(policyName="ok")["policyDocument"] == document


@pytest.mark.parametrize(
    "document",
    [
        "",
        "not json",
        "[]",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Statement": []}),
        json.dumps({"Statement": "Allow everything"}),
        json.dumps({"Statement": ["Allow"]}),
        json.dumps({"Statement": [{"Effect": "allow", "Action": "iot:*", "Resource": "*"}]}),
        json.dumps({"Statement": [{"Action": "iot:*", "Resource": "*"}]}),
        json.dumps({"Statement": [{"Effect": "Allow", "Resource": "*"}]}),
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "iot:*"}]}),
        json.dumps({"Statement": [{"Effect": "Allow", "Action": 7, "Resource": "*"}]}),
        json.dumps({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}),
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "a", "NotAction": "b", "Resource": "*"}]}),
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "a", "Resource": "*", "Condition": "x"}]}),
        json.dumps(
            {"Version": "2020-01-01", "Statement": [{"Effect": "Allow", "Action": "a", "Resource": "*"}]}
        ),
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "iot:" + "x" * 2100, "Resource": "*"}]}),
    ],
)
def test_malformed_document_is_rejected_and_nothing_is_created(iot: Any, document: str) -> None:
    with pytest.raises(Exception) as excinfo:
        iot.create_policy(policyName="bad", policyDocument=document)
    assert error_of(excinfo)[:2] == ("MalformedPolicyException", 400)
    assert policy_names(iot) == []


def test_whitespace_does_not_count_towards_the_document_limit(iot: Any) -> None:
    statement = {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}
    document = json.dumps({"Statement": [statement] * 30}, indent=40)
    assert len(document) > 2048 > len("".join(document.split()))
    iot.create_policy(policyName="roomy", policyDocument=document)


def test_duplicate_name_is_rejected_with_id_and_arn(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    with pytest.raises(Exception) as excinfo:
        iot.create_policy(policyName="p1", policyDocument=OTHER_DOCUMENT)
    assert error_of(excinfo)[:2] == ("ResourceAlreadyExistsException", 409)
    response = excinfo.value.response  # type: ignore[attr-defined]
    assert response["resourceId"] == "p1"
    assert response["resourceArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/p1"
    assert iot.get_policy(policyName="p1")["policyDocument"] == DOCUMENT


def test_create_policy_with_tags(iot: Any) -> None:
    arn = iot.create_policy(policyName="p1", policyDocument=DOCUMENT, tags=[{"Key": "env", "Value": "test"}])[
        "policyArn"
    ]
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "env", "Value": "test"}]


def test_reserved_tag_key_fails_and_creates_nothing(iot: Any) -> None:
    with pytest.raises(Exception) as excinfo:
        iot.create_policy(policyName="p1", policyDocument=DOCUMENT, tags=[{"Key": "aws:x", "Value": "1"}])
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    assert policy_names(iot) == []


def test_too_many_tags_fail_and_create_nothing(iot: Any) -> None:
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    with pytest.raises(Exception) as excinfo:
        iot.create_policy(policyName="p1", policyDocument=DOCUMENT, tags=tags)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    assert policy_names(iot) == []
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    arn = iot.get_policy(policyName="p1")["policyArn"]
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_tag_resource_knows_policies(iot: Any) -> None:
    arn = iot.create_policy(policyName="p1", policyDocument=DOCUMENT)["policyArn"]
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "blue"}])
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "blue"}]
    with pytest.raises(Exception) as excinfo:
        iot.tag_resource(resourceArn=arn.replace("p1", "p2"), tags=[{"Key": "a", "Value": "b"}])
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


def test_get_missing_policy_is_not_found(iot: Any) -> None:
    with pytest.raises(Exception) as excinfo:
        iot.get_policy(policyName="missing")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


def test_policies_are_per_region(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    assert policy_names(iot_client("eu-west-1")) == []


# ListPolicies


def test_list_policies_in_creation_order_both_ways(iot: Any) -> None:
    for name in ["b", "c", "a"]:
        iot.create_policy(policyName=name, policyDocument=DOCUMENT)
    assert policy_names(iot) == ["b", "c", "a"]
    assert policy_names(iot, ascendingOrder=True) == ["b", "c", "a"]
    assert policy_names(iot, ascendingOrder=False) == ["a", "c", "b"]
    first = iot.list_policies()["policies"][0]
    assert first == {"policyName": "b", "policyArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/b"}


@pytest.mark.parametrize("ascending", [True, False])
def test_list_policies_pages_with_the_paginator(iot: Any, ascending: bool) -> None:
    names = [f"policy-{i:02d}_x" for i in range(7)]
    for name in names:
        iot.create_policy(policyName=name, policyDocument=DOCUMENT)
    pages = list(
        iot.get_paginator("list_policies").paginate(
            ascendingOrder=ascending, PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(page["policies"]) for page in pages] == [3, 3, 1]
    for page in pages[:-1]:
        assert MARKER.match(page["nextMarker"])
    assert "nextMarker" not in pages[-1]
    listed = [p["policyName"] for page in pages for p in page["policies"]]
    assert listed == (names if ascending else names[::-1])


def test_list_policies_page_survives_a_delete_between_pages(iot: Any) -> None:
    for name in ["a", "b", "c", "d"]:
        iot.create_policy(policyName=name, policyDocument=DOCUMENT)
    first = iot.list_policies(pageSize=2)
    iot.delete_policy(policyName="b")
    second = iot.list_policies(pageSize=2, marker=first["nextMarker"])
    assert [p["policyName"] for p in second["policies"]] == ["c", "d"]


def test_list_policies_rejects_a_foreign_marker(iot: Any) -> None:
    with pytest.raises(Exception) as excinfo:
        iot.list_policies(marker="Zm9yZWlnbg==")
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)


# DeletePolicy


def test_delete_policy(iot: Any) -> None:
    arn = iot.create_policy(policyName="p1", policyDocument=DOCUMENT, tags=[{"Key": "k", "Value": "v"}])[
        "policyArn"
    ]
    iot.delete_policy(policyName="p1")
    assert policy_names(iot) == []
    with pytest.raises(Exception) as excinfo:
        iot.get_policy(policyName="p1")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_delete_missing_policy_is_not_found(iot: Any) -> None:
    with pytest.raises(Exception) as excinfo:
        iot.delete_policy(policyName="missing")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


def test_policy_with_non_default_versions_cannot_be_deleted(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT, setAsDefault=True)
    with pytest.raises(Exception) as excinfo:
        iot.delete_policy(policyName="p1")
    assert error_of(excinfo)[:2] == ("DeleteConflictException", 409)
    assert version_ids(iot, "p1") == ["1", "2"]
    iot.delete_policy_version(policyName="p1", policyVersionId="1")
    iot.delete_policy(policyName="p1")
    assert policy_names(iot) == []


def test_attached_policy_cannot_be_deleted(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    iot.attach_policy(policyName="p1", target=COGNITO_ID)
    with pytest.raises(Exception) as excinfo:
        iot.delete_policy(policyName="p1")
    assert error_of(excinfo)[:2] == ("DeleteConflictException", 409)
    assert policy_names(iot) == ["p1"]
    iot.detach_policy(policyName="p1", target=COGNITO_ID)
    iot.delete_policy(policyName="p1")
    assert policy_names(iot) == []


# Policy versions


def test_new_version_is_not_default_unless_asked(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    before = iot.get_policy(policyName="p1")
    created = iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT)
    assert created["policyArn"] == before["policyArn"]
    assert created["policyDocument"] == OTHER_DOCUMENT
    assert created["policyVersionId"] == "2"
    assert created["isDefaultVersion"] is False
    after = iot.get_policy(policyName="p1")
    assert after["policyDocument"] == DOCUMENT
    assert after["defaultVersionId"] == "1"
    assert after["generationId"] == before["generationId"]


def test_set_as_default_changes_document_generation_and_modified_date(iot: Any) -> None:
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    later = start + datetime.timedelta(hours=1)
    with time_machine.travel(start, tick=False):
        iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    before = iot.get_policy(policyName="p1")
    with time_machine.travel(later, tick=False):
        created = iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT, setAsDefault=True)
    assert created["isDefaultVersion"] is True
    after = iot.get_policy(policyName="p1")
    assert after["policyDocument"] == OTHER_DOCUMENT
    assert after["defaultVersionId"] == "2"
    assert after["generationId"] != before["generationId"]
    assert after["creationDate"] == start
    assert after["lastModifiedDate"] == later


def test_get_policy_version(iot: Any) -> None:
    moment = datetime.datetime(2024, 2, 2, tzinfo=datetime.timezone.utc)
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    with time_machine.travel(moment, tick=False):
        iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT)
    got = iot.get_policy_version(policyName="p1", policyVersionId="2")
    assert got["policyArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/p1"
    assert got["policyName"] == "p1"
    assert got["policyDocument"] == OTHER_DOCUMENT
    assert got["policyVersionId"] == "2"
    assert got["isDefaultVersion"] is False
    assert got["creationDate"] == moment
    assert got["lastModifiedDate"] == moment
    assert got["generationId"] == iot.get_policy(policyName="p1")["generationId"]
    assert iot.get_policy_version(policyName="p1", policyVersionId="1")["isDefaultVersion"] is True


def test_list_policy_versions(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT)
    iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT, setAsDefault=True)
    versions = iot.list_policy_versions(policyName="p1")["policyVersions"]
    assert [(v["versionId"], v["isDefaultVersion"]) for v in versions] == [
        ("1", False),
        ("2", False),
        ("3", True),
    ]
    assert all(isinstance(v["createDate"], datetime.datetime) for v in versions)


def test_at_most_five_versions(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    for _ in range(4):
        iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT)
    with pytest.raises(Exception) as excinfo:
        iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT, setAsDefault=True)
    assert error_of(excinfo)[:2] == ("VersionsLimitExceededException", 409)
    assert version_ids(iot, "p1") == ["1", "2", "3", "4", "5"]
    assert iot.get_policy(policyName="p1")["defaultVersionId"] == "1"


def test_version_ids_are_never_reused(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT)
    iot.delete_policy_version(policyName="p1", policyVersionId="2")
    created = iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT)
    assert created["policyVersionId"] == "3"
    assert version_ids(iot, "p1") == ["1", "3"]


def test_malformed_version_is_rejected_and_nothing_changes(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    before = iot.get_policy(policyName="p1")
    with pytest.raises(Exception) as excinfo:
        iot.create_policy_version(policyName="p1", policyDocument="{}", setAsDefault=True)
    assert error_of(excinfo)[:2] == ("MalformedPolicyException", 400)
    assert version_ids(iot, "p1") == ["1"]
    after = iot.get_policy(policyName="p1")
    assert {k: after[k] for k in after if k != "ResponseMetadata"} == {
        k: before[k] for k in before if k != "ResponseMetadata"
    }
    assert iot.create_policy_version(policyName="p1", policyDocument=DOCUMENT)["policyVersionId"] == "2"


def test_set_default_policy_version(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT)
    generation = iot.get_policy(policyName="p1")["generationId"]
    iot.set_default_policy_version(policyName="p1", policyVersionId="2")
    got = iot.get_policy(policyName="p1")
    assert got["defaultVersionId"] == "2"
    assert got["policyDocument"] == OTHER_DOCUMENT
    assert got["generationId"] != generation
    iot.set_default_policy_version(policyName="p1", policyVersionId="2")
    assert iot.get_policy(policyName="p1")["generationId"] == got["generationId"]
    assert iot.get_policy_version(policyName="p1", policyVersionId="1")["isDefaultVersion"] is False


def test_default_version_cannot_be_deleted(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    iot.create_policy_version(policyName="p1", policyDocument=OTHER_DOCUMENT, setAsDefault=True)
    with pytest.raises(Exception) as excinfo:
        iot.delete_policy_version(policyName="p1", policyVersionId="2")
    assert error_of(excinfo)[:2] == ("DeleteConflictException", 409)
    assert version_ids(iot, "p1") == ["1", "2"]
    iot.delete_policy_version(policyName="p1", policyVersionId="1")
    assert version_ids(iot, "p1") == ["2"]


@pytest.mark.parametrize(
    "call",
    [
        lambda iot: iot.get_policy_version(policyName="p1", policyVersionId="9"),
        lambda iot: iot.set_default_policy_version(policyName="p1", policyVersionId="9"),
        lambda iot: iot.delete_policy_version(policyName="p1", policyVersionId="9"),
        lambda iot: iot.get_policy_version(policyName="nope", policyVersionId="1"),
        lambda iot: iot.set_default_policy_version(policyName="nope", policyVersionId="1"),
        lambda iot: iot.delete_policy_version(policyName="nope", policyVersionId="1"),
        lambda iot: iot.list_policy_versions(policyName="nope"),
        lambda iot: iot.create_policy_version(policyName="nope", policyDocument=DOCUMENT),
    ],
)
def test_missing_policy_or_version_is_not_found(iot: Any, call: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    with pytest.raises(Exception) as excinfo:
        call(iot)
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert version_ids(iot, "p1") == ["1"]
    assert iot.get_policy(policyName="p1")["defaultVersionId"] == "1"


# AttachPolicy / DetachPolicy / ListAttachedPolicies / ListTargetsForPolicy


def test_attach_policy_to_a_cognito_identity(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    iot.attach_policy(policyName="p1", target=COGNITO_ID)
    attached = iot.list_attached_policies(target=COGNITO_ID)["policies"]
    assert attached == [{"policyName": "p1", "policyArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/p1"}]
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == [COGNITO_ID]
    iot.attach_policy(policyName="p1", target=COGNITO_ID)
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == [COGNITO_ID]
    iot.detach_policy(policyName="p1", target=COGNITO_ID)
    assert iot.list_attached_policies(target=COGNITO_ID)["policies"] == []
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == []


def test_attach_policy_to_a_certificate(iot: Any) -> None:
    cert_arn = create_certificate_arn(iot)
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    iot.attach_policy(policyName="p1", target=cert_arn)
    assert [p["policyName"] for p in iot.list_attached_policies(target=cert_arn)["policies"]] == ["p1"]
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == [cert_arn]
    assert iot.list_principal_policies(principal=cert_arn)["policies"][0]["policyName"] == "p1"
    assert iot.list_policy_principals(policyName="p1")["principals"] == [cert_arn]


def test_missing_certificate_target_is_not_found(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    missing = f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/" + "ab" * 32
    for call in (
        lambda: iot.attach_policy(policyName="p1", target=missing),
        lambda: iot.list_attached_policies(target=missing),
        lambda: iot.attach_principal_policy(policyName="p1", principal=missing),
        lambda: iot.list_principal_policies(principal=missing),
    ):
        with pytest.raises(Exception) as excinfo:
            call()
        assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == []


def test_attach_policy_to_a_thing_group_and_list_recursively(iot: Any) -> None:
    root = iot.create_thing_group(thingGroupName="root")["thingGroupArn"]
    middle = iot.create_thing_group(thingGroupName="middle", parentGroupName="root")["thingGroupArn"]
    leaf = iot.create_thing_group(thingGroupName="leaf", parentGroupName="middle")["thingGroupArn"]
    for name in ["on-root", "on-middle", "on-leaf", "shared"]:
        iot.create_policy(policyName=name, policyDocument=DOCUMENT)
    iot.attach_policy(policyName="on-root", target=root)
    iot.attach_policy(policyName="shared", target=root)
    iot.attach_policy(policyName="on-middle", target=middle)
    iot.attach_policy(policyName="on-leaf", target=leaf)
    iot.attach_policy(policyName="shared", target=leaf)

    def names(**kwargs: Any) -> list[str]:
        return [p["policyName"] for p in iot.list_attached_policies(target=leaf, **kwargs)["policies"]]

    assert names() == ["on-leaf", "shared"]
    assert names(recursive=False) == ["on-leaf", "shared"]
    assert names(recursive=True) == ["on-leaf", "shared", "on-middle", "on-root"]
    assert set(iot.list_targets_for_policy(policyName="shared")["targets"]) == {root, leaf}
    pages = list(
        iot.get_paginator("list_attached_policies").paginate(
            target=leaf, recursive=True, PaginationConfig={"PageSize": 3}
        )
    )
    assert [[p["policyName"] for p in page["policies"]] for page in pages] == [
        ["on-leaf", "shared", "on-middle"],
        ["on-root"],
    ]


def test_thing_group_is_not_a_principal(iot: Any) -> None:
    group = iot.create_thing_group(thingGroupName="g")["thingGroupArn"]
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    iot.attach_policy(policyName="p1", target=group)
    with pytest.raises(Exception) as excinfo:
        iot.attach_principal_policy(policyName="p1", principal=group)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    iot.attach_principal_policy(policyName="p1", principal=COGNITO_ID)
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == [group, COGNITO_ID]
    assert iot.list_policy_principals(policyName="p1")["principals"] == [COGNITO_ID]


def test_missing_thing_group_target_is_not_found(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    missing = f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/nope"
    with pytest.raises(Exception) as excinfo:
        iot.attach_policy(policyName="p1", target=missing)
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(Exception) as excinfo:
        iot.list_attached_policies(target=missing)
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize(
    "target", ["not-a-target", "arn:aws:iot:us-east-1:123456789012:thing/t1", "us-east-1:x"]
)
def test_malformed_target_is_an_invalid_request(iot: Any, target: str) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    for call in (
        lambda: iot.attach_policy(policyName="p1", target=target),
        lambda: iot.detach_policy(policyName="p1", target=target),
        lambda: iot.list_attached_policies(target=target),
        lambda: iot.attach_principal_policy(policyName="p1", principal=target),
    ):
        with pytest.raises(Exception) as excinfo:
            call()
        assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == []


def test_missing_policy_is_not_found(iot: Any) -> None:
    for call in (
        lambda: iot.attach_policy(policyName="nope", target=COGNITO_ID),
        lambda: iot.list_targets_for_policy(policyName="nope"),
        lambda: iot.attach_principal_policy(policyName="nope", principal=COGNITO_ID),
        lambda: iot.detach_principal_policy(policyName="nope", principal=COGNITO_ID),
        lambda: iot.list_policy_principals(policyName="nope"),
    ):
        with pytest.raises(Exception) as excinfo:
            call()
        assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert iot.list_attached_policies(target=COGNITO_ID)["policies"] == []


def test_detach_policy_is_idempotent(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    iot.detach_policy(policyName="p1", target=COGNITO_ID)
    iot.detach_policy(policyName="nope", target=COGNITO_ID)
    iot.detach_principal_policy(policyName="p1", principal=COGNITO_ID)
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == []


def test_at_most_ten_policies_per_target(iot: Any) -> None:
    for i in range(11):
        iot.create_policy(policyName=f"p{i}", policyDocument=DOCUMENT)
    for i in range(10):
        iot.attach_policy(policyName=f"p{i}", target=COGNITO_ID)
    for call in (
        lambda: iot.attach_policy(policyName="p10", target=COGNITO_ID),
        lambda: iot.attach_principal_policy(policyName="p10", principal=COGNITO_ID),
    ):
        with pytest.raises(Exception) as excinfo:
            call()
        assert error_of(excinfo)[:2] == ("LimitExceededException", 410)
    assert iot.list_targets_for_policy(policyName="p10")["targets"] == []
    iot.attach_policy(policyName="p3", target=COGNITO_ID)
    attached = [p["policyName"] for p in iot.list_attached_policies(target=COGNITO_ID)["policies"]]
    assert attached == [f"p{i}" for i in range(10)]


def test_list_targets_for_policy_pages(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    targets = [cognito_id(i) for i in range(12)]
    for target in targets:
        iot.attach_policy(policyName="p1", target=target)
    pages = list(
        iot.get_paginator("list_targets_for_policy").paginate(
            policyName="p1", PaginationConfig={"PageSize": 5}
        )
    )
    assert [len(page["targets"]) for page in pages] == [5, 5, 2]
    assert all(MARKER.match(page["nextMarker"]) for page in pages[:-1])
    assert [t for page in pages for t in page["targets"]] == targets


# The principal forms


def test_principal_policy_operations(iot: Any) -> None:
    for name in ["a", "b", "c"]:
        iot.create_policy(policyName=name, policyDocument=DOCUMENT)
        iot.attach_principal_policy(policyName=name, principal=COGNITO_ID)
    listed = iot.list_principal_policies(principal=COGNITO_ID)["policies"]
    assert [p["policyName"] for p in listed] == ["a", "b", "c"]
    reverse = iot.list_principal_policies(principal=COGNITO_ID, ascendingOrder=False)["policies"]
    assert [p["policyName"] for p in reverse] == ["c", "b", "a"]
    assert iot.list_policy_principals(policyName="b")["principals"] == [COGNITO_ID]
    iot.detach_principal_policy(policyName="b", principal=COGNITO_ID)
    listed = iot.list_principal_policies(principal=COGNITO_ID)["policies"]
    assert [p["policyName"] for p in listed] == ["a", "c"]
    assert iot.list_policy_principals(policyName="b")["principals"] == []


def test_principal_lists_page(iot: Any) -> None:
    for i in range(7):
        iot.create_policy(policyName=f"p{i}", policyDocument=DOCUMENT)
        iot.attach_principal_policy(policyName=f"p{i}", principal=COGNITO_ID)
    pages = list(
        iot.get_paginator("list_principal_policies").paginate(
            principal=COGNITO_ID, PaginationConfig={"PageSize": 3}
        )
    )
    assert [[p["policyName"] for p in page["policies"]] for page in pages] == [
        ["p0", "p1", "p2"],
        ["p3", "p4", "p5"],
        ["p6"],
    ]
    principals = [cognito_id(i) for i in range(5)]
    for principal in principals:
        iot.attach_principal_policy(policyName="p0", principal=principal)
    pages = list(
        iot.get_paginator("list_policy_principals").paginate(
            policyName="p0", ascendingOrder=False, PaginationConfig={"PageSize": 4}
        )
    )
    assert [page["principals"] for page in pages] == [
        principals[::-1][:4],
        principals[::-1][4:] + [COGNITO_ID],
    ]


def test_missing_certificate_principal_in_detach_is_not_found(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOCUMENT)
    missing = f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/" + "cd" * 32
    with pytest.raises(Exception) as excinfo:
        iot.detach_principal_policy(policyName="p1", principal=missing)
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_policy_document_with_non_json_constants_is_malformed(iot_provisioning: Any, constant: str) -> None:
    client = iot_client()
    document = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*", '
        '"X": %s}]}'
    )
    with pytest.raises(Exception) as caught:
        client.create_policy(policyName="p", policyDocument=document % constant)
    assert error_of(caught)[:2] == ("MalformedPolicyException", 400)
