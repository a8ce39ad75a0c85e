"""Things in the registry: CreateThing, DescribeThing, ListThings, UpdateThing, DeleteThing.

Behaviour reproduced (AWS IoT API reference and developer guide):

- ``CreateThing`` repeated with the same thing type, attributes and billing group succeeds and returns the
  existing thing (same ``thingId``); the same name with a different configuration is a
  ``ResourceAlreadyExistsException`` carrying ``resourceId``/``resourceArn``. The thing type must exist
  (``ResourceNotFoundException``) and must not be deprecated (``InvalidRequestException``); the billing group
  must exist (``ResourceNotFoundException``).
- A thing with a thing type has at most 50 attributes, one without a type at most 3
  (``InvalidRequestException``).
- ``DescribeThing`` answers ``defaultClientId`` = the thing's name.
- ``UpdateThing``: ``attributePayload`` replaces the attributes unless ``merge`` is true; with ``merge`` an
  empty value removes that attribute. ``expectedVersion`` that is not the current version is a
  ``VersionConflictException``. Every successful update that asks for a change (attributes, type or type
  removal) increments ``version``, as the service does even when the values are unchanged.
- ``DeleteThing`` of a thing that does not exist succeeds, as documented. A thing that still has principals
  attached cannot be deleted (``InvalidRequestException``); deleting drops its group and billing group
  memberships.

Where AWS is silent: ``ListThings`` with ``attributeName`` alone lists things having that attribute (any
value), and ``attributeValue`` without ``attributeName`` is an ``InvalidRequestException``. ``UpdateThing``
with both ``thingTypeName`` and ``removeThingType`` is an ``InvalidRequestException``; naming the thing's
current type again is allowed even if that type has since been deprecated. Lists are ordered by name and
return at most 250 items per page unless ``maxResults`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_iotprov.pagination import KeyIndex, SortedKeys, filtered_key_page, merged_key_page
from mock_iotprov.protocol.errors import ServiceError, already_exists, invalid_request
from mock_iotprov.registry import billing_groups, events, groups, memberships
from mock_iotprov.registry.attachments import attachments
from mock_iotprov.registry.inputs import updated_attributes
from mock_iotprov.registry.thing_records import (
    Thing,
    ThingTables,
    check_thing_attributes,
    create_thing_record,
    drop_thing_record,
    find_thing,
    replace_thing_attributes,
    replace_thing_type,
    thing_tables,
)
from mock_iotprov.registry.thing_types import require_usable_thing_type
from mock_iotprov.state import RequestContext

DEFAULT_PAGE_SIZE = 250
# a prefix filter matching at most this many distinct values merges their sorted indexes; beyond it the
# things having the attribute are walked in name order and filtered
_MAX_MERGED_VALUES = 64


def _check_version(thing: Thing, expected: int | None) -> None:
    if expected is not None and expected != thing.version:
        raise ServiceError(
            "VersionConflictException",
            f"The version of thing {thing.name} is {thing.version}, not the expected version {expected}.",
        )


def create_thing(
    ctx: RequestContext,
    *,
    thingName: str,
    thingTypeName: str | None = None,
    attributePayload: dict[str, Any] | None = None,
    billingGroupName: str | None = None,
) -> dict[str, Any]:
    """CreateThing: idempotent for an identical configuration."""
    attributes = dict((attributePayload or {}).get("attributes") or {})
    existing = thing_tables(ctx).things.get(thingName)
    if existing is not None:
        same = (
            existing.thing_type_name == thingTypeName
            and existing.attributes == attributes
            and memberships.billing_group_of(ctx, thingName) == billingGroupName
        )
        if not same:
            raise already_exists(
                f"Thing {thingName} already exists in the account with different properties.",
                existing.name,
                existing.arn,
            )
        return {"thingName": existing.name, "thingArn": existing.arn, "thingId": existing.thing_id}
    if thingTypeName is not None:
        require_usable_thing_type(ctx, thingTypeName)
    if billingGroupName is not None:
        billing_groups.find_billing_group(ctx, billingGroupName)
    check_thing_attributes(attributes, thingTypeName)
    thing = create_thing_record(ctx, thingName, attributes, thingTypeName)
    if billingGroupName is not None:
        memberships.set_billing_group(ctx, thingName, billingGroupName)
    return {"thingName": thing.name, "thingArn": thing.arn, "thingId": thing.thing_id}


def describe_thing(ctx: RequestContext, *, thingName: str) -> dict[str, Any]:
    """DescribeThing."""
    thing = find_thing(ctx, thingName)
    return {
        "defaultClientId": thing.name,
        "thingName": thing.name,
        "thingId": thing.thing_id,
        "thingArn": thing.arn,
        "thingTypeName": thing.thing_type_name,
        "attributes": dict(thing.attributes),
        "version": thing.version,
        "billingGroupName": memberships.billing_group_of(ctx, thingName),
    }


def _attribute_page(
    tables: ThingTables,
    name: str,
    value: str | None,
    prefix: bool,
    thing_type_name: str | None,
    token: str | None,
    limit: int | None,
) -> tuple[list[str], str | None]:
    """A ``ListThings`` page filtered by an attribute (and a type), walked from the attribute index."""
    of_type: Callable[[str], bool] | None = None
    if thing_type_name is not None:

        def of_type(thing_name: str) -> bool:
            return tables.things[thing_name].thing_type_name == thing_type_name

    index = tables.by_attribute.get(name)
    if index is None:
        return filtered_key_page(SortedKeys(), token, limit)
    if value is None:
        return filtered_key_page(index.things, token, limit, of_type)
    if not prefix:
        return filtered_key_page(index.with_value(value), token, limit, of_type)
    matching: list[KeyIndex] = []
    for found in index.values_starting_with(value):
        if len(matching) > _MAX_MERGED_VALUES:
            break
        matching.append(index.with_value(found))
    if len(matching) <= _MAX_MERGED_VALUES:
        return merged_key_page(matching, token, limit, keep=of_type)

    def starts_with_value(thing_name: str) -> bool:
        thing = tables.things[thing_name]
        return thing.attributes.get(name, "").startswith(value) and (of_type is None or of_type(thing_name))

    return filtered_key_page(index.things, token, limit, starts_with_value)


def list_things(
    ctx: RequestContext,
    *,
    nextToken: str | None = None,
    maxResults: int | None = None,
    attributeName: str | None = None,
    attributeValue: str | None = None,
    thingTypeName: str | None = None,
    usePrefixAttributeValue: bool | None = None,
) -> dict[str, Any]:
    """ListThings, ordered by name, filtered by attribute and/or thing type."""
    tables = thing_tables(ctx)
    if attributeValue is not None and attributeName is None:
        raise invalid_request("attributeValue can only be used together with attributeName.")
    if attributeName is not None:
        names, token = _attribute_page(
            tables, attributeName, attributeValue, bool(usePrefixAttributeValue), thingTypeName,
            nextToken, maxResults,
        )
    else:
        keys = tables.names if thingTypeName is None else memberships.things_of_type(ctx, thingTypeName)
        names, token = filtered_key_page(keys, nextToken, maxResults)
    items = []
    for thing_name in names:
        thing = tables.things[thing_name]
        items.append(
            {
                "thingName": thing.name,
                "thingTypeName": thing.thing_type_name,
                "thingArn": thing.arn,
                "attributes": dict(thing.attributes),
                "version": thing.version,
            }
        )
    return {"things": items, "nextToken": token}


def update_thing(
    ctx: RequestContext,
    *,
    thingName: str,
    thingTypeName: str | None = None,
    attributePayload: dict[str, Any] | None = None,
    expectedVersion: int | None = None,
    removeThingType: bool | None = None,
) -> dict[str, Any]:
    """UpdateThing: every check runs before anything changes."""
    thing = find_thing(ctx, thingName)
    _check_version(thing, expectedVersion)
    if thingTypeName is not None and removeThingType:
        raise invalid_request("thingTypeName and removeThingType cannot be used together.")
    new_type = thing.thing_type_name
    if removeThingType:
        new_type = None
    elif thingTypeName is not None:
        if thingTypeName != thing.thing_type_name:
            require_usable_thing_type(ctx, thingTypeName)
        new_type = thingTypeName
    new_attributes = thing.attributes
    if attributePayload is not None:
        new_attributes = updated_attributes(thing.attributes, attributePayload)
    check_thing_attributes(new_attributes, new_type)
    if attributePayload is None and thingTypeName is None and not removeThingType:
        return {}
    previous_type = thing.thing_type_name
    if new_type != thing.thing_type_name:
        replace_thing_type(ctx, thing, new_type)
    replace_thing_attributes(ctx, thing, new_attributes)
    thing.version += 1
    events.thing_event(ctx, thing, "UPDATED", previous_type)
    return {}


def delete_thing(
    ctx: RequestContext, *, thingName: str, expectedVersion: int | None = None
) -> dict[str, Any]:
    """DeleteThing: a missing thing is a success; a thing with principals attached is refused.

    The refusal is ``InvalidRequestException`` (400) with AWS's message, ``Cannot delete. Thing <name> is
    still attached to one or more principals`` (as reported from the service, e.g. rebuy-de/aws-nuke#374).
    """
    thing = thing_tables(ctx).things.get(thingName)
    if thing is None:
        return {}
    _check_version(thing, expectedVersion)
    principals = attachments(ctx).principals_of_thing(thingName)
    if principals:
        # AWS's own words (InvalidRequestException, HTTP 400), as seen in service logs.
        raise invalid_request(f"Cannot delete. Thing {thingName} is still attached to one or more principals")
    groups.forget_thing(ctx, thingName)  # one membership event per group
    memberships.forget_thing(ctx, thingName, thing.thing_type_name)
    drop_thing_record(ctx, thing)
    events.thing_event(ctx, thing, "DELETED")
    return {}
