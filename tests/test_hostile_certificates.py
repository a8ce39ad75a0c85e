"""Crafted certificates and CSRs get the operation's declared error (never a 500, never accepted).

Each crafted input is built with ``cryptography`` and, where no builder makes it, by editing DER by hand and
re-signing (``tests.der_surgery``), so that only the crafted part is wrong: a non-UTF-8 name, a duplicate or a
truncated extension, an RSA modulus of 0, garbage DER in a PEM envelope, or a key type AWS does not take.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519
from cryptography.x509.oid import ExtensionOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_iotprov import MockIotProvisioning
from tests import der_surgery as der
from tests.helpers import error_of, iot_client

DAY = datetime.timedelta(days=1)
PLACEHOLDER_CN = "ABCDEFGH"
NON_UTF8_CN = b"\xff\xfeCDEFGH"
_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_CA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hostile input test CA")])


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, public_key: Any, ca: bool) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - DAY)
        .not_valid_after(now + 30 * DAY)
    )
    return builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)


def _ca_certificate() -> x509.Certificate:
    return _builder(_CA_NAME, _CA_NAME, _CA_KEY.public_key(), ca=True).sign(_CA_KEY, hashes.SHA256())


_TWO_EXTENSIONS = (x509.ObjectIdentifier("1.2.3.4"), x509.ObjectIdentifier("1.2.3.5"))
_OID_DER = {oid: bytes.fromhex("06032a03" + last) for oid, last in zip(_TWO_EXTENSIONS, ("04", "05"))}
_TRUNCATED_BASIC_CONSTRAINTS = b"\x30\x03\x01\x01"  # a SEQUENCE that claims 3 bytes and holds 2


def _crafted_tbs(tbs: bytes, flaw: str) -> bytes:
    """Apply ``flaw`` to the DER of a to-be-signed part built by :func:`_template_certificate`."""
    if flaw == "non-UTF-8 subject":
        placeholder = b"\x0c\x08" + PLACEHOLDER_CN.encode()
        assert placeholder in tbs  # the subject (and, when self-signed, the issuer)
        return tbs.replace(placeholder, b"\x0c\x08" + NON_UTF8_CN)
    if flaw == "duplicate extension":
        second = _OID_DER[_TWO_EXTENSIONS[1]]
        assert tbs.count(second) == 1
        return tbs.replace(second, _OID_DER[_TWO_EXTENSIONS[0]])
    if flaw == "RSA modulus 0":
        return der.replace_spki(tbs, der.rsa_spki(0))
    if flaw == "RSA modulus 1":
        return der.replace_spki(tbs, der.rsa_spki(1, 1))
    return tbs


def _template_certificate(flaw: str, issuer: x509.Name, signing_key: rsa.RSAPrivateKey, ca: bool) -> bytes:
    builder = _builder(_name(PLACEHOLDER_CN), issuer, _RSA_KEY.public_key(), ca)
    for oid in _TWO_EXTENSIONS:
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, b"\x05\x00"), critical=False)
    if flaw == "truncated extension":
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ExtensionOID.SUBJECT_KEY_IDENTIFIER, _TRUNCATED_BASIC_CONSTRAINTS),
            critical=False,
        )
    built = der.der_of(builder.sign(signing_key, hashes.SHA256()))
    return der.resign(built, _crafted_tbs(der.to_be_signed(built), flaw), signing_key)


DER_FLAWS = [
    "non-UTF-8 subject",
    "duplicate extension",
    "truncated extension",
    "RSA modulus 0",
    "RSA modulus 1",
]
GARBAGE_PEMS = {
    "garbage DER in a PEM envelope": der.pem(b"\x30\x82\x01\x00garbage"),
    "an empty SEQUENCE in a PEM envelope": der.pem(b"\x30\x00"),
    "truncated certificate": der.pem(der.der_of(_ca_certificate())[:200]),
}


def device_certificate_pem(flaw: str) -> str:
    """A device certificate signed by the test CA, with ``flaw``."""
    if flaw in GARBAGE_PEMS:
        return GARBAGE_PEMS[flaw]
    return der.pem(_template_certificate(flaw, _CA_NAME, _CA_KEY, ca=False))


def ca_certificate_pem(flaw: str) -> str:
    """A self-signed CA certificate with ``flaw``."""
    if flaw in GARBAGE_PEMS:
        return GARBAGE_PEMS[flaw]
    return der.pem(_template_certificate(flaw, _name(PLACEHOLDER_CN), _RSA_KEY, ca=True))


def csr_pem(flaw: str) -> str:
    """A CSR signed by its own key, with ``flaw``."""
    if flaw in GARBAGE_PEMS:
        return GARBAGE_PEMS[flaw].replace("CERTIFICATE", "CERTIFICATE REQUEST")
    builder = x509.CertificateSigningRequestBuilder().subject_name(_name(PLACEHOLDER_CN))
    for oid in _TWO_EXTENSIONS:
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, b"\x05\x00"), critical=False)
    if flaw == "truncated extension":
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ExtensionOID.BASIC_CONSTRAINTS, _TRUNCATED_BASIC_CONSTRAINTS),
            critical=False,
        )
    built = der.der_of(builder.sign(_RSA_KEY, hashes.SHA256()))
    crafted = der.resign(built, _crafted_tbs(der.to_be_signed(built), flaw), _RSA_KEY)
    return der.pem(crafted, "CERTIFICATE REQUEST")


ALL_FLAWS = DER_FLAWS + list(GARBAGE_PEMS)


def _self_signed_ca(private_key: Any) -> str:
    algorithm = (
        None
        if isinstance(private_key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
        else hashes.SHA256()
    )
    certificate = _builder(_name("Odd key CA"), _name("Odd key CA"), private_key.public_key(), ca=True)
    return der.pem(der.der_of(certificate.sign(private_key, algorithm)))


def _rejected(call: Callable[..., Any], **params: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return error_of(caught)


@pytest.fixture
def client(iot_provisioning: MockIotProvisioning) -> Any:
    """A client with the test CA registered (SNI_ONLY, ACTIVE), so registration gets past the CA lookup."""
    iot = iot_client()
    iot.register_ca_certificate(
        caCertificate=der.pem(der.der_of(_ca_certificate())), certificateMode="SNI_ONLY", setAsActive=True
    )
    return iot


def test_the_unflawed_inputs_are_accepted(client: Any) -> None:
    """The crafted inputs differ from accepted ones only by their flaw."""
    client.register_certificate(certificatePem=device_certificate_pem("none"))
    client.register_certificate_without_ca(
        certificatePem=der.pem(_template_certificate("none", _name("x"), _RSA_KEY, False))
    )
    client.register_ca_certificate(caCertificate=ca_certificate_pem("none"), certificateMode="SNI_ONLY")
    client.create_certificate_from_csr(certificateSigningRequest=csr_pem("none"))
    assert len(client.list_certificates()["certificates"]) == 3


@pytest.mark.parametrize("flaw", ALL_FLAWS)
def test_crafted_device_certificates_are_certificate_validation_errors(client: Any, flaw: str) -> None:
    pem = device_certificate_pem(flaw)
    ca_pem = der.pem(der.der_of(_ca_certificate()))
    for call, params in [
        (client.register_certificate_without_ca, {"certificatePem": pem}),
        (client.register_certificate, {"certificatePem": pem}),
        (client.register_certificate, {"certificatePem": pem, "caCertificatePem": ca_pem}),
    ]:
        code, status, message = _rejected(call, **params)
        assert (code, status) == ("CertificateValidationException", 400), message
    assert client.list_certificates()["certificates"] == []


@pytest.mark.parametrize("flaw", ALL_FLAWS)
def test_crafted_ca_certificates_are_certificate_validation_errors(client: Any, flaw: str) -> None:
    code, status, message = _rejected(
        client.register_ca_certificate, caCertificate=ca_certificate_pem(flaw), certificateMode="SNI_ONLY"
    )
    assert (code, status) == ("CertificateValidationException", 400), message
    assert len(client.list_ca_certificates()["certificates"]) == 1


@pytest.mark.parametrize("flaw", DER_FLAWS)
def test_a_crafted_verification_certificate_is_a_certificate_validation_error(client: Any, flaw: str) -> None:
    """DEFAULT mode: the verification certificate is parsed as strictly as the CA certificate."""
    other_ca = _builder(_name("Second CA"), _name("Second CA"), _CA_KEY.public_key(), ca=True)
    other_ca_pem = der.pem(der.der_of(other_ca.sign(_CA_KEY, hashes.SHA256())))
    verification = der.pem(_template_certificate(flaw, _name("Second CA"), _CA_KEY, ca=False))
    code, status, message = _rejected(
        client.register_ca_certificate, caCertificate=other_ca_pem, verificationCertificate=verification
    )
    assert (code, status) == ("CertificateValidationException", 400), message


@pytest.mark.parametrize(
    "private_key",
    [
        dsa.generate_private_key(2048),
        ed25519.Ed25519PrivateKey.generate(),
        ed448.Ed448PrivateKey.generate(),
        rsa.generate_private_key(public_exponent=65537, key_size=1024),
        ec.generate_private_key(ec.SECP256K1()),
    ],
    ids=["DSA", "Ed25519", "Ed448", "RSA-1024", "secp256k1"],
)
def test_a_ca_with_a_key_type_aws_does_not_accept_is_rejected(client: Any, private_key: Any) -> None:
    """AWS IoT takes RSA (2048 bits or more) and ECDSA on NIST curves only, for CAs as for device keys."""
    code, status, message = _rejected(
        client.register_ca_certificate, caCertificate=_self_signed_ca(private_key), certificateMode="SNI_ONLY"
    )
    assert (code, status) == ("CertificateValidationException", 400)
    assert "key" in message
    assert len(client.list_ca_certificates()["certificates"]) == 1


def test_a_device_certificate_with_an_x25519_key_is_rejected(client: Any) -> None:
    key = x25519.X25519PrivateKey.generate()
    certificate = _builder(_name("x25519"), _CA_NAME, key.public_key(), ca=False).sign(
        _CA_KEY, hashes.SHA256()
    )
    code, status, _ = _rejected(client.register_certificate, certificatePem=der.pem(der.der_of(certificate)))
    assert (code, status) == ("CertificateValidationException", 400)


@pytest.mark.parametrize("flaw", ALL_FLAWS)
def test_crafted_csrs_are_invalid_requests(client: Any, flaw: str) -> None:
    """CreateCertificateFromCsr declares no CertificateValidationException: a bad CSR is invalid input."""
    code, status, message = _rejected(
        client.create_certificate_from_csr, certificateSigningRequest=csr_pem(flaw)
    )
    assert (code, status) == ("InvalidRequestException", 400), message
    assert client.list_certificates()["certificates"] == []


_TEMPLATE = {
    "Parameters": {"Pem": {"Type": "String"}},
    "Resources": {
        "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "crafted"}},
        "certificate": {"Type": "AWS::IoT::Certificate", "Properties": {}},
    },
}


@pytest.mark.parametrize("source", ["CertificateSigningRequest", "CertificatePem"])
@pytest.mark.parametrize("flaw", ALL_FLAWS)
def test_register_thing_with_crafted_certificates_is_an_invalid_request(
    client: Any, source: str, flaw: str
) -> None:
    template = json.loads(json.dumps(_TEMPLATE))
    template["Resources"]["certificate"]["Properties"] = {source: {"Ref": "Pem"}, "Status": "ACTIVE"}
    pem = csr_pem(flaw) if source == "CertificateSigningRequest" else device_certificate_pem(flaw)
    code, status, message = _rejected(
        client.register_thing, templateBody=json.dumps(template), parameters={"Pem": pem}
    )
    assert (code, status) == ("InvalidRequestException", 400), message
    assert client.list_things()["things"] == []
    assert client.list_certificates()["certificates"] == []


_VALID_DER = _template_certificate("none", _name("mutated"), _RSA_KEY, ca=False)
_MUTATION_ERRORS = {"CertificateValidationException", "ResourceAlreadyExistsException"}


@settings(max_examples=120, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.tuples(st.integers(0, len(_VALID_DER) - 1), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(0, len(_VALID_DER)),
)
def test_mutated_certificate_der_never_gets_a_500(edits: list[tuple[int, int]], cut: int) -> None:
    """Random byte edits and truncations of a valid certificate: accepted or a 400, never anything else."""
    mutated = bytearray(_VALID_DER)
    for position, value in edits:
        mutated[position] = value
    pem = der.pem(bytes(mutated[: max(cut, 1)]))
    with MockIotProvisioning():
        iot = iot_client()
        for call in (iot.register_certificate_without_ca, iot.register_certificate):
            try:
                call(certificatePem=pem)
            except ClientError as error:
                code = error.response["Error"]["Code"]
                status = error.response["ResponseMetadata"]["HTTPStatusCode"]
                assert code in _MUTATION_ERRORS and status == 400, error.response["Error"]


@pytest.mark.parametrize(
    "private_key",
    [dsa.generate_private_key(2048), ed448.Ed448PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()],
    ids=["DSA", "Ed448", "Ed25519"],
)
def test_a_csr_with_a_key_type_aws_does_not_accept_is_an_invalid_request(
    client: Any, private_key: Any
) -> None:
    algorithm = (
        None
        if isinstance(private_key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
        else hashes.SHA256()
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name("odd key")).sign(private_key, algorithm)
    pem = der.pem(der.der_of(csr), "CERTIFICATE REQUEST")
    code, status, _ = _rejected(client.create_certificate_from_csr, certificateSigningRequest=pem)
    assert (code, status) == ("InvalidRequestException", 400)
    template = json.loads(json.dumps(_TEMPLATE))
    template["Resources"]["certificate"]["Properties"] = {"CertificateSigningRequest": {"Ref": "Pem"}}
    code, status, _ = _rejected(
        client.register_thing, templateBody=json.dumps(template), parameters={"Pem": pem}
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert client.list_certificates()["certificates"] == []


_VALID_CSR_DER = der.der_of(
    x509.CertificateSigningRequestBuilder().subject_name(_name("mutated")).sign(_RSA_KEY, hashes.SHA256())
)


@settings(max_examples=120, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.tuples(st.integers(0, len(_VALID_CSR_DER) - 1), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(0, len(_VALID_CSR_DER)),
)
def test_mutated_csr_der_never_gets_a_500(edits: list[tuple[int, int]], cut: int) -> None:
    """Random byte edits and truncations of a valid CSR: a certificate or an InvalidRequestException."""
    mutated = bytearray(_VALID_CSR_DER)
    for position, value in edits:
        mutated[position] = value
    pem = der.pem(bytes(mutated[: max(cut, 1)]), "CERTIFICATE REQUEST")
    with MockIotProvisioning():
        try:
            iot_client().create_certificate_from_csr(certificateSigningRequest=pem)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "InvalidRequestException"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
