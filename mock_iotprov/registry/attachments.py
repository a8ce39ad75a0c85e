"""The links between registry objects: thing <-> principal, and policy <-> target.

Kept in one place so that every delete can ask "is this still attached?" and referential integrity holds:
an attachment always names an existing thing, certificate, thing group or policy. A principal is a
certificate ARN (``arn:aws:iot:{region}:{account}:cert/{id}``) or, for policies only, a Cognito identity
id; a policy target is a principal or a thing-group ARN. Orders are insertion orders, so listings are
stable; a policy's targets, and separately those that are principals (not thing groups), are kept in
:class:`InsertionOrder` indexes, so a page of them costs O(log n + page) however many there are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mock_iotprov.pagination import InsertionOrder
from mock_iotprov.state import RequestContext

_CERTIFICATE_ARN = re.compile(r"^(arn:[^:]+:iot:[^:]*:[^:]*:cert/)((?:0x)?[0-9a-fA-F]+)$")
_THING_GROUP_ARN = re.compile(r"^arn:[a-z-]+:iot:[a-z0-9-]*:\d*:thinggroup/.+$")

NON_EXCLUSIVE_THING = "NON_EXCLUSIVE_THING"
EXCLUSIVE_THING = "EXCLUSIVE_THING"


def normal_principal(principal: str) -> str:
    """A principal in the one form attachments are kept in: certificate ids are lower-case hex, as the
    service treats certificate ids case-insensitively; any other principal is kept as given."""
    found = _CERTIFICATE_ARN.match(principal)
    return found.group(1) + found.group(2).lower() if found else principal


def _order_of(index: dict[str, InsertionOrder], key: str) -> InsertionOrder:
    found = index.get(key)
    if found is None:
        found = index[key] = InsertionOrder()
    return found


@dataclass
class AttachmentTables:
    """All attachments of one account and region."""

    # thing name -> {principal: thingPrincipalType}
    thing_principals: dict[str, dict[str, str]] = field(default_factory=dict)
    # principal -> {thing name: thingPrincipalType}
    principal_things: dict[str, dict[str, str]] = field(default_factory=dict)
    # policy name -> its targets, in attachment order; and those of them that are not thing groups
    policy_targets: dict[str, InsertionOrder] = field(default_factory=dict)
    policy_principals: dict[str, InsertionOrder] = field(default_factory=dict)
    # target -> {policy name: None}
    target_policies: dict[str, dict[str, None]] = field(default_factory=dict)

    # thing <-> principal

    def attach_thing_principal(self, thing_name: str, principal: str, principal_type: str) -> None:
        principal = normal_principal(principal)
        self.thing_principals.setdefault(thing_name, {})[principal] = principal_type
        self.principal_things.setdefault(principal, {})[thing_name] = principal_type

    def detach_thing_principal(self, thing_name: str, principal: str) -> None:
        principal = normal_principal(principal)
        principals = self.thing_principals.get(thing_name)
        if principals is not None:
            principals.pop(principal, None)
            if not principals:
                del self.thing_principals[thing_name]
        things = self.principal_things.get(principal)
        if things is not None:
            things.pop(thing_name, None)
            if not things:
                del self.principal_things[principal]

    def principals_of_thing(self, thing_name: str) -> dict[str, str]:
        """{principal: thingPrincipalType} attached to a thing (a copy)."""
        return dict(self.thing_principals.get(thing_name, {}))

    def things_of_principal(self, principal: str) -> dict[str, str]:
        """{thing name: thingPrincipalType} a principal is attached to (a copy)."""
        return dict(self.principal_things.get(normal_principal(principal), {}))

    # policy <-> target

    def attach_policy(self, policy_name: str, target: str) -> None:
        target = normal_principal(target)
        _order_of(self.policy_targets, policy_name).add(target)
        if not _THING_GROUP_ARN.match(target):
            _order_of(self.policy_principals, policy_name).add(target)
        self.target_policies.setdefault(target, {})[policy_name] = None

    def detach_policy(self, policy_name: str, target: str) -> None:
        target = normal_principal(target)
        for index in (self.policy_targets, self.policy_principals):
            targets = index.get(policy_name)
            if targets is not None:
                targets.discard(target)
                if not targets:
                    del index[policy_name]
        policies = self.target_policies.get(target)
        if policies is not None:
            policies.pop(policy_name, None)
            if not policies:
                del self.target_policies[target]

    def targets_of_policy(self, policy_name: str) -> list[str]:
        return list(self.policy_targets.get(policy_name, ()))

    def target_order(self, policy_name: str) -> InsertionOrder:
        """A policy's targets in attachment order (do not change the result)."""
        return self.policy_targets.get(policy_name) or _NO_TARGETS

    def principal_order(self, policy_name: str) -> InsertionOrder:
        """A policy's targets that are not thing groups, in attachment order (do not change the result)."""
        return self.policy_principals.get(policy_name) or _NO_TARGETS

    def has_targets(self, policy_name: str) -> bool:
        """Whether the policy is attached to anything."""
        return policy_name in self.policy_targets

    def policies_of_target(self, target: str) -> list[str]:
        return list(self.target_policies.get(normal_principal(target), {}))

    def detach_all_policies_from(self, target: str) -> None:
        for policy_name in self.policies_of_target(target):
            self.detach_policy(policy_name, target)


_NO_TARGETS = InsertionOrder()


def attachments(ctx: RequestContext) -> AttachmentTables:
    """The attachment tables of the request's account and region."""
    return ctx.store.component(AttachmentTables)


def certificate_arn(ctx: RequestContext, certificate_id: str) -> str:
    """``arn:aws:iot:{region}:{account}:cert/{id}``: how a certificate is named as a principal."""
    return ctx.arn(f"cert/{certificate_id}")
