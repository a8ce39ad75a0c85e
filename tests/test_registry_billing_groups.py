"""Billing groups, through real boto3 clients: create, describe, list, update, delete, things, tags."""

from __future__ import annotations

from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning
from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.registry import billing_groups
from mock_iotprov.state import RequestContext
from tests.helpers import failure

REGION = "us-east-1"
ACCOUNT = "123456789012"


def billing_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:billinggroup/{name}"


def thing_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"


def things_in(iot: Any, group: str) -> list[str]:
    pages = iot.get_paginator("list_things_in_billing_group").paginate(billingGroupName=group)
    return [name for page in pages for name in page["things"]]


def billing_group_of(iot: Any, thing: str) -> str | None:
    found: str | None = iot.describe_thing(thingName=thing).get("billingGroupName")
    return found


def test_create_and_describe_billing_group(iot: Any) -> None:
    created = iot.create_billing_group(
        billingGroupName="cost", billingGroupProperties={"billingGroupDescription": "Cost centre"}
    )
    assert created["billingGroupName"] == "cost"
    assert created["billingGroupArn"] == billing_arn("cost")
    described = iot.describe_billing_group(billingGroupName="cost")
    assert described["billingGroupId"] == created["billingGroupId"]
    assert described["billingGroupArn"] == billing_arn("cost")
    assert described["version"] == 1
    assert described["billingGroupProperties"] == {"billingGroupDescription": "Cost centre"}
    assert "creationDate" in described["billingGroupMetadata"]


def test_describe_missing_billing_group_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.describe_billing_group, billingGroupName="nope")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_identical_create_returns_the_same_group_and_different_conflicts(iot: Any) -> None:
    properties = {"billingGroupDescription": "d"}
    first = iot.create_billing_group(billingGroupName="b", billingGroupProperties=properties)
    second = iot.create_billing_group(billingGroupName="b", billingGroupProperties=properties)
    assert second["billingGroupId"] == first["billingGroupId"]
    code, status, response = failure(
        iot.create_billing_group,
        billingGroupName="b",
        billingGroupProperties={"billingGroupDescription": "x"},
    )
    assert (code, status) == ("ResourceAlreadyExistsException", 409)
    assert (response["resourceId"], response["resourceArn"]) == ("b", billing_arn("b"))
    assert iot.describe_billing_group(billingGroupName="b")["billingGroupProperties"] == properties


def test_tags_on_create_and_through_tag_resource(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="b", tags=[{"Key": "cc", "Value": "42"}])
    iot.tag_resource(resourceArn=billing_arn("b"), tags=[{"Key": "dept", "Value": "ops"}])
    assert iot.list_tags_for_resource(resourceArn=billing_arn("b"))["tags"] == [
        {"Key": "cc", "Value": "42"},
        {"Key": "dept", "Value": "ops"},
    ]
    iot.untag_resource(resourceArn=billing_arn("b"), tagKeys=["cc"])
    assert iot.list_tags_for_resource(resourceArn=billing_arn("b"))["tags"] == [
        {"Key": "dept", "Value": "ops"}
    ]


def test_a_bad_tag_creates_nothing(iot: Any) -> None:
    code, status, _ = failure(
        iot.create_billing_group, billingGroupName="b", tags=[{"Key": "aws:reserved", "Value": "x"}]
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert iot.list_billing_groups()["billingGroups"] == []


def test_list_billing_groups_with_prefix_and_pages(iot: Any) -> None:
    for i in range(7):
        iot.create_billing_group(billingGroupName=f"team-{i}")
    iot.create_billing_group(billingGroupName="other")
    iot.create_billing_group(billingGroupName="zeta")
    pages = list(
        iot.get_paginator("list_billing_groups").paginate(
            namePrefixFilter="team-", PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(p["billingGroups"]) for p in pages] == [3, 3, 1]
    listed = [g for p in pages for g in p["billingGroups"]]
    assert [g["groupName"] for g in listed] == [f"team-{i}" for i in range(7)]
    assert listed[0]["groupArn"] == billing_arn("team-0")
    everything = [g["groupName"] for g in iot.list_billing_groups()["billingGroups"]]
    assert everything == ["other", *(f"team-{i}" for i in range(7)), "zeta"]


def test_update_billing_group(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="b", billingGroupProperties={"billingGroupDescription": "d"})
    updated = iot.update_billing_group(
        billingGroupName="b", billingGroupProperties={"billingGroupDescription": "new"}, expectedVersion=1
    )
    assert updated["version"] == 2
    described = iot.describe_billing_group(billingGroupName="b")
    assert (described["version"], described["billingGroupProperties"]) == (
        2,
        {"billingGroupDescription": "new"},
    )


def test_update_billing_group_errors_change_nothing(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="b", billingGroupProperties={"billingGroupDescription": "d"})
    code, status, _ = failure(
        iot.update_billing_group,
        billingGroupName="b",
        billingGroupProperties={"billingGroupDescription": "x"},
        expectedVersion=7,
    )
    assert (code, status) == ("VersionConflictException", 409)
    described = iot.describe_billing_group(billingGroupName="b")
    assert (described["version"], described["billingGroupProperties"]) == (
        1,
        {"billingGroupDescription": "d"},
    )
    code, status, _ = failure(iot.update_billing_group, billingGroupName="nope", billingGroupProperties={})
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_add_list_and_remove_things(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="b")
    for name in ["t3", "t1", "t2"]:
        iot.create_thing(thingName=name)
    iot.add_thing_to_billing_group(billingGroupName="b", thingName="t3")
    iot.add_thing_to_billing_group(billingGroupArn=billing_arn("b"), thingArn=thing_arn("t1"))
    iot.add_thing_to_billing_group(billingGroupName="b", thingArn=thing_arn("t2"))
    iot.add_thing_to_billing_group(billingGroupName="b", thingName="t2")
    assert things_in(iot, "b") == ["t1", "t2", "t3"]
    assert billing_group_of(iot, "t1") == "b"
    pages = list(
        iot.get_paginator("list_things_in_billing_group").paginate(
            billingGroupName="b", PaginationConfig={"PageSize": 2}
        )
    )
    assert [p["things"] for p in pages] == [["t1", "t2"], ["t3"]]
    iot.remove_thing_from_billing_group(billingGroupName="b", thingName="t1")
    iot.remove_thing_from_billing_group(billingGroupArn=billing_arn("b"), thingArn=thing_arn("t1"))
    assert things_in(iot, "b") == ["t2", "t3"]
    assert billing_group_of(iot, "t1") is None


def test_adding_to_another_billing_group_moves_the_thing(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="first")
    iot.create_billing_group(billingGroupName="second")
    iot.create_thing(thingName="t", billingGroupName="first")
    assert things_in(iot, "first") == ["t"]
    iot.add_thing_to_billing_group(billingGroupName="second", thingName="t")
    assert things_in(iot, "first") == []
    assert things_in(iot, "second") == ["t"]
    assert billing_group_of(iot, "t") == "second"
    iot.remove_thing_from_billing_group(billingGroupName="first", thingName="t")
    assert billing_group_of(iot, "t") == "second"
    assert iot.describe_thing(thingName="t")["version"] == 1


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({"billingGroupName": "nope", "thingName": "t"}, ("ResourceNotFoundException", 404)),
        ({"billingGroupName": "b", "thingName": "nope"}, ("ResourceNotFoundException", 404)),
        ({"thingName": "t"}, ("InvalidRequestException", 400)),
        ({"billingGroupName": "b"}, ("InvalidRequestException", 400)),
        (
            {"billingGroupName": "b", "thingName": "t", "thingArn": thing_arn("u")},
            ("InvalidRequestException", 400),
        ),
        (
            {"billingGroupArn": f"arn:aws:iot:{REGION}:999999999999:billinggroup/b", "thingName": "t"},
            ("ResourceNotFoundException", 404),
        ),
        ({"billingGroupArn": thing_arn("b"), "thingName": "t"}, ("InvalidRequestException", 400)),
    ],
)
def test_membership_errors(iot: Any, arguments: dict[str, Any], expected: tuple[str, int]) -> None:
    iot.create_billing_group(billingGroupName="b")
    iot.create_thing(thingName="t")
    assert failure(iot.add_thing_to_billing_group, **arguments)[:2] == expected
    assert failure(iot.remove_thing_from_billing_group, **arguments)[:2] == expected
    assert things_in(iot, "b") == []


def test_list_things_in_missing_group_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.list_things_in_billing_group, billingGroupName="nope")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_delete_billing_group(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="b", tags=[{"Key": "k", "Value": "v"}])
    iot.create_thing(thingName="t", billingGroupName="b")
    iot.delete_billing_group(billingGroupName="b", expectedVersion=1)
    assert failure(iot.describe_billing_group, billingGroupName="b")[0] == "ResourceNotFoundException"
    assert billing_group_of(iot, "t") is None
    iot.create_billing_group(billingGroupName="b")
    assert things_in(iot, "b") == []
    assert iot.list_tags_for_resource(resourceArn=billing_arn("b"))["tags"] == []


def test_delete_missing_billing_group_succeeds(iot: Any) -> None:
    iot.delete_billing_group(billingGroupName="nope")


def test_delete_with_wrong_version_conflicts(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="b")
    iot.create_thing(thingName="t", billingGroupName="b")
    code, status, _ = failure(iot.delete_billing_group, billingGroupName="b", expectedVersion=3)
    assert (code, status) == ("VersionConflictException", 409)
    assert things_in(iot, "b") == ["t"]


def test_functions_for_other_modules(iot: Any, iot_provisioning: MockIotProvisioning) -> None:
    iot.create_billing_group(billingGroupName="b")
    iot.create_thing(thingName="t")
    ctx = RequestContext(
        iot_provisioning.backend.store(iot_provisioning.account_id, REGION), iot_provisioning.options
    )
    assert billing_groups.billing_group_exists(ctx, "b")
    assert not billing_groups.billing_group_exists(ctx, "c")
    assert billing_groups.find_billing_group(ctx, "b").arn == billing_arn("b")
    billing_groups.set_thing_billing_group(ctx, "t", "b")
    assert billing_group_of(iot, "t") == "b"
    assert things_in(iot, "b") == ["t"]
    billing_groups.forget_thing(ctx, "t")
    assert billing_group_of(iot, "t") is None
    assert things_in(iot, "b") == []
    with pytest.raises(ServiceError) as caught:
        billing_groups.find_billing_group(ctx, "c")
    assert caught.value.code == "ResourceNotFoundException"
