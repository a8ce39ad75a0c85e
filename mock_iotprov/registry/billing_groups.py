"""Billing groups: CreateBillingGroup, DescribeBillingGroup, ListBillingGroups, UpdateBillingGroup,
DeleteBillingGroup, AddThingToBillingGroup, RemoveThingFromBillingGroup, ListThingsInBillingGroup.

Behaviour reproduced (AWS IoT API reference and developer guide):

- A thing belongs to at most one billing group; ``DescribeThing`` shows it as ``billingGroupName``.
  ``AddThingToBillingGroup`` for a thing that is in another billing group moves it.
- ``UpdateBillingGroup`` checks ``expectedVersion`` (``VersionConflictException``) and returns the new
  version. ``DeleteBillingGroup`` of a missing group succeeds (the operation declares no not-found error);
  deleting a group takes its things out of it and drops its tags.
- Groups and things can be named by name or by ARN.

Where AWS is silent: ``CreateBillingGroup`` repeated with the same description returns the existing group
(as thing groups do) and a different description is a ``ResourceAlreadyExistsException``; the repeat does not
apply its tags. ``RemoveThingFromBillingGroup`` for a thing that is not in that group succeeds without
change. Billing group changes do not change a thing's version. Lists are ordered by name.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.pagination import SortedKeys, filtered_key_page
from mock_iotprov.protocol.errors import ServiceError, already_exists, not_found
from mock_iotprov.registry import memberships
from mock_iotprov.registry import tags as tag_store
from mock_iotprov.registry.inputs import name_from_reference
from mock_iotprov.registry.thing_records import Thing, find_thing
from mock_iotprov.state import RequestContext


@dataclass
class BillingGroup:
    """A billing group."""

    name: str
    group_id: str
    arn: str
    description: str | None
    created: datetime.datetime
    version: int = 1


@dataclass
class BillingGroupTables:
    """The billing groups of one account and region (their things: ``memberships``)."""

    groups: dict[str, BillingGroup] = field(default_factory=dict)
    names: SortedKeys = field(default_factory=SortedKeys)


def _tables(ctx: RequestContext) -> BillingGroupTables:
    return ctx.store.component(BillingGroupTables)


def billing_group_arn(ctx: RequestContext, name: str) -> str:
    """``arn:aws:iot:{region}:{account}:billinggroup/{name}``."""
    return ctx.arn(f"billinggroup/{name}")


def find_billing_group(ctx: RequestContext, name: str) -> BillingGroup:
    """The billing group called ``name``, or ``ResourceNotFoundException``."""
    found = _tables(ctx).groups.get(name)
    if found is None:
        raise not_found(f"Billing group {name} does not exist.")
    return found


def billing_group_exists(ctx: RequestContext, name: str) -> bool:
    """Whether a billing group called ``name`` exists (used by tagging)."""
    return name in _tables(ctx).groups


def set_thing_billing_group(ctx: RequestContext, thing_name: str, group_name: str | None) -> None:
    """Put an existing thing in ``group_name`` (None: in no billing group); the caller checked both exist."""
    memberships.set_billing_group(ctx, thing_name, group_name)


def forget_thing(ctx: RequestContext, thing_name: str) -> None:
    """Drop the billing group membership of a thing about to be deleted."""
    set_thing_billing_group(ctx, thing_name, None)


def _check_version(group: BillingGroup, expected: int | None) -> None:
    if expected is not None and expected != group.version:
        raise ServiceError(
            "VersionConflictException",
            f"The version of billing group {group.name} is {group.version}, "
            f"not the expected version {expected}.",
        )


def create_billing_group(
    ctx: RequestContext,
    *,
    billingGroupName: str,
    billingGroupProperties: dict[str, Any] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """CreateBillingGroup."""
    tables = _tables(ctx)
    description = (billingGroupProperties or {}).get("billingGroupDescription")
    existing = tables.groups.get(billingGroupName)
    if existing is not None:
        if existing.description != description:
            raise already_exists(
                f"Billing group {billingGroupName} already exists in the account with different properties.",
                existing.name,
                existing.arn,
            )
    else:
        arn = billing_group_arn(ctx, billingGroupName)
        if tags:
            tag_store.add_tags(ctx, arn, tags)
        existing = BillingGroup(billingGroupName, str(uuid.uuid4()), arn, description, ctx.now())
        tables.groups[billingGroupName] = existing
        tables.names.add(billingGroupName)
    return {
        "billingGroupName": existing.name,
        "billingGroupArn": existing.arn,
        "billingGroupId": existing.group_id,
    }


def describe_billing_group(ctx: RequestContext, *, billingGroupName: str) -> dict[str, Any]:
    """DescribeBillingGroup."""
    group = find_billing_group(ctx, billingGroupName)
    return {
        "billingGroupName": group.name,
        "billingGroupId": group.group_id,
        "billingGroupArn": group.arn,
        "version": group.version,
        "billingGroupProperties": {"billingGroupDescription": group.description},
        "billingGroupMetadata": {"creationDate": group.created},
    }


def list_billing_groups(
    ctx: RequestContext,
    *,
    nextToken: str | None = None,
    maxResults: int | None = None,
    namePrefixFilter: str | None = None,
) -> dict[str, Any]:
    """ListBillingGroups, ordered by name."""
    tables = _tables(ctx)
    prefix = namePrefixFilter or ""
    names, token = filtered_key_page(
        tables.names,
        nextToken,
        maxResults,
        floor=namePrefixFilter,
        stop=lambda name: not name.startswith(prefix),
    )
    items = [{"groupName": name, "groupArn": tables.groups[name].arn} for name in names]
    return {"billingGroups": items, "nextToken": token}


def update_billing_group(
    ctx: RequestContext,
    *,
    billingGroupName: str,
    billingGroupProperties: dict[str, Any],
    expectedVersion: int | None = None,
) -> dict[str, Any]:
    """UpdateBillingGroup: returns the new version."""
    group = find_billing_group(ctx, billingGroupName)
    _check_version(group, expectedVersion)
    if "billingGroupDescription" in billingGroupProperties:
        group.description = billingGroupProperties["billingGroupDescription"]
    group.version += 1
    return {"version": group.version}


def delete_billing_group(
    ctx: RequestContext, *, billingGroupName: str, expectedVersion: int | None = None
) -> dict[str, Any]:
    """DeleteBillingGroup: a missing group is a success; its things leave it."""
    tables = _tables(ctx)
    group = tables.groups.get(billingGroupName)
    if group is None:
        return {}
    _check_version(group, expectedVersion)
    memberships.empty_billing_group(ctx, billingGroupName)
    tag_store.forget(ctx, group.arn)
    del tables.groups[billingGroupName]
    tables.names.discard(billingGroupName)
    return {}


def _group_and_thing(
    ctx: RequestContext,
    group_name: str | None,
    group_arn: str | None,
    thing_name: str | None,
    thing_arn: str | None,
) -> tuple[BillingGroup, Thing]:
    """The billing group and thing a membership call names (by name or ARN); both must exist."""
    group = find_billing_group(
        ctx, name_from_reference(ctx, group_name, group_arn, "billinggroup", "billing group")
    )
    thing = find_thing(ctx, name_from_reference(ctx, thing_name, thing_arn, "thing", "thing"))
    return group, thing


def add_thing_to_billing_group(
    ctx: RequestContext,
    *,
    billingGroupName: str | None = None,
    billingGroupArn: str | None = None,
    thingName: str | None = None,
    thingArn: str | None = None,
) -> dict[str, Any]:
    """AddThingToBillingGroup: moves the thing out of any other billing group."""
    group, thing = _group_and_thing(ctx, billingGroupName, billingGroupArn, thingName, thingArn)
    set_thing_billing_group(ctx, thing.name, group.name)
    return {}


def remove_thing_from_billing_group(
    ctx: RequestContext,
    *,
    billingGroupName: str | None = None,
    billingGroupArn: str | None = None,
    thingName: str | None = None,
    thingArn: str | None = None,
) -> dict[str, Any]:
    """RemoveThingFromBillingGroup."""
    group, thing = _group_and_thing(ctx, billingGroupName, billingGroupArn, thingName, thingArn)
    if memberships.billing_group_of(ctx, thing.name) == group.name:
        set_thing_billing_group(ctx, thing.name, None)
    return {}


def list_things_in_billing_group(
    ctx: RequestContext,
    *,
    billingGroupName: str,
    nextToken: str | None = None,
    maxResults: int | None = None,
) -> dict[str, Any]:
    """ListThingsInBillingGroup, ordered by thing name."""
    find_billing_group(ctx, billingGroupName)
    keys = memberships.things_in_billing_group(ctx, billingGroupName)
    names, token = filtered_key_page(keys, nextToken, maxResults)
    return {"things": names, "nextToken": token}
