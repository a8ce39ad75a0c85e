"""The mock public-key infrastructure: CAs, certificate issuance and verification, and keys.

A mock root CA signs two issuing CAs that carry AWS IoT's real issuer names (one for device
certificates, one for claim certificates); they are created lazily once per process.
"""

from __future__ import annotations

from .authority import (
    DEVICE_CA_SUBJECT,
    PROVISIONING_CA_SUBJECT,
    ROOT_CA_SUBJECT,
    CertificateAuthority,
    MockPKI,
    get_pki,
)
from .key_cache import KeyCache
from .keys import KeySource, default_key_source, generate_rsa_key
from .x509 import (
    CLAIM_BACKDATE,
    CLAIM_LIFETIME,
    DEVICE_CERTIFICATE_NOT_AFTER,
    DEVICE_CERTIFICATE_SUBJECT,
    CertifiablePublicKey,
    certificate_id,
    certificate_pem,
    is_signed_by,
    issue_claim_certificate,
    issue_device_certificate,
    load_certificate_pem,
    load_csr_pem,
    private_key_pem,
    public_key_pem,
)

__all__ = [
    "CLAIM_BACKDATE",
    "CLAIM_LIFETIME",
    "DEVICE_CA_SUBJECT",
    "DEVICE_CERTIFICATE_NOT_AFTER",
    "DEVICE_CERTIFICATE_SUBJECT",
    "PROVISIONING_CA_SUBJECT",
    "ROOT_CA_SUBJECT",
    "CertifiablePublicKey",
    "CertificateAuthority",
    "KeyCache",
    "KeySource",
    "MockPKI",
    "certificate_id",
    "certificate_pem",
    "default_key_source",
    "generate_rsa_key",
    "get_pki",
    "is_signed_by",
    "issue_claim_certificate",
    "issue_device_certificate",
    "load_certificate_pem",
    "load_csr_pem",
    "private_key_pem",
    "public_key_pem",
]
