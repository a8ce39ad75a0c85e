"""The broker's TLS server certificate: issued by the mock root, SANs for loopback names and the host."""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mock_iotprov.pki import get_pki
from mock_iotprov.pki.server_certificate import server_credentials


def test_server_certificate_names_loopback_and_the_host_and_chains_to_the_root() -> None:
    credentials = server_credentials("127.9.8.7", "broker.local")
    certificate = x509.load_pem_x509_certificate(credentials.certificate_chain_pem.encode())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "broker.local"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
        ipaddress.ip_address("127.9.8.7"),
    ]
    certificate.verify_directly_issued_by(get_pki().root.certificate)
    key = serialization.load_pem_private_key(credentials.private_key_pem.encode(), None)
    assert key.public_key().public_numbers() == certificate.public_key().public_numbers()  # type: ignore[union-attr]
    assert server_credentials("127.9.8.7", "broker.local") is credentials
