"""Thing types: CreateThingType, DescribeThingType, ListThingTypes, UpdateThingType, DeprecateThingType,
DeleteThingType.

Behaviour reproduced (AWS IoT API reference and developer guide):

- A name can be used by one thing type only (``ResourceAlreadyExistsException`` with ``resourceId`` and
  ``resourceArn``); a type has at most 3 searchable attributes (``InvalidRequestException``).
- A deprecated type cannot be given to a thing (``CreateThing``/``UpdateThing`` answer
  ``InvalidRequestException``); things that already have it keep it. ``undoDeprecate`` makes it usable again.
- Only a deprecated type can be deleted, and only when no thing has it (``InvalidRequestException``
  otherwise). Deleting drops the type's tags.

Where AWS is silent or the mock differs: the service asks for five minutes between deprecating and deleting a
type; the mock does not make tests wait (a deprecated type without things can be deleted at once).
``ListThingTypes`` with ``thingTypeName`` lists the type of exactly that name (the filter is a name, not a
prefix). ``UpdateThingType`` replaces only the properties it is given; deprecating an already deprecated
type keeps its first ``deprecationDate``, and ``undoDeprecate`` clears it.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.pagination import SortedKeys, page_of_keys
from mock_iotprov.protocol.errors import already_exists, invalid_request, not_found
from mock_iotprov.registry import events, memberships
from mock_iotprov.registry import tags as tag_store
from mock_iotprov.state import RequestContext

MAX_SEARCHABLE_ATTRIBUTES = 3
DEFAULT_PAGE_SIZE = 250


@dataclass
class ThingType:
    """A stored thing type."""

    name: str
    thing_type_id: str
    arn: str
    description: str | None
    searchable_attributes: list[str] | None
    mqtt5_configuration: dict[str, Any] | None
    created: datetime.datetime
    deprecated: bool = False
    deprecation_date: datetime.datetime | None = None

    def properties(self) -> dict[str, Any]:
        """The ``thingTypeProperties`` structure."""
        return {
            "thingTypeDescription": self.description,
            "searchableAttributes": (
                list(self.searchable_attributes) if self.searchable_attributes is not None else None
            ),
            "mqtt5Configuration": self.mqtt5_configuration,
        }

    def metadata(self) -> dict[str, Any]:
        """The ``thingTypeMetadata`` structure."""
        return {
            "deprecated": self.deprecated,
            "deprecationDate": self.deprecation_date,
            "creationDate": self.created,
        }


@dataclass
class ThingTypeTables:
    """The thing types of one account and region."""

    types: dict[str, ThingType] = field(default_factory=dict)
    names: SortedKeys = field(default_factory=SortedKeys)


def _tables(ctx: RequestContext) -> ThingTypeTables:
    return ctx.store.component(ThingTypeTables)


def thing_type_arn(ctx: RequestContext, name: str) -> str:
    """``arn:aws:iot:{region}:{account}:thingtype/{name}``."""
    return ctx.arn(f"thingtype/{name}")


def find_thing_type(ctx: RequestContext, name: str) -> ThingType:
    """The thing type called ``name``, or ``ResourceNotFoundException``."""
    found = _tables(ctx).types.get(name)
    if found is None:
        raise not_found(f"Thing type {name} does not exist.")
    return found


def thing_type_exists(ctx: RequestContext, name: str) -> bool:
    """Whether a thing type called ``name`` exists (used by tagging)."""
    return name in _tables(ctx).types


def require_usable_thing_type(ctx: RequestContext, name: str) -> ThingType:
    """The type a thing is about to get: it must exist and must not be deprecated."""
    found = find_thing_type(ctx, name)
    if found.deprecated:
        raise invalid_request(f"Thing type {name} is deprecated and cannot be associated with a thing.")
    return found


def _checked_searchable(properties: dict[str, Any]) -> list[str] | None:
    searchable = properties.get("searchableAttributes")
    if searchable is None:
        return None
    if len(searchable) > MAX_SEARCHABLE_ATTRIBUTES:
        raise invalid_request(
            f"A thing type can have at most {MAX_SEARCHABLE_ATTRIBUTES} searchable attributes; "
            f"{len(searchable)} were given."
        )
    return [str(name) for name in searchable]


def create_thing_type(
    ctx: RequestContext,
    *,
    thingTypeName: str,
    thingTypeProperties: dict[str, Any] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """CreateThingType."""
    tables = _tables(ctx)
    arn = thing_type_arn(ctx, thingTypeName)
    existing = tables.types.get(thingTypeName)
    if existing is not None:
        raise already_exists(f"Thing type {thingTypeName} already exists.", thingTypeName, arn)
    properties = thingTypeProperties or {}
    searchable = _checked_searchable(properties)
    if tags:
        tag_store.add_tags(ctx, arn, tags)
    thing_type = ThingType(
        name=thingTypeName,
        thing_type_id=str(uuid.uuid4()),
        arn=arn,
        description=properties.get("thingTypeDescription"),
        searchable_attributes=searchable,
        mqtt5_configuration=properties.get("mqtt5Configuration"),
        created=ctx.now(),
    )
    tables.types[thingTypeName] = thing_type
    tables.names.add(thingTypeName)
    events.thing_type_event(ctx, thing_type, "CREATED")
    return {"thingTypeName": thingTypeName, "thingTypeArn": arn, "thingTypeId": thing_type.thing_type_id}


def describe_thing_type(ctx: RequestContext, *, thingTypeName: str) -> dict[str, Any]:
    """DescribeThingType."""
    thing_type = find_thing_type(ctx, thingTypeName)
    return {
        "thingTypeName": thing_type.name,
        "thingTypeId": thing_type.thing_type_id,
        "thingTypeArn": thing_type.arn,
        "thingTypeProperties": thing_type.properties(),
        "thingTypeMetadata": thing_type.metadata(),
    }


def list_thing_types(
    ctx: RequestContext,
    *,
    nextToken: str | None = None,
    maxResults: int | None = None,
    thingTypeName: str | None = None,
) -> dict[str, Any]:
    """ListThingTypes, ordered by name."""
    tables = _tables(ctx)
    keys = tables.names
    if thingTypeName is not None:
        keys = SortedKeys([thingTypeName] if thingTypeName in tables.types else [])
    names, token = page_of_keys(keys, nextToken, maxResults, default_limit=DEFAULT_PAGE_SIZE)
    definitions = []
    for name in names:
        thing_type = tables.types[name]
        definitions.append(
            {
                "thingTypeName": thing_type.name,
                "thingTypeArn": thing_type.arn,
                "thingTypeProperties": thing_type.properties(),
                "thingTypeMetadata": thing_type.metadata(),
            }
        )
    return {"thingTypes": definitions, "nextToken": token}


def update_thing_type(
    ctx: RequestContext, *, thingTypeName: str, thingTypeProperties: dict[str, Any] | None = None
) -> dict[str, Any]:
    """UpdateThingType: replaces the properties that are given."""
    thing_type = find_thing_type(ctx, thingTypeName)
    properties = thingTypeProperties or {}
    searchable = _checked_searchable(properties)
    if "thingTypeDescription" in properties:
        thing_type.description = properties["thingTypeDescription"]
    if searchable is not None:
        thing_type.searchable_attributes = searchable
    if "mqtt5Configuration" in properties:
        thing_type.mqtt5_configuration = properties["mqtt5Configuration"]
    events.thing_type_event(ctx, thing_type, "UPDATED")
    return {}


def deprecate_thing_type(
    ctx: RequestContext, *, thingTypeName: str, undoDeprecate: bool | None = None
) -> dict[str, Any]:
    """DeprecateThingType (``undoDeprecate`` reverses it)."""
    thing_type = find_thing_type(ctx, thingTypeName)
    if undoDeprecate:
        thing_type.deprecated = False
        thing_type.deprecation_date = None
    elif not thing_type.deprecated:
        thing_type.deprecated = True
        thing_type.deprecation_date = ctx.now()
    events.thing_type_event(ctx, thing_type, "UPDATED")
    return {}


def delete_thing_type(ctx: RequestContext, *, thingTypeName: str) -> dict[str, Any]:
    """DeleteThingType: only a deprecated type that no thing has."""
    thing_type = find_thing_type(ctx, thingTypeName)
    if not thing_type.deprecated:
        raise invalid_request(
            f"Thing type {thingTypeName} must be deprecated with DeprecateThingType before it can be deleted."
        )
    in_use = memberships.thing_count_of_type(ctx, thingTypeName)
    if in_use:
        raise invalid_request(
            f"Thing type {thingTypeName} cannot be deleted: {in_use} thing(s) are still associated with it."
        )
    tables = _tables(ctx)
    del tables.types[thingTypeName]
    tables.names.discard(thingTypeName)
    tag_store.forget(ctx, thing_type.arn)
    events.thing_type_event(ctx, thing_type, "DELETED")
    return {}
