"""The private keys the mock handed out, kept only when the mock's options ask for it.

AWS keeps no copy of a private key it returns from ``CreateKeysAndCertificate`` or
``CreateProvisioningClaim``; neither do in-process mocks. The local endpoint keeps them
(``MockOptions.keep_private_keys``) so that its dashboard can show one on request and a state directory can
keep it across restarts. A key is forgotten when its certificate is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mock_iotprov.state import RequestContext, Store


@dataclass
class IssuedPrivateKeys:
    """PEM private keys by certificate id (device certificates and claims)."""

    by_certificate: dict[str, str] = field(default_factory=dict)


def remember_private_key(ctx: RequestContext, certificate_id: str, private_key_pem: str) -> None:
    """Keep the key handed out with ``certificate_id``, if this mock keeps keys."""
    if ctx.options.keep_private_keys:
        ctx.store.component(IssuedPrivateKeys).by_certificate[certificate_id] = private_key_pem


def forget_private_key(ctx: RequestContext, certificate_id: str) -> None:
    """Drop the key of a deleted certificate."""
    if ctx.options.keep_private_keys:
        ctx.store.component(IssuedPrivateKeys).by_certificate.pop(certificate_id, None)


def issued_private_key(store: Store, certificate_id: str) -> str | None:
    """The PEM private key handed out with ``certificate_id``, if it was kept."""
    return store.component(IssuedPrivateKeys).by_certificate.get(certificate_id)
