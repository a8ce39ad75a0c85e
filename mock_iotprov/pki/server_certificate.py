"""The TLS server certificate of the mock's MQTT broker, issued by the mock root CA.

Its subject alternative names cover ``localhost``, ``127.0.0.1``, ``::1`` and any further host the broker
listens on (an IP address becomes an IP SAN, anything else a DNS SAN), so a client that checks the server
name against the SAN (awscrt does) and trusts the mock's ``ca_bundle_pem`` connects without complaint.
One certificate per set of names is made per process (a key from the key pool, signed once).
"""

from __future__ import annotations

import datetime
import ipaddress
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .authority import get_pki
from .keys import default_key_source
from .x509 import private_key_pem

DEFAULT_SERVER_NAMES = ("localhost", "127.0.0.1", "::1")
SERVER_CERTIFICATE_LIFETIME = datetime.timedelta(days=825)


@dataclass(frozen=True)
class ServerCredentials:
    """PEM text of a server certificate (its chain, leaf first) and of its private key."""

    certificate_chain_pem: str
    private_key_pem: str


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return x509.DNSName(host)


def _issue(names: tuple[str, ...]) -> ServerCredentials:
    root = get_pki().root
    key = default_key_source().take()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(root.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + SERVER_CERTIFICATE_LIFETIME)
        .add_extension(x509.SubjectAlternativeName([_general_name(name) for name in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(root.authority_key_identifier(), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    chain = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return ServerCredentials(chain, private_key_pem(key))


_lock = threading.Lock()
_issued: dict[tuple[str, ...], ServerCredentials] = {}


def server_credentials(*hosts: str) -> ServerCredentials:
    """The broker's certificate and key for names ``localhost``, ``127.0.0.1``, ``::1`` and ``hosts``."""
    names = tuple(dict.fromkeys((*DEFAULT_SERVER_NAMES, *(host for host in hosts if host))))
    with _lock:
        found = _issued.get(names)
        if found is None:
            found = _issued[names] = _issue(names)
        return found
