"""CreateProvisioningClaim: short-lived claim certificates for the trusted-user provisioning flow.

Behaviour reproduced (spec section 4, decoded from AWS's own example output):

- The template must exist (``ResourceNotFoundException``) and be a ``FLEET_PROVISIONING`` template; a JITP
  template is an ``InvalidRequestException`` (JITP templates are only used through CA registration).
- A fresh RSA-2048 key pair (``PublicKey`` as SPKI PEM, ``PrivateKey`` as PKCS#1 PEM) and a certificate
  issued by the mock's provisioning CA (``OU=Amazon IoT Provisioning``), subject ``CN=<64 opaque hex>``,
  valid from two minutes before the call until five minutes after; ``expiration`` is exactly the
  certificate's notAfter and ``certificateId`` the SHA-256 of its DER.
- Claim certificates are not account certificates: they never appear in ``ListCertificates`` and
  ``DescribeCertificate`` does not find them. The mock still remembers each claim (template, expiry) so the
  device-side flow can accept a claim only while it is valid; tests read them from the handle's ``claims``.

Where AWS is silent: a claim for a **disabled** template is issued (the template's state matters only when a
device later registers with it, where AWS's documented failure for disabled templates happens).
Time is read at call time, so freezegun and time-machine move the certificate dates and ``expiration``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.pki import (
    certificate_id,
    certificate_pem,
    default_key_source,
    issue_claim_certificate,
    private_key_pem,
    public_key_pem,
)
from mock_iotprov.protocol.errors import invalid_request
from mock_iotprov.provisioning.templates import FLEET_PROVISIONING, find_template
from mock_iotprov.registry.issued_keys import remember_private_key
from mock_iotprov.state import RequestContext, Store


@dataclass(frozen=True)
class ClaimCertificate:
    """A claim certificate the mock issued, as the device-side flow will check it."""

    certificate_id: str
    certificate_pem: str
    template_name: str
    template_arn: str
    not_before: datetime.datetime
    expiration: datetime.datetime

    def is_valid_at(self, moment: datetime.datetime) -> bool:
        """Whether the claim may still be used at ``moment``."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return self.not_before <= moment < self.expiration


@dataclass
class ClaimTables:
    """Claims issued in one account and region, in issue order."""

    claims: dict[str, ClaimCertificate] = field(default_factory=dict)


def claims_of(store: Store) -> list[ClaimCertificate]:
    """The claims issued in ``store`` so far, oldest first."""
    return list(store.component(ClaimTables).claims.values())


def find_claim(ctx: RequestContext, claim_certificate_id: str) -> ClaimCertificate | None:
    """The claim with this certificate id, if the mock issued it in this account and region."""
    return ctx.store.component(ClaimTables).claims.get(claim_certificate_id)


def create_provisioning_claim(ctx: RequestContext, *, templateName: str) -> dict[str, Any]:
    """CreateProvisioningClaim."""
    template = find_template(ctx, templateName)
    if template.template_type != FLEET_PROVISIONING:
        raise invalid_request(
            f"Provisioning claims can only be created for templates of type {FLEET_PROVISIONING}; "
            f"{templateName} is of type {template.template_type}."
        )
    key = default_key_source().take(fresh=ctx.options.fresh_keys)
    certificate = issue_claim_certificate(key.public_key(), ctx.now())
    identifier = certificate_id(certificate)
    pem = certificate_pem(certificate)
    claim = ClaimCertificate(
        certificate_id=identifier,
        certificate_pem=pem,
        template_name=template.name,
        template_arn=template.arn,
        not_before=certificate.not_valid_before_utc,
        expiration=certificate.not_valid_after_utc,
    )
    ctx.store.component(ClaimTables).claims[identifier] = claim
    private_pem = private_key_pem(key)
    remember_private_key(ctx, identifier, private_pem)
    return {
        "certificateId": identifier,
        "certificatePem": pem,
        "keyPair": {"PublicKey": public_key_pem(key.public_key()), "PrivateKey": private_pem},
        "expiration": claim.expiration,
    }
