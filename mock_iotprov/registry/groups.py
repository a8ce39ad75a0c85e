"""Static thing groups: the group hierarchy and which things belong to which groups.

Behaviour reproduced (AWS IoT API reference and developer guide):

- ``CreateThingGroup`` repeated with the same parent and properties returns the existing group (same
  ``thingGroupId``); different properties are a ``ResourceAlreadyExistsException``. The parent must exist
  (``InvalidRequestException``: the operation declares no not-found error). A hierarchy is at most 7
  levels deep, a group has at most 100 direct children and 50 attributes (``InvalidRequestException``: the
  operation declares no limit error).
- ``DescribeThingGroup`` gives ``rootToParentThingGroups`` from the root down to the direct parent.
- ``ListThingGroups`` lists every group, or the children of ``parentGroup``; ``recursive`` (the default)
  includes deeper descendants, ``recursive=false`` only one level (the root groups when no parent is given).
- ``UpdateThingGroup`` checks ``expectedVersion`` (``VersionConflictException``) and returns the new version;
  ``attributePayload`` follows the ``merge`` rules of ``UpdateThing``.
- ``DeleteThingGroup`` of a missing group succeeds (the operation declares no not-found error); a group with
  child groups cannot be deleted (``InvalidRequestException``). Deleting drops the group's memberships, the
  policies attached to its ARN and its tags.
- A thing belongs to at most 10 thing groups. ``AddThingToThingGroup`` and ``UpdateThingGroupsForThing``
  declare no limit error, so going over is an ``InvalidRequestException``.

Where AWS is silent or the mock simplifies: only static groups exist, so ``overrideDynamicGroups`` has no
effect. The developer guide also says a thing should not be in two groups of one hierarchy; the service's
enforcement of that sentence is not documented and the mock does not enforce it. Adding a thing to a group
it is already in, or removing it from a group it is not in, succeeds without change. A repeated
``CreateThingGroup`` does not apply its tags. ``UpdateThingGroup`` keeps the description when
``thingGroupDescription`` is absent. A root group's metadata has neither ``parentGroupName`` nor
``rootToParentThingGroups``. Group memberships do not change a thing's version.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.pagination import SortedKeys, filtered_key_page, merged_key_page
from mock_iotprov.protocol.errors import ServiceError, already_exists, invalid_request, not_found
from mock_iotprov.registry import events, memberships
from mock_iotprov.registry import tags as tag_store
from mock_iotprov.registry.attachments import attachments
from mock_iotprov.registry.inputs import name_from_reference, updated_attributes
from mock_iotprov.registry.thing_records import find_thing, thing_tables
from mock_iotprov.state import RequestContext

MAX_GROUPS_PER_THING = 10
MAX_HIERARCHY_DEPTH = 7
MAX_CHILD_GROUPS = 100
MAX_GROUP_ATTRIBUTES = 50


@dataclass
class ThingGroup:
    """A static thing group."""

    name: str
    group_id: str
    arn: str
    parent_group_name: str | None
    description: str | None
    attributes: dict[str, str]
    created: datetime.datetime
    version: int = 1


@dataclass
class GroupTables:
    """The thing groups of one account and region and their hierarchy (members: ``memberships``)."""

    groups: dict[str, ThingGroup] = field(default_factory=dict)
    names: SortedKeys = field(default_factory=SortedKeys)
    roots: SortedKeys = field(default_factory=SortedKeys)
    children: dict[str, SortedKeys] = field(default_factory=dict)


def _tables(ctx: RequestContext) -> GroupTables:
    return ctx.store.component(GroupTables)


def thing_group_arn(ctx: RequestContext, name: str) -> str:
    """``arn:aws:iot:{region}:{account}:thinggroup/{name}``."""
    return ctx.arn(f"thinggroup/{name}")


def find_thing_group(ctx: RequestContext, name: str) -> ThingGroup:
    """The thing group called ``name``, or ``ResourceNotFoundException``."""
    found = _tables(ctx).groups.get(name)
    if found is None:
        raise not_found(f"Thing group {name} does not exist.")
    return found


def thing_group_exists(ctx: RequestContext, name: str) -> bool:
    """Whether a thing group called ``name`` exists (used by tagging)."""
    return name in _tables(ctx).groups


def groups_of_thing(ctx: RequestContext, thing_name: str) -> list[str]:
    """The names of the groups a thing belongs to, in the order it joined them."""
    return memberships.groups_of_thing(ctx, thing_name)


def _membership_event(ctx: RequestContext, thing_name: str, group_name: str, operation: str) -> None:
    thing = thing_tables(ctx).things.get(thing_name)
    events.membership_event(ctx, thing, _tables(ctx).groups.get(group_name), operation)


def add_thing_to_group(ctx: RequestContext, thing_name: str, group_name: str) -> None:
    """Make a thing a member of a group (idempotent; the caller checked existence and limits)."""
    if group_name not in memberships.memberships(ctx).thing_groups.get(thing_name, {}):
        _membership_event(ctx, thing_name, group_name, "ADDED")
    memberships.join_group(ctx, thing_name, group_name)


def remove_thing_from_group(ctx: RequestContext, thing_name: str, group_name: str) -> None:
    """End a membership (idempotent)."""
    if group_name in memberships.memberships(ctx).thing_groups.get(thing_name, {}):
        _membership_event(ctx, thing_name, group_name, "REMOVED")
    memberships.leave_group(ctx, thing_name, group_name)


def forget_thing(ctx: RequestContext, thing_name: str) -> None:
    """Drop every thing-group membership of a thing."""
    for group_name in groups_of_thing(ctx, thing_name):
        remove_thing_from_group(ctx, thing_name, group_name)


def _ancestors(ctx: RequestContext, group: ThingGroup) -> list[ThingGroup]:
    """The groups above ``group``, root first."""
    tables = _tables(ctx)
    chain: list[ThingGroup] = []
    parent = group.parent_group_name
    while parent is not None:
        above = tables.groups[parent]
        chain.append(above)
        parent = above.parent_group_name
    chain.reverse()
    return chain


def _descendants(tables: GroupTables, name: str) -> list[str]:
    found: list[str] = []
    pending = [name]
    while pending:
        for child in tables.children.get(pending.pop(), SortedKeys()):
            found.append(child)
            pending.append(child)
    return found


def _check_attribute_count(attributes: dict[str, str]) -> None:
    if len(attributes) > MAX_GROUP_ATTRIBUTES:
        raise invalid_request(f"A thing group can have at most {MAX_GROUP_ATTRIBUTES} attributes.")


def _check_version(group: ThingGroup, expected: int | None) -> None:
    if expected is not None and expected != group.version:
        raise ServiceError(
            "VersionConflictException",
            f"The version of thing group {group.name} is {group.version}, "
            f"not the expected version {expected}.",
        )


def create_thing_group(
    ctx: RequestContext,
    *,
    thingGroupName: str,
    parentGroupName: str | None = None,
    thingGroupProperties: dict[str, Any] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """CreateThingGroup: idempotent for an identical parent and properties."""
    tables = _tables(ctx)
    properties = thingGroupProperties or {}
    description = properties.get("thingGroupDescription")
    attributes = dict((properties.get("attributePayload") or {}).get("attributes") or {})
    existing = tables.groups.get(thingGroupName)
    if existing is not None:
        same = (
            existing.parent_group_name == parentGroupName
            and existing.description == description
            and existing.attributes == attributes
        )
        if not same:
            raise already_exists(
                f"Thing group {thingGroupName} already exists in the account with different properties.",
                existing.name,
                existing.arn,
            )
        return {
            "thingGroupName": existing.name,
            "thingGroupArn": existing.arn,
            "thingGroupId": existing.group_id,
        }
    if parentGroupName is not None:
        if parentGroupName not in tables.groups:  # the operation declares no ResourceNotFoundException
            raise invalid_request(f"The parent thing group {parentGroupName} does not exist.")
        parent = find_thing_group(ctx, parentGroupName)
        if len(_ancestors(ctx, parent)) + 2 > MAX_HIERARCHY_DEPTH:
            raise invalid_request(
                f"A thing group hierarchy can be at most {MAX_HIERARCHY_DEPTH} levels deep."
            )
        if len(tables.children.get(parentGroupName, ())) >= MAX_CHILD_GROUPS:
            raise invalid_request(f"A thing group can have at most {MAX_CHILD_GROUPS} direct child groups.")
    _check_attribute_count(attributes)
    arn = thing_group_arn(ctx, thingGroupName)
    if tags:
        tag_store.add_tags(ctx, arn, tags)
    group = ThingGroup(
        name=thingGroupName,
        group_id=str(uuid.uuid4()),
        arn=arn,
        parent_group_name=parentGroupName,
        description=description,
        attributes=attributes,
        created=ctx.now(),
    )
    tables.groups[thingGroupName] = group
    tables.names.add(thingGroupName)
    if parentGroupName is None:
        tables.roots.add(thingGroupName)
    else:
        tables.children.setdefault(parentGroupName, SortedKeys()).add(thingGroupName)
    events.thing_group_event(ctx, group, "CREATED", _ancestors(ctx, group)[::-1])
    return {"thingGroupName": group.name, "thingGroupArn": group.arn, "thingGroupId": group.group_id}


def describe_thing_group(ctx: RequestContext, *, thingGroupName: str) -> dict[str, Any]:
    """DescribeThingGroup."""
    group = find_thing_group(ctx, thingGroupName)
    properties: dict[str, Any] = {"thingGroupDescription": group.description}
    if group.attributes:
        properties["attributePayload"] = {"attributes": dict(group.attributes)}
    chain = _ancestors(ctx, group)
    return {
        "thingGroupName": group.name,
        "thingGroupId": group.group_id,
        "thingGroupArn": group.arn,
        "version": group.version,
        "thingGroupProperties": properties,
        "thingGroupMetadata": {
            "parentGroupName": group.parent_group_name,
            "rootToParentThingGroups": [{"groupName": g.name, "groupArn": g.arn} for g in chain] or None,
            "creationDate": group.created,
        },
    }


def _name_and_arn(tables: GroupTables, names: list[str]) -> list[dict[str, str]]:
    return [{"groupName": name, "groupArn": tables.groups[name].arn} for name in names]


def list_thing_groups(
    ctx: RequestContext,
    *,
    nextToken: str | None = None,
    maxResults: int | None = None,
    parentGroup: str | None = None,
    namePrefixFilter: str | None = None,
    recursive: bool | None = None,
) -> dict[str, Any]:
    """ListThingGroups, ordered by name."""
    tables = _tables(ctx)
    deep = recursive is None or recursive
    if parentGroup is not None:
        find_thing_group(ctx, parentGroup)
        if deep:
            keys = SortedKeys(_descendants(tables, parentGroup))
        else:
            keys = tables.children.get(parentGroup, SortedKeys())
    else:
        keys = tables.names if deep else tables.roots
    prefix = namePrefixFilter or ""
    names, token = filtered_key_page(
        keys, nextToken, maxResults, floor=namePrefixFilter, stop=lambda name: not name.startswith(prefix)
    )
    return {"thingGroups": _name_and_arn(tables, names), "nextToken": token}


def update_thing_group(
    ctx: RequestContext,
    *,
    thingGroupName: str,
    thingGroupProperties: dict[str, Any],
    expectedVersion: int | None = None,
) -> dict[str, Any]:
    """UpdateThingGroup: returns the new version."""
    group = find_thing_group(ctx, thingGroupName)
    _check_version(group, expectedVersion)
    payload = thingGroupProperties.get("attributePayload")
    attributes = group.attributes if payload is None else updated_attributes(group.attributes, payload)
    _check_attribute_count(attributes)
    if "thingGroupDescription" in thingGroupProperties:
        group.description = thingGroupProperties["thingGroupDescription"]
    group.attributes = dict(attributes)
    group.version += 1
    events.thing_group_event(ctx, group, "UPDATED", _ancestors(ctx, group)[::-1])
    return {"version": group.version}


def delete_thing_group(
    ctx: RequestContext, *, thingGroupName: str, expectedVersion: int | None = None
) -> dict[str, Any]:
    """DeleteThingGroup: a missing group is a success; a group with children is refused."""
    tables = _tables(ctx)
    group = tables.groups.get(thingGroupName)
    if group is None:
        return {}
    _check_version(group, expectedVersion)
    if len(tables.children.get(thingGroupName, ())):
        raise invalid_request(f"Cannot delete thing group {thingGroupName} while it still has child groups.")
    for thing_name in list(memberships.things_in_group(ctx, thingGroupName)):
        remove_thing_from_group(ctx, thing_name, thingGroupName)
    attachments(ctx).detach_all_policies_from(group.arn)
    tag_store.forget(ctx, group.arn)
    if group.parent_group_name is None:
        tables.roots.discard(thingGroupName)
    else:
        siblings = tables.children[group.parent_group_name]
        siblings.discard(thingGroupName)
        if not len(siblings):
            del tables.children[group.parent_group_name]
    parents = _ancestors(ctx, group)[::-1]
    del tables.groups[thingGroupName]
    tables.names.discard(thingGroupName)
    events.thing_group_event(ctx, group, "DELETED", parents)
    return {}


def _check_room(thing_name: str, joined: list[str]) -> None:
    if len(joined) > MAX_GROUPS_PER_THING:
        raise invalid_request(
            f"Thing {thing_name} cannot belong to more than {MAX_GROUPS_PER_THING} thing groups."
        )


def add_thing_to_thing_group(
    ctx: RequestContext,
    *,
    thingGroupName: str | None = None,
    thingGroupArn: str | None = None,
    thingName: str | None = None,
    thingArn: str | None = None,
    overrideDynamicGroups: bool | None = None,
) -> dict[str, Any]:
    """AddThingToThingGroup (by name or ARN)."""
    group_name = name_from_reference(ctx, thingGroupName, thingGroupArn, "thinggroup", "thing group")
    thing_name = name_from_reference(ctx, thingName, thingArn, "thing", "thing")
    find_thing_group(ctx, group_name)
    find_thing(ctx, thing_name)
    joined = groups_of_thing(ctx, thing_name)
    if group_name not in joined:
        _check_room(thing_name, [*joined, group_name])
        add_thing_to_group(ctx, thing_name, group_name)
    return {}


def remove_thing_from_thing_group(
    ctx: RequestContext,
    *,
    thingGroupName: str | None = None,
    thingGroupArn: str | None = None,
    thingName: str | None = None,
    thingArn: str | None = None,
) -> dict[str, Any]:
    """RemoveThingFromThingGroup (by name or ARN)."""
    group_name = name_from_reference(ctx, thingGroupName, thingGroupArn, "thinggroup", "thing group")
    thing_name = name_from_reference(ctx, thingName, thingArn, "thing", "thing")
    find_thing_group(ctx, group_name)
    find_thing(ctx, thing_name)
    remove_thing_from_group(ctx, thing_name, group_name)
    return {}


def list_things_in_thing_group(
    ctx: RequestContext,
    *,
    thingGroupName: str,
    recursive: bool | None = None,
    nextToken: str | None = None,
    maxResults: int | None = None,
) -> dict[str, Any]:
    """ListThingsInThingGroup: ``recursive`` includes the things of every descendant group (each thing
    once, in name order: the sorted member lists of the group and its descendants are merged)."""
    tables = _tables(ctx)
    find_thing_group(ctx, thingGroupName)
    keys = memberships.things_in_group(ctx, thingGroupName)
    if recursive:
        descendants = _descendants(tables, thingGroupName)
        indexes = [keys] + [memberships.things_in_group(ctx, descendant) for descendant in descendants]
        page, token = merged_key_page(indexes, nextToken, maxResults)
    else:
        page, token = filtered_key_page(keys, nextToken, maxResults)
    return {"things": page, "nextToken": token}


def list_thing_groups_for_thing(
    ctx: RequestContext, *, thingName: str, nextToken: str | None = None, maxResults: int | None = None
) -> dict[str, Any]:
    """ListThingGroupsForThing, ordered by group name."""
    find_thing(ctx, thingName)
    tables = _tables(ctx)
    names, token = filtered_key_page(SortedKeys(groups_of_thing(ctx, thingName)), nextToken, maxResults)
    return {"thingGroups": _name_and_arn(tables, names), "nextToken": token}


def update_thing_groups_for_thing(
    ctx: RequestContext,
    *,
    thingName: str | None = None,
    thingGroupsToAdd: list[str] | None = None,
    thingGroupsToRemove: list[str] | None = None,
    overrideDynamicGroups: bool | None = None,
) -> dict[str, Any]:
    """UpdateThingGroupsForThing: all groups are checked before any membership changes."""
    if thingName is None:
        raise invalid_request("thingName must be given.")
    find_thing(ctx, thingName)
    to_add = list(dict.fromkeys(thingGroupsToAdd or []))
    to_remove = list(dict.fromkeys(thingGroupsToRemove or []))
    for group_name in [*to_add, *to_remove]:
        find_thing_group(ctx, group_name)
    both = sorted(set(to_add) & set(to_remove))
    if both:
        raise invalid_request(f"Thing groups cannot be both added and removed: {', '.join(both)}.")
    joined = [name for name in groups_of_thing(ctx, thingName) if name not in to_remove]
    _check_room(thingName, [*joined, *(name for name in to_add if name not in joined)])
    for group_name in to_remove:
        remove_thing_from_group(ctx, thingName, group_name)
    for group_name in to_add:
        add_thing_to_group(ctx, thingName, group_name)
    return {}
