"""SearchIndex over ``AWS_Things`` and ``AWS_ThingGroups``, and the connectivity seam for the broker.

Behaviour reproduced (API reference and developer guide):

- ``indexName`` defaults to ``AWS_Things``; an index that is not enabled (or not one of the two) is a
  ``ResourceNotFoundException`` with AWS's message ``Index AWS_Things does not exist. Please enable index
  by calling UpdateIndexingConfiguration``; a query the language refuses is an ``InvalidQueryException``.
- Thing fields: ``thingName``, ``thingId``, ``thingTypeName``, ``thingGroupNames``, ``attributes.<name>``
  and, when connectivity indexing is on, ``connectivity.connected``. A document carries ``thingName``,
  ``thingId``, ``thingTypeName``, ``thingGroupNames``, ``attributes`` and ``connectivity``.
- Thing-group fields: ``thingGroupName``, ``thingGroupId``, ``thingGroupDescription``,
  ``parentGroupNames`` (every ancestor) and ``attributes.<name>``.
- ``maxResults`` at most 100 (the API reference; more is an ``InvalidRequestException``); ``nextToken``
  continues a search.

Where AWS is silent: results are ordered by name, 100 per page by default; a field the index does not know
matches nothing (as in the Lucene engine the language comes from); ``queryVersion`` is accepted as given.

Connectivity: a thing is connected when an MQTT client whose client id is the thing's name is connected.
The broker says which client ids are connected through :func:`set_connectivity_source` (per store); with no
broker, nothing is connected (:func:`connected_client_ids` answers an empty set).

Cost: the query is a predicate evaluated over the registry in name order, starting after the token and
stopping as soon as a page is full, so a page costs O(page / selectivity) predicate calls (a query matching
nothing scans every item once). The seam for an index is the key source of ``_search_things`` (today the
registry's sorted names): an index answering a query's candidate names in order would replace it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from mock_iotprov.indexing.configuration import (
    THING_GROUPS_INDEX,
    THINGS_INDEX,
    connectivity_indexed,
    require_index,
)
from mock_iotprov.indexing.query import InvalidQueryError, Predicate, parse_query
from mock_iotprov.pagination import filtered_key_page
from mock_iotprov.protocol.errors import ServiceError, invalid_request
from mock_iotprov.registry import groups, thing_records
from mock_iotprov.state import RequestContext, Store

MAX_RESULTS = 100


@dataclass
class ConnectivitySource:
    """Per store: a callable answering the client ids connected right now (set by the broker)."""

    persistent: ClassVar[bool] = False  # process wiring, never saved with the store's state

    provider: Callable[[], Collection[str]] | None = None


def set_connectivity_source(store: Store, provider: Callable[[], Collection[str]] | None) -> None:
    """Tell the store which MQTT client ids are connected (``None``: no broker, nothing connected)."""
    store.component(ConnectivitySource).provider = provider


def connected_client_ids(ctx: RequestContext) -> Collection[str]:
    """The client ids connected to the broker now; empty when no broker runs."""
    provider = ctx.store.component(ConnectivitySource).provider
    if provider is None:
        return frozenset()
    return provider()


class _ThingDocument:
    """The index view of one thing, computed field by field on demand."""

    def __init__(
        self, ctx: RequestContext, thing: thing_records.Thing, connected: Collection[str] | None
    ) -> None:
        self.ctx = ctx
        self.thing = thing
        self.connected = connected

    def values(self, field: str) -> Sequence[str]:
        thing = self.thing
        if field == "thingName":
            return (thing.name,)
        if field == "thingId":
            return (thing.thing_id,)
        if field == "thingTypeName":
            return () if thing.thing_type_name is None else (thing.thing_type_name,)
        if field == "thingGroupNames":
            return groups.groups_of_thing(self.ctx, thing.name)
        if field.startswith("attributes."):
            value = thing.attributes.get(field[len("attributes.") :])
            return () if value is None else (value,)
        if field == "connectivity.connected" and self.connected is not None:
            return ("true" if thing.name in self.connected else "false",)
        return ()

    def all_values(self) -> Iterable[str]:
        yield self.thing.name
        yield self.thing.thing_id
        if self.thing.thing_type_name is not None:
            yield self.thing.thing_type_name
        yield from groups.groups_of_thing(self.ctx, self.thing.name)
        yield from self.thing.attributes.values()

    def answer(self) -> dict[str, Any]:
        thing = self.thing
        document: dict[str, Any] = {
            "thingName": thing.name,
            "thingId": thing.thing_id,
            "thingTypeName": thing.thing_type_name,
            "thingGroupNames": list(groups.groups_of_thing(self.ctx, thing.name)) or None,
            "attributes": dict(thing.attributes),
        }
        if self.connected is not None:
            document["connectivity"] = {"connected": thing.name in self.connected}
        return document


class _GroupDocument:
    """The index view of one thing group."""

    def __init__(self, tables: groups.GroupTables, group: groups.ThingGroup) -> None:
        self.group = group
        self.parents: list[str] = []
        parent = group.parent_group_name
        while parent is not None:
            self.parents.append(parent)
            parent = tables.groups[parent].parent_group_name

    def values(self, field: str) -> Sequence[str]:
        group = self.group
        if field == "thingGroupName":
            return (group.name,)
        if field == "thingGroupId":
            return (group.group_id,)
        if field == "thingGroupDescription":
            return () if group.description is None else (group.description,)
        if field == "parentGroupNames":
            return self.parents
        if field.startswith("attributes."):
            value = group.attributes.get(field[len("attributes.") :])
            return () if value is None else (value,)
        return ()

    def all_values(self) -> Iterable[str]:
        yield self.group.name
        yield self.group.group_id
        if self.group.description is not None:
            yield self.group.description
        yield from self.parents
        yield from self.group.attributes.values()

    def answer(self) -> dict[str, Any]:
        group = self.group
        return {
            "thingGroupName": group.name,
            "thingGroupId": group.group_id,
            "thingGroupDescription": group.description,
            "attributes": dict(group.attributes),
            "parentGroupNames": list(self.parents) or None,
        }


def _search_things(ctx: RequestContext, predicate: Predicate, token: str | None, size: int) -> dict[str, Any]:
    tables = ctx.store.component(thing_records.ThingTables)
    connected = connected_client_ids(ctx) if connectivity_indexed(ctx) else None
    found: dict[str, _ThingDocument] = {}

    def keep(name: str) -> bool:
        document = _ThingDocument(ctx, tables.things[name], connected)
        if predicate(document):
            found[name] = document
            return True
        return False

    names, next_token = filtered_key_page(tables.names, token, size, keep)
    return {"things": [found[name].answer() for name in names], "thingGroups": [], "nextToken": next_token}


def _search_groups(ctx: RequestContext, predicate: Predicate, token: str | None, size: int) -> dict[str, Any]:
    tables = ctx.store.component(groups.GroupTables)
    found: dict[str, _GroupDocument] = {}

    def keep(name: str) -> bool:
        document = _GroupDocument(tables, tables.groups[name])
        if predicate(document):
            found[name] = document
            return True
        return False

    names, next_token = filtered_key_page(tables.names, token, size, keep)
    return {"things": [], "thingGroups": [found[name].answer() for name in names], "nextToken": next_token}


def search_index(
    ctx: RequestContext,
    *,
    queryString: str,
    indexName: str | None = None,
    nextToken: str | None = None,
    maxResults: int | None = None,
    queryVersion: str | None = None,
) -> dict[str, Any]:
    """SearchIndex."""
    index = indexName or THINGS_INDEX
    require_index(ctx, index)
    if maxResults is not None and maxResults > MAX_RESULTS:
        raise invalid_request(f"maxResults cannot exceed {MAX_RESULTS}.")
    try:
        predicate = parse_query(queryString)
    except InvalidQueryError as exc:
        raise ServiceError("InvalidQueryException", exc.message) from None
    size = maxResults or MAX_RESULTS
    if index == THING_GROUPS_INDEX:
        return _search_groups(ctx, predicate, nextToken, size)
    return _search_things(ctx, predicate, nextToken, size)
