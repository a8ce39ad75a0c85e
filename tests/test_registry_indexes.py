"""The registry's indexes give the same pages, orders and tokens as a plain walk over every item.

The indexes exist to keep listings O(page) at scale (``bench/bench_scale.py``); these tests pin that they
answer exactly what the filters mean: ``pagination`` helpers against a brute-force page of the same list,
and list operations through boto3 against the filter applied to every item.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_iotprov.pagination import (
    InsertionOrder,
    SortedKeys,
    decode_token,
    filtered_key_page,
    merged_key_page,
    page_of_insertion_order,
    page_of_list,
)

POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
)
KEYS = st.lists(st.text(alphabet="abcxyz", min_size=1, max_size=4), max_size=30)


def _all_pages(page: Any, limit: int) -> list[tuple[list[str], str | None]]:
    pages = []
    token = None
    while True:
        items, token = page(token, limit)
        pages.append((items, token))
        if token is None:
            return pages


@settings(max_examples=60, deadline=None)
@given(KEYS, st.lists(st.integers(0, 40), max_size=10), st.integers(1, 7), st.booleans())
def test_insertion_order_pages_like_a_list(
    keys: list[str], removed: list[int], limit: int, ascending: bool
) -> None:
    order = InsertionOrder()
    kept: dict[str, None] = {}
    for key in keys:
        order.add(key)
        kept[key] = None
    for index in removed:
        if index < len(keys):
            order.discard(keys[index])
            kept.pop(keys[index], None)
    assert list(order) == list(kept) and len(order) == len(kept)
    as_list = list(kept) if ascending else list(reversed(kept))
    expected = _all_pages(lambda token, size: page_of_list(as_list, token, size, 250), limit)
    found = _all_pages(lambda token, size: page_of_insertion_order(order, token, size, 250, ascending), limit)
    assert found == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(KEYS, max_size=5), st.integers(1, 6), st.sampled_from(["", "a", "x"]))
def test_merged_page_equals_a_page_of_the_union(sets: list[list[str]], limit: int, start: str) -> None:
    def keep(key: str) -> bool:
        return key.startswith(start)

    union = SortedKeys(key for keys in sets for key in keys)
    indexes = [SortedKeys(keys) for keys in sets]
    expected = _all_pages(lambda token, size: filtered_key_page(union, token, size, keep), limit)
    found = _all_pages(lambda token, size: merged_key_page(indexes, token, size, keep=keep), limit)
    assert found == expected
    assert all(token is None or isinstance(decode_token(token), str) for _, token in found)


def _listed(iot: Any, operation: str, key: str, **params: Any) -> list[Any]:
    pages = iot.get_paginator(operation).paginate(**params, PaginationConfig={"PageSize": 3})
    return [item for page in pages for item in page[key]]


def test_list_things_attribute_filters_match_every_thing(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    expected: dict[str, tuple[dict[str, str], str | None]] = {}
    for index in range(90):  # 90 distinct serials: more than the merge limit of a prefix filter
        attributes = {"serial": f"s{index:02d}", "colour": "red" if index % 3 else "blue"}
        thing_type = "Lamp" if index % 2 else None
        name = f"thing-{(index * 37) % 90:02d}"
        iot.create_thing(
            thingName=name,
            attributePayload={"attributes": attributes},
            **({"thingTypeName": thing_type} if thing_type else {}),
        )
        expected[name] = (attributes, thing_type)
    iot.update_thing(
        thingName="thing-00", attributePayload={"attributes": {"colour": "green"}, "merge": True}
    )
    expected["thing-00"] = ({**expected["thing-00"][0], "colour": "green"}, expected["thing-00"][1])
    iot.delete_thing(thingName="thing-01")
    del expected["thing-01"]
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"attributeName": "colour"}, lambda a, t: "colour" in a),
        ({"attributeName": "colour", "attributeValue": "red"}, lambda a, t: a.get("colour") == "red"),
        ({"attributeName": "colour", "attributeValue": "green"}, lambda a, t: a.get("colour") == "green"),
        (
            {"attributeName": "serial", "attributeValue": "s1", "usePrefixAttributeValue": True},
            lambda a, t: a["serial"].startswith("s1"),
        ),
        (
            {"attributeName": "serial", "attributeValue": "s", "usePrefixAttributeValue": True},
            lambda a, t: True,
        ),
        (
            {
                "attributeName": "serial",
                "attributeValue": "s",
                "usePrefixAttributeValue": True,
                "thingTypeName": "Lamp",
            },
            lambda a, t: t == "Lamp",
        ),
        (
            {"attributeName": "colour", "attributeValue": "blue", "thingTypeName": "Lamp"},
            lambda a, t: a.get("colour") == "blue" and t == "Lamp",
        ),
        ({"attributeName": "missing"}, lambda a, t: False),
    ]
    for params, wanted in cases:
        listed = [thing["thingName"] for thing in _listed(iot, "list_things", "things", **params)]
        assert listed == sorted(name for name, (a, t) in expected.items() if wanted(a, t)), params


def test_recursive_things_in_group_lists_each_member_once_in_name_order(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="root")
    iot.create_thing_group(thingGroupName="mid", parentGroupName="root")
    iot.create_thing_group(thingGroupName="leaf", parentGroupName="mid")
    iot.create_thing_group(thingGroupName="other")
    members = {"root": {"t3", "t7"}, "mid": {"t1", "t3", "t5"}, "leaf": {"t2", "t5", "t9"}, "other": {"t4"}}
    for group, names in members.items():
        for name in names:
            iot.create_thing(thingName=name)
            iot.add_thing_to_thing_group(thingGroupName=group, thingName=name)
    for group, below in (("root", ("root", "mid", "leaf")), ("mid", ("mid", "leaf")), ("leaf", ("leaf",))):
        listed = _listed(iot, "list_things_in_thing_group", "things", thingGroupName=group, recursive=True)
        assert listed == sorted(set().union(*(members[name] for name in below))), group
        direct = _listed(iot, "list_things_in_thing_group", "things", thingGroupName=group)
        assert direct == sorted(members[group])


def test_policy_target_lists_keep_attachment_order_and_skip_groups_for_principals(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=POLICY)
    targets = []
    for index in range(7):
        if index % 3 == 1:
            iot.create_thing_group(thingGroupName=f"g{index}")
            target = iot.describe_thing_group(thingGroupName=f"g{index}")["thingGroupArn"]
        else:
            target = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
        iot.attach_policy(policyName="p", target=target)
        targets.append(target)
    iot.detach_policy(policyName="p", target=targets[3])
    del targets[3]
    principals = [target for target in targets if ":thinggroup/" not in target]
    pages = iot.get_paginator("list_targets_for_policy").paginate(
        policyName="p", PaginationConfig={"PageSize": 2}
    )
    assert [target for page in pages for target in page["targets"]] == targets
    for ascending in (True, False):
        listed = _listed(
            iot, "list_policy_principals", "principals", policyName="p", ascendingOrder=ascending
        )
        assert listed == (principals if ascending else principals[::-1])
    with pytest.raises(iot.exceptions.DeleteConflictException):
        iot.delete_policy(policyName="p")  # still attached
    for target in targets:
        iot.detach_policy(policyName="p", target=target)
    iot.delete_policy(policyName="p")
