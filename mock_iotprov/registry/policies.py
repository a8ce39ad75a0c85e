"""AWS IoT policies and their versions (CreatePolicy ... DeletePolicyVersion).

Behaviour reproduced:

- A policy document is JSON text: an object with a ``Statement`` (one statement object or a non-empty list
  of them); each statement has ``Effect`` ``Allow`` or ``Deny``, an ``Action`` (or ``NotAction``) and a
  ``Resource`` (or ``NotResource``), each a string or a non-empty list of strings. Anything else is a
  ``MalformedPolicyException``. The document is stored and returned exactly as sent.
- Version ids are the strings ``"1"``, ``"2"``, ... and are never reused, even after a delete. At most 5
  versions per policy (``VersionsLimitExceededException``); the default version cannot be deleted
  (``DeleteConflictException``); a policy with non-default versions, or attached to any target, cannot be
  deleted (``DeleteConflictException``).
- ``generationId`` changes whenever the default version changes; ``lastModifiedDate`` moves with every new
  version and every change of default.

Where AWS is silent: a document longer than 2048 characters once whitespace is removed (the documented
limit) is a ``MalformedPolicyException``; a ``Version`` element, when present, must be ``2012-10-17`` or
``2008-10-17`` as in IAM; more than 50 tags on CreatePolicy (which declares no ``LimitExceededException``)
is an ``InvalidRequestException``. ``ListPolicies`` returns policies in creation order (the API reference
describes ``ascendingOrder`` as "ascending creation order"), oldest first unless ``ascendingOrder`` is
false, and everything in one page (up to 250) unless ``pageSize`` is given. ``ListPolicyVersions`` lists
versions by ascending id.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.bounded_json import JsonTooDeep, loads_bounded
from mock_iotprov.pagination import SortedKeys, page_of_keys
from mock_iotprov.protocol.errors import (
    ServiceError,
    already_exists,
    delete_conflict,
    invalid_request,
    not_found,
)
from mock_iotprov.registry import tags as tag_store
from mock_iotprov.registry.attachments import attachments
from mock_iotprov.state import RequestContext

MAX_VERSIONS = 5
MAX_DOCUMENT_CHARACTERS = 2048
MAX_POLICY_NESTING = 32
"""Deepest JSON nesting accepted in a policy document (a real one nests about 6 levels: document, Statement
list, statement, Condition, operator, key, values); a deeper one is a ``MalformedPolicyException``."""
DEFAULT_PAGE_SIZE = 250
POLICY_LANGUAGE_VERSIONS = ("2012-10-17", "2008-10-17")
_SEQUENCE_WIDTH = 16
_SEQUENCE_CEILING = 10**_SEQUENCE_WIDTH


@dataclass
class PolicyVersion:
    """One stored version of a policy document."""

    version_id: int
    document: str
    created: datetime.datetime


@dataclass
class Policy:
    """A named, versioned AWS IoT policy."""

    name: str
    arn: str
    versions: dict[int, PolicyVersion]
    created: datetime.datetime
    modified: datetime.datetime
    generation_id: str
    sequence: int
    default_version_id: int = 1
    last_version_id: int = 1

    @property
    def default_version(self) -> PolicyVersion:
        return self.versions[self.default_version_id]

    @property
    def document(self) -> str:
        """The default version's document (the one in effect)."""
        return self.default_version.document


@dataclass
class PolicyTables:
    """The policies of one account and region, with creation-order indexes for listing."""

    policies: dict[str, Policy] = field(default_factory=dict)
    oldest_first: SortedKeys = field(default_factory=SortedKeys)
    newest_first: SortedKeys = field(default_factory=SortedKeys)
    name_by_order_key: dict[str, str] = field(default_factory=dict)
    next_sequence: int = 1


def _tables(ctx: RequestContext) -> PolicyTables:
    return ctx.store.component(PolicyTables)


def _oldest_first_key(sequence: int) -> str:
    return str(sequence).zfill(_SEQUENCE_WIDTH)


def _newest_first_key(sequence: int) -> str:
    return "~" + str(_SEQUENCE_CEILING - sequence).zfill(_SEQUENCE_WIDTH)


def _new_generation_id() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


# Cross-module functions


def policy_arn(ctx: RequestContext, name: str) -> str:
    """``arn:aws:iot:{region}:{account}:policy/{name}``."""
    return ctx.arn(f"policy/{name}")


def find_policy(ctx: RequestContext, name: str) -> Policy:
    """The policy called ``name``, or ``ResourceNotFoundException``."""
    found = _tables(ctx).policies.get(name)
    if found is None:
        raise not_found(f"Policy not found: {name}")
    return found


def policy_exists(ctx: RequestContext, name: str) -> bool:
    """Whether a policy called ``name`` exists."""
    return name in _tables(ctx).policies


def malformed_policy(message: str) -> ServiceError:
    """``MalformedPolicyException`` (HTTP 400)."""
    return ServiceError("MalformedPolicyException", message)


def _check_string_or_strings(statement: dict[str, Any], names: tuple[str, str], index: int) -> None:
    present = [name for name in names if name in statement]
    if not present:
        raise malformed_policy(f"Statement {index} has no {names[0]} element.")
    if len(present) > 1:
        raise malformed_policy(f"Statement {index} cannot have both {names[0]} and {names[1]}.")
    value = statement[present[0]]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(item, str) and item for item in values):
        raise malformed_policy(
            f"Statement {index}: {present[0]} must be a non-empty string or a non-empty list of strings."
        )


def _check_statement(statement: Any, index: int) -> None:
    if not isinstance(statement, dict):
        raise malformed_policy(f"Statement {index} is not a JSON object.")
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise malformed_policy(f"Statement {index}: Effect must be Allow or Deny, not {effect!r}.")
    _check_string_or_strings(statement, ("Action", "NotAction"), index)
    _check_string_or_strings(statement, ("Resource", "NotResource"), index)
    condition = statement.get("Condition")
    if condition is not None and not isinstance(condition, dict):
        raise malformed_policy(f"Statement {index}: Condition must be a JSON object.")


def _reject_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_policy_document(document: str) -> None:
    """Raise ``MalformedPolicyException`` unless ``document`` is a well-formed policy document."""
    if len("".join(document.split())) > MAX_DOCUMENT_CHARACTERS:
        raise malformed_policy(
            f"The policy document exceeds {MAX_DOCUMENT_CHARACTERS} characters (excluding whitespace)."
        )
    try:
        parsed = loads_bounded(document, MAX_POLICY_NESTING, parse_constant=_reject_json_constant)
    except JsonTooDeep:
        raise malformed_policy(
            f"The policy document nests more than {MAX_POLICY_NESTING} levels deep."
        ) from None
    except ValueError:
        raise malformed_policy("The policy document is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise malformed_policy("The policy document must be a JSON object.")
    version = parsed.get("Version")
    if version is not None and version not in POLICY_LANGUAGE_VERSIONS:
        raise malformed_policy(f"Unsupported policy language version: {version!r}.")
    if "Statement" not in parsed:
        raise malformed_policy("The policy document has no Statement.")
    statements = parsed["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise malformed_policy("Statement must be a statement object or a non-empty list of them.")
    for index, statement in enumerate(statements):
        _check_statement(statement, index)


def create_policy_record(ctx: RequestContext, name: str, document: str) -> Policy:
    """Store a new policy with version 1 as its default (no checks: the caller has checked)."""
    tables = _tables(ctx)
    now = ctx.now()
    sequence = tables.next_sequence
    tables.next_sequence += 1
    policy = Policy(
        name=name,
        arn=policy_arn(ctx, name),
        versions={1: PolicyVersion(1, document, now)},
        created=now,
        modified=now,
        generation_id=_new_generation_id(),
        sequence=sequence,
    )
    tables.policies[name] = policy
    tables.oldest_first.add(_oldest_first_key(sequence))
    tables.newest_first.add(_newest_first_key(sequence))
    tables.name_by_order_key[_oldest_first_key(sequence)] = name
    tables.name_by_order_key[_newest_first_key(sequence)] = name
    return policy


def _drop_policy_record(ctx: RequestContext, policy: Policy) -> None:
    tables = _tables(ctx)
    del tables.policies[policy.name]
    oldest_key, newest_key = _oldest_first_key(policy.sequence), _newest_first_key(policy.sequence)
    tables.oldest_first.discard(oldest_key)
    tables.newest_first.discard(newest_key)
    del tables.name_by_order_key[oldest_key]
    del tables.name_by_order_key[newest_key]


# Markers: the ``marker`` members of the policy lists must match ``[A-Za-z0-9+/]+={0,2}`` (standard
# base64), while the shared pagination tokens are URL-safe base64, so they are translated at the edge.

_TO_MARKER = str.maketrans("-_", "+/")
_FROM_MARKER = str.maketrans("+/", "-_")


def marker_from_token(token: str | None) -> str | None:
    """The ``nextMarker`` for a pagination token."""
    return None if token is None else token.translate(_TO_MARKER)


def token_from_marker(marker: str | None) -> str | None:
    """The pagination token a ``marker`` stands for."""
    return None if marker is None else marker.rstrip("=").translate(_FROM_MARKER)


def policy_summary(policy: Policy) -> dict[str, str]:
    """The ``Policy`` list member: name and ARN."""
    return {"policyName": policy.name, "policyArn": policy.arn}


# Operations


def create_policy(
    ctx: RequestContext,
    *,
    policyName: str,
    policyDocument: str,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """CreatePolicy: version 1 becomes the default version."""
    arn = policy_arn(ctx, policyName)
    if policy_exists(ctx, policyName):
        raise already_exists(
            f"Policy cannot be created - name already exists (name={policyName})", policyName, arn
        )
    check_policy_document(policyDocument)
    if tags:
        try:
            tag_store.add_tags(ctx, arn, tags)
        except ServiceError as exc:  # CreatePolicy declares no LimitExceededException
            raise invalid_request(exc.message) from None
    policy = create_policy_record(ctx, policyName, policyDocument)
    return {
        "policyName": policy.name,
        "policyArn": policy.arn,
        "policyDocument": policy.document,
        "policyVersionId": str(policy.default_version_id),
    }


def get_policy(ctx: RequestContext, *, policyName: str) -> dict[str, Any]:
    """GetPolicy: ``policyDocument`` is the default version's document."""
    policy = find_policy(ctx, policyName)
    return {
        "policyName": policy.name,
        "policyArn": policy.arn,
        "policyDocument": policy.document,
        "defaultVersionId": str(policy.default_version_id),
        "creationDate": policy.created,
        "lastModifiedDate": policy.modified,
        "generationId": policy.generation_id,
    }


def list_policies(
    ctx: RequestContext,
    *,
    marker: str | None = None,
    pageSize: int | None = None,
    ascendingOrder: bool | None = None,
) -> dict[str, Any]:
    """ListPolicies, in creation order (newest first when ``ascendingOrder`` is false)."""
    tables = _tables(ctx)
    index = tables.newest_first if ascendingOrder is False else tables.oldest_first
    keys, token = page_of_keys(index, token_from_marker(marker), pageSize, default_limit=DEFAULT_PAGE_SIZE)
    policies = [policy_summary(tables.policies[tables.name_by_order_key[key]]) for key in keys]
    return {"policies": policies, "nextMarker": marker_from_token(token)}


def delete_policy(ctx: RequestContext, *, policyName: str) -> dict[str, Any]:
    """DeletePolicy: refused while the policy is attached or has versions besides the default."""
    policy = find_policy(ctx, policyName)
    if attachments(ctx).has_targets(policyName):
        raise delete_conflict(
            "The policy cannot be deleted as the policy is attached to one or more principals "
            f"(name={policyName})"
        )
    if len(policy.versions) > 1:
        raise delete_conflict(
            f"Cannot delete the policy because it has one or more policy versions attached to it "
            f"(name={policyName})"
        )
    _drop_policy_record(ctx, policy)
    tag_store.forget(ctx, policy.arn)
    return {}


def create_policy_version(
    ctx: RequestContext, *, policyName: str, policyDocument: str, setAsDefault: bool | None = None
) -> dict[str, Any]:
    """CreatePolicyVersion: the next id; it becomes the default only with ``setAsDefault=true``."""
    policy = find_policy(ctx, policyName)
    check_policy_document(policyDocument)
    if len(policy.versions) >= MAX_VERSIONS:
        raise ServiceError(
            "VersionsLimitExceededException",
            f"The policy {policyName} already has the maximum number of versions ({MAX_VERSIONS})",
        )
    now = ctx.now()
    version_id = policy.last_version_id + 1
    policy.last_version_id = version_id
    policy.versions[version_id] = PolicyVersion(version_id, policyDocument, now)
    if setAsDefault:
        policy.default_version_id = version_id
        policy.generation_id = _new_generation_id()
    policy.modified = now
    return {
        "policyArn": policy.arn,
        "policyDocument": policyDocument,
        "policyVersionId": str(version_id),
        "isDefaultVersion": policy.default_version_id == version_id,
    }


def _find_version(policy: Policy, version_id: str) -> PolicyVersion:
    try:
        number = int(version_id)
    except ValueError:  # more digits than Python converts (4300): no version has such an id
        number = -1
    found = policy.versions.get(number)
    if found is None:
        raise not_found(f"Policy version {version_id} of policy {policy.name} does not exist.")
    return found


def get_policy_version(ctx: RequestContext, *, policyName: str, policyVersionId: str) -> dict[str, Any]:
    """GetPolicyVersion."""
    policy = find_policy(ctx, policyName)
    version = _find_version(policy, policyVersionId)
    return {
        "policyArn": policy.arn,
        "policyName": policy.name,
        "policyDocument": version.document,
        "policyVersionId": str(version.version_id),
        "isDefaultVersion": version.version_id == policy.default_version_id,
        "creationDate": version.created,
        "lastModifiedDate": version.created,
        "generationId": policy.generation_id,
    }


def list_policy_versions(ctx: RequestContext, *, policyName: str) -> dict[str, Any]:
    """ListPolicyVersions: every version (at most five), ascending by version id."""
    policy = find_policy(ctx, policyName)
    return {
        "policyVersions": [
            {
                "versionId": str(version_id),
                "isDefaultVersion": version_id == policy.default_version_id,
                "createDate": policy.versions[version_id].created,
            }
            for version_id in sorted(policy.versions)
        ]
    }


def set_default_policy_version(
    ctx: RequestContext, *, policyName: str, policyVersionId: str
) -> dict[str, Any]:
    """SetDefaultPolicyVersion: setting the current default again changes nothing."""
    policy = find_policy(ctx, policyName)
    version = _find_version(policy, policyVersionId)
    if version.version_id != policy.default_version_id:
        policy.default_version_id = version.version_id
        policy.generation_id = _new_generation_id()
        policy.modified = ctx.now()
    return {}


def delete_policy_version(ctx: RequestContext, *, policyName: str, policyVersionId: str) -> dict[str, Any]:
    """DeletePolicyVersion: the default version cannot be deleted."""
    policy = find_policy(ctx, policyName)
    version = _find_version(policy, policyVersionId)
    if version.version_id == policy.default_version_id:
        raise delete_conflict(
            f"Cannot delete the default version of a policy (name={policyName}, version={policyVersionId})"
        )
    del policy.versions[version.version_id]
    return {}
