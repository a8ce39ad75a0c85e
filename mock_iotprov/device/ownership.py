"""Certificate ownership tokens: what ties a certificate made over MQTT to the RegisterThing that uses it.

Behaviour reproduced (spec section 6.1): ``CreateKeysAndCertificate`` and ``CreateCertificateFromCsr`` over
MQTT answer a ``certificateOwnershipToken`` bound to the new certificate; it lives one hour. When it expires,
a certificate that was neither activated nor attached to a thing or a policy is deleted.

Choices where AWS is silent:

- A token may be used only by connections authenticated with the certificate that asked for it (the
  claim, usually); from another principal it is rejected like an unknown token ("foreign" token). A
  fleet sharing one claim certificate shares its tokens, as the claim is the same principal.
- A token stays usable until it expires, so a device may retry RegisterThing after a rejection.
- "Unused" means still ``PENDING_ACTIVATION`` with no thing and no policy attached; a certificate whose
  status a user changed is kept.
- Expiry is lazy: expired tokens are swept (and their unused certificates deleted) before any later
  operation on the same account and region, on the control plane or over MQTT. Time is read with
  ``datetime.now`` at call time, so freezegun and time-machine move it.
"""

from __future__ import annotations

import datetime
import heapq
import secrets
from dataclasses import dataclass, field

from mock_iotprov.device.errors import invalid_token
from mock_iotprov.registry import certificates
from mock_iotprov.registry.attachments import attachments
from mock_iotprov.state import RequestContext

TOKEN_LIFETIME = datetime.timedelta(hours=1)
TOKEN_BYTES = 96
SWEEPER = "certificate-ownership-tokens"


@dataclass(frozen=True)
class OwnershipToken:
    """One issued token: the certificate it proves ownership of, who asked for it, when it expires."""

    token: str
    certificate_id: str
    issued_to: str
    expires: datetime.datetime


@dataclass
class OwnershipTables:
    """The live tokens of one account and region, with their expiries in a heap."""

    tokens: dict[str, OwnershipToken] = field(default_factory=dict)
    expiries: list[tuple[datetime.datetime, str]] = field(default_factory=list)


def _tables(ctx: RequestContext) -> OwnershipTables:
    return ctx.store.component(OwnershipTables)


def issue_token(ctx: RequestContext, certificate_id: str, issued_to: str) -> OwnershipToken:
    """A new token for ``certificate_id``, usable by the principal whose certificate id is ``issued_to``."""
    tables = _tables(ctx)
    issued = OwnershipToken(
        token=secrets.token_urlsafe(TOKEN_BYTES),
        certificate_id=certificate_id,
        issued_to=issued_to,
        expires=ctx.now() + TOKEN_LIFETIME,
    )
    tables.tokens[issued.token] = issued
    heapq.heappush(tables.expiries, (issued.expires, issued.token))
    ctx.store.sweepers[SWEEPER] = sweep_expired_tokens
    return issued


def redeem_token(ctx: RequestContext, token: str, principal_certificate_id: str) -> certificates.Certificate:
    """The certificate ``token`` stands for, for this principal; else ``InvalidCertificateOwnershipToken``."""
    if not token:
        raise invalid_token("Certificate ownership token cannot be empty.")
    sweep_expired_tokens(ctx)
    found = _tables(ctx).tokens.get(token)
    if found is None:
        raise invalid_token("Certificate ownership token is invalid or has expired.")
    if found.issued_to != principal_certificate_id:
        raise invalid_token("Certificate ownership token was issued to another client certificate.")
    if not certificates.certificate_exists(ctx, found.certificate_id):
        raise invalid_token(
            f"The certificate {found.certificate_id} of this ownership token no longer exists."
        )
    return certificates.find_certificate(ctx, found.certificate_id)


def _is_unused(ctx: RequestContext, record: certificates.Certificate) -> bool:
    links = attachments(ctx)
    return (
        record.status == certificates.PENDING_ACTIVATION
        and not links.things_of_principal(record.arn)
        and not links.policies_of_target(record.arn)
    )


def sweep_expired_tokens(ctx: RequestContext) -> None:
    """Forget expired tokens and delete the unused certificates they stood for (caller holds the lock)."""
    tables = _tables(ctx)
    now = ctx.now()
    while tables.expiries and tables.expiries[0][0] <= now:
        _, token = heapq.heappop(tables.expiries)
        expired = tables.tokens.pop(token, None)
        if expired is None or not certificates.certificate_exists(ctx, expired.certificate_id):
            continue
        record = certificates.find_certificate(ctx, expired.certificate_id)
        if _is_unused(ctx, record):
            certificates.remove_certificate(ctx, record)
