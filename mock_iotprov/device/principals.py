"""Who is connecting: authentication at CONNECT (authorization: :mod:`.authorization`).

Behaviour reproduced (issue 11, spec sections 4 and 6):

- A client presenting an unexpired claim certificate from ``CreateProvisioningClaim`` is let in as a
  *claim* principal of that claim's template.
- A client presenting a registered certificate that is ``ACTIVE``, and whose CA certificate, if the
  certificate was registered under one that is still registered, is ``ACTIVE``, is let in as a
  *certificate* principal. This covers certificates the mock issued, certificates registered without a
  CA and certificates from a user's own registered CA, all looked up in the registry at each CONNECT (no
  broker restart needed). The TLS handshake has already proven the client holds the certificate's key.
- Anything else is refused (CONNACK "not authorized").

Choices where AWS is silent: the broker serves one account (the mock's); a principal belongs to the
store (region) where its claim was issued or its certificate registered, looked up in the mock's default
region ``us-east-1`` first, then in the other regions in the order they were first used. The validity
dates of a registered certificate are not checked at CONNECT (AWS IoT documents no such check); a claim's
are, since a claim lives five minutes. A connection admitted with a claim keeps its rights when the claim
expires later (authentication happens at CONNECT).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from mock_iotprov.mqtt.hooks import Admission, ClientHello
from mock_iotprov.provisioning.claims import find_claim
from mock_iotprov.registry import certificates
from mock_iotprov.registry.ca_certificates import registered_ca_certificate
from mock_iotprov.state import DEFAULT_REGION, Backend, MockOptions, RequestContext, Store

CLAIM = "claim"
CERTIFICATE = "certificate"


@dataclass(frozen=True)
class DevicePrincipal:
    """An authenticated connection: which certificate, of which kind, in which account and region."""

    kind: str
    certificate_id: str
    account_id: str
    region: str
    client_id: str
    session_identifier: str
    source_address: str = ""
    template_name: str | None = None
    """The claim's template (claim principals only)."""


def _candidate_stores(backend: Backend, account_id: str) -> list[Store]:
    stores = [store for store in backend.stores() if store.account_id == account_id]
    return sorted(stores, key=lambda store: store.region != DEFAULT_REGION)


def _principal(
    kind: str, store: Store, hello: ClientHello, certificate_id: str, template: str | None = None
) -> DevicePrincipal:
    return DevicePrincipal(
        kind=kind,
        certificate_id=certificate_id,
        account_id=store.account_id,
        region=store.region,
        client_id=hello.client_id,
        session_identifier=uuid.uuid4().hex,
        source_address=hello.source_address,
        template_name=template,
    )


def _admission_in(
    store: Store, options: MockOptions, hello: ClientHello, certificate_id: str
) -> Admission | None:
    """The admission decided by this store, or None when the store does not know the certificate."""
    ctx = RequestContext(store, options)
    with store.lock:
        store.sweep(ctx)
        claim = find_claim(ctx, certificate_id)
        if claim is not None:
            if not claim.is_valid_at(ctx.now()):
                return Admission(False, reason=f"The claim certificate {certificate_id} has expired.")
            return Admission(True, _principal(CLAIM, store, hello, certificate_id, claim.template_name))
        record = certificates.certificate_tables(ctx).certificates.get(certificate_id)
        if record is None:
            return None
        if record.status != certificates.ACTIVE:
            return Admission(False, reason=f"The certificate {certificate_id} is {record.status}.")
        if record.ca_certificate_id is not None:
            ca = registered_ca_certificate(ctx, record.ca_certificate_id)
            if ca is not None and ca.status != certificates.ACTIVE:
                return Admission(False, reason=f"The CA certificate {ca.certificate_id} is {ca.status}.")
        return Admission(True, _principal(CERTIFICATE, store, hello, certificate_id))


def admit(backend: Backend, options: MockOptions, hello: ClientHello) -> Admission:
    """Authenticate a CONNECT by its TLS peer certificate (see the module docstring)."""
    if not hello.certificate_der:
        return Admission(False, reason="No client certificate was presented.")
    certificate_id = hashlib.sha256(hello.certificate_der).hexdigest()
    refusal: Admission | None = None
    for store in _candidate_stores(backend, options.account_id):
        decided = _admission_in(store, options, hello, certificate_id)
        if decided is not None and decided.accepted:
            return decided
        refusal = refusal or decided
    return refusal or Admission(False, reason=f"The certificate {certificate_id} is not registered.")
