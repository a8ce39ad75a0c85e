"""The things of the registry as stored: records, the name index and the attribute index.

Operation handlers live in ``things``; this module is what other entity modules (thing groups, billing
groups, RegisterThing) need of a thing (does it exist, what is its ARN, store or change one) without
depending on those handlers. A thing's type, groups and billing group are kept in ``memberships``.

Indexes: thing names, sorted; and per attribute name the things having it, sorted, and the sorted
(value, thing name) pairs, so ``ListThings`` filtered by an attribute pages in O(log n + page) instead of
scanning every thing (one pair per attribute of a thing: a unique value, such as a serial number, costs
one tuple, not an index of its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from sortedcontainers import SortedList

from mock_iotprov.pagination import SortedKeys
from mock_iotprov.protocol.errors import invalid_request, not_found
from mock_iotprov.registry import events
from mock_iotprov.registry.memberships import set_thing_type as record_thing_type
from mock_iotprov.state import RequestContext

MAX_ATTRIBUTES_WITH_TYPE = 50
MAX_ATTRIBUTES_WITHOUT_TYPE = 3
_AFTER_EVERY_NAME = chr(0x10FFFF)  # sorts after every thing name (names are [a-zA-Z0-9:_-]+)


@dataclass
class Thing:
    """A registered thing."""

    name: str
    thing_id: str
    arn: str
    attributes: dict[str, str]
    thing_type_name: str | None
    version: int = 1


class ThingsWithValue:
    """The names of the things whose attribute has one value, in name order: a view on an index's
    (value, name) pairs, with what a page walk needs (``pagination.KeyIndex``)."""

    __slots__ = ("_pairs", "_value", "_low", "_high")

    def __init__(self, pairs: SortedList, value: str) -> None:
        self._pairs, self._value = pairs, value
        self._low = int(pairs.bisect_left((value, "")))
        self._high = int(pairs.bisect_left((value, _AFTER_EVERY_NAME)))

    def __len__(self) -> int:
        return self._high - self._low

    def __iter__(self) -> Iterator[str]:
        return self.keys_after(None)

    def after(self, key: str | None) -> int:
        if key is None:
            return 0
        return min(max(int(self._pairs.bisect_right((self._value, key))) - self._low, 0), len(self))

    def slice(self, start: int, stop: int) -> list[str]:
        start, stop = self._low + max(start, 0), min(self._low + stop, self._high)
        return [name for _, name in self._pairs.islice(start, stop)] if start < stop else []

    def keys_after(self, key: str | None) -> Iterator[str]:
        low = (self._value, "" if key is None else key)
        pairs = self._pairs.irange(low, (self._value, _AFTER_EVERY_NAME), inclusive=(key is None, False))
        return (name for _, name in pairs)


@dataclass
class AttributeIndex:
    """The things having one attribute name: their names, and the sorted (value, thing name) pairs."""

    things: SortedKeys = field(default_factory=SortedKeys)
    pairs: SortedList = field(default_factory=SortedList)

    def with_value(self, value: str) -> ThingsWithValue:
        """The things whose attribute is ``value``, in name order."""
        return ThingsWithValue(self.pairs, value)

    def values_starting_with(self, prefix: str) -> Iterator[str]:
        """The distinct values that start with ``prefix``, in order (O(log n) each)."""
        position = int(self.pairs.bisect_left((prefix, "")))
        while position < len(self.pairs):
            value = self.pairs[position][0]
            if not value.startswith(prefix):
                return
            yield value
            position = int(self.pairs.bisect_left((value, _AFTER_EVERY_NAME)))


@dataclass
class ThingTables:
    """The things of one account and region, with a name index and an attribute index."""

    things: dict[str, Thing] = field(default_factory=dict)
    names: SortedKeys = field(default_factory=SortedKeys)
    by_attribute: dict[str, AttributeIndex] = field(default_factory=dict)


def thing_tables(ctx: RequestContext) -> ThingTables:
    """The thing tables of the request's account and region."""
    return ctx.store.component(ThingTables)


def thing_arn(ctx: RequestContext, name: str) -> str:
    """``arn:aws:iot:{region}:{account}:thing/{name}``."""
    return ctx.arn(f"thing/{name}")


def find_thing(ctx: RequestContext, name: str) -> Thing:
    """The thing called ``name``, or ``ResourceNotFoundException``."""
    found = thing_tables(ctx).things.get(name)
    if found is None:
        raise not_found(f"Thing {name} does not exist.")
    return found


def thing_exists(ctx: RequestContext, name: str) -> bool:
    """Whether a thing called ``name`` exists."""
    return name in thing_tables(ctx).things


def check_thing_attributes(attributes: dict[str, str], thing_type_name: str | None) -> None:
    """``InvalidRequestException`` when a thing would carry more attributes than its type allows."""
    limit = MAX_ATTRIBUTES_WITH_TYPE if thing_type_name else MAX_ATTRIBUTES_WITHOUT_TYPE
    if len(attributes) > limit:
        kind = "with" if thing_type_name else "without"
        raise invalid_request(
            f"A thing {kind} a thing type can have at most {limit} attributes; {len(attributes)} were given."
        )


def _index_attributes(tables: ThingTables, thing_name: str, attributes: dict[str, str]) -> None:
    for name, value in attributes.items():
        index = tables.by_attribute.get(name)
        if index is None:
            index = tables.by_attribute[name] = AttributeIndex()
        index.things.add(thing_name)
        index.pairs.add((value, thing_name))


def _unindex_attributes(tables: ThingTables, thing_name: str, attributes: dict[str, str]) -> None:
    for name, value in attributes.items():
        index = tables.by_attribute.get(name)
        if index is None:
            continue
        index.things.discard(thing_name)
        index.pairs.discard((value, thing_name))
        if not len(index.things):
            del tables.by_attribute[name]


def create_thing_record(
    ctx: RequestContext, name: str, attributes: dict[str, str], thing_type_name: str | None
) -> Thing:
    """Store a new thing (version 1) without any check: the caller checked everything."""
    tables = thing_tables(ctx)
    thing = Thing(
        name=name,
        thing_id=str(uuid.uuid4()),
        arn=thing_arn(ctx, name),
        attributes=dict(attributes),
        thing_type_name=thing_type_name,
    )
    tables.things[name] = thing
    tables.names.add(name)
    _index_attributes(tables, name, thing.attributes)
    if thing_type_name is not None:
        record_thing_type(ctx, name, None, thing_type_name)
    events.thing_event(ctx, thing, "CREATED")
    return thing


def replace_thing_attributes(ctx: RequestContext, thing: Thing, attributes: dict[str, str]) -> None:
    """Give a thing new attributes, keeping the attribute index right (the version is the caller's)."""
    tables = thing_tables(ctx)
    _unindex_attributes(tables, thing.name, thing.attributes)
    thing.attributes = dict(attributes)
    _index_attributes(tables, thing.name, thing.attributes)


def replace_thing_type(ctx: RequestContext, thing: Thing, thing_type_name: str | None) -> None:
    """Give a thing another type (None removes it), keeping the type index right (the version is the
    caller's)."""
    record_thing_type(ctx, thing.name, thing.thing_type_name, thing_type_name)
    thing.thing_type_name = thing_type_name


def set_thing_attributes(ctx: RequestContext, thing: Thing, attributes: dict[str, str]) -> None:
    """Replace a thing's attributes and increment its version (no checks: the caller checked)."""
    replace_thing_attributes(ctx, thing, attributes)
    thing.version += 1
    events.thing_event(ctx, thing, "UPDATED", thing.thing_type_name)


def set_thing_type(ctx: RequestContext, thing: Thing, thing_type_name: str | None) -> None:
    """Give a thing another type (None removes it) and increment its version (the caller checked)."""
    previous_type = thing.thing_type_name
    replace_thing_type(ctx, thing, thing_type_name)
    thing.version += 1
    events.thing_event(ctx, thing, "UPDATED", previous_type)


def drop_thing_record(ctx: RequestContext, thing: Thing) -> None:
    """Remove a thing from the table and its indexes (its memberships are the caller's)."""
    tables = thing_tables(ctx)
    _unindex_attributes(tables, thing.name, thing.attributes)
    del tables.things[thing.name]
    tables.names.discard(thing.name)
