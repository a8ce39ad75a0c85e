"""Behaviour of the mock CAs and certificate operations."""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from mock_iotprov.pki import (
    DEVICE_CA_SUBJECT,
    PROVISIONING_CA_SUBJECT,
    KeySource,
    MockPKI,
    certificate_id,
    certificate_pem,
    get_pki,
    is_signed_by,
    issue_claim_certificate,
    issue_device_certificate,
    load_certificate_pem,
    load_csr_pem,
    private_key_pem,
    public_key_pem,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2024, 5, 17, 10, 30, 45, 987654, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki() -> MockPKI:
    return get_pki()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return KeySource(background=False).take()


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def spki(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | x509.Certificate) -> bytes:
    public_key = key.public_key() if isinstance(key, x509.Certificate) else key
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def verify_rsa_signature(certificate: x509.Certificate, issuer: x509.Certificate) -> None:
    """cryptography's own primitive check: raises InvalidSignature if it does not verify."""
    issuer_key = issuer.public_key()
    assert isinstance(issuer_key, rsa.RSAPublicKey)
    assert certificate.signature_hash_algorithm is not None
    issuer_key.verify(
        certificate.signature,
        certificate.tbs_certificate_bytes,
        padding.PKCS1v15(),
        certificate.signature_hash_algorithm,
    )
    certificate.verify_directly_issued_by(issuer)


def make_csr(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> x509.CertificateSigningRequest:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device-0001")])
    return x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())


def der_to_pem(der: bytes, label: str) -> str:
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n"


def assert_end_entity_extensions(
    certificate: x509.Certificate, issuer: x509.Certificate
) -> None:
    extensions = certificate.extensions
    basic = extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca is False
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not any(
        [
            usage.value.content_commitment,
            usage.value.key_encipherment,
            usage.value.data_encipherment,
            usage.value.key_agreement,
            usage.value.key_cert_sign,
            usage.value.crl_sign,
        ]
    )
    ski = extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    public_key = certificate.public_key()
    assert isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey))
    assert ski.value == x509.SubjectKeyIdentifier.from_public_key(public_key)
    aki = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    issuer_ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert aki.value.key_identifier == issuer_ski.value.digest
    assert {ext.oid for ext in extensions} == {
        x509.BasicConstraints.oid,
        x509.KeyUsage.oid,
        x509.SubjectKeyIdentifier.oid,
        x509.AuthorityKeyIdentifier.oid,
    }


def test_get_pki_is_created_once_even_under_concurrent_first_calls() -> None:
    results: list[MockPKI] = []
    barrier = threading.Barrier(8)

    def fetch() -> None:
        barrier.wait()
        results.append(get_pki())

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(result is results[0] for result in results)
    assert get_pki() is results[0]


def test_ca_bundle_parses_into_three_certificates_root_first(pki: MockPKI) -> None:
    bundle = x509.load_pem_x509_certificates(pki.ca_bundle_pem().encode("ascii"))
    assert bundle == [
        pki.root.certificate,
        pki.device_ca.certificate,
        pki.provisioning_ca.certificate,
    ]
    assert len({spki(certificate) for certificate in bundle}) == 3


def test_root_is_self_signed_ca(pki: MockPKI) -> None:
    root = pki.root.certificate
    assert root.subject == root.issuer
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "mock_iotprov Root CA"
    )
    assert root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "mock_iotprov"
    )
    assert is_signed_by(root, root)
    verify_rsa_signature(root, root)
    basic = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = root.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert ski.value == x509.SubjectKeyIdentifier.from_public_key(pki.root.key.public_key())
    assert pki.root.key.key_size == 2048


def test_issuing_cas_carry_aws_issuer_names_and_chain_to_root(pki: MockPKI) -> None:
    device_attributes = list(pki.device_ca.name)
    assert len(device_attributes) == 1
    assert device_attributes[0].oid == NameOID.ORGANIZATIONAL_UNIT_NAME
    assert device_attributes[0].value == (
        "Amazon Web Services O=Amazon.com Inc. L=Seattle ST=Washington C=US"
    )
    assert [(attribute.oid, attribute.value) for attribute in pki.provisioning_ca.name] == [
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
        (NameOID.LOCALITY_NAME, "Seattle"),
        (NameOID.ORGANIZATION_NAME, "Amazon.com Inc."),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon IoT Provisioning"),
        (NameOID.SERIAL_NUMBER, "1.0"),
    ]
    assert pki.device_ca.name == DEVICE_CA_SUBJECT
    assert pki.provisioning_ca.name == PROVISIONING_CA_SUBJECT
    root_ski = pki.root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    for authority in (pki.device_ca, pki.provisioning_ca):
        certificate = authority.certificate
        assert is_signed_by(certificate, pki.root.certificate)
        verify_rsa_signature(certificate, pki.root.certificate)
        basic = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        assert basic.critical and basic.value.ca and basic.value.path_length == 0
        aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        assert aki.value.key_identifier == root_ski.value.digest
        assert isinstance(certificate.signature_hash_algorithm, hashes.SHA256)
        assert authority.key.key_size == 2048
        assert certificate.not_valid_before_utc == datetime.datetime(2020, 1, 1, tzinfo=UTC)
        assert certificate.not_valid_after_utc.year == 2050


def test_device_certificate_chains_to_root_and_certifies_the_given_key(
    pki: MockPKI, rsa_key: rsa.RSAPrivateKey
) -> None:
    certificate = issue_device_certificate(rsa_key.public_key(), NOW)
    assert spki(certificate) == spki(rsa_key.public_key())
    assert is_signed_by(certificate, pki.device_ca.certificate)
    assert is_signed_by(pki.device_ca.certificate, pki.root.certificate)
    verify_rsa_signature(certificate, pki.device_ca.certificate)
    assert not is_signed_by(certificate, pki.provisioning_ca.certificate)
    assert not is_signed_by(certificate, pki.root.certificate)


def test_device_certificate_fields(pki: MockPKI, ec_key: ec.EllipticCurvePrivateKey) -> None:
    certificate = issue_device_certificate(ec_key.public_key(), NOW)
    assert certificate.version == x509.Version.v3
    assert certificate.subject.rfc4514_string() == "CN=AWS IoT Certificate"
    assert certificate.issuer == pki.device_ca.name
    assert certificate.not_valid_before_utc == NOW.replace(microsecond=0)
    assert certificate.not_valid_after_utc == datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert 0 < certificate.serial_number < 2**160
    assert isinstance(certificate.signature_hash_algorithm, hashes.SHA256)
    assert spki(certificate) == spki(ec_key.public_key())
    assert is_signed_by(certificate, pki.device_ca.certificate)
    assert_end_entity_extensions(certificate, pki.device_ca.certificate)


def test_device_certificate_keeps_a_given_subject(ec_key: ec.EllipticCurvePrivateKey) -> None:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.COMMON_NAME, "sensor-42"),
        ]
    )
    assert issue_device_certificate(ec_key.public_key(), NOW, subject).subject == subject


def test_naive_and_non_utc_times_are_the_same_instant(ec_key: ec.EllipticCurvePrivateKey) -> None:
    naive = NOW.replace(tzinfo=None)
    plus_two = NOW.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    expected = NOW.replace(microsecond=0)
    for moment in (naive, plus_two):
        issued = issue_device_certificate(ec_key.public_key(), moment)
        assert issued.not_valid_before_utc == expected


def test_serials_and_ids_differ_between_certificates_for_the_same_key(
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    first = issue_device_certificate(ec_key.public_key(), NOW)
    second = issue_device_certificate(ec_key.public_key(), NOW)
    assert first.serial_number != second.serial_number
    assert certificate_id(first) != certificate_id(second)


def test_certificate_id_is_lowercase_hex_sha256_of_der(
    pki: MockPKI, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    certificate = issue_device_certificate(ec_key.public_key(), NOW)
    identifier = certificate_id(certificate)
    assert re.fullmatch(r"[0-9a-f]{64}", identifier)
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert identifier == hashlib.sha256(der).hexdigest()
    assert certificate_id(pki.root.certificate) == hashlib.sha256(
        pki.root.certificate.public_bytes(serialization.Encoding.DER)
    ).hexdigest()


def test_claim_certificate_window_subject_and_issuer(
    pki: MockPKI, rsa_key: rsa.RSAPrivateKey
) -> None:
    now = datetime.datetime(2020, 7, 28, 16, 46, 6, 500000)  # naive, as freezegun hands out
    certificate = issue_claim_certificate(rsa_key.public_key(), now)
    issued = datetime.datetime(2020, 7, 28, 16, 46, 6, tzinfo=UTC)
    assert certificate.not_valid_before_utc == datetime.datetime(2020, 7, 28, 16, 44, 6, tzinfo=UTC)
    assert certificate.not_valid_after_utc == datetime.datetime(2020, 7, 28, 16, 51, 6, tzinfo=UTC)
    assert certificate.not_valid_before_utc == issued - datetime.timedelta(minutes=2)
    assert certificate.not_valid_after_utc == issued + datetime.timedelta(minutes=5)
    (common_name,) = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert len(list(certificate.subject)) == 1
    assert isinstance(common_name.value, str)
    assert re.fullmatch(r"[0-9a-f]{64}", common_name.value)
    assert common_name.value != certificate_id(certificate)
    assert certificate.issuer == pki.provisioning_ca.name
    assert spki(certificate) == spki(rsa_key.public_key())
    assert is_signed_by(certificate, pki.provisioning_ca.certificate)
    verify_rsa_signature(certificate, pki.provisioning_ca.certificate)
    assert not is_signed_by(certificate, pki.device_ca.certificate)
    assert isinstance(certificate.signature_hash_algorithm, hashes.SHA256)
    assert_end_entity_extensions(certificate, pki.provisioning_ca.certificate)
    other = issue_claim_certificate(rsa_key.public_key(), now)
    assert other.subject != certificate.subject


def test_unsupported_public_key_type_is_rejected() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(ValueError, match="Unsupported public key type"):
        issue_device_certificate(key.public_key(), NOW)
    with pytest.raises(ValueError, match="Unsupported public key type"):
        issue_claim_certificate(key.public_key(), NOW)


def test_is_signed_by_is_false_for_forgeries_and_unsupported_issuer_keys(
    pki: MockPKI, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    genuine = issue_device_certificate(ec_key.public_key(), NOW)
    # Same issuer name, signed by a different key.
    forged = (
        x509.CertificateBuilder()
        .subject_name(genuine.subject)
        .issuer_name(pki.device_ca.name)
        .public_key(ec_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .sign(ec_key, hashes.SHA256())
    )
    assert not is_signed_by(forged, pki.device_ca.certificate)
    # An issuer with the right name but an Ed25519 key (cannot have made an RSA signature).
    impostor_key = ed25519.Ed25519PrivateKey.generate()
    impostor = (
        x509.CertificateBuilder()
        .subject_name(pki.device_ca.name)
        .issuer_name(pki.device_ca.name)
        .public_key(impostor_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .sign(impostor_key, None)
    )
    assert not is_signed_by(genuine, impostor)
    assert is_signed_by(genuine, pki.device_ca.certificate)


def test_load_certificate_pem_round_trips_and_rejects_garbage(
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    certificate = issue_device_certificate(ec_key.public_key(), NOW)
    pem = certificate_pem(certificate)
    assert pem.startswith("-----BEGIN CERTIFICATE-----\n")
    assert load_certificate_pem(pem) == certificate
    for bad in ("", "garbage", pem[: len(pem) // 2], pem.replace("CERTIFICATE", "PUBLIC KEY")):
        with pytest.raises(ValueError, match="Invalid certificate PEM"):
            load_certificate_pem(bad)


def test_load_csr_pem_accepts_a_valid_csr(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    for key in (rsa_key, ec_key):
        csr = make_csr(key)
        loaded = load_csr_pem(csr.public_bytes(serialization.Encoding.PEM).decode("ascii"))
        assert loaded == csr
        assert spki(loaded.public_key()) == spki(key.public_key())  # type: ignore[arg-type]


def test_load_csr_pem_rejects_an_altered_signature(rsa_key: rsa.RSAPrivateKey) -> None:
    der = bytearray(make_csr(rsa_key).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # the last byte belongs to the signature BIT STRING
    tampered = der_to_pem(bytes(der), "CERTIFICATE REQUEST")
    assert x509.load_pem_x509_csr(tampered.encode("ascii")).is_signature_valid is False
    with pytest.raises(ValueError, match="signature"):
        load_csr_pem(tampered)


def test_load_csr_pem_rejects_an_altered_subject(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = make_csr(rsa_key).public_bytes(serialization.Encoding.PEM)
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))
    position = der.index(b"device-0001")
    der[position] = ord("D")
    with pytest.raises(ValueError, match="signature"):
        load_csr_pem(der_to_pem(bytes(der), "CERTIFICATE REQUEST"))


def test_load_csr_pem_rejects_garbage(ec_key: ec.EllipticCurvePrivateKey) -> None:
    certificate = certificate_pem(issue_device_certificate(ec_key.public_key(), NOW))
    garbage = der_to_pem(b"\x30\x03\x02\x01\x00", "CERTIFICATE REQUEST")
    for bad in ("", "not a csr", certificate, garbage):
        with pytest.raises(ValueError, match="Invalid certificate signing request"):
            load_csr_pem(bad)


def test_key_pems_use_aws_formats(rsa_key: rsa.RSAPrivateKey) -> None:
    public = public_key_pem(rsa_key.public_key())
    assert public.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert public.rstrip().endswith("-----END PUBLIC KEY-----")
    loaded_public = serialization.load_pem_public_key(public.encode("ascii"))
    assert spki(loaded_public) == spki(rsa_key.public_key())  # type: ignore[arg-type]
    private = private_key_pem(rsa_key)
    assert private.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert "ENCRYPTED" not in private
    loaded_private = serialization.load_pem_private_key(private.encode("ascii"), password=None)
    assert isinstance(loaded_private, rsa.RSAPrivateKey)
    assert loaded_private.private_numbers() == rsa_key.private_numbers()
