"""Resource tags, kept by ARN, and the TagResource / UntagResource / ListTagsForResource operations.

Behaviour reproduced: tags belong to taggable IoT resources (provisioning templates, thing groups, thing
types, billing groups, policies, CA certificates ...); tagging an ARN whose resource does not exist is a
``ResourceNotFoundException``; at most 50 tags per resource (``LimitExceededException``); keys starting with
``aws:`` are reserved (``InvalidRequestException``); tagging an existing key replaces its value. Deleting a
resource drops its tags (``forget``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.pagination import page_of_list
from mock_iotprov.protocol.errors import invalid_request, limit_exceeded, not_found
from mock_iotprov.state import RequestContext

MAX_TAGS = 50

# ARN resource type -> "module:function" answering whether a resource of that name exists.
_EXISTENCE_CHECKS: dict[str, str] = {
    "provisioningtemplate": "mock_iotprov.provisioning.templates:template_exists",
    "thinggroup": "mock_iotprov.registry.groups:thing_group_exists",
    "thingtype": "mock_iotprov.registry.thing_types:thing_type_exists",
    "billinggroup": "mock_iotprov.registry.billing_groups:billing_group_exists",
    "policy": "mock_iotprov.registry.policies:policy_exists",
    "cacert": "mock_iotprov.registry.ca_certificates:ca_certificate_exists",
    "rolealias": "mock_iotprov.registry.role_aliases:role_alias_exists",
}


@dataclass
class TagTables:
    """Tags of one account and region, by resource ARN."""

    by_arn: dict[str, dict[str, str]] = field(default_factory=dict)


def _tables(ctx: RequestContext) -> TagTables:
    return ctx.store.component(TagTables)


def _existence_check(kind: str) -> Callable[[RequestContext, str], bool] | None:
    target = _EXISTENCE_CHECKS.get(kind)
    if target is None:
        return None
    module_name, _, function_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    check: Callable[[RequestContext, str], bool] = getattr(module, function_name)
    return check


def _require_resource(ctx: RequestContext, arn: str) -> None:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iot":
        raise invalid_request(f"Invalid resource ARN: {arn}")
    if parts[3] != ctx.region or parts[4] != ctx.account_id:
        raise not_found(f"Resource {arn} does not exist.")
    kind, _, name = parts[5].partition("/")
    check = _existence_check(kind)
    if check is None:
        raise invalid_request(f"Resources of type {kind} cannot be tagged in this mock: {arn}")
    if not name or not check(ctx, name):
        raise not_found(f"Resource {arn} does not exist.")


def _checked(tags: list[dict[str, str]]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for tag in tags:
        key = tag["Key"]
        if key.lower().startswith("aws:"):
            raise invalid_request(f"Tag keys starting with 'aws:' are reserved: {key}")
        checked[key] = tag.get("Value", "")
    return checked


def add_tags(ctx: RequestContext, arn: str, tags: list[dict[str, str]]) -> None:
    """Tag ``arn`` (the caller guarantees the resource exists or is being created)."""
    new = _checked(tags)
    current = _tables(ctx).by_arn.get(arn, {})
    merged = {**current, **new}
    if len(merged) > MAX_TAGS:
        raise limit_exceeded(f"A resource can have at most {MAX_TAGS} tags.")
    _tables(ctx).by_arn[arn] = merged


def tags_of(ctx: RequestContext, arn: str) -> dict[str, str]:
    """The tags of ``arn`` (a copy)."""
    return dict(_tables(ctx).by_arn.get(arn, {}))


def forget(ctx: RequestContext, arn: str) -> None:
    """Drop the tags of a deleted resource."""
    _tables(ctx).by_arn.pop(arn, None)


def tag_resource(ctx: RequestContext, *, resourceArn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
    """TagResource."""
    _require_resource(ctx, resourceArn)
    add_tags(ctx, resourceArn, tags)
    return {}


def untag_resource(ctx: RequestContext, *, resourceArn: str, tagKeys: list[str]) -> dict[str, Any]:
    """UntagResource: keys that are not present are ignored."""
    _require_resource(ctx, resourceArn)
    current = _tables(ctx).by_arn.get(resourceArn, {})
    for key in tagKeys:
        current.pop(key, None)
    return {}


def list_tags_for_resource(
    ctx: RequestContext, *, resourceArn: str, nextToken: str | None = None
) -> dict[str, Any]:
    """ListTagsForResource, ordered by key."""
    _require_resource(ctx, resourceArn)
    items = [{"Key": k, "Value": v} for k, v in sorted(tags_of(ctx, resourceArn).items())]
    page, token = page_of_list(items, nextToken, None, default_limit=MAX_TAGS)
    return {"tags": page, "nextToken": token}
