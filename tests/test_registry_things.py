"""Things in the registry, through real boto3 clients: create, describe, list, update, delete."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mock_iotprov import MockIotProvisioning
from mock_iotprov.registry import memberships, thing_records
from mock_iotprov.registry.attachments import attachments, certificate_arn
from mock_iotprov.state import RequestContext
from tests.helpers import failure

REGION = "us-east-1"
ACCOUNT = "123456789012"


def context_of(mock: MockIotProvisioning) -> RequestContext:
    return RequestContext(mock.backend.store(mock.account_id, REGION), mock.options)


def all_thing_names(iot: Any) -> list[str]:
    return [t["thingName"] for page in iot.get_paginator("list_things").paginate() for t in page["things"]]


# CreateThing / DescribeThing


def test_create_thing_returns_name_arn_and_id(iot: Any) -> None:
    created = iot.create_thing(thingName="lamp-1")
    assert created["thingName"] == "lamp-1"
    assert created["thingArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/lamp-1"
    assert len(created["thingId"]) == 36


def test_describe_thing_shows_every_field(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    iot.create_billing_group(billingGroupName="Cost")
    created = iot.create_thing(
        thingName="lamp-1",
        thingTypeName="Lamp",
        attributePayload={"attributes": {"watts": "60"}},
        billingGroupName="Cost",
    )
    described = iot.describe_thing(thingName="lamp-1")
    assert described["defaultClientId"] == "lamp-1"
    assert described["thingName"] == "lamp-1"
    assert described["thingId"] == created["thingId"]
    assert described["thingArn"] == created["thingArn"]
    assert described["thingTypeName"] == "Lamp"
    assert described["attributes"] == {"watts": "60"}
    assert described["version"] == 1
    assert described["billingGroupName"] == "Cost"


def test_describe_thing_without_type_or_billing_group(iot: Any) -> None:
    iot.create_thing(thingName="bare")
    described = iot.describe_thing(thingName="bare")
    assert "thingTypeName" not in described
    assert "billingGroupName" not in described
    assert described["attributes"] == {}


def test_describe_missing_thing_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.describe_thing, thingName="ghost")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_identical_create_returns_the_same_thing(iot: Any) -> None:
    payload = {"attributes": {"a": "1"}}
    first = iot.create_thing(thingName="dup", attributePayload=payload)
    second = iot.create_thing(thingName="dup", attributePayload=payload)
    assert second["thingId"] == first["thingId"]
    assert iot.describe_thing(thingName="dup")["version"] == 1


@pytest.mark.parametrize(
    "different",
    [
        {"attributePayload": {"attributes": {"a": "2"}}},
        {"attributePayload": {"attributes": {}}},
        {"attributePayload": {"attributes": {"a": "1"}}, "thingTypeName": "Lamp"},
        {"attributePayload": {"attributes": {"a": "1"}}, "billingGroupName": "Cost"},
    ],
)
def test_create_with_a_different_configuration_already_exists(iot: Any, different: dict[str, Any]) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    iot.create_billing_group(billingGroupName="Cost")
    iot.create_thing(thingName="dup", attributePayload={"attributes": {"a": "1"}})
    code, status, response = failure(iot.create_thing, thingName="dup", **different)
    assert (code, status) == ("ResourceAlreadyExistsException", 409)
    assert response["resourceId"] == "dup"
    assert response["resourceArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/dup"
    assert iot.describe_thing(thingName="dup")["attributes"] == {"a": "1"}


def test_create_with_missing_thing_type_is_not_found_and_creates_nothing(iot: Any) -> None:
    code, status, _ = failure(iot.create_thing, thingName="t", thingTypeName="Nope")
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert all_thing_names(iot) == []


def test_create_with_deprecated_thing_type_is_invalid(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Old")
    iot.deprecate_thing_type(thingTypeName="Old")
    code, status, _ = failure(iot.create_thing, thingName="t", thingTypeName="Old")
    assert (code, status) == ("InvalidRequestException", 400)
    assert all_thing_names(iot) == []


def test_create_with_missing_billing_group_is_not_found_and_creates_nothing(iot: Any) -> None:
    code, status, _ = failure(iot.create_thing, thingName="t", billingGroupName="Nope")
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert all_thing_names(iot) == []


def test_attribute_limits_depend_on_thing_type(iot: Any) -> None:
    four = {"attributes": {f"k{i}": "v" for i in range(4)}}
    code, status, _ = failure(iot.create_thing, thingName="untyped", attributePayload=four)
    assert (code, status) == ("InvalidRequestException", 400)
    iot.create_thing_type(thingTypeName="Typed")
    iot.create_thing(thingName="typed", thingTypeName="Typed", attributePayload=four)
    fifty_one = {"attributes": {f"k{i}": "v" for i in range(51)}}
    code, _, _ = failure(iot.create_thing, thingName="big", thingTypeName="Typed", attributePayload=fifty_one)
    assert code == "InvalidRequestException"
    assert all_thing_names(iot) == ["typed"]


# ListThings


def test_list_things_is_ordered_by_name_with_summaries(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    for name in ["c", "a", "b"]:
        iot.create_thing(thingName=name, thingTypeName="Lamp", attributePayload={"attributes": {"n": name}})
    listed = iot.list_things()["things"]
    assert [t["thingName"] for t in listed] == ["a", "b", "c"]
    assert listed[0] == {
        "thingName": "a",
        "thingTypeName": "Lamp",
        "thingArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/a",
        "attributes": {"n": "a"},
        "version": 1,
    }


def test_list_things_paginates(iot: Any) -> None:
    names = [f"thing-{i:02d}" for i in range(23)]
    for name in reversed(names):
        iot.create_thing(thingName=name)
    pages = list(iot.get_paginator("list_things").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["things"]) for p in pages] == [5, 5, 5, 5, 3]
    assert [t["thingName"] for p in pages for t in p["things"]] == names
    assert "nextToken" not in pages[-1]


def test_list_things_page_is_stable_across_deletes(iot: Any) -> None:
    for name in ["a", "b", "c", "d"]:
        iot.create_thing(thingName=name)
    first = iot.list_things(maxResults=2)
    iot.delete_thing(thingName="b")
    iot.delete_thing(thingName="c")
    second = iot.list_things(maxResults=2, nextToken=first["nextToken"])
    assert [t["thingName"] for t in second["things"]] == ["d"]


def test_list_things_rejects_a_foreign_token(iot: Any) -> None:
    code, status, _ = failure(iot.list_things, nextToken="not-a-token!")
    assert (code, status) == ("InvalidRequestException", 400)


def test_list_things_by_attribute(iot: Any) -> None:
    iot.create_thing(thingName="a", attributePayload={"attributes": {"color": "red"}})
    iot.create_thing(thingName="b", attributePayload={"attributes": {"color": "redish"}})
    iot.create_thing(thingName="c", attributePayload={"attributes": {"color": "blue"}})
    iot.create_thing(thingName="d")

    def names(**filters: Any) -> list[str]:
        return [t["thingName"] for t in iot.list_things(**filters)["things"]]

    assert names(attributeName="color", attributeValue="red") == ["a"]
    assert names(attributeName="color", attributeValue="red", usePrefixAttributeValue=True) == ["a", "b"]
    assert names(attributeName="color") == ["a", "b", "c"]
    assert names(attributeName="size") == []


def test_list_things_with_value_but_no_name_is_invalid(iot: Any) -> None:
    code, status, _ = failure(iot.list_things, attributeValue="red")
    assert (code, status) == ("InvalidRequestException", 400)


def test_list_things_by_type_and_attribute_paginates(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    for i in range(12):
        typed: dict[str, Any] = {"thingTypeName": "Lamp"} if i % 2 == 0 else {}
        zone = {"attributes": {"zone": "x" if i % 3 == 0 else "y"}}
        iot.create_thing(thingName=f"t{i:02d}", attributePayload=zone, **typed)
    paginator = iot.get_paginator("list_things")
    of_type = [
        t["thingName"]
        for page in paginator.paginate(thingTypeName="Lamp", PaginationConfig={"PageSize": 2})
        for t in page["things"]
    ]
    assert of_type == ["t00", "t02", "t04", "t06", "t08", "t10"]
    zoned = [
        t["thingName"]
        for page in paginator.paginate(
            thingTypeName="Lamp", attributeName="zone", attributeValue="x", PaginationConfig={"PageSize": 1}
        )
        for t in page["things"]
    ]
    assert zoned == ["t00", "t06"]
    assert iot.list_things(thingTypeName="NoSuchType")["things"] == []


# UpdateThing


def test_update_merges_and_removes_attributes(iot: Any) -> None:
    iot.create_thing(thingName="t", attributePayload={"attributes": {"a": "1", "b": "2"}})
    iot.update_thing(thingName="t", attributePayload={"attributes": {"b": "", "c": "3"}, "merge": True})
    described = iot.describe_thing(thingName="t")
    assert described["attributes"] == {"a": "1", "c": "3"}
    assert described["version"] == 2


def test_update_without_merge_replaces_attributes(iot: Any) -> None:
    iot.create_thing(thingName="t", attributePayload={"attributes": {"a": "1", "b": "2"}})
    iot.update_thing(thingName="t", attributePayload={"attributes": {"c": "3"}})
    assert iot.describe_thing(thingName="t")["attributes"] == {"c": "3"}


def test_update_sets_and_removes_thing_type(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    iot.create_thing(thingName="t")
    iot.update_thing(thingName="t", thingTypeName="Lamp")
    assert iot.describe_thing(thingName="t")["thingTypeName"] == "Lamp"
    assert [t["thingName"] for t in iot.list_things(thingTypeName="Lamp")["things"]] == ["t"]
    iot.update_thing(thingName="t", removeThingType=True)
    described = iot.describe_thing(thingName="t")
    assert "thingTypeName" not in described
    assert described["version"] == 3
    assert iot.list_things(thingTypeName="Lamp")["things"] == []


def test_update_with_expected_version(iot: Any) -> None:
    iot.create_thing(thingName="t", attributePayload={"attributes": {"a": "1"}})
    iot.update_thing(thingName="t", expectedVersion=1, attributePayload={"attributes": {"a": "2"}})
    code, status, _ = failure(
        iot.update_thing, thingName="t", expectedVersion=1, attributePayload={"attributes": {"a": "3"}}
    )
    assert (code, status) == ("VersionConflictException", 409)
    described = iot.describe_thing(thingName="t")
    assert (described["attributes"], described["version"]) == ({"a": "2"}, 2)


def test_update_errors_change_nothing(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Old")
    iot.deprecate_thing_type(thingTypeName="Old")
    iot.create_thing(thingName="t", attributePayload={"attributes": {"a": "1"}})
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({"thingTypeName": "Nope"}, "ResourceNotFoundException", 404),
        ({"thingTypeName": "Old"}, "InvalidRequestException", 400),
        ({"thingTypeName": "Old", "removeThingType": True}, "InvalidRequestException", 400),
        (
            {"attributePayload": {"attributes": {f"k{i}": "v" for i in range(4)}}},
            "InvalidRequestException",
            400,
        ),
    ]
    for arguments, expected_code, expected_status in cases:
        code, status, _ = failure(iot.update_thing, thingName="t", **arguments)
        assert (code, status) == (expected_code, expected_status), arguments
    described = iot.describe_thing(thingName="t")
    assert described["attributes"] == {"a": "1"}
    assert described["version"] == 1
    assert "thingTypeName" not in described


def test_removing_the_type_enforces_the_untyped_attribute_limit(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    four = {"attributes": {f"k{i}": "v" for i in range(4)}}
    iot.create_thing(thingName="t", thingTypeName="Lamp", attributePayload=four)
    code, _, _ = failure(iot.update_thing, thingName="t", removeThingType=True)
    assert code == "InvalidRequestException"
    assert iot.describe_thing(thingName="t")["thingTypeName"] == "Lamp"


def test_a_thing_keeps_its_type_after_deprecation(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    iot.create_thing(thingName="t", thingTypeName="Lamp")
    iot.deprecate_thing_type(thingTypeName="Lamp")
    iot.update_thing(thingName="t", thingTypeName="Lamp", attributePayload={"attributes": {"a": "1"}})
    described = iot.describe_thing(thingName="t")
    assert (described["thingTypeName"], described["attributes"]) == ("Lamp", {"a": "1"})


def test_update_missing_thing_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.update_thing, thingName="ghost", removeThingType=True)
    assert (code, status) == ("ResourceNotFoundException", 404)


# DeleteThing


def test_delete_thing(iot: Any) -> None:
    iot.create_thing(thingName="t")
    iot.delete_thing(thingName="t")
    assert failure(iot.describe_thing, thingName="t")[0] == "ResourceNotFoundException"
    assert all_thing_names(iot) == []


def test_delete_missing_thing_succeeds(iot: Any) -> None:
    iot.delete_thing(thingName="ghost")
    iot.delete_thing(thingName="ghost", expectedVersion=3)


def test_delete_with_wrong_version_conflicts(iot: Any) -> None:
    iot.create_thing(thingName="t")
    code, status, _ = failure(iot.delete_thing, thingName="t", expectedVersion=2)
    assert (code, status) == ("VersionConflictException", 409)
    iot.delete_thing(thingName="t", expectedVersion=1)
    assert all_thing_names(iot) == []


def test_delete_thing_with_attached_principal_is_refused(
    iot: Any, iot_provisioning: MockIotProvisioning
) -> None:
    iot.create_thing(thingName="t")
    ctx = context_of(iot_provisioning)
    principal = certificate_arn(ctx, "a" * 64)
    attachments(ctx).attach_thing_principal("t", principal, "NON_EXCLUSIVE_THING")
    code, status, response = failure(iot.delete_thing, thingName="t")
    assert (code, status) == ("InvalidRequestException", 400)
    assert (
        response["Error"]["Message"] == "Cannot delete. Thing t is still attached to one or more principals"
    )
    assert iot.describe_thing(thingName="t")["thingName"] == "t"
    attachments(ctx).detach_thing_principal("t", principal)
    iot.delete_thing(thingName="t")
    assert all_thing_names(iot) == []


def test_delete_thing_drops_its_memberships(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    iot.create_thing_group(thingGroupName="G")
    iot.create_billing_group(billingGroupName="B")
    iot.create_thing(thingName="t", thingTypeName="Lamp", billingGroupName="B")
    iot.add_thing_to_thing_group(thingGroupName="G", thingName="t")
    iot.delete_thing(thingName="t")
    assert iot.list_things_in_thing_group(thingGroupName="G")["things"] == []
    assert iot.list_things_in_billing_group(billingGroupName="B")["things"] == []
    iot.deprecate_thing_type(thingTypeName="Lamp")
    iot.delete_thing_type(thingTypeName="Lamp")
    iot.create_thing(thingName="t")
    assert iot.list_thing_groups_for_thing(thingName="t")["thingGroups"] == []
    assert "billingGroupName" not in iot.describe_thing(thingName="t")


# Functions other modules use


def test_record_functions_for_other_modules(iot: Any, iot_provisioning: MockIotProvisioning) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    ctx = context_of(iot_provisioning)
    thing = thing_records.create_thing_record(ctx, "made", {"a": "1"}, None)
    assert thing_records.thing_exists(ctx, "made")
    assert not thing_records.thing_exists(ctx, "other")
    assert thing_records.find_thing(ctx, "made") is thing
    assert thing_records.thing_arn(ctx, "made") == thing.arn == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/made"
    thing_records.set_thing_attributes(ctx, thing, {"b": "2"})
    thing_records.set_thing_type(ctx, thing, "Lamp")
    described = iot.describe_thing(thingName="made")
    assert described["attributes"] == {"b": "2"}
    assert described["thingTypeName"] == "Lamp"
    assert described["version"] == 3
    assert described["thingId"] == thing.thing_id
    assert memberships.thing_count_of_type(ctx, "Lamp") == 1
    thing_records.set_thing_type(ctx, thing, None)
    assert memberships.thing_count_of_type(ctx, "Lamp") == 0


def test_find_thing_raises_not_found(iot_provisioning: MockIotProvisioning) -> None:
    from mock_iotprov.protocol.errors import ServiceError

    with pytest.raises(ServiceError) as caught:
        thing_records.find_thing(context_of(iot_provisioning), "ghost")
    assert caught.value.code == "ResourceNotFoundException"


def test_things_are_kept_per_region(iot: Any) -> None:
    iot.create_thing(thingName="t")
    other = boto3.client("iot", region_name="eu-west-1")
    assert other.list_things()["things"] == []
    assert failure(other.describe_thing, thingName="t")[0] == "ResourceNotFoundException"
