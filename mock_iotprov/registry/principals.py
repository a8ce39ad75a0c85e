"""Things and their principals: AttachThingPrincipal, DetachThingPrincipal, ListThingPrincipals(V2),
ListPrincipalThings(V2).

Behaviour reproduced:

- The thing must exist and the principal must be an existing certificate (``ResourceNotFoundException``).
- ``thingPrincipalType`` (default ``NON_EXCLUSIVE_THING``): an ``EXCLUSIVE_THING`` attachment makes the
  thing the only thing the certificate may be attached to. Attaching a certificate that is exclusively
  attached to another thing, or attaching exclusively a certificate already attached to another thing, is an
  ``InvalidRequestException``.
- The V2 lists carry the attachment type of each link and can be filtered by it.

A principal is a certificate ARN (the certificate must exist) or, as the API reference allows, an Amazon
Cognito identity id (``region:uuid``, accepted as it is: the mock keeps no Cognito identities).

Where AWS is silent: attaching a certificate to a
thing it is already attached to sets the attachment type given (subject to the exclusivity rule);
detaching a principal that is not attached succeeds and changes nothing. Lists are in attachment order and
return everything in one page (up to 250) unless ``maxResults`` is given.
"""

from __future__ import annotations

from typing import Any

from mock_iotprov.pagination import page_of_list
from mock_iotprov.protocol.errors import invalid_request, not_found
from mock_iotprov.registry.attachments import EXCLUSIVE_THING, NON_EXCLUSIVE_THING, attachments
from mock_iotprov.registry.policy_attachments import CERTIFICATE, THING_GROUP, target_kind
from mock_iotprov.state import RequestContext

DEFAULT_PAGE_SIZE = 250


def _require_thing(ctx: RequestContext, thing_name: str) -> None:
    from mock_iotprov.registry.thing_records import find_thing

    find_thing(ctx, thing_name)


def _is_known_certificate(ctx: RequestContext, principal: str) -> bool:
    """Whether ``principal`` names an existing certificate; ``False`` for a Cognito identity id.

    ``InvalidRequestException`` for a principal that is neither; ``ResourceNotFoundException`` for a
    certificate ARN naming no certificate.
    """
    if target_kind(principal) != CERTIFICATE:
        return False
    from mock_iotprov.registry.certificates import certificate_by_principal

    if certificate_by_principal(ctx, principal) is None:
        raise not_found(f"The principal {principal} does not exist.")
    return True


def check_thing_attachment(ctx: RequestContext, thing_name: str, principal: str, principal_type: str) -> None:
    """Raise ``InvalidRequestException`` if attaching ``principal`` to the thing breaks exclusivity."""
    others = {
        name: kind
        for name, kind in attachments(ctx).things_of_principal(principal).items()
        if name != thing_name
    }
    exclusive_elsewhere = [name for name, kind in others.items() if kind == EXCLUSIVE_THING]
    if exclusive_elsewhere:
        raise invalid_request(
            f"The principal {principal} is exclusively attached to the thing {exclusive_elsewhere[0]} "
            "and cannot be attached to another thing."
        )
    if principal_type == EXCLUSIVE_THING and others:
        raise invalid_request(
            f"The principal {principal} is already attached to another thing ({next(iter(others))}) "
            "and cannot be attached exclusively."
        )


def attach_thing_principal(
    ctx: RequestContext, *, thingName: str, principal: str, thingPrincipalType: str | None = None
) -> dict[str, Any]:
    """AttachThingPrincipal."""
    _require_thing(ctx, thingName)
    if target_kind(principal) == THING_GROUP:
        raise invalid_request(f"A thing group cannot be attached to a thing: {principal}")
    _is_known_certificate(ctx, principal)  # a certificate must exist; a Cognito identity id is taken as is
    principal_type = thingPrincipalType or NON_EXCLUSIVE_THING
    check_thing_attachment(ctx, thingName, principal, principal_type)
    attachments(ctx).attach_thing_principal(thingName, principal, principal_type)
    return {}


def detach_thing_principal(ctx: RequestContext, *, thingName: str, principal: str) -> dict[str, Any]:
    """DetachThingPrincipal: detaching a principal that is not attached changes nothing."""
    _require_thing(ctx, thingName)
    target_kind(principal)
    attachments(ctx).detach_thing_principal(thingName, principal)
    return {}


def _thing_principals(
    ctx: RequestContext, thing_name: str, principal_type: str | None
) -> list[tuple[str, str]]:
    _require_thing(ctx, thing_name)
    linked = attachments(ctx).principals_of_thing(thing_name)
    return [(p, kind) for p, kind in linked.items() if principal_type is None or kind == principal_type]


def list_thing_principals(
    ctx: RequestContext, *, thingName: str, nextToken: str | None = None, maxResults: int | None = None
) -> dict[str, Any]:
    """ListThingPrincipals: the ARNs of the thing's principals."""
    linked = _thing_principals(ctx, thingName, None)
    page, token = page_of_list(linked, nextToken, maxResults, default_limit=DEFAULT_PAGE_SIZE)
    return {"principals": [principal for principal, _ in page], "nextToken": token}


def list_thing_principals_v2(
    ctx: RequestContext,
    *,
    thingName: str,
    nextToken: str | None = None,
    maxResults: int | None = None,
    thingPrincipalType: str | None = None,
) -> dict[str, Any]:
    """ListThingPrincipalsV2: each principal with its attachment type, optionally filtered by type."""
    linked = _thing_principals(ctx, thingName, thingPrincipalType)
    page, token = page_of_list(linked, nextToken, maxResults, default_limit=DEFAULT_PAGE_SIZE)
    return {
        "thingPrincipalObjects": [{"principal": p, "thingPrincipalType": kind} for p, kind in page],
        "nextToken": token,
    }


def _principal_things(
    ctx: RequestContext, principal: str, principal_type: str | None
) -> list[tuple[str, str]]:
    if target_kind(principal) == THING_GROUP:
        return []
    _is_known_certificate(ctx, principal)
    linked = attachments(ctx).things_of_principal(principal)
    return [(name, kind) for name, kind in linked.items() if principal_type is None or kind == principal_type]


def list_principal_things(
    ctx: RequestContext, *, principal: str, nextToken: str | None = None, maxResults: int | None = None
) -> dict[str, Any]:
    """ListPrincipalThings: the names of the things a principal is attached to."""
    linked = _principal_things(ctx, principal, None)
    page, token = page_of_list(linked, nextToken, maxResults, default_limit=DEFAULT_PAGE_SIZE)
    return {"things": [name for name, _ in page], "nextToken": token}


def list_principal_things_v2(
    ctx: RequestContext,
    *,
    principal: str,
    nextToken: str | None = None,
    maxResults: int | None = None,
    thingPrincipalType: str | None = None,
) -> dict[str, Any]:
    """ListPrincipalThingsV2: each thing with its attachment type, optionally filtered by type."""
    linked = _principal_things(ctx, principal, thingPrincipalType)
    page, token = page_of_list(linked, nextToken, maxResults, default_limit=DEFAULT_PAGE_SIZE)
    return {
        "principalThingObjects": [{"thingName": name, "thingPrincipalType": kind} for name, kind in page],
        "nextToken": token,
    }
