"""Inputs that several registry operations read alike: a resource named by name and/or ARN, and an
``attributePayload`` with ``merge`` semantics (things and thing groups)."""

from __future__ import annotations

from typing import Any

from mock_iotprov.protocol.errors import invalid_request, not_found
from mock_iotprov.state import RequestContext


def updated_attributes(current: dict[str, str], payload: dict[str, Any]) -> dict[str, str]:
    """The attributes after applying an ``attributePayload`` (``merge`` semantics; ``""`` removes)."""
    given: dict[str, str] = dict(payload.get("attributes") or {})
    result = dict(current) if payload.get("merge") else {}
    for key, value in given.items():
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    return result


def name_from_reference(
    ctx: RequestContext, name: str | None, arn: str | None, resource_type: str, label: str
) -> str:
    """The resource name given by name and/or ARN (``AddThingToThingGroup`` style inputs).

    Neither given, a malformed ARN, or a name and ARN that disagree is an ``InvalidRequestException``; an
    ARN of another account or region names nothing here (``ResourceNotFoundException``).
    """
    from_arn: str | None = None
    if arn is not None:
        parts = arn.split(":", 5)
        prefix = f"{resource_type}/"
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iot" or not parts[5].startswith(prefix):
            raise invalid_request(f"Invalid {label} ARN: {arn}")
        if parts[3] != ctx.region or parts[4] != ctx.account_id:
            raise not_found(f"The {label} {arn} does not exist.")
        from_arn = parts[5][len(prefix) :]
    if name is not None and from_arn is not None and name != from_arn:
        raise invalid_request(f"The {label} name {name} and ARN {arn} do not name the same resource.")
    chosen = name if name is not None else from_arn
    if not chosen:
        raise invalid_request(f"Either the {label} name or the {label} ARN must be given.")
    return chosen
