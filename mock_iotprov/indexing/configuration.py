"""Fleet-indexing configuration: UpdateIndexingConfiguration, GetIndexingConfiguration, DescribeIndex,
ListIndices.

Behaviour reproduced (developer guide "Managing fleet indexing", API reference):

- Both indexes start ``OFF``: ``GetIndexingConfiguration`` answers ``thingIndexingMode: OFF`` and
  ``thingGroupIndexingMode: OFF``. ``REGISTRY``/``REGISTRY_AND_SHADOW`` turn ``AWS_Things`` on, ``ON`` turns
  ``AWS_ThingGroups`` on; ``OFF`` deletes the index.
- Connectivity indexing (``thingConnectivityIndexingMode: STATUS``), Device Defender violations and named
  shadows need thing indexing on (``InvalidRequestException``), as the guide's table of allowed
  combinations says.
- ``DescribeIndex`` of an index that is off or unknown is a ``ResourceNotFoundException``; its ``schema`` is
  ``REGISTRY``, ``REGISTRY_AND_SHADOW``, ``REGISTRY_AND_CONNECTIVITY_STATUS``,
  ``REGISTRY_AND_SHADOW_AND_CONNECTIVITY_STATUS`` or, with Device Defender or named shadows,
  ``MULTI_INDEXING_MODE`` (the values the API reference lists). ``ListIndices`` lists the enabled indexes.

Where AWS differs on purpose: AWS builds an index for a while (``BUILDING``); here an enabled index is
``ACTIVE`` at once, so a test never waits. ``AWS_ThingGroups``' schema is reported as ``REGISTRY``.
Managed and custom fields are stored and answered back as given (AWS adds its own managed fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.pagination import page_of_list
from mock_iotprov.protocol.errors import invalid_request, not_found
from mock_iotprov.state import RequestContext

THINGS_INDEX = "AWS_Things"
THING_GROUPS_INDEX = "AWS_ThingGroups"
OFF = "OFF"


@dataclass
class IndexingTables:
    """The indexing configuration of one account and region."""

    things: dict[str, Any] = field(default_factory=lambda: {"thingIndexingMode": OFF})
    thing_groups: dict[str, Any] = field(default_factory=lambda: {"thingGroupIndexingMode": OFF})


def indexing_tables(ctx: RequestContext) -> IndexingTables:
    """The store's indexing configuration."""
    return ctx.store.component(IndexingTables)


def things_index_enabled(ctx: RequestContext) -> bool:
    """Whether ``AWS_Things`` exists."""
    return bool(indexing_tables(ctx).things["thingIndexingMode"] != OFF)


def thing_groups_index_enabled(ctx: RequestContext) -> bool:
    """Whether ``AWS_ThingGroups`` exists."""
    return bool(indexing_tables(ctx).thing_groups["thingGroupIndexingMode"] != OFF)


def connectivity_indexed(ctx: RequestContext) -> bool:
    """Whether ``AWS_Things`` indexes connectivity status."""
    return bool(indexing_tables(ctx).things.get("thingConnectivityIndexingMode", OFF) == "STATUS")


def _check_thing_configuration(config: dict[str, Any]) -> None:
    mode = config["thingIndexingMode"]
    extras = {
        "thingConnectivityIndexingMode": config.get("thingConnectivityIndexingMode", OFF),
        "deviceDefenderIndexingMode": config.get("deviceDefenderIndexingMode", OFF),
        "namedShadowIndexingMode": config.get("namedShadowIndexingMode", OFF),
    }
    if mode == OFF:
        for name, value in extras.items():
            if value != OFF:
                raise invalid_request(f"{name} must be OFF when thingIndexingMode is OFF.")
    for custom in config.get("customFields") or ():
        if not custom.get("name") or not custom.get("type"):
            raise invalid_request("A custom field needs both a name and a type.")


def update_indexing_configuration(
    ctx: RequestContext,
    *,
    thingIndexingConfiguration: dict[str, Any] | None = None,
    thingGroupIndexingConfiguration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """UpdateIndexingConfiguration: each given configuration replaces the stored one."""
    if thingIndexingConfiguration is not None:
        _check_thing_configuration(thingIndexingConfiguration)
    if thingGroupIndexingConfiguration is not None:
        for custom in thingGroupIndexingConfiguration.get("customFields") or ():
            if not custom.get("name") or not custom.get("type"):
                raise invalid_request("A custom field needs both a name and a type.")
    tables = indexing_tables(ctx)
    if thingIndexingConfiguration is not None:
        tables.things = dict(thingIndexingConfiguration)
    if thingGroupIndexingConfiguration is not None:
        tables.thing_groups = dict(thingGroupIndexingConfiguration)
    return {}


def get_indexing_configuration(ctx: RequestContext) -> dict[str, Any]:
    """GetIndexingConfiguration."""
    tables = indexing_tables(ctx)
    things = {
        "thingConnectivityIndexingMode": OFF,
        "deviceDefenderIndexingMode": OFF,
        "namedShadowIndexingMode": OFF,
        **tables.things,
    }
    return {
        "thingIndexingConfiguration": things,
        "thingGroupIndexingConfiguration": dict(tables.thing_groups),
    }


def _schema(config: dict[str, Any]) -> str:
    if (
        config.get("deviceDefenderIndexingMode", OFF) != OFF
        or config.get("namedShadowIndexingMode", OFF) != OFF
    ):
        return "MULTI_INDEXING_MODE"
    schema = str(config["thingIndexingMode"])
    if config.get("thingConnectivityIndexingMode", OFF) == "STATUS":
        schema += "_AND_CONNECTIVITY_STATUS"
    return schema


def require_index(ctx: RequestContext, index_name: str) -> None:
    """``ResourceNotFoundException`` (AWS's message) unless ``index_name`` is an enabled index."""
    enabled = {THINGS_INDEX: things_index_enabled, THING_GROUPS_INDEX: thing_groups_index_enabled}
    check = enabled.get(index_name)
    if check is None or not check(ctx):
        raise not_found(
            f"Index {index_name} does not exist. Please enable index by calling UpdateIndexingConfiguration"
        )


def describe_index(ctx: RequestContext, *, indexName: str) -> dict[str, Any]:
    """DescribeIndex."""
    require_index(ctx, indexName)
    if indexName == THINGS_INDEX:
        schema = _schema(indexing_tables(ctx).things)
    else:
        schema = "REGISTRY"
    return {"indexName": indexName, "indexStatus": "ACTIVE", "schema": schema}


def list_indices(
    ctx: RequestContext, *, nextToken: str | None = None, maxResults: int | None = None
) -> dict[str, Any]:
    """ListIndices: the enabled indexes, by name."""
    names = [THINGS_INDEX] if things_index_enabled(ctx) else []
    if thing_groups_index_enabled(ctx):
        names.append(THING_GROUPS_INDEX)
    page, token = page_of_list(sorted(names), nextToken, maxResults, default_limit=500)
    return {"indexNames": page, "nextToken": token}
