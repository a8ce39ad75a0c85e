"""Attaching policies to targets: AttachPolicy, DetachPolicy, ListAttachedPolicies, ListTargetsForPolicy and
the older principal forms (AttachPrincipalPolicy, DetachPrincipalPolicy, ListPrincipalPolicies,
ListPolicyPrincipals).

Behaviour reproduced:

- A target is a certificate ARN (the certificate must exist), a thing-group ARN (the group must exist) or an
  Amazon Cognito identity id (``region:uuid``, accepted as it is: the mock keeps no Cognito identities).
  Anything else is an ``InvalidRequestException``. The principal forms accept certificates and Cognito
  identities only (a thing group is not a principal).
- At most 10 policies per target (the service quota for certificates and Cognito identities, applied to
  thing groups too): one more is a ``LimitExceededException``. Attaching an attached policy again changes
  nothing.
- ``ListAttachedPolicies`` with ``recursive=true`` on a thing group adds the policies of every ancestor
  group, nearest first, each policy once.

Where AWS is silent: ``DetachPolicy`` declares no ``ResourceNotFoundException``, so detaching from a
missing target, a missing policy or a target the policy is not attached to succeeds and changes nothing;
``DetachPrincipalPolicy`` checks that the policy and a certificate principal exist, then is idempotent too.
Lists are in attachment order (reversed when ``ascendingOrder`` is false) and return everything in one
page (up to 250) unless ``pageSize`` is given.
"""

from __future__ import annotations

import re
from typing import Any

from mock_iotprov.pagination import InsertionOrder, page_of_insertion_order, page_of_list
from mock_iotprov.protocol.errors import invalid_request, limit_exceeded, not_found
from mock_iotprov.registry.attachments import attachments
from mock_iotprov.registry.policies import (
    DEFAULT_PAGE_SIZE,
    find_policy,
    marker_from_token,
    policy_summary,
    token_from_marker,
)
from mock_iotprov.state import RequestContext

MAX_POLICIES_PER_TARGET = 10

CERTIFICATE = "certificate"
THING_GROUP = "thinggroup"
COGNITO_IDENTITY = "cognito"

_COGNITO_IDENTITY_ID = re.compile(
    r"^[a-z]{2}(?:-[a-z]+)+-\d+:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_IOT_ARN = re.compile(r"^arn:[a-z-]+:iot:[a-z0-9-]*:\d*:(cert|thinggroup)/(.+)$")


def target_kind(target: str) -> str:
    """``certificate``, ``thinggroup`` or ``cognito``; ``InvalidRequestException`` for anything else."""
    found = _IOT_ARN.match(target)
    if found is not None:
        return CERTIFICATE if found.group(1) == "cert" else THING_GROUP
    if _COGNITO_IDENTITY_ID.match(target):
        return COGNITO_IDENTITY
    raise invalid_request(
        f"Invalid target {target}: expected a certificate ARN, a thing group ARN or a Cognito identity id."
    )


def _target_exists(ctx: RequestContext, target: str, kind: str) -> bool:
    if kind == CERTIFICATE:
        from mock_iotprov.registry.certificates import certificate_by_principal

        return certificate_by_principal(ctx, target) is not None
    if kind == THING_GROUP:
        from mock_iotprov.registry.groups import thing_group_arn, thing_group_exists

        name = target.split(":thinggroup/", 1)[1]
        return thing_group_exists(ctx, name) and thing_group_arn(ctx, name) == target
    return True


def require_target(ctx: RequestContext, target: str, principals_only: bool = False) -> str:
    """Check a policy target (or principal) is well formed and exists; return its kind."""
    kind = target_kind(target)
    if principals_only and kind == THING_GROUP:
        raise invalid_request(
            f"Invalid principal {target}: expected a certificate ARN or a Cognito identity id."
        )
    if not _target_exists(ctx, target, kind):
        raise not_found(f"The target {target} does not exist.")
    return kind


def _attach(ctx: RequestContext, policy_name: str, target: str, principals_only: bool) -> None:
    find_policy(ctx, policy_name)
    require_target(ctx, target, principals_only)
    links = attachments(ctx)
    attached = links.policies_of_target(target)
    if policy_name in attached:
        return
    if len(attached) >= MAX_POLICIES_PER_TARGET:
        raise limit_exceeded(
            f"The target {target} already has the maximum number of policies attached "
            f"({MAX_POLICIES_PER_TARGET})."
        )
    links.attach_policy(policy_name, target)


def _marker_page(
    items: list[Any], marker: str | None, page_size: int | None, ascending: bool | None = None
) -> tuple[list[Any], str | None]:
    ordered = list(reversed(items)) if ascending is False else items
    page, token = page_of_list(ordered, token_from_marker(marker), page_size, default_limit=DEFAULT_PAGE_SIZE)
    return page, marker_from_token(token)


def _ordered_page(
    keys: InsertionOrder, marker: str | None, page_size: int | None, ascending: bool | None = None
) -> tuple[list[str], str | None]:
    """The page :func:`_marker_page` gives for ``list(keys)``, found without copying the list."""
    page, token = page_of_insertion_order(
        keys, token_from_marker(marker), page_size, DEFAULT_PAGE_SIZE, ascending is not False
    )
    return page, marker_from_token(token)


def _policy_summaries(ctx: RequestContext, names: list[str]) -> list[dict[str, str]]:
    return [policy_summary(find_policy(ctx, name)) for name in names]


def _ancestor_groups(ctx: RequestContext, group_name: str) -> list[str]:
    """The parent, grandparent ... of a thing group, nearest first."""
    from mock_iotprov.registry.groups import find_thing_group

    ancestors: list[str] = []
    parent = find_thing_group(ctx, group_name).parent_group_name
    while parent is not None and parent not in ancestors:
        ancestors.append(parent)
        parent = find_thing_group(ctx, parent).parent_group_name
    return ancestors


def attach_policy(ctx: RequestContext, *, policyName: str, target: str) -> dict[str, Any]:
    """AttachPolicy."""
    _attach(ctx, policyName, target, principals_only=False)
    return {}


def detach_policy(ctx: RequestContext, *, policyName: str, target: str) -> dict[str, Any]:
    """DetachPolicy: idempotent once the target is well formed."""
    target_kind(target)
    attachments(ctx).detach_policy(policyName, target)
    return {}


def list_attached_policies(
    ctx: RequestContext,
    *,
    target: str,
    recursive: bool | None = None,
    marker: str | None = None,
    pageSize: int | None = None,
) -> dict[str, Any]:
    """ListAttachedPolicies: with ``recursive``, a thing group's ancestors' policies follow its own."""
    kind = require_target(ctx, target)
    links = attachments(ctx)
    names = links.policies_of_target(target)
    if recursive and kind == THING_GROUP:
        from mock_iotprov.registry.groups import thing_group_arn

        for ancestor in _ancestor_groups(ctx, target.split(":thinggroup/", 1)[1]):
            for name in links.policies_of_target(thing_group_arn(ctx, ancestor)):
                if name not in names:
                    names.append(name)
    page, next_marker = _marker_page(names, marker, pageSize)
    return {"policies": _policy_summaries(ctx, page), "nextMarker": next_marker}


def list_targets_for_policy(
    ctx: RequestContext, *, policyName: str, marker: str | None = None, pageSize: int | None = None
) -> dict[str, Any]:
    """ListTargetsForPolicy: certificates, thing groups and Cognito identities, in attachment order."""
    find_policy(ctx, policyName)
    page, next_marker = _ordered_page(attachments(ctx).target_order(policyName), marker, pageSize)
    return {"targets": page, "nextMarker": next_marker}


def attach_principal_policy(ctx: RequestContext, *, policyName: str, principal: str) -> dict[str, Any]:
    """AttachPrincipalPolicy (deprecated form of AttachPolicy for certificates and Cognito identities)."""
    _attach(ctx, policyName, principal, principals_only=True)
    return {}


def detach_principal_policy(ctx: RequestContext, *, policyName: str, principal: str) -> dict[str, Any]:
    """DetachPrincipalPolicy (deprecated form of DetachPolicy)."""
    find_policy(ctx, policyName)
    require_target(ctx, principal, principals_only=True)
    attachments(ctx).detach_policy(policyName, principal)
    return {}


def list_principal_policies(
    ctx: RequestContext,
    *,
    principal: str,
    marker: str | None = None,
    pageSize: int | None = None,
    ascendingOrder: bool | None = None,
) -> dict[str, Any]:
    """ListPrincipalPolicies (deprecated form of ListAttachedPolicies)."""
    require_target(ctx, principal, principals_only=True)
    names = attachments(ctx).policies_of_target(principal)
    page, next_marker = _marker_page(names, marker, pageSize, ascendingOrder)
    return {"policies": _policy_summaries(ctx, page), "nextMarker": next_marker}


def list_policy_principals(
    ctx: RequestContext,
    *,
    policyName: str,
    marker: str | None = None,
    pageSize: int | None = None,
    ascendingOrder: bool | None = None,
) -> dict[str, Any]:
    """ListPolicyPrincipals (deprecated): the certificates and Cognito identities a policy is attached to."""
    find_policy(ctx, policyName)
    principals = attachments(ctx).principal_order(policyName)
    page, next_marker = _ordered_page(principals, marker, pageSize, ascendingOrder)
    return {"principals": page, "nextMarker": next_marker}
