"""Registry events: DescribeEventConfigurations, UpdateEventConfigurations, and the event messages the
registry publishes when things, thing types and thing groups change.

Behaviour reproduced (developer guide "Event messages" and "Registry events"):

- Every event type of the model (``THING``, ``THING_GROUP``, ``THING_TYPE``, ``THING_GROUP_MEMBERSHIP``,
  ``THING_GROUP_HIERARCHY``, ``THING_TYPE_ASSOCIATION``, ``JOB``, ``JOB_EXECUTION``, ``POLICY``,
  ``CERTIFICATE``, ``CA_CERTIFICATE``) is disabled until ``UpdateEventConfigurations`` enables it.
- Topics and payloads, for enabled types only:
  ``$aws/events/thing/<thingName>/created|updated|deleted`` (``THING_EVENT``),
  ``$aws/events/thingType/<thingTypeName>/created|updated|deleted`` (``THING_TYPE_EVENT``; deprecating and
  undeprecating are updates), ``$aws/events/thingTypeAssociation/thing/<thingName>/<thingTypeName>``
  (``THING_TYPE_ASSOCIATION_EVENT``, ``CREATED``/``DELETED``),
  ``$aws/events/thingGroup/<groupName>/created|updated|deleted`` (``THING_GROUP_EVENT``),
  ``$aws/events/thingGroupMembership/thingGroup/<group>/thing/<thing>/added|removed``
  (``THING_GROUP_MEMBERSHIP_EVENT``) and
  ``$aws/events/thingGroupHierarchy/thingGroup/<parent>/childThingGroup/<child>/added|removed``
  (``THING_GROUP_HIERARCHY_EVENT``), each with the documented fields (``eventId``, ``timestamp`` in epoch
  milliseconds, ``operation``, ``accountId`` ...).
- Events are published after the change is made; a call that fails changes nothing and publishes nothing.

Where AWS is silent: ``UpdateEventConfigurations`` with a configuration whose ``Enabled`` is absent
disables that type; ``creationDate``/``lastModifiedDate`` are absent until the first update;
``rootToParentThingGroups`` lists the parent first, as the guide describes; a thing that is deleted
publishes no type-association event; the membership id of a membership made while membership events were
disabled is generated when it ends. ``JOB``, ``JOB_EXECUTION``, ``POLICY``, ``CERTIFICATE`` and
``CA_CERTIFICATE`` can be configured but publish nothing (the guide documents no registry payload for them).

The seam for the broker: :func:`set_event_publisher` gives a store a callable taking an
``mqtt.hooks.OutboundMessage``; it is called under the store's lock, so it must only enqueue, and a
publisher that raises loses that event, never the change. With no publisher (no broker), events are built
only if enabled and then dropped. A mock started with ``mqtt=True`` (and ``serve`` with its broker)
connects every store to its broker (``doors.mqtt_door.feed_registry``).
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from mock_iotprov.mqtt.hooks import OutboundMessage
from mock_iotprov.state import RequestContext, Store

if TYPE_CHECKING:
    from mock_iotprov.registry.groups import ThingGroup
    from mock_iotprov.registry.thing_records import Thing
    from mock_iotprov.registry.thing_types import ThingType

EVENT_TYPES = (
    "THING",
    "THING_GROUP",
    "THING_TYPE",
    "THING_GROUP_MEMBERSHIP",
    "THING_GROUP_HIERARCHY",
    "THING_TYPE_ASSOCIATION",
    "JOB",
    "JOB_EXECUTION",
    "POLICY",
    "CERTIFICATE",
    "CA_CERTIFICATE",
)

Publisher = Callable[[OutboundMessage], None]
log = logging.getLogger("mock_iotprov")


@dataclass
class EventTables:
    """The event configuration of one account and region."""

    enabled: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(EVENT_TYPES, False))
    created: datetime.datetime | None = None
    modified: datetime.datetime | None = None
    membership_ids: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass
class EventPublisher:
    """Where a store's events go (set by the broker integration)."""

    persistent: ClassVar[bool] = False  # process wiring, never saved with the store's state

    publish: Publisher | None = None


def set_event_publisher(store: Store, publish: Publisher | None) -> None:
    """Send the store's registry events to ``publish`` (``None``: drop them)."""
    store.component(EventPublisher).publish = publish


def _tables(ctx: RequestContext) -> EventTables:
    return ctx.store.component(EventTables)


def describe_event_configurations(ctx: RequestContext) -> dict[str, Any]:
    """DescribeEventConfigurations."""
    tables = _tables(ctx)
    return {
        "eventConfigurations": {kind: {"Enabled": on} for kind, on in tables.enabled.items()},
        "creationDate": tables.created,
        "lastModifiedDate": tables.modified,
    }


def update_event_configurations(
    ctx: RequestContext, *, eventConfigurations: dict[str, dict[str, bool]] | None = None
) -> dict[str, Any]:
    """UpdateEventConfigurations: sets the given types, leaves the others."""
    tables = _tables(ctx)
    for kind, configuration in (eventConfigurations or {}).items():
        tables.enabled[kind] = bool(configuration.get("Enabled", False))
    now = ctx.now()
    tables.created = tables.created or now
    tables.modified = now
    return {}


def _enabled(ctx: RequestContext, kind: str) -> bool:
    return _tables(ctx).enabled.get(kind, False)


def _publish(ctx: RequestContext, topic: str, payload: dict[str, Any]) -> None:
    publish = ctx.store.component(EventPublisher).publish
    if publish is None:
        return
    try:
        publish(OutboundMessage(topic=topic, payload=json.dumps(payload).encode()))
    except Exception:  # a stopped broker or a topic it refuses: the registry change stands, the event is lost
        log.warning("mock_iotprov: registry event on %s could not be published", topic, exc_info=True)


def _header(ctx: RequestContext, event_type: str, operation: str) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventId": str(uuid.uuid4()),
        "timestamp": int(ctx.now().timestamp() * 1000),
        "operation": operation,
        "accountId": ctx.account_id,
    }


def thing_event(ctx: RequestContext, thing: Thing, operation: str, previous_type: str | None = None) -> None:
    """A thing was ``CREATED``, ``UPDATED`` or ``DELETED`` (``previous_type``: its type before an update)."""
    if _enabled(ctx, "THING"):
        payload = _header(ctx, "THING_EVENT", operation)
        payload.update(
            thingId=thing.thing_id,
            thingName=thing.name,
            versionNumber=thing.version,
            thingTypeName=thing.thing_type_name,
            attributes=dict(thing.attributes),
        )
        _publish(ctx, f"$aws/events/thing/{thing.name}/{operation.lower()}", payload)
    if operation == "DELETED" or not _enabled(ctx, "THING_TYPE_ASSOCIATION"):
        return
    before = None if operation == "CREATED" else previous_type
    if before == thing.thing_type_name:
        return
    for type_name, change in ((before, "DELETED"), (thing.thing_type_name, "CREATED")):
        if type_name is not None:
            association = {
                "eventId": str(uuid.uuid4()),
                "eventType": "THING_TYPE_ASSOCIATION_EVENT",
                "operation": change,
                "thingId": thing.thing_id,
                "thingName": thing.name,
                "thingTypeName": type_name,
                "timestamp": int(ctx.now().timestamp() * 1000),
            }
            _publish(ctx, f"$aws/events/thingTypeAssociation/thing/{thing.name}/{type_name}", association)


def thing_type_event(ctx: RequestContext, thing_type: ThingType, operation: str) -> None:
    """A thing type was ``CREATED``, ``UPDATED`` (incl. (un)deprecated) or ``DELETED``."""
    if not _enabled(ctx, "THING_TYPE"):
        return
    payload = _header(ctx, "THING_TYPE_EVENT", operation)
    deprecation = thing_type.deprecation_date
    payload.update(
        thingTypeId=thing_type.thing_type_id,
        thingTypeName=thing_type.name,
        isDeprecated=thing_type.deprecated,
        deprecationDate=None if deprecation is None else int(deprecation.timestamp() * 1000),
        searchableAttributes=list(thing_type.searchable_attributes or []),
        description=thing_type.description,
    )
    _publish(ctx, f"$aws/events/thingType/{thing_type.name}/{operation.lower()}", payload)


def thing_group_event(
    ctx: RequestContext, group: ThingGroup, operation: str, parents: list[ThingGroup]
) -> None:
    """A thing group was ``CREATED``, ``UPDATED`` or ``DELETED`` (creating or deleting a child group also
    publishes the hierarchy event); ``parents``: the groups above it, nearest first."""
    parent = parents[0] if parents else None
    if _enabled(ctx, "THING_GROUP"):
        payload = _header(ctx, "THING_GROUP_EVENT", operation)
        payload.update(
            thingGroupId=group.group_id,
            thingGroupName=group.name,
            versionNumber=group.version,
            parentGroupName=None if parent is None else parent.name,
            parentGroupId=None if parent is None else parent.group_id,
            description=group.description,
            rootToParentThingGroups=[{"groupName": g.name, "groupArn": g.arn} for g in parents] or None,
            attributes=dict(group.attributes),
        )
        _publish(ctx, f"$aws/events/thingGroup/{group.name}/{operation.lower()}", payload)
    if parent is not None and operation != "UPDATED" and _enabled(ctx, "THING_GROUP_HIERARCHY"):
        change = "ADDED" if operation == "CREATED" else "REMOVED"
        payload = _header(ctx, "THING_GROUP_HIERARCHY_EVENT", change)
        payload.update(
            thingGroupId=parent.group_id,
            thingGroupName=parent.name,
            childGroupId=group.group_id,
            childGroupName=group.name,
        )
        topic = f"$aws/events/thingGroupHierarchy/thingGroup/{parent.name}/childThingGroup/{group.name}"
        _publish(ctx, f"{topic}/{change.lower()}", payload)


def membership_event(
    ctx: RequestContext, thing: Thing | None, group: ThingGroup | None, operation: str
) -> None:
    """A thing was ``ADDED`` to or ``REMOVED`` from a thing group (None: one of them is gone; no event)."""
    if not _enabled(ctx, "THING_GROUP_MEMBERSHIP"):
        return
    if thing is None or group is None:
        return
    thing_name, group_name = thing.name, group.name
    ids = _tables(ctx).membership_ids
    if operation == "ADDED":
        membership_id = ids[(thing_name, group_name)] = str(uuid.uuid4())
    else:
        membership_id = ids.pop((thing_name, group_name), "") or str(uuid.uuid4())
    payload = _header(ctx, "THING_GROUP_MEMBERSHIP_EVENT", operation)
    payload.update(
        groupArn=group.arn,
        groupId=group.group_id,
        thingArn=thing.arn,
        thingId=thing.thing_id,
        membershipId=membership_id,
    )
    topic = f"$aws/events/thingGroupMembership/thingGroup/{group_name}/thing/{thing_name}"
    _publish(ctx, f"{topic}/{operation.lower()}", payload)
