"""Which registry entities belong to which: thing <-> thing type, thing group and billing group, and CA
certificate -> the provisioning template its registration config names.

These relations are kept here, apart from the entities, so that each entity module (things, thing types,
thing groups, billing groups, CA certificates, provisioning templates) reads and changes them through this
one module and none needs another entity module to answer "who belongs to whom". Every index is sorted
(things by name, CA certificates by creation order), so listings page in O(log n + page). This module
checks nothing: callers check that what they link exists, and drop an entity's links when they delete it.

The thing <-> principal and policy <-> target links are in ``attachments``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mock_iotprov.pagination import SortedKeys
from mock_iotprov.registry.certificate_order import CreationOrder
from mock_iotprov.state import RequestContext


@dataclass
class MembershipTables:
    """The memberships of one account and region."""

    # thing type name -> names of the things of that type
    type_members: dict[str, SortedKeys] = field(default_factory=dict)
    # thing group name -> names of its member things; thing name -> {group name: None} in joining order
    group_members: dict[str, SortedKeys] = field(default_factory=dict)
    thing_groups: dict[str, dict[str, None]] = field(default_factory=dict)
    # billing group name -> names of its things; thing name -> its billing group
    billing_members: dict[str, SortedKeys] = field(default_factory=dict)
    thing_billing_group: dict[str, str] = field(default_factory=dict)
    # provisioning template name -> sort keys of the CA certificates whose registration config names it
    template_cas: dict[str, CreationOrder] = field(default_factory=dict)


_EMPTY = SortedKeys()


def memberships(ctx: RequestContext) -> MembershipTables:
    """The membership tables of the request's account and region."""
    return ctx.store.component(MembershipTables)


def _keys_of(index: dict[str, SortedKeys], key: str) -> SortedKeys:
    found = index.get(key)
    if found is None:
        found = index[key] = SortedKeys()
    return found


def _move(index: dict[str, SortedKeys], member: str, old: str | None, new: str | None) -> None:
    if old == new:
        return
    if old is not None:
        members = index.get(old)
        if members is not None:
            members.discard(member)
            if not len(members):
                del index[old]
    if new is not None:
        _keys_of(index, new).add(member)


# thing <-> thing type


def set_thing_type(ctx: RequestContext, thing_name: str, old: str | None, new: str | None) -> None:
    """Record that a thing's type changed from ``old`` to ``new`` (None: no type)."""
    _move(memberships(ctx).type_members, thing_name, old, new)


def things_of_type(ctx: RequestContext, thing_type_name: str) -> SortedKeys:
    """The names of the things of a type, sorted (do not change the result)."""
    return memberships(ctx).type_members.get(thing_type_name, _EMPTY)


def thing_count_of_type(ctx: RequestContext, thing_type_name: str) -> int:
    """How many things have the thing type ``thing_type_name``."""
    return len(things_of_type(ctx, thing_type_name))


# thing <-> thing group


def groups_of_thing(ctx: RequestContext, thing_name: str) -> list[str]:
    """The names of the thing groups a thing belongs to, in the order it joined them."""
    return list(memberships(ctx).thing_groups.get(thing_name, {}))


def things_in_group(ctx: RequestContext, group_name: str) -> SortedKeys:
    """The names of a thing group's direct member things, sorted (do not change the result)."""
    return memberships(ctx).group_members.get(group_name, _EMPTY)


def join_group(ctx: RequestContext, thing_name: str, group_name: str) -> None:
    """Make a thing a member of a thing group (idempotent)."""
    tables = memberships(ctx)
    _keys_of(tables.group_members, group_name).add(thing_name)
    tables.thing_groups.setdefault(thing_name, {})[group_name] = None


def leave_group(ctx: RequestContext, thing_name: str, group_name: str) -> None:
    """End a thing's membership of a thing group (idempotent)."""
    tables = memberships(ctx)
    _move(tables.group_members, thing_name, group_name, None)
    joined = tables.thing_groups.get(thing_name)
    if joined is not None:
        joined.pop(group_name, None)
        if not joined:
            del tables.thing_groups[thing_name]


def empty_group(ctx: RequestContext, group_name: str) -> None:
    """End every membership of a thing group (before the group is deleted)."""
    for thing_name in list(things_in_group(ctx, group_name)):
        leave_group(ctx, thing_name, group_name)


# thing <-> billing group


def billing_group_of(ctx: RequestContext, thing_name: str) -> str | None:
    """The billing group a thing is in, if any."""
    return memberships(ctx).thing_billing_group.get(thing_name)


def things_in_billing_group(ctx: RequestContext, group_name: str) -> SortedKeys:
    """The names of a billing group's things, sorted (do not change the result)."""
    return memberships(ctx).billing_members.get(group_name, _EMPTY)


def set_billing_group(ctx: RequestContext, thing_name: str, group_name: str | None) -> None:
    """Put a thing in ``group_name`` (None: in no billing group), out of any other billing group."""
    tables = memberships(ctx)
    old = tables.thing_billing_group.get(thing_name)
    _move(tables.billing_members, thing_name, old, group_name)
    if group_name is None:
        tables.thing_billing_group.pop(thing_name, None)
    else:
        tables.thing_billing_group[thing_name] = group_name


def empty_billing_group(ctx: RequestContext, group_name: str) -> None:
    """Take every thing out of a billing group (before the group is deleted)."""
    for thing_name in list(things_in_billing_group(ctx, group_name)):
        set_billing_group(ctx, thing_name, None)


def forget_thing(ctx: RequestContext, thing_name: str, thing_type_name: str | None) -> None:
    """Drop every membership of a thing about to be deleted (its type, groups and billing group)."""
    set_thing_type(ctx, thing_name, thing_type_name, None)
    for group_name in groups_of_thing(ctx, thing_name):
        leave_group(ctx, thing_name, group_name)
    set_billing_group(ctx, thing_name, None)


# CA certificate -> provisioning template


def name_template(ctx: RequestContext, ca_sort_key: str, old: str | None, new: str | None) -> None:
    """Record that a CA certificate's registration config now names template ``new`` (None: none)."""
    if old == new:
        return
    index = memberships(ctx).template_cas
    if old is not None and old in index:
        index[old].discard(ca_sort_key)
        if not len(index[old]):
            del index[old]
    if new is not None:
        found = index.get(new)
        if found is None:
            found = index[new] = CreationOrder()
        found.add(ca_sort_key)


def cas_naming_template(ctx: RequestContext, template_name: str) -> CreationOrder:
    """The CA certificates whose registration config names a template, in creation order."""
    return memberships(ctx).template_cas.get(template_name) or CreationOrder()


def template_in_use(ctx: RequestContext, template_name: str) -> bool:
    """Whether a CA certificate's registration config names the template."""
    return template_name in memberships(ctx).template_cas
