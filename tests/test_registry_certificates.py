"""Device certificates through real boto3 clients: create, register, describe, list, update, delete."""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from mock_iotprov import MockIotProvisioning
from mock_iotprov.registry.ca_certificates import registered_issuer_of
from mock_iotprov.registry.certificates import certificate_by_principal, find_certificate
from mock_iotprov.state import RequestContext
from tests.helpers import error_of, iot_client

POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}
)
DAY = datetime.timedelta(days=1)




# ---------------------------------------------------------------- helpers: test CAs and certificates


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def build_certificate(
    subject: x509.Name,
    public_key: Any,
    issuer: x509.Name,
    signing_key: Any,
    *,
    ca: bool = False,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> x509.Certificate:
    """A certificate for ``public_key`` signed by ``signing_key`` (valid from yesterday for a year)."""
    start = not_before or _now() - DAY
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + 365 * DAY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signing_key, hashes.SHA256())
    )


@dataclass
class SigningAuthority:
    """A test CA: an EC P-256 key and its self-signed CA certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, common_name: str = "Test CA", key: ec.EllipticCurvePrivateKey | None = None) -> Any:
        key = key or ec.generate_private_key(ec.SECP256R1())
        name = _name(common_name)
        return cls(key, build_certificate(name, key.public_key(), name, key, ca=True))

    @property
    def pem(self) -> str:
        return pem_of(self.certificate)

    def issue(self, common_name: str, **validity: Any) -> x509.Certificate:
        device_key = ec.generate_private_key(ec.SECP256R1())
        return build_certificate(
            _name(common_name), device_key.public_key(), self.certificate.subject, self.key, **validity
        )


def pem_of(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def sha256_id(pem: str) -> str:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def register_ca(client: Any, authority: SigningAuthority, active: bool = True, **extra: Any) -> str:
    """Register ``authority`` in DEFAULT mode with a proper verification certificate; its id."""
    code = client.get_registration_code()["registrationCode"]
    verification = authority.issue(code)
    result = client.register_ca_certificate(
        caCertificate=authority.pem, verificationCertificate=pem_of(verification), setAsActive=active, **extra
    )
    return str(result["certificateId"])


def chains_to_bundle(certificate: x509.Certificate, bundle_pem: str) -> bool:
    """Whether ``certificate`` chains, signature by signature, to a self-signed CA of the bundle."""
    by_subject = {ca.subject: ca for ca in x509.load_pem_x509_certificates(bundle_pem.encode())}
    current = certificate
    for _ in range(5):
        issuer = by_subject.get(current.issuer)
        if issuer is None:
            return False
        current.verify_directly_issued_by(issuer)
        if issuer.issuer == issuer.subject:
            issuer.verify_directly_issued_by(issuer)
            return True
        current = issuer
    return False


def csr_pem(key: Any, subject: x509.Name) -> str:
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def list_ids(client: Any, **params: Any) -> list[str]:
    pages = client.get_paginator("list_certificates").paginate(**params)
    return [item["certificateId"] for page in pages for item in page["certificates"]]


def context_of(mock: MockIotProvisioning, region: str = "us-east-1") -> RequestContext:
    return RequestContext(mock.backend.store(mock.account_id, region), mock.options)


# ---------------------------------------------------------------- CreateKeysAndCertificate


def test_create_keys_and_certificate_chains_matches_key_and_is_described(
    iot_provisioning: MockIotProvisioning,
) -> None:
    client = iot_client()
    created = client.create_keys_and_certificate(setAsActive=True)
    certificate = x509.load_pem_x509_certificate(created["certificatePem"].encode())
    assert chains_to_bundle(certificate, iot_provisioning.ca_bundle_pem)
    assert created["certificateId"] == sha256_id(created["certificatePem"])
    assert created["certificateArn"] == f"arn:aws:iot:us-east-1:123456789012:cert/{created['certificateId']}"

    private_pem = created["keyPair"]["PrivateKey"]
    assert private_pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size == 2048
    public_key = serialization.load_pem_public_key(created["keyPair"]["PublicKey"].encode())
    assert public_key.public_numbers() == certificate.public_key().public_numbers()
    assert private_key.public_key().public_numbers() == certificate.public_key().public_numbers()

    description = client.describe_certificate(certificateId=created["certificateId"])[
        "certificateDescription"
    ]
    assert description["certificateArn"] == created["certificateArn"]
    assert description["status"] == "ACTIVE"
    assert description["certificatePem"] == created["certificatePem"]
    assert description["ownedBy"] == "123456789012"
    assert description["customerVersion"] == 1
    assert description["transferData"] == {}
    assert description["certificateMode"] == "DEFAULT"
    assert description["generationId"]
    assert "caCertificateId" not in description
    assert description["creationDate"] == description["lastModifiedDate"]
    assert description["validity"]["notBefore"] == certificate.not_valid_before_utc
    assert description["validity"]["notAfter"] == certificate.not_valid_after_utc


def test_create_keys_and_certificate_is_inactive_unless_set_as_active(
    iot_provisioning: MockIotProvisioning,
) -> None:
    client = iot_client()
    first = client.create_keys_and_certificate()
    second = client.create_keys_and_certificate(setAsActive=False)
    assert first["certificateId"] != second["certificateId"]
    for created in (first, second):
        status = client.describe_certificate(certificateId=created["certificateId"])["certificateDescription"]
        assert status["status"] == "INACTIVE"


# ---------------------------------------------------------------- CreateCertificateFromCsr


def test_certificate_from_csr_keeps_key_and_subject(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme"),
            x509.NameAttribute(NameOID.COMMON_NAME, "device-0001"),
        ]
    )
    created = client.create_certificate_from_csr(
        certificateSigningRequest=csr_pem(key, subject), setAsActive=True
    )
    assert "keyPair" not in created
    certificate = x509.load_pem_x509_certificate(created["certificatePem"].encode())
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    assert certificate.subject == subject
    assert chains_to_bundle(certificate, iot_provisioning.ca_bundle_pem)
    assert created["certificateId"] == sha256_id(created["certificatePem"])
    description = client.describe_certificate(certificateId=created["certificateId"])[
        "certificateDescription"
    ]
    assert description["status"] == "ACTIVE"


def test_certificate_from_csr_with_empty_subject_gets_the_default(
    iot_provisioning: MockIotProvisioning,
) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    created = iot_client().create_certificate_from_csr(certificateSigningRequest=csr_pem(key, x509.Name([])))
    certificate = x509.load_pem_x509_certificate(created["certificatePem"].encode())
    assert certificate.subject == _name("AWS IoT Certificate")


def _tampered_csr() -> str:
    """A well-formed CSR whose signature does not verify (last byte of the signature flipped)."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = bytearray(
        x509.load_pem_x509_csr(csr_pem(key, _name("a")).encode()).public_bytes(serialization.Encoding.DER)
    )
    der[-1] ^= 0x01
    return x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(
    "request_pem",
    [
        "not a certificate signing request",
        "tampered",
        "rsa-1024",
        "secp256k1",
    ],
)
def test_certificate_from_csr_rejects_bad_requests(
    iot_provisioning: MockIotProvisioning, request_pem: str
) -> None:
    if request_pem == "tampered":
        request_pem = _tampered_csr()
    elif request_pem == "rsa-1024":
        request_pem = csr_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024), _name("weak"))
    elif request_pem == "secp256k1":
        request_pem = csr_pem(ec.generate_private_key(ec.SECP256K1()), _name("curve"))
    client = iot_client()
    with pytest.raises(Exception) as caught:
        client.create_certificate_from_csr(certificateSigningRequest=request_pem)
    assert error_of(caught)[:2] == ("InvalidRequestException", 400)
    assert client.list_certificates()["certificates"] == []


# ---------------------------------------------------------------- RegisterCertificate


def test_register_certificate_signed_by_registered_ca(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    authority = SigningAuthority.create()
    ca_id = register_ca(client, authority)
    device_pem = pem_of(authority.issue("device-1"))
    registered = client.register_certificate(certificatePem=device_pem, status="ACTIVE")
    assert registered["certificateId"] == sha256_id(device_pem)
    assert registered["certificateArn"].endswith(f":cert/{registered['certificateId']}")
    description = client.describe_certificate(certificateId=registered["certificateId"])[
        "certificateDescription"
    ]
    assert description["caCertificateId"] == ca_id
    assert description["status"] == "ACTIVE"
    assert description["certificateMode"] == "DEFAULT"
    assert description["certificatePem"] == device_pem

    named = client.register_certificate(
        certificatePem=pem_of(authority.issue("device-2")), caCertificatePem=authority.pem
    )
    description = client.describe_certificate(certificateId=named["certificateId"])["certificateDescription"]
    assert description["status"] == "INACTIVE"
    assert description["caCertificateId"] == ca_id


@pytest.mark.parametrize(
    ("status", "set_as_active", "expected"),
    [
        (None, True, "ACTIVE"),
        (None, None, "INACTIVE"),
        ("REVOKED", True, "REVOKED"),
        ("INACTIVE", True, "INACTIVE"),
    ],
)
def test_register_certificate_status(
    iot_provisioning: MockIotProvisioning, status: str | None, set_as_active: bool | None, expected: str
) -> None:
    client = iot_client()
    authority = SigningAuthority.create()
    register_ca(client, authority)
    params: dict[str, Any] = {"certificatePem": pem_of(authority.issue("device"))}
    if status is not None:
        params["status"] = status
    if set_as_active is not None:
        params["setAsActive"] = set_as_active
    registered = client.register_certificate(**params)
    description = client.describe_certificate(certificateId=registered["certificateId"])[
        "certificateDescription"
    ]
    assert description["status"] == expected


@pytest.mark.parametrize("status", ["PENDING_TRANSFER", "PENDING_ACTIVATION", "REGISTER_INACTIVE"])
def test_register_certificate_refuses_internal_statuses(
    iot_provisioning: MockIotProvisioning, status: str
) -> None:
    client = iot_client()
    authority = SigningAuthority.create()
    register_ca(client, authority)
    with pytest.raises(Exception) as caught:
        client.register_certificate(certificatePem=pem_of(authority.issue("device")), status=status)
    assert error_of(caught)[:2] == ("InvalidRequestException", 400)
    assert client.list_certificates()["certificates"] == []


def test_register_certificate_takes_the_mode_of_an_sni_only_ca(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    authority = SigningAuthority.create()
    client.register_ca_certificate(caCertificate=authority.pem, certificateMode="SNI_ONLY", setAsActive=True)
    registered = client.register_certificate(certificatePem=pem_of(authority.issue("device")))
    listed = client.list_certificates()["certificates"]
    assert [(c["certificateId"], c["certificateMode"]) for c in listed] == [
        (registered["certificateId"], "SNI_ONLY")
    ]


def _validation_failure(client: Any, **params: Any) -> tuple[str, int, str]:
    with pytest.raises(Exception) as caught:
        client.register_certificate(**params)
    return error_of(caught)


def test_register_certificate_validation_failures(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    registered_ca = SigningAuthority.create("Registered CA")
    register_ca(client, registered_ca)
    inactive_ca = SigningAuthority.create("Inactive CA")
    register_ca(client, inactive_ca, active=False)
    stranger = SigningAuthority.create("Stranger CA")
    device = pem_of(registered_ca.issue("device"))
    now = _now()
    cases = {
        "garbage": {"certificatePem": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"},
        "unregistered issuer": {"certificatePem": pem_of(stranger.issue("device"))},
        "inactive issuer": {"certificatePem": pem_of(inactive_ca.issue("device"))},
        "named CA not registered": {"certificatePem": device, "caCertificatePem": stranger.pem},
        "named CA did not sign": {"certificatePem": device, "caCertificatePem": inactive_ca.pem},
        "named CA garbage": {"certificatePem": device, "caCertificatePem": "garbage"},
        "expired": {
            "certificatePem": pem_of(
                registered_ca.issue("old", not_before=now - 30 * DAY, not_after=now - DAY)
            )
        },
        "not yet valid": {"certificatePem": pem_of(registered_ca.issue("new", not_before=now + DAY))},
    }
    for label, params in cases.items():
        code, status, _ = _validation_failure(client, **params)
        assert (label, code, status) == (label, "CertificateValidationException", 400)
    assert client.list_certificates()["certificates"] == []


def test_register_certificate_with_ambiguous_issuer_is_a_conflict(
    iot_provisioning: MockIotProvisioning,
) -> None:
    client = iot_client()
    first = SigningAuthority.create("Shared CA")
    second = SigningAuthority.create("Shared CA", key=first.key)  # same subject, same key, new serial
    register_ca(client, first)
    second_id = register_ca(client, second)
    device = pem_of(first.issue("device"))
    code, status, _ = _validation_failure(client, certificatePem=device)
    assert (code, status) == ("CertificateConflictException", 409)
    registered = client.register_certificate(certificatePem=device, caCertificatePem=second.pem)
    description = client.describe_certificate(certificateId=registered["certificateId"])[
        "certificateDescription"
    ]
    assert description["caCertificateId"] == second_id


def test_registering_a_known_certificate_again_names_it(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    authority = SigningAuthority.create()
    register_ca(client, authority)
    device = pem_of(authority.issue("device"))
    first = client.register_certificate(certificatePem=device)
    issued = client.create_keys_and_certificate()
    for operation, pem in [
        (client.register_certificate, device),
        (client.register_certificate_without_ca, device),
        (client.register_certificate_without_ca, issued["certificatePem"]),
    ]:
        with pytest.raises(Exception) as caught:
            operation(certificatePem=pem)
        assert error_of(caught)[:2] == ("ResourceAlreadyExistsException", 409)
        response = caught.value.response  # type: ignore[attr-defined]
        expected_id = sha256_id(pem)
        assert response["resourceId"] == expected_id
        assert response["resourceArn"] == f"arn:aws:iot:us-east-1:123456789012:cert/{expected_id}"
    assert len(client.list_certificates()["certificates"]) == 2
    assert first["certificateId"] == sha256_id(device)


# ---------------------------------------------------------------- RegisterCertificateWithoutCA


def test_register_certificate_without_ca(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    key = ec.generate_private_key(ec.SECP256R1())
    self_signed = pem_of(build_certificate(_name("lonely"), key.public_key(), _name("lonely"), key))
    registered = client.register_certificate_without_ca(certificatePem=self_signed, status="ACTIVE")
    assert registered["certificateId"] == sha256_id(self_signed)
    description = client.describe_certificate(certificateId=registered["certificateId"])[
        "certificateDescription"
    ]
    assert (description["status"], description["certificateMode"]) == ("ACTIVE", "SNI_ONLY")
    assert "caCertificateId" not in description

    other = pem_of(build_certificate(_name("other"), key.public_key(), _name("other"), key))
    default = client.register_certificate_without_ca(certificatePem=other)
    assert (
        client.describe_certificate(certificateId=default["certificateId"])["certificateDescription"][
            "status"
        ]
        == "INACTIVE"
    )


def test_register_certificate_without_ca_failures(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    expired = build_certificate(
        _name("x"), key.public_key(), _name("x"), key, not_before=now - 9 * DAY, not_after=now - DAY
    )
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak = build_certificate(_name("w"), weak_key.public_key(), _name("w"), weak_key)
    for pem in ("garbage", pem_of(expired), pem_of(weak)):
        with pytest.raises(Exception) as caught:
            client.register_certificate_without_ca(certificatePem=pem)
        assert error_of(caught)[:2] == ("CertificateValidationException", 400)
    fine = pem_of(build_certificate(_name("y"), key.public_key(), _name("y"), key))
    with pytest.raises(Exception) as caught:
        client.register_certificate_without_ca(certificatePem=fine, status="PENDING_TRANSFER")
    assert error_of(caught)[:2] == ("InvalidRequestException", 400)
    assert client.list_certificates()["certificates"] == []


# ---------------------------------------------------------------- DescribeCertificate


def test_describe_unknown_certificate(iot_provisioning: MockIotProvisioning) -> None:
    with pytest.raises(Exception) as caught:
        iot_client().describe_certificate(certificateId="a" * 64)
    assert error_of(caught)[:2] == ("ResourceNotFoundException", 404)


def test_certificate_ids_match_case_insensitively(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    created = client.create_keys_and_certificate()
    upper = created["certificateId"].upper()
    description = client.describe_certificate(certificateId=upper)["certificateDescription"]
    assert description["certificateId"] == created["certificateId"]


# ---------------------------------------------------------------- ListCertificates / ListCertificatesByCA


def test_list_certificates_orders_by_creation_date_and_pages(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    start = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    created = []
    for minute in range(7):
        with time_machine.travel(start + datetime.timedelta(minutes=minute), tick=False):
            created.append(client.create_keys_and_certificate()["certificateId"])
    with time_machine.travel(start + datetime.timedelta(hours=1), tick=False):
        assert list_ids(client) == created[::-1]
        assert list_ids(client, ascendingOrder=True) == created
        pages = list(client.get_paginator("list_certificates").paginate(PaginationConfig={"PageSize": 3}))
        assert [len(page["certificates"]) for page in pages] == [3, 3, 1]
        assert [c["certificateId"] for page in pages for c in page["certificates"]] == created[::-1]
        assert "nextMarker" not in pages[-1]
        ascending = client.get_paginator("list_certificates").paginate(
            ascendingOrder=True, PaginationConfig={"PageSize": 2}
        )
        assert [c["certificateId"] for page in ascending for c in page["certificates"]] == created
        first_page = client.list_certificates(pageSize=7)
        assert "nextMarker" not in first_page
        summary = first_page["certificates"][0]
        assert set(summary) == {
            "certificateArn",
            "certificateId",
            "status",
            "certificateMode",
            "creationDate",
        }
        assert summary["creationDate"] == start + datetime.timedelta(minutes=6)


def test_certificates_created_at_the_same_instant_keep_creation_order(
    iot_provisioning: MockIotProvisioning,
) -> None:
    client = iot_client()
    with time_machine.travel(datetime.datetime(2031, 5, 5, tzinfo=datetime.timezone.utc), tick=False):
        created = [client.create_keys_and_certificate()["certificateId"] for _ in range(4)]
        assert list_ids(client, ascendingOrder=True) == created
        assert list_ids(client) == created[::-1]


def test_list_pages_stay_consistent_when_the_marker_item_is_deleted(
    iot_provisioning: MockIotProvisioning,
) -> None:
    client = iot_client()
    created = [client.create_keys_and_certificate()["certificateId"] for _ in range(5)]
    first = client.list_certificates(pageSize=2, ascendingOrder=True)
    assert [c["certificateId"] for c in first["certificates"]] == created[:2]
    client.delete_certificate(certificateId=created[1])
    second = client.list_certificates(pageSize=2, ascendingOrder=True, marker=first["nextMarker"])
    assert [c["certificateId"] for c in second["certificates"]] == created[2:4]

    newest = client.list_certificates(pageSize=2)
    assert [c["certificateId"] for c in newest["certificates"]] == [created[4], created[3]]
    client.delete_certificate(certificateId=created[3])
    rest = client.list_certificates(pageSize=2, marker=newest["nextMarker"])
    assert [c["certificateId"] for c in rest["certificates"]] == [created[2], created[0]]
    assert "nextMarker" not in rest


@pytest.mark.parametrize("marker", ["abc", "bm90IGEga2V5"])
def test_list_certificates_rejects_foreign_markers(
    iot_provisioning: MockIotProvisioning, marker: str
) -> None:
    with pytest.raises(Exception) as caught:
        iot_client().list_certificates(marker=marker)
    assert error_of(caught)[:2] == ("InvalidRequestException", 400)


def test_list_certificates_by_ca(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    first, second = SigningAuthority.create("CA one"), SigningAuthority.create("CA two")
    first_id, second_id = register_ca(client, first), register_ca(client, second)
    under_first = [
        client.register_certificate(certificatePem=pem_of(first.issue(f"d{i}")))["certificateId"]
        for i in range(5)
    ]
    under_second = client.register_certificate(certificatePem=pem_of(second.issue("other")))["certificateId"]
    client.create_keys_and_certificate()

    pages = client.get_paginator("list_certificates_by_ca").paginate(
        caCertificateId=first_id, ascendingOrder=True, PaginationConfig={"PageSize": 2}
    )
    assert [c["certificateId"] for page in pages for c in page["certificates"]] == under_first
    listed = client.list_certificates_by_ca(caCertificateId=second_id)["certificates"]
    assert [c["certificateId"] for c in listed] == [under_second]
    assert client.list_certificates_by_ca(caCertificateId="b" * 64)["certificates"] == []
    assert len(list_ids(client)) == 7


# ---------------------------------------------------------------- UpdateCertificate


def test_update_certificate_status_bumps_version(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    with time_machine.travel(datetime.datetime(2032, 1, 1, tzinfo=datetime.timezone.utc), tick=False):
        certificate_id = client.create_keys_and_certificate()["certificateId"]
        before = client.describe_certificate(certificateId=certificate_id)["certificateDescription"]
    with time_machine.travel(datetime.datetime(2032, 1, 2, tzinfo=datetime.timezone.utc), tick=False):
        client.update_certificate(certificateId=certificate_id, newStatus="ACTIVE")
        after = client.describe_certificate(certificateId=certificate_id)["certificateDescription"]
        assert after["status"] == "ACTIVE"
        assert after["customerVersion"] == before["customerVersion"] + 1
        assert after["generationId"] != before["generationId"]
        assert after["lastModifiedDate"] > before["lastModifiedDate"]
        assert after["creationDate"] == before["creationDate"]
        client.update_certificate(certificateId=certificate_id, newStatus="ACTIVE")  # idempotent
        again = client.describe_certificate(certificateId=certificate_id)["certificateDescription"]
        assert again["customerVersion"] == after["customerVersion"]
        client.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
        assert (
            client.describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"]
            == "INACTIVE"
        )


@pytest.mark.parametrize("new_status", ["PENDING_TRANSFER", "PENDING_ACTIVATION"])
def test_update_certificate_refuses_internal_statuses(
    iot_provisioning: MockIotProvisioning, new_status: str
) -> None:
    client = iot_client()
    certificate_id = client.create_keys_and_certificate(setAsActive=True)["certificateId"]
    with pytest.raises(Exception) as caught:
        client.update_certificate(certificateId=certificate_id, newStatus=new_status)
    assert error_of(caught)[:2] == ("InvalidRequestException", 400)
    description = client.describe_certificate(certificateId=certificate_id)["certificateDescription"]
    assert (description["status"], description["customerVersion"]) == ("ACTIVE", 1)


def test_revoked_certificate_stays_revoked(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    certificate_id = client.create_keys_and_certificate(setAsActive=True)["certificateId"]
    client.update_certificate(certificateId=certificate_id, newStatus="REVOKED")
    client.update_certificate(certificateId=certificate_id, newStatus="REVOKED")
    for new_status in ("ACTIVE", "INACTIVE"):
        with pytest.raises(Exception) as caught:
            client.update_certificate(certificateId=certificate_id, newStatus=new_status)
        assert error_of(caught)[:2] == ("CertificateStateException", 406)
    assert (
        client.describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"]
        == "REVOKED"
    )


def test_update_unknown_certificate(iot_provisioning: MockIotProvisioning) -> None:
    with pytest.raises(Exception) as caught:
        iot_client().update_certificate(certificateId="c" * 64, newStatus="ACTIVE")
    assert error_of(caught)[:2] == ("ResourceNotFoundException", 404)


# ---------------------------------------------------------------- DeleteCertificate


def test_delete_certificate_removes_it_everywhere(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    authority = SigningAuthority.create()
    ca_id = register_ca(client, authority)
    certificate_id = client.register_certificate(certificatePem=pem_of(authority.issue("d")))["certificateId"]
    client.delete_certificate(certificateId=certificate_id)
    with pytest.raises(Exception) as caught:
        client.describe_certificate(certificateId=certificate_id)
    assert error_of(caught)[:2] == ("ResourceNotFoundException", 404)
    assert client.list_certificates()["certificates"] == []
    assert client.list_certificates_by_ca(caCertificateId=ca_id)["certificates"] == []
    with pytest.raises(Exception) as caught:
        client.delete_certificate(certificateId=certificate_id)
    assert error_of(caught)[:2] == ("ResourceNotFoundException", 404)


def test_delete_active_certificate_is_refused(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    certificate_id = client.create_keys_and_certificate(setAsActive=True)["certificateId"]
    with pytest.raises(Exception) as caught:
        client.delete_certificate(certificateId=certificate_id, forceDelete=True)
    code, status, message = error_of(caught)
    assert (code, status) == ("CertificateStateException", 406)
    assert certificate_id in message
    assert list_ids(client) == [certificate_id]


def test_delete_certificate_attached_to_a_thing_conflicts(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    created = client.create_keys_and_certificate()
    client.create_thing(thingName="sensor")
    client.attach_thing_principal(thingName="sensor", principal=created["certificateArn"])
    with pytest.raises(Exception) as caught:
        client.delete_certificate(certificateId=created["certificateId"], forceDelete=True)
    assert error_of(caught)[:2] == ("DeleteConflictException", 409)
    assert list_ids(client) == [created["certificateId"]]
    assert client.list_thing_principals(thingName="sensor")["principals"] == [created["certificateArn"]]


def test_delete_certificate_with_policies_needs_force(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    created = client.create_keys_and_certificate()
    client.create_policy(policyName="connect", policyDocument=POLICY)
    client.attach_policy(policyName="connect", target=created["certificateArn"])
    with pytest.raises(Exception) as caught:
        client.delete_certificate(certificateId=created["certificateId"])
    assert error_of(caught)[:2] == ("DeleteConflictException", 409)
    assert client.list_targets_for_policy(policyName="connect")["targets"] == [created["certificateArn"]]

    client.delete_certificate(certificateId=created["certificateId"], forceDelete=True)
    assert client.list_targets_for_policy(policyName="connect")["targets"] == []
    assert client.list_certificates()["certificates"] == []


# ---------------------------------------------------------------- cross-module functions


def test_principal_and_issuer_lookups(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    authority = SigningAuthority.create()
    register_ca(client, authority)
    device = authority.issue("device")
    created = client.create_keys_and_certificate()
    ctx = context_of(iot_provisioning)

    found = certificate_by_principal(ctx, created["certificateArn"])
    assert found is not None and found.certificate_id == created["certificateId"]
    assert found is find_certificate(ctx, created["certificateId"])
    assert certificate_by_principal(ctx, created["certificateArn"].replace("us-east-1", "eu-west-1")) is None
    assert certificate_by_principal(ctx, "us-east-1:0f0e0d0c-cognito-identity") is None

    issuer = registered_issuer_of(ctx, device)
    assert issuer is not None and issuer.certificate == authority.certificate
    assert registered_issuer_of(ctx, device, authority.pem) is issuer
    assert registered_issuer_of(ctx, device, "garbage") is None
    stranger = SigningAuthority.create("Stranger")
    assert registered_issuer_of(ctx, stranger.issue("x")) is None
    assert registered_issuer_of(ctx, device, stranger.pem) is None
