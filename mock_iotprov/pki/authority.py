"""The mock certificate authorities.

AWS IoT signs certificates with two CAs whose subjects are public (they appear as the issuer of
every certificate the service hands out):

* device certificates (``CreateKeysAndCertificate``, ``CreateCertificateFromCsr`` and
  ``RegisterThing`` with a CSR) are issued by a CA whose subject is a *single* organizational-unit
  attribute holding the whole string
  ``Amazon Web Services O=Amazon.com Inc. L=Seattle ST=Washington C=US``;
* claim certificates (``CreateProvisioningClaim``) are issued by
  ``C=US, ST=Washington, L=Seattle, O=Amazon.com Inc., OU=Amazon IoT Provisioning,
  serialNumber=1.0``.

The mock reproduces both subjects on its own keys and, unlike AWS (whose chain is not published),
chains both issuing CAs to one mock root, so a test can verify any issued certificate. The three
CAs are created lazily once per process (:func:`get_pki`).
"""

from __future__ import annotations

import datetime
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .keys import generate_rsa_key

__all__ = [
    "DEVICE_CA_SUBJECT",
    "PROVISIONING_CA_SUBJECT",
    "ROOT_CA_SUBJECT",
    "CertificateAuthority",
    "MockPKI",
    "get_pki",
]

CA_NOT_BEFORE = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
CA_NOT_AFTER = datetime.datetime(2050, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)

ROOT_CA_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mock_iotprov"),
        x509.NameAttribute(NameOID.COMMON_NAME, "mock_iotprov Root CA"),
    ]
)
DEVICE_CA_SUBJECT = x509.Name(
    [
        x509.NameAttribute(
            NameOID.ORGANIZATIONAL_UNIT_NAME,
            "Amazon Web Services O=Amazon.com Inc. L=Seattle ST=Washington C=US",
        )
    ]
)
PROVISIONING_CA_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Seattle"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon.com Inc."),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon IoT Provisioning"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, "1.0"),
    ]
)

_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA: its private key and its certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def name(self) -> x509.Name:
        """The CA's subject, i.e. the issuer name of what it signs."""
        return self.certificate.subject

    @property
    def subject_key_identifier(self) -> x509.SubjectKeyIdentifier:
        """The CA's SKI, from which the AKI of what it signs is built."""
        return self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value

    def authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        """The AKI extension value for a certificate this CA signs."""
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            self.subject_key_identifier
        )

    def certificate_pem(self) -> str:
        """The CA certificate as PEM text."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class MockPKI:
    """The process's mock root CA and the two issuing CAs it signed."""

    root: CertificateAuthority
    device_ca: CertificateAuthority
    provisioning_ca: CertificateAuthority

    @classmethod
    def create(cls) -> MockPKI:
        """Create a new root and issuing CAs (three new RSA-2048 keys, generated concurrently)."""
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="mock_iotprov-ca") as pool:
            root_key, device_key, provisioning_key = (
                future.result() for future in [pool.submit(generate_rsa_key) for _ in range(3)]
            )
        root = _self_signed_root(root_key)
        return cls(
            root=root,
            device_ca=_issuing_ca(root, device_key, DEVICE_CA_SUBJECT),
            provisioning_ca=_issuing_ca(root, provisioning_key, PROVISIONING_CA_SUBJECT),
        )

    def ca_bundle_pem(self) -> str:
        """PEM text of the root, then the device CA, then the provisioning CA."""
        return "".join(
            authority.certificate_pem()
            for authority in (self.root, self.device_ca, self.provisioning_ca)
        )


def _self_signed_root(key: rsa.RSAPrivateKey) -> CertificateAuthority:
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(ROOT_CA_SUBJECT)
        .issuer_name(ROOT_CA_SUBJECT)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(CA_NOT_BEFORE)
        .not_valid_after(CA_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(key=key, certificate=certificate)


def _issuing_ca(
    root: CertificateAuthority, key: rsa.RSAPrivateKey, subject: x509.Name
) -> CertificateAuthority:
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(CA_NOT_BEFORE)
        .not_valid_after(CA_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(root.authority_key_identifier(), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    return CertificateAuthority(key=key, certificate=certificate)


_pki_lock = threading.Lock()
_pki: MockPKI | None = None


def get_pki() -> MockPKI:
    """Return the process's :class:`MockPKI`, creating it on first use (thread-safe).

    A forked child keeps the parent's PKI, so certificates issued on either side of a fork chain
    to the same root.
    """
    global _pki
    pki = _pki
    if pki is not None:
        return pki
    with _pki_lock:
        if _pki is None:
            _pki = MockPKI.create()
        return _pki


def install_pki(pki: MockPKI) -> None:
    """Make ``pki`` the process's CA hierarchy (a restored state directory's), for every mock after it."""
    global _pki
    with _pki_lock:
        _pki = pki


def _reset_lock_after_fork_in_child() -> None:
    global _pki_lock
    _pki_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_after_fork_in_child)
