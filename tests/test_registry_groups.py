"""Static thing groups, through real boto3 clients: hierarchy, properties, memberships, tags."""

from __future__ import annotations

from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning
from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.registry import groups
from mock_iotprov.registry.attachments import attachments
from mock_iotprov.state import RequestContext
from tests.helpers import failure

REGION = "us-east-1"
ACCOUNT = "123456789012"


def context_of(mock: MockIotProvisioning) -> RequestContext:
    return RequestContext(mock.backend.store(mock.account_id, REGION), mock.options)


def group_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{name}"


def thing_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"


def group_names(iot: Any, **filters: Any) -> list[str]:
    pages = iot.get_paginator("list_thing_groups").paginate(**filters)
    return [g["groupName"] for page in pages for g in page["thingGroups"]]


def members(iot: Any, group: str, **options: Any) -> list[str]:
    pages = iot.get_paginator("list_things_in_thing_group").paginate(thingGroupName=group, **options)
    return [name for page in pages for name in page["things"]]


def groups_for(iot: Any, thing: str) -> list[str]:
    return [g["groupName"] for g in iot.list_thing_groups_for_thing(thingName=thing)["thingGroups"]]


def make_tree(iot: Any) -> None:
    """root -> (mid -> leaf), other-root."""
    iot.create_thing_group(thingGroupName="root")
    iot.create_thing_group(thingGroupName="mid", parentGroupName="root")
    iot.create_thing_group(thingGroupName="leaf", parentGroupName="mid")
    iot.create_thing_group(thingGroupName="other-root")


# Create / describe


def test_create_and_describe_thing_group(iot: Any) -> None:
    created = iot.create_thing_group(
        thingGroupName="site",
        thingGroupProperties={
            "thingGroupDescription": "A site",
            "attributePayload": {"attributes": {"city": "Oslo"}},
        },
    )
    assert created["thingGroupName"] == "site"
    assert created["thingGroupArn"] == group_arn("site")
    described = iot.describe_thing_group(thingGroupName="site")
    assert described["thingGroupId"] == created["thingGroupId"]
    assert described["thingGroupArn"] == group_arn("site")
    assert described["version"] == 1
    assert described["thingGroupProperties"] == {
        "thingGroupDescription": "A site",
        "attributePayload": {"attributes": {"city": "Oslo"}},
    }
    metadata = described["thingGroupMetadata"]
    assert "parentGroupName" not in metadata
    assert "creationDate" in metadata


def test_describe_shows_the_path_from_the_root(iot: Any) -> None:
    make_tree(iot)
    metadata = iot.describe_thing_group(thingGroupName="leaf")["thingGroupMetadata"]
    assert metadata["parentGroupName"] == "mid"
    assert metadata["rootToParentThingGroups"] == [
        {"groupName": "root", "groupArn": group_arn("root")},
        {"groupName": "mid", "groupArn": group_arn("mid")},
    ]


def test_describe_missing_group_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.describe_thing_group, thingGroupName="nope")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_identical_create_returns_the_same_group(iot: Any) -> None:
    properties = {"thingGroupDescription": "d", "attributePayload": {"attributes": {"a": "1"}}}
    first = iot.create_thing_group(thingGroupName="g", thingGroupProperties=properties)
    second = iot.create_thing_group(thingGroupName="g", thingGroupProperties=properties)
    assert second["thingGroupId"] == first["thingGroupId"]


@pytest.mark.parametrize(
    "different",
    [
        {"thingGroupProperties": {"thingGroupDescription": "other"}},
        {
            "thingGroupProperties": {
                "thingGroupDescription": "d",
                "attributePayload": {"attributes": {"a": "2"}},
            }
        },
        {"thingGroupProperties": {"thingGroupDescription": "d"}, "parentGroupName": "parent"},
    ],
)
def test_create_with_different_properties_already_exists(iot: Any, different: dict[str, Any]) -> None:
    iot.create_thing_group(thingGroupName="parent")
    iot.create_thing_group(thingGroupName="g", thingGroupProperties={"thingGroupDescription": "d"})
    code, status, response = failure(iot.create_thing_group, thingGroupName="g", **different)
    assert (code, status) == ("ResourceAlreadyExistsException", 409)
    assert (response["resourceId"], response["resourceArn"]) == ("g", group_arn("g"))


def test_create_under_missing_parent_is_a_declared_error(iot: Any) -> None:
    # CreateThingGroup declares no ResourceNotFoundException: a missing parent is a bad request.
    code, status, message = failure(iot.create_thing_group, thingGroupName="g", parentGroupName="nope")
    assert (code, status) == ("InvalidRequestException", 400)
    assert "nope" in message["Error"]["Message"]
    assert group_names(iot) == []


def test_hierarchy_is_at_most_seven_levels_deep(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="level-1")
    for level in range(2, 8):
        iot.create_thing_group(thingGroupName=f"level-{level}", parentGroupName=f"level-{level - 1}")
    code, status, _ = failure(iot.create_thing_group, thingGroupName="level-8", parentGroupName="level-7")
    assert (code, status) == ("InvalidRequestException", 400)
    assert "level-8" not in group_names(iot)


def test_a_group_has_at_most_100_children(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="parent")
    for i in range(100):
        iot.create_thing_group(thingGroupName=f"child-{i:03d}", parentGroupName="parent")
    code, status, _ = failure(iot.create_thing_group, thingGroupName="child-100", parentGroupName="parent")
    assert (code, status) == ("InvalidRequestException", 400)


def test_tags_on_create_and_through_tag_resource(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="g", tags=[{"Key": "a", "Value": "1"}])
    iot.tag_resource(resourceArn=group_arn("g"), tags=[{"Key": "b", "Value": "2"}])
    assert iot.list_tags_for_resource(resourceArn=group_arn("g"))["tags"] == [
        {"Key": "a", "Value": "1"},
        {"Key": "b", "Value": "2"},
    ]


# ListThingGroups


def test_list_thing_groups_filters(iot: Any) -> None:
    make_tree(iot)
    assert group_names(iot) == ["leaf", "mid", "other-root", "root"]
    assert group_names(iot, recursive=False) == ["other-root", "root"]
    assert group_names(iot, parentGroup="root") == ["leaf", "mid"]
    assert group_names(iot, parentGroup="root", recursive=False) == ["mid"]
    assert group_names(iot, namePrefixFilter="r") == ["root"]
    assert group_names(iot, namePrefixFilter="m", parentGroup="root") == ["mid"]
    assert group_names(iot, namePrefixFilter="zzz") == []
    listed = iot.list_thing_groups(parentGroup="mid")["thingGroups"]
    assert listed == [{"groupName": "leaf", "groupArn": group_arn("leaf")}]


def test_list_thing_groups_with_missing_parent_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.list_thing_groups, parentGroup="nope")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_list_thing_groups_paginates_with_a_prefix(iot: Any) -> None:
    for i in range(9):
        iot.create_thing_group(thingGroupName=f"b-{i}")
        iot.create_thing_group(thingGroupName=f"a-{i}")
    pages = list(
        iot.get_paginator("list_thing_groups").paginate(
            namePrefixFilter="b-", PaginationConfig={"PageSize": 4}
        )
    )
    assert [len(p["thingGroups"]) for p in pages] == [4, 4, 1]
    assert [g["groupName"] for p in pages for g in p["thingGroups"]] == [f"b-{i}" for i in range(9)]


# UpdateThingGroup


def test_update_thing_group(iot: Any) -> None:
    iot.create_thing_group(
        thingGroupName="g",
        thingGroupProperties={"thingGroupDescription": "d", "attributePayload": {"attributes": {"a": "1"}}},
    )
    updated = iot.update_thing_group(
        thingGroupName="g",
        thingGroupProperties={"attributePayload": {"attributes": {"a": "", "b": "2"}, "merge": True}},
        expectedVersion=1,
    )
    assert updated["version"] == 2
    described = iot.describe_thing_group(thingGroupName="g")
    assert described["thingGroupProperties"] == {
        "thingGroupDescription": "d",
        "attributePayload": {"attributes": {"b": "2"}},
    }
    iot.update_thing_group(
        thingGroupName="g",
        thingGroupProperties={"thingGroupDescription": "new", "attributePayload": {"attributes": {"c": "3"}}},
    )
    described = iot.describe_thing_group(thingGroupName="g")
    assert described["version"] == 3
    assert described["thingGroupProperties"]["thingGroupDescription"] == "new"
    assert described["thingGroupProperties"]["attributePayload"]["attributes"] == {"c": "3"}


def test_update_thing_group_errors_change_nothing(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="g", thingGroupProperties={"thingGroupDescription": "d"})
    code, status, _ = failure(
        iot.update_thing_group,
        thingGroupName="g",
        thingGroupProperties={"thingGroupDescription": "x"},
        expectedVersion=5,
    )
    assert (code, status) == ("VersionConflictException", 409)
    too_many = {"attributePayload": {"attributes": {f"k{i}": "v" for i in range(51)}}}
    code, status, _ = failure(iot.update_thing_group, thingGroupName="g", thingGroupProperties=too_many)
    assert (code, status) == ("InvalidRequestException", 400)
    described = iot.describe_thing_group(thingGroupName="g")
    assert (described["version"], described["thingGroupProperties"]) == (1, {"thingGroupDescription": "d"})
    code, status, _ = failure(iot.update_thing_group, thingGroupName="nope", thingGroupProperties={})
    assert (code, status) == ("ResourceNotFoundException", 404)


# DeleteThingGroup


def test_delete_thing_group(iot: Any, iot_provisioning: MockIotProvisioning) -> None:
    iot.create_thing_group(thingGroupName="g", tags=[{"Key": "k", "Value": "v"}])
    iot.create_thing(thingName="t")
    iot.add_thing_to_thing_group(thingGroupName="g", thingName="t")
    ctx = context_of(iot_provisioning)
    attachments(ctx).attach_policy("SomePolicy", group_arn("g"))
    iot.delete_thing_group(thingGroupName="g", expectedVersion=1)
    assert failure(iot.describe_thing_group, thingGroupName="g")[0] == "ResourceNotFoundException"
    assert groups_for(iot, "t") == []
    assert attachments(ctx).policies_of_target(group_arn("g")) == []
    assert attachments(ctx).targets_of_policy("SomePolicy") == []
    iot.create_thing_group(thingGroupName="g")
    assert iot.list_tags_for_resource(resourceArn=group_arn("g"))["tags"] == []
    assert members(iot, "g") == []


def test_delete_missing_group_succeeds(iot: Any) -> None:
    iot.delete_thing_group(thingGroupName="nope")


def test_delete_group_with_children_is_refused(iot: Any) -> None:
    make_tree(iot)
    code, status, _ = failure(iot.delete_thing_group, thingGroupName="mid")
    assert (code, status) == ("InvalidRequestException", 400)
    iot.delete_thing_group(thingGroupName="leaf")
    iot.delete_thing_group(thingGroupName="mid")
    assert group_names(iot) == ["other-root", "root"]
    assert group_names(iot, parentGroup="root") == []


def test_delete_group_with_wrong_version_conflicts(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="g")
    code, status, _ = failure(iot.delete_thing_group, thingGroupName="g", expectedVersion=2)
    assert (code, status) == ("VersionConflictException", 409)
    assert group_names(iot) == ["g"]


# Memberships


def test_add_and_remove_by_name_and_by_arn(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="g")
    iot.create_thing(thingName="t1")
    iot.create_thing(thingName="t2")
    iot.add_thing_to_thing_group(thingGroupName="g", thingName="t1")
    iot.add_thing_to_thing_group(thingGroupArn=group_arn("g"), thingArn=thing_arn("t2"))
    iot.add_thing_to_thing_group(thingGroupName="g", thingName="t1")
    assert members(iot, "g") == ["t1", "t2"]
    assert iot.list_thing_groups_for_thing(thingName="t2")["thingGroups"] == [
        {"groupName": "g", "groupArn": group_arn("g")}
    ]
    iot.remove_thing_from_thing_group(thingGroupArn=group_arn("g"), thingName="t1")
    iot.remove_thing_from_thing_group(thingGroupName="g", thingArn=thing_arn("t1"))
    assert members(iot, "g") == ["t2"]


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({"thingGroupName": "nope", "thingName": "t"}, ("ResourceNotFoundException", 404)),
        ({"thingGroupName": "g", "thingName": "nope"}, ("ResourceNotFoundException", 404)),
        ({"thingName": "t"}, ("InvalidRequestException", 400)),
        ({"thingGroupName": "g"}, ("InvalidRequestException", 400)),
        (
            {"thingGroupName": "g", "thingGroupArn": group_arn("h"), "thingName": "t"},
            ("InvalidRequestException", 400),
        ),
        ({"thingGroupArn": "not-an-arn", "thingName": "t"}, ("InvalidRequestException", 400)),
        (
            {"thingGroupArn": f"arn:aws:iot:eu-west-1:{ACCOUNT}:thinggroup/g", "thingName": "t"},
            ("ResourceNotFoundException", 404),
        ),
    ],
)
def test_membership_errors(iot: Any, arguments: dict[str, Any], expected: tuple[str, int]) -> None:
    iot.create_thing_group(thingGroupName="g")
    iot.create_thing(thingName="t")
    assert failure(iot.add_thing_to_thing_group, **arguments)[:2] == expected
    assert failure(iot.remove_thing_from_thing_group, **arguments)[:2] == expected
    assert members(iot, "g") == []


def test_a_thing_is_in_at_most_ten_groups(iot: Any) -> None:
    iot.create_thing(thingName="t")
    for i in range(11):
        iot.create_thing_group(thingGroupName=f"g{i:02d}")
    for i in range(10):
        iot.add_thing_to_thing_group(thingGroupName=f"g{i:02d}", thingName="t")
    code, status, _ = failure(iot.add_thing_to_thing_group, thingGroupName="g10", thingName="t")
    assert (code, status) == ("InvalidRequestException", 400)
    assert members(iot, "g10") == []
    iot.add_thing_to_thing_group(thingGroupName="g00", thingName="t")
    pages = list(
        iot.get_paginator("list_thing_groups_for_thing").paginate(
            thingName="t", PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(p["thingGroups"]) for p in pages] == [3, 3, 3, 1]
    assert [g["groupName"] for p in pages for g in p["thingGroups"]] == [f"g{i:02d}" for i in range(10)]


def test_list_things_in_group_recursive_and_paginated(iot: Any) -> None:
    make_tree(iot)
    for name in ["r1", "r2"]:
        iot.create_thing(thingName=name)
        iot.add_thing_to_thing_group(thingGroupName="root", thingName=name)
    for name in ["l1", "l2", "l3"]:
        iot.create_thing(thingName=name)
        iot.add_thing_to_thing_group(thingGroupName="leaf", thingName=name)
    iot.add_thing_to_thing_group(thingGroupName="mid", thingName="l1")
    assert members(iot, "root") == ["r1", "r2"]
    assert members(iot, "root", recursive=True) == ["l1", "l2", "l3", "r1", "r2"]
    pages = list(
        iot.get_paginator("list_things_in_thing_group").paginate(
            thingGroupName="root", recursive=True, PaginationConfig={"PageSize": 2}
        )
    )
    assert [p["things"] for p in pages] == [["l1", "l2"], ["l3", "r1"], ["r2"]]
    assert members(iot, "other-root", recursive=True) == []


def test_list_things_in_missing_group_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.list_things_in_thing_group, thingGroupName="nope")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_list_groups_for_missing_thing_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.list_thing_groups_for_thing, thingName="nope")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_update_thing_groups_for_thing(iot: Any) -> None:
    for name in ["a", "b", "c"]:
        iot.create_thing_group(thingGroupName=name)
    iot.create_thing(thingName="t")
    iot.add_thing_to_thing_group(thingGroupName="a", thingName="t")
    iot.update_thing_groups_for_thing(thingName="t", thingGroupsToAdd=["b", "c"], thingGroupsToRemove=["a"])
    assert groups_for(iot, "t") == ["b", "c"]


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({"thingName": "t", "thingGroupsToAdd": ["b", "nope"]}, ("ResourceNotFoundException", 404)),
        (
            {"thingName": "t", "thingGroupsToRemove": ["nope"], "thingGroupsToAdd": ["b"]},
            ("ResourceNotFoundException", 404),
        ),
        ({"thingName": "nope", "thingGroupsToAdd": ["b"]}, ("ResourceNotFoundException", 404)),
        ({"thingGroupsToAdd": ["b"]}, ("InvalidRequestException", 400)),
        (
            {"thingName": "t", "thingGroupsToAdd": ["b"], "thingGroupsToRemove": ["b"]},
            ("InvalidRequestException", 400),
        ),
        (
            {"thingName": "t", "thingGroupsToAdd": [f"g{i}" for i in range(10)]},
            ("InvalidRequestException", 400),
        ),
    ],
)
def test_update_thing_groups_for_thing_errors_change_nothing(
    iot: Any, arguments: dict[str, Any], expected: tuple[str, int]
) -> None:
    for name in ["a", "b", *(f"g{i}" for i in range(10))]:
        iot.create_thing_group(thingGroupName=name)
    iot.create_thing(thingName="t")
    iot.add_thing_to_thing_group(thingGroupName="a", thingName="t")
    assert failure(iot.update_thing_groups_for_thing, **arguments)[:2] == expected
    assert groups_for(iot, "t") == ["a"]


def test_update_thing_groups_for_thing_can_swap_at_the_limit(iot: Any) -> None:
    iot.create_thing(thingName="t")
    for i in range(11):
        iot.create_thing_group(thingGroupName=f"g{i:02d}")
    iot.update_thing_groups_for_thing(thingName="t", thingGroupsToAdd=[f"g{i:02d}" for i in range(10)])
    iot.update_thing_groups_for_thing(thingName="t", thingGroupsToAdd=["g10"], thingGroupsToRemove=["g00"])
    assert groups_for(iot, "t") == [f"g{i:02d}" for i in range(1, 11)]


# Functions other modules use


def test_membership_functions_for_other_modules(iot: Any, iot_provisioning: MockIotProvisioning) -> None:
    iot.create_thing_group(thingGroupName="g")
    iot.create_thing(thingName="t")
    ctx = context_of(iot_provisioning)
    assert groups.thing_group_exists(ctx, "g")
    assert not groups.thing_group_exists(ctx, "h")
    assert groups.thing_group_arn(ctx, "g") == group_arn("g") == groups.find_thing_group(ctx, "g").arn
    assert groups.MAX_GROUPS_PER_THING == 10
    groups.add_thing_to_group(ctx, "t", "g")
    groups.add_thing_to_group(ctx, "t", "g")
    assert groups.groups_of_thing(ctx, "t") == ["g"]
    assert members(iot, "g") == ["t"]
    groups.remove_thing_from_group(ctx, "t", "g")
    groups.remove_thing_from_group(ctx, "t", "g")
    assert groups.groups_of_thing(ctx, "t") == []
    groups.add_thing_to_group(ctx, "t", "g")
    groups.forget_thing(ctx, "t")
    assert members(iot, "g") == []
    with pytest.raises(ServiceError) as caught:
        groups.find_thing_group(ctx, "h")
    assert caught.value.code == "ResourceNotFoundException"
