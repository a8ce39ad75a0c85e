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

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.pagination import SortedKeys, decode_token, encode_token
from mock_iotprov.protocol.errors import ServiceError, already_exists, invalid_request, not_found
from mock_iotprov.registry import events
from mock_iotprov.registry.attachments import attachments
from mock_iotprov.registry.thing_types import require_usable_thing_type
from mock_iotprov.state import RequestContext

MAX_ATTRIBUTES_WITH_TYPE = 50
MAX_ATTRIBUTES_WITHOUT_TYPE = 3
DEFAULT_PAGE_SIZE = 250
_SCAN_CHUNK = 256


@dataclass
class Thing:
    """A registered thing."""

    name: str
    thing_id: str
    arn: str
    attributes: dict[str, str]
    thing_type_name: str | None
    billing_group_name: str | None = None
    version: int = 1


@dataclass
class ThingTables:
    """The things of one account and region, with a name index and a per-type index."""

    things: dict[str, Thing] = field(default_factory=dict)
    names: SortedKeys = field(default_factory=SortedKeys)
    by_type: dict[str, SortedKeys] = field(default_factory=dict)


def _tables(ctx: RequestContext) -> ThingTables:
    return ctx.store.component(ThingTables)


def thing_arn(ctx: RequestContext, name: str) -> str:
    """``arn:aws:iot:{region}:{account}:thing/{name}``."""
    return ctx.arn(f"thing/{name}")


def find_thing(ctx: RequestContext, name: str) -> Thing:
    """The thing called ``name``, or ``ResourceNotFoundException``."""
    found = _tables(ctx).things.get(name)
    if found is None:
        raise not_found(f"Thing {name} does not exist.")
    return found


def thing_exists(ctx: RequestContext, name: str) -> bool:
    """Whether a thing called ``name`` exists."""
    return name in _tables(ctx).things


def thing_count_of_type(ctx: RequestContext, thing_type_name: str) -> int:
    """How many things have the thing type ``thing_type_name``."""
    members = _tables(ctx).by_type.get(thing_type_name)
    return 0 if members is None else len(members)


def check_thing_attributes(attributes: dict[str, str], thing_type_name: str | None) -> None:
    """``InvalidRequestException`` when a thing would carry more attributes than its type allows."""
    limit = MAX_ATTRIBUTES_WITH_TYPE if thing_type_name else MAX_ATTRIBUTES_WITHOUT_TYPE
    if len(attributes) > limit:
        kind = "with" if thing_type_name else "without"
        raise invalid_request(
            f"A thing {kind} a thing type can have at most {limit} attributes; {len(attributes)} were given."
        )


def updated_attributes(current: dict[str, str], payload: dict[str, Any]) -> dict[str, str]:
    """The attributes after applying an ``attributePayload`` (``merge`` semantics; ``""`` removes)."""
    given: dict[str, str] = dict(payload.get("attributes") or {})
    result = dict(current) if payload.get("merge") else {}
    for key, value in given.items():
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    return result


def name_from_reference(
    ctx: RequestContext, name: str | None, arn: str | None, resource_type: str, label: str
) -> str:
    """The resource name given by name and/or ARN (``AddThingToThingGroup`` style inputs).

    Neither given, a malformed ARN, or a name and ARN that disagree is an ``InvalidRequestException``; an
    ARN of another account or region names nothing here (``ResourceNotFoundException``).
    """
    from_arn: str | None = None
    if arn is not None:
        parts = arn.split(":", 5)
        prefix = f"{resource_type}/"
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iot" or not parts[5].startswith(prefix):
            raise invalid_request(f"Invalid {label} ARN: {arn}")
        if parts[3] != ctx.region or parts[4] != ctx.account_id:
            raise not_found(f"The {label} {arn} does not exist.")
        from_arn = parts[5][len(prefix) :]
    if name is not None and from_arn is not None and name != from_arn:
        raise invalid_request(f"The {label} name {name} and ARN {arn} do not name the same resource.")
    chosen = name if name is not None else from_arn
    if not chosen:
        raise invalid_request(f"Either the {label} name or the {label} ARN must be given.")
    return chosen


def filtered_key_page(
    keys: SortedKeys,
    token: str | None,
    limit: int | None,
    keep: Callable[[str], bool] | None = None,
    floor: str | None = None,
    stop: Callable[[str], bool] | None = None,
) -> tuple[list[str], str | None]:
    """One page of the keys that ``keep`` accepts, in order, and the token of the next page.

    The token is the last key returned; ``floor`` starts the walk at the first key >= it and ``stop`` ends
    it at the first key it accepts (for prefix filters), so an unfiltered page costs O(page).
    """
    after = decode_token(token)
    if after is not None and not isinstance(after, str):
        raise invalid_request(f"Invalid pagination token: {token}")
    size = limit if limit is not None else DEFAULT_PAGE_SIZE
    index = keys.after(after)
    if floor is not None:
        at_floor = keys.after(floor)
        if at_floor > 0 and keys.slice(at_floor - 1, at_floor) == [floor]:
            at_floor -= 1
        index = max(index, at_floor)
    page: list[str] = []
    more = False
    while index < len(keys) and not more:
        chunk = keys.slice(index, index + _SCAN_CHUNK)
        index += len(chunk)
        for key in chunk:
            if stop is not None and stop(key):
                index = len(keys)
                break
            if keep is not None and not keep(key):
                continue
            if len(page) == size:
                more = True
                break
            page.append(key)
    return page, (encode_token(page[-1]) if more and page else None)


def _index_type(tables: ThingTables, thing_name: str, old: str | None, new: str | None) -> None:
    if old is not None:
        members = tables.by_type.get(old)
        if members is not None:
            members.discard(thing_name)
            if not len(members):
                del tables.by_type[old]
    if new is not None:
        tables.by_type.setdefault(new, SortedKeys()).add(thing_name)


def create_thing_record(
    ctx: RequestContext, name: str, attributes: dict[str, str], thing_type_name: str | None
) -> Thing:
    """Store a new thing (version 1) without any check: the caller checked everything."""
    tables = _tables(ctx)
    thing = Thing(
        name=name,
        thing_id=str(uuid.uuid4()),
        arn=thing_arn(ctx, name),
        attributes=dict(attributes),
        thing_type_name=thing_type_name,
    )
    tables.things[name] = thing
    tables.names.add(name)
    _index_type(tables, name, None, thing_type_name)
    events.thing_event(ctx, thing, "CREATED")
    return thing


def set_thing_attributes(ctx: RequestContext, thing: Thing, attributes: dict[str, str]) -> None:
    """Replace a thing's attributes and increment its version (no checks: the caller checked)."""
    thing.attributes = dict(attributes)
    thing.version += 1
    events.thing_event(ctx, thing, "UPDATED", thing.thing_type_name)


def set_thing_type(ctx: RequestContext, thing: Thing, thing_type_name: str | None) -> None:
    """Give a thing another type (None removes it) and increment its version (the caller checked)."""
    previous_type = thing.thing_type_name
    _index_type(_tables(ctx), thing.name, thing.thing_type_name, thing_type_name)
    thing.thing_type_name = thing_type_name
    thing.version += 1
    events.thing_event(ctx, thing, "UPDATED", previous_type)


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
    from mock_iotprov.registry import billing_groups

    attributes = dict((attributePayload or {}).get("attributes") or {})
    existing = _tables(ctx).things.get(thingName)
    if existing is not None:
        same = (
            existing.thing_type_name == thingTypeName
            and existing.attributes == attributes
            and existing.billing_group_name == billingGroupName
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
        billing_groups.set_thing_billing_group(ctx, thingName, billingGroupName)
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
        "billingGroupName": thing.billing_group_name,
    }


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
    tables = _tables(ctx)
    if attributeValue is not None and attributeName is None:
        raise invalid_request("attributeValue can only be used together with attributeName.")
    keys = tables.names if thingTypeName is None else tables.by_type.get(thingTypeName, SortedKeys())
    keep: Callable[[str], bool] | None = None
    if attributeName is not None:
        name, value, prefix = attributeName, attributeValue, bool(usePrefixAttributeValue)

        def keep(thing_name: str) -> bool:
            found = tables.things[thing_name].attributes.get(name)
            if found is None:
                return False
            if value is None:
                return True
            return found.startswith(value) if prefix else found == value

    names, token = filtered_key_page(keys, nextToken, maxResults, keep)
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
        _index_type(_tables(ctx), thing.name, thing.thing_type_name, new_type)
        thing.thing_type_name = new_type
    thing.attributes = dict(new_attributes)
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
    from mock_iotprov.registry import billing_groups, groups

    tables = _tables(ctx)
    thing = tables.things.get(thingName)
    if thing is None:
        return {}
    _check_version(thing, expectedVersion)
    principals = attachments(ctx).principals_of_thing(thingName)
    if principals:
        # AWS's own words (InvalidRequestException, HTTP 400), as seen in service logs.
        raise invalid_request(f"Cannot delete. Thing {thingName} is still attached to one or more principals")
    groups.forget_thing(ctx, thingName)
    billing_groups.forget_thing(ctx, thingName)
    _index_type(tables, thingName, thing.thing_type_name, None)
    del tables.things[thingName]
    tables.names.discard(thingName)
    events.thing_event(ctx, thing, "DELETED")
    return {}
