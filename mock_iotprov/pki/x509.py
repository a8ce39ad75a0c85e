"""Certificate operations: issuing, loading, verifying, serializing, and certificate ids.

What AWS IoT does, and what the mock reproduces:

* A certificate's id is the lowercase hex SHA-256 of its DER encoding.
* Device certificates are signed by the device CA, subject ``CN=AWS IoT Certificate`` unless
  the caller supplies one, valid until ``2049-12-31T23:59:59Z``, with a 20-byte random serial and
  basicConstraints CA:FALSE (critical), keyUsage digitalSignature (critical), SKI and AKI.
* Claim certificates are signed by the provisioning CA, subject ``CN=<64 random lower-case hex>``
  (an opaque id: not the certificate id, not a hash of the key), valid from two minutes before
  issue until five minutes after it. AWS's observed claim certificates carry no SKI/AKI; the mock
  adds both (as on device certificates) so chains can be built by key identifier.
* Key pairs come back as a SubjectPublicKeyInfo PEM public key and a PKCS#1 PEM private key.

No function here reads the clock: every time is passed in, so callers (and freezegun /
time-machine) control it. Naive datetimes are taken to be UTC.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PublicKeyTypes,
)
from cryptography.x509.oid import NameOID

from .authority import CertificateAuthority, get_pki

__all__ = [
    "CLAIM_LIFETIME",
    "CLAIM_BACKDATE",
    "DEVICE_CERTIFICATE_NOT_AFTER",
    "DEVICE_CERTIFICATE_SUBJECT",
    "CertifiablePublicKey",
    "certificate_id",
    "certificate_pem",
    "is_signed_by",
    "issue_claim_certificate",
    "issue_device_certificate",
    "load_certificate_pem",
    "load_csr_pem",
    "private_key_pem",
    "public_key_pem",
]

CertifiablePublicKey = Union[rsa.RSAPublicKey, ec.EllipticCurvePublicKey]
"""Public key types the mock CAs certify (AWS IoT accepts RSA and elliptic-curve keys)."""

DEVICE_CERTIFICATE_SUBJECT = x509.Name(
    [x509.NameAttribute(NameOID.COMMON_NAME, "AWS IoT Certificate")]
)
DEVICE_CERTIFICATE_NOT_AFTER = datetime.datetime(
    2049, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc
)
CLAIM_BACKDATE = datetime.timedelta(minutes=2)
CLAIM_LIFETIME = datetime.timedelta(minutes=5)

_END_ENTITY_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def certificate_id(certificate: x509.Certificate) -> str:
    """The AWS IoT certificate id: lowercase hex SHA-256 of the certificate's DER bytes."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def issue_device_certificate(
    public_key: CertificatePublicKeyTypes,
    now: datetime.datetime,
    subject: x509.Name | None = None,
) -> x509.Certificate:
    """Issue a device certificate for ``public_key``, signed by the device CA.

    notBefore is ``now`` truncated to the second; notAfter is ``2049-12-31T23:59:59Z``.
    Raises ``ValueError`` for a public key that is neither RSA nor elliptic-curve.
    """
    issued = _utc(now).replace(microsecond=0)
    return _issue_end_entity(
        get_pki().device_ca,
        _certifiable(public_key),
        DEVICE_CERTIFICATE_SUBJECT if subject is None else subject,
        issued,
        DEVICE_CERTIFICATE_NOT_AFTER,
    )


def issue_claim_certificate(
    public_key: CertificatePublicKeyTypes, now: datetime.datetime
) -> x509.Certificate:
    """Issue a claim certificate for ``public_key``, signed by the provisioning CA.

    Valid from ``now - 2 min`` to ``now + 5 min`` (``now`` truncated to the second); the subject is
    ``CN=`` followed by 64 random lower-case hex characters.
    """
    issued = _utc(now).replace(microsecond=0)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, secrets.token_hex(32))])
    return _issue_end_entity(
        get_pki().provisioning_ca,
        _certifiable(public_key),
        subject,
        issued - CLAIM_BACKDATE,
        issued + CLAIM_LIFETIME,
    )


_PARSE_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    UnicodeError,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    OverflowError,
)
"""What ``cryptography`` raises for malformed DER: bad encodings, duplicate extensions, bad names."""


def load_certificate_pem(pem: str) -> x509.Certificate:
    """Parse one PEM certificate completely; ``ValueError`` if it is not a valid X.509 certificate PEM.

    ``cryptography`` decodes names, extensions and the public key lazily, on first access. Every part
    the mock ever reads is decoded here, so a crafted certificate (a non-UTF-8 name, a duplicate or
    truncated extension, an RSA modulus of 0, an unknown key algorithm's garbage) fails here, as one
    ``ValueError``, and never later inside an operation. A key of a type AWS does not accept but that
    decodes (DSA, Ed448, X25519, …) loads: the operations reject it with their own message.
    """
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("utf-8"))
        _decode_certificate(certificate)
    except _PARSE_ERRORS as error:
        raise ValueError(f"Invalid certificate PEM: {error}") from error
    return certificate


def load_csr_pem(pem: str) -> x509.CertificateSigningRequest:
    """Parse a PEM CSR completely and check its self-signature; ``ValueError`` if invalid or unsigned.

    As for certificates, the subject, the extensions, the attributes and the public key are all decoded
    here, so a crafted CSR fails with one ``ValueError`` before an operation uses any of it.
    """
    try:
        csr = x509.load_pem_x509_csr(pem.encode("utf-8"))
        _decode_csr(csr)
        signature_valid = csr.is_signature_valid
    except _PARSE_ERRORS as error:
        raise ValueError(f"Invalid certificate signing request PEM: {error}") from error
    if not signature_valid:
        raise ValueError("Invalid certificate signing request: the signature does not verify")
    return csr


def is_signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` issued ``certificate``: names match and the signature verifies.

    Never raises: a name mismatch, a bad signature or an unsupported key type all give False.
    """
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def certificate_pem(certificate: x509.Certificate) -> str:
    """The certificate as PEM text (``-----BEGIN CERTIFICATE-----``)."""
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def public_key_pem(key: PublicKeyTypes) -> str:
    """The public key as SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``)."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    """The private key as unencrypted PKCS#1 PEM (``-----BEGIN RSA PRIVATE KEY-----``)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")


def _decode_name(name: x509.Name) -> None:
    name.rfc4514_string()
    for attribute in name:
        if not isinstance(attribute.value, (str, bytes)):
            raise ValueError("a name attribute has an unexpected type")


def _decode_public_key(key: CertificatePublicKeyTypes) -> None:
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        if numbers.n <= 1 or numbers.e <= 1:
            raise ValueError("the RSA public key has a degenerate modulus or exponent")


def _decode_certificate(certificate: x509.Certificate) -> None:
    _decode_name(certificate.subject)
    _decode_name(certificate.issuer)
    for _extension in certificate.extensions:
        pass
    _decode_public_key(certificate.public_key())
    _ = (
        certificate.not_valid_before_utc,
        certificate.not_valid_after_utc,
        certificate.serial_number,
        certificate.signature_algorithm_oid,
    )


def _decode_csr(csr: x509.CertificateSigningRequest) -> None:
    _decode_name(csr.subject)
    for _extension in csr.extensions:
        pass
    for _attribute in csr.attributes:
        pass
    _decode_public_key(csr.public_key())
    _ = csr.signature_algorithm_oid


def _utc(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` as an aware UTC datetime; naive datetimes (e.g. from freezegun) are UTC."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _certifiable(public_key: CertificatePublicKeyTypes) -> CertifiablePublicKey:
    if isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        return public_key
    raise ValueError(
        f"Unsupported public key type {type(public_key).__name__}: "
        "only RSA and elliptic-curve keys can be certified"
    )


def _issue_end_entity(
    authority: CertificateAuthority,
    public_key: CertifiablePublicKey,
    subject: x509.Name,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(authority.name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_END_ENTITY_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(authority.authority_key_identifier(), critical=False)
        .sign(authority.key, hashes.SHA256())
    )
