"""The decision for one request: allowed or denied, and the statement that decided.

Behaviour reproduced (AWS IoT developer guide, "AWS IoT Core policies" iot-policies.html and "AWS IoT Core
policy actions" iot-policy-actions.html; IAM's evaluation logic, which IoT policies follow):

- A statement applies when its actions match the request's action (``Action``: any entry matches;
  ``NotAction``: none does), its resources match the resource ARN (``Resource``/``NotResource`` likewise) and
  its ``Condition`` holds. Actions match case-insensitively with ``*`` and ``?`` (``iot:*``, ``iot:Pub*``);
  resource ARNs match case-sensitively with ``*`` and ``?``, while ``+`` and ``#`` are literal characters, so
  ``topicfilter/a/+`` only matches a subscription to the filter ``a/+`` itself.
- An applying ``Deny`` anywhere in any policy wins (explicit deny); otherwise an applying ``Allow`` allows;
  otherwise the request is denied implicitly.
- The deciding statement reported is the first applying ``Deny`` (for an explicit deny) or the first applying
  ``Allow``, in the order the policies and statements were given.

The IoT actions and resources the broker asks about: ``iot:Connect`` on ``client/<clientId>``,
``iot:Publish``, ``iot:Receive`` and ``iot:RetainPublish`` on ``topic/<topic>``, ``iot:Subscribe`` on
``topicfilter/<filter>`` (all under ``arn:<partition>:iot:<region>:<account>:``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mock_iotprov.policy.conditions import condition_holds
from mock_iotprov.policy.documents import ALLOW, DENY, Policy, Statement
from mock_iotprov.policy.patterns import matches, tokens_of
from mock_iotprov.policy.variables import PolicyVariables, substitute


@dataclass(frozen=True)
class DecidingStatement:
    """Which statement decided: its policy (name and version), position, ``Sid`` and effect."""

    policy_name: str
    policy_version: str | None
    statement_index: int
    sid: str | None
    effect: str

    def describe(self) -> str:
        version = "" if self.policy_version is None else f" version {self.policy_version}"
        sid = "" if self.sid is None else f" (Sid {self.sid})"
        return f"policy {self.policy_name}{version}, statement {self.statement_index}{sid}"


@dataclass(frozen=True)
class Decision:
    """The answer to one authorization request."""

    allowed: bool
    action: str
    resource: str
    statement: DecidingStatement | None = None
    """The deciding statement; None for an implicit deny."""
    unresolved_variables: tuple[str, ...] = ()
    """Policy variables that could not be resolved in statements for this action (a common cause of an
    unexpected deny, e.g. ``iot:Connection.Thing.ThingName`` when the client id is not the thing name)."""
    refusal: str = ""
    """Why the request is refused before any policy is read (e.g. the certificate is not ``ACTIVE``)."""

    @property
    def explicitly_denied(self) -> bool:
        return self.statement is not None and self.statement.effect == DENY

    @property
    def reason(self) -> str:
        if self.refusal:
            return f"{self.action} on {self.resource} is refused: {self.refusal}"
        if self.allowed:
            assert self.statement is not None
            return f"{self.action} on {self.resource} is allowed by {self.statement.describe()}."
        if self.statement is not None:
            return f"{self.action} on {self.resource} is explicitly denied by {self.statement.describe()}."
        missing = ""
        if self.unresolved_variables:
            missing = " Unresolved policy variables: " + ", ".join(self.unresolved_variables) + "."
        return f"{self.action} on {self.resource} is implicitly denied: no statement allows it.{missing}"

    def __bool__(self) -> bool:
        return self.allowed


def _action_applies(statement: Statement, action: str) -> bool:
    hit = any(matches(tokens_of(entry), action, fold_case=True) for entry in statement.actions)
    return hit != statement.actions_negated


def _resource_applies(
    statement: Statement, resource: str, variables: PolicyVariables, unresolved: list[str]
) -> bool:
    hit = False
    for entry in statement.resources:
        substituted = substitute(entry, variables)
        if substituted.pattern is None:
            unresolved.extend(name for name in substituted.unresolved if name not in unresolved)
            continue
        if matches(substituted.pattern, resource):
            hit = True
            break
    return hit != statement.resources_negated


def evaluate(
    policies: Sequence[Policy],
    action: str,
    resource: str,
    variables: PolicyVariables | Mapping[str, str | Sequence[str]] | None = None,
) -> Decision:
    """Decide ``action`` on ``resource`` (a full ARN) under ``policies`` with these variable values."""
    if not isinstance(variables, PolicyVariables):
        variables = PolicyVariables(variables)
    unresolved: list[str] = []
    first_allow: DecidingStatement | None = None
    for policy in policies:
        for statement in policy.statements:
            if not _action_applies(statement, action):
                continue
            if not _resource_applies(statement, resource, variables, unresolved):
                continue
            if not condition_holds(statement.condition, variables):
                continue
            deciding = DecidingStatement(
                policy.name, policy.version_id, statement.index, statement.sid, statement.effect
            )
            if statement.effect == DENY:
                return Decision(False, action, resource, deciding, tuple(unresolved))
            if statement.effect == ALLOW and first_allow is None:
                first_allow = deciding
    return Decision(first_allow is not None, action, resource, first_allow, tuple(unresolved))
