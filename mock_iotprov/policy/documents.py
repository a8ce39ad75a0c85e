"""IoT policy documents as the evaluator reads them: statements with their effect, actions, resources and
condition.

A document is JSON text or the parsed object: ``{"Version": ..., "Statement": <statement or list>}``; a
statement has ``Effect`` (``Allow`` or ``Deny``), ``Action`` or ``NotAction`` and ``Resource`` or
``NotResource`` (each a string or a list of strings), and optionally ``Sid`` and ``Condition``. This is the
grammar ``CreatePolicy`` enforces (``mock_iotprov.registry.policies``); a document that breaks it here is a
:class:`PolicyDocumentError`, so a test helper fails loudly on a typo instead of quietly denying.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ALLOW = "Allow"
DENY = "Deny"


class PolicyDocumentError(ValueError):
    """A policy document the evaluator cannot read."""


@dataclass(frozen=True)
class Statement:
    """One statement of a policy document; ``index`` is its 0-based position in the document."""

    index: int
    effect: str
    actions: tuple[str, ...]
    actions_negated: bool
    resources: tuple[str, ...]
    resources_negated: bool
    condition: Mapping[str, Any] | None = None
    sid: str | None = None


@dataclass(frozen=True)
class Policy:
    """A named policy version as evaluated: the default version of an attached policy, or an inline one."""

    name: str
    statements: tuple[Statement, ...]
    version_id: str | None = None


def _strings(
    statement: Mapping[str, Any], names: tuple[str, str], index: int
) -> tuple[tuple[str, ...], bool]:
    present = [name for name in names if name in statement]
    if len(present) != 1:
        raise PolicyDocumentError(f"Statement {index} needs exactly one of {names[0]} and {names[1]}.")
    value = statement[present[0]]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(item, str) and item for item in values):
        raise PolicyDocumentError(f"Statement {index}: {present[0]} must be a string or a list of strings.")
    return tuple(values), present[0] == names[1]


def _statement(raw: Any, index: int) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicyDocumentError(f"Statement {index} is not a JSON object.")
    effect = raw.get("Effect")
    if effect not in (ALLOW, DENY):
        raise PolicyDocumentError(f"Statement {index}: Effect must be Allow or Deny, not {effect!r}.")
    actions, actions_negated = _strings(raw, ("Action", "NotAction"), index)
    resources, resources_negated = _strings(raw, ("Resource", "NotResource"), index)
    condition = raw.get("Condition")
    if condition is not None and not isinstance(condition, Mapping):
        raise PolicyDocumentError(f"Statement {index}: Condition must be a JSON object.")
    sid = raw.get("Sid")
    return Statement(
        index=index,
        effect=effect,
        actions=actions,
        actions_negated=actions_negated,
        resources=resources,
        resources_negated=resources_negated,
        condition=condition,
        sid=sid if isinstance(sid, str) else None,
    )


def parse_policy(
    document: str | Mapping[str, Any], name: str = "inline", version_id: str | None = None
) -> Policy:
    """Read a policy document (JSON text or parsed) into a :class:`Policy`."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise PolicyDocumentError(f"The policy document is not valid JSON: {exc}") from None
    if not isinstance(document, Mapping):
        raise PolicyDocumentError("The policy document must be a JSON object.")
    raw = document.get("Statement")
    statements = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(statements, list) or not statements:
        raise PolicyDocumentError("Statement must be a statement object or a non-empty list of them.")
    return Policy(name, tuple(_statement(item, index) for index, item in enumerate(statements)), version_id)
