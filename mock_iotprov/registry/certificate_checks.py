"""Checks shared by the certificate and CA-certificate operations, and their errors.

- A PEM that is not an X.509 certificate is a ``CertificateValidationException`` (the error the model
  declares for every operation that takes a certificate PEM).
- A certificate must be valid now: before ``notBefore`` or after ``notAfter`` it is a
  ``CertificateValidationException``.
- AWS IoT certifies RSA keys of at least 2048 bits and elliptic-curve keys on NIST P-256, P-384 or P-521
  (the CreateCertificateFromCsr reference); other keys are rejected. The same rule holds for CA
  certificates: the developer guide's "X.509 client certificates" page
  (https://docs.aws.amazon.com/iot/latest/developerguide/x509-client-certs.html) lists only RSA and ECDSA
  signature algorithms (SHA256/384/512 with RSA, RSASSA-PSS, ECDSA with SHA256/384/512), so a CA whose key
  is DSA, Ed25519, Ed448 or X25519/X448 is a ``CertificateValidationException`` in RegisterCACertificate.
- A CA certificate is one whose basicConstraints extension says ``CA:TRUE``.
"""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from mock_iotprov.pki import load_certificate_pem
from mock_iotprov.protocol.errors import ServiceError

MIN_RSA_BITS = 2048
SUPPORTED_CURVES = ("secp256r1", "secp384r1", "secp521r1")


def certificate_validation(message: str) -> ServiceError:
    """``CertificateValidationException`` (HTTP 400): the certificate is invalid."""
    return ServiceError("CertificateValidationException", message)


def certificate_state(message: str) -> ServiceError:
    """``CertificateStateException`` (HTTP 406): the certificate's state does not allow the operation."""
    return ServiceError("CertificateStateException", message)


def parsed_certificate(pem: str, what: str = "certificate") -> x509.Certificate:
    """The certificate in ``pem``, or ``CertificateValidationException``."""
    try:
        return load_certificate_pem(pem)
    except ValueError:
        raise certificate_validation(f"The {what} is not a valid PEM-encoded X.509 certificate.") from None


def check_valid_now(certificate: x509.Certificate, now: datetime.datetime, what: str = "certificate") -> None:
    """``CertificateValidationException`` unless ``now`` lies in the certificate's validity period."""
    moment = now if now.tzinfo is not None else now.replace(tzinfo=datetime.timezone.utc)
    if moment < certificate.not_valid_before_utc:
        raise certificate_validation(f"The {what} is not yet valid.")
    if moment > certificate.not_valid_after_utc:
        raise certificate_validation(f"The {what} has expired.")


def unsupported_key_reason(public_key: CertificatePublicKeyTypes) -> str | None:
    """Why AWS IoT would not accept ``public_key``, or None when it would."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            return f"RSA keys must be at least {MIN_RSA_BITS} bits long (got {public_key.key_size})."
        return None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in SUPPORTED_CURVES:
            return f"Elliptic-curve keys must use NIST P-256, P-384 or P-521 (got {public_key.curve.name})."
        return None
    return f"Unsupported public key type {type(public_key).__name__}: only RSA and EC keys are supported."


def is_ca_certificate(certificate: x509.Certificate) -> bool:
    """Whether the certificate's basicConstraints extension marks it as a CA."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca


def subject_key(name: x509.Name) -> bytes:
    """A dictionary key for a distinguished name (its DER encoding)."""
    return name.public_bytes()
