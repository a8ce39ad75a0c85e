"""Role aliases: CreateRoleAlias, DescribeRoleAlias, ListRoleAliases, UpdateRoleAlias, DeleteRoleAlias.

A role alias names an IAM role that devices exchange their certificate for temporary credentials with (the
credentials provider). Behaviour reproduced (API reference and the service model):

- The ARN is ``arn:aws:iot:{region}:{account}:rolealias/{roleAlias}``; the alias is taggable (``tags`` on
  create, and ``TagResource``/``UntagResource``/``ListTagsForResource`` by that ARN).
- ``credentialDurationSeconds`` is 900..43200 (the model's range, checked by the protocol layer) and defaults
  to 3600; ``owner`` in ``DescribeRoleAlias`` is the account id.
- Creating an alias that exists is a ``ResourceAlreadyExistsException`` (with ``resourceId`` and
  ``resourceArn``); describing, updating or deleting one that does not exist is a
  ``ResourceNotFoundException``. At most 100 role aliases per account and region (AWS's quota),
  ``LimitExceededException``.
- ``ListRoleAliases`` pages with ``pageSize``/``marker``/``nextMarker``; markers are standard base64 as the
  model's ``Marker`` pattern requires.

Where AWS is silent: ``roleArn`` must be an IAM role ARN
(``arn:{partition}:iam::{12 digits}:role/{path+name}``), else ``InvalidRequestException`` (the model gives
only its length); aliases are listed by name, descending
unless ``ascendingOrder`` is true (as ``ListCertificates`` orders newest first by default), 50 per page;
``DeleteConflictException``, which the model declares for ``DeleteRoleAlias``, is never raised, since
nothing in this mock refers to a role alias.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.pagination import SortedKeys
from mock_iotprov.protocol.errors import already_exists, invalid_request, limit_exceeded, not_found
from mock_iotprov.registry import tags as tag_store
from mock_iotprov.state import RequestContext

MAX_ROLE_ALIASES = 100
DEFAULT_CREDENTIAL_DURATION = 3600
DEFAULT_PAGE_SIZE = 50
_ROLE_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")


@dataclass
class RoleAlias:
    """A stored role alias."""

    name: str
    arn: str
    role_arn: str
    credential_duration_seconds: int
    created: datetime.datetime
    modified: datetime.datetime


@dataclass
class RoleAliasTables:
    """The role aliases of one account and region."""

    aliases: dict[str, RoleAlias] = field(default_factory=dict)
    names: SortedKeys = field(default_factory=SortedKeys)


def _tables(ctx: RequestContext) -> RoleAliasTables:
    return ctx.store.component(RoleAliasTables)


def role_alias_exists(ctx: RequestContext, name: str) -> bool:
    """Whether a role alias called ``name`` exists (the tag store's existence check)."""
    return name in _tables(ctx).aliases


def _find(ctx: RequestContext, name: str) -> RoleAlias:
    found = _tables(ctx).aliases.get(name)
    if found is None:
        raise not_found(f"Role alias {name} does not exist.")
    return found


def is_role_arn(text: str) -> bool:
    """Whether ``text`` is the ARN of an IAM role."""
    return _ROLE_ARN.fullmatch(text) is not None


def _check_role_arn(role_arn: str) -> None:
    if not is_role_arn(role_arn):
        raise invalid_request(f"Invalid roleArn: {role_arn} is not the ARN of an IAM role.")


def create_role_alias(
    ctx: RequestContext,
    *,
    roleAlias: str,
    roleArn: str,
    credentialDurationSeconds: int | None = None,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """CreateRoleAlias."""
    tables = _tables(ctx)
    arn = ctx.arn(f"rolealias/{roleAlias}")
    existing = tables.aliases.get(roleAlias)
    if existing is not None:
        raise already_exists(f"Role alias {roleAlias} already exists.", roleAlias, existing.arn)
    _check_role_arn(roleArn)
    if len(tables.aliases) >= MAX_ROLE_ALIASES:
        raise limit_exceeded(f"An account can have at most {MAX_ROLE_ALIASES} role aliases in a region.")
    if tags:
        tag_store.add_tags(ctx, arn, tags)
    now = ctx.now()
    duration = DEFAULT_CREDENTIAL_DURATION if credentialDurationSeconds is None else credentialDurationSeconds
    tables.aliases[roleAlias] = RoleAlias(roleAlias, arn, roleArn, duration, now, now)
    tables.names.add(roleAlias)
    return {"roleAlias": roleAlias, "roleAliasArn": arn}


def describe_role_alias(ctx: RequestContext, *, roleAlias: str) -> dict[str, Any]:
    """DescribeRoleAlias."""
    alias = _find(ctx, roleAlias)
    return {
        "roleAliasDescription": {
            "roleAlias": alias.name,
            "roleAliasArn": alias.arn,
            "roleArn": alias.role_arn,
            "owner": ctx.account_id,
            "credentialDurationSeconds": alias.credential_duration_seconds,
            "creationDate": alias.created,
            "lastModifiedDate": alias.modified,
        }
    }


def _encode_marker(name: str) -> str:
    return base64.b64encode(name.encode("utf-8")).decode("ascii")


def _decode_marker(marker: str) -> str:
    try:
        return base64.b64decode(marker.encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        raise invalid_request(f"Invalid marker: {marker}") from None


def list_role_aliases(
    ctx: RequestContext,
    *,
    pageSize: int | None = None,
    marker: str | None = None,
    ascendingOrder: bool | None = None,
) -> dict[str, Any]:
    """ListRoleAliases: names in order, one page at a time (binary search to the marker)."""
    names = _tables(ctx).names
    size = pageSize if pageSize is not None else DEFAULT_PAGE_SIZE
    after = None if marker is None else _decode_marker(marker)
    if ascendingOrder:
        start = names.after(after)
        page = names.slice(start, start + size)
        more = start + size < len(names)
    else:
        end = len(names)
        if after is not None:
            end = names.after(after)
            if end > 0 and names.slice(end - 1, end) == [after]:
                end -= 1
        start = max(end - size, 0)
        page = names.slice(start, end)[::-1]
        more = start > 0
    return {"roleAliases": page, "nextMarker": _encode_marker(page[-1]) if more and page else None}


def update_role_alias(
    ctx: RequestContext,
    *,
    roleAlias: str,
    roleArn: str | None = None,
    credentialDurationSeconds: int | None = None,
) -> dict[str, Any]:
    """UpdateRoleAlias: changes the role and/or the credential duration."""
    alias = _find(ctx, roleAlias)
    if roleArn is not None:
        _check_role_arn(roleArn)
        alias.role_arn = roleArn
    if credentialDurationSeconds is not None:
        alias.credential_duration_seconds = credentialDurationSeconds
    alias.modified = ctx.now()
    return {"roleAlias": alias.name, "roleAliasArn": alias.arn}


def delete_role_alias(ctx: RequestContext, *, roleAlias: str) -> dict[str, Any]:
    """DeleteRoleAlias: drops the alias and its tags."""
    alias = _find(ctx, roleAlias)
    tables = _tables(ctx)
    del tables.aliases[roleAlias]
    tables.names.discard(roleAlias)
    tag_store.forget(ctx, alias.arn)
    return {}
