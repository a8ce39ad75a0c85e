"""CA certificates through real boto3 clients: registration code, register, describe, list, update, delete."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mock_iotprov import MockIotProvisioning
from mock_iotprov.registry.memberships import template_in_use
from mock_iotprov.state import RequestContext
from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE, error_of, iot_client

DAY = datetime.timedelta(days=1)
JITP_BODY = json.dumps(
    {
        "Parameters": {"AWS::IoT::Certificate::CommonName": {"Type": "String"}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {"ThingName": {"Ref": "AWS::IoT::Certificate::CommonName"}},
            }
        },
    }
)




# ---------------------------------------------------------------- helpers


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None = None,
    *,
    ca: bool | None = True,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> x509.Certificate:
    """A certificate for ``key`` (self-signed unless ``issuer`` = (name, signing key)); ``ca=None``: no
    basicConstraints extension."""
    issuer_name, signing_key = issuer if issuer is not None else (_name(subject), key)
    start = not_before or datetime.datetime.now(datetime.timezone.utc) - DAY
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + 365 * DAY)
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    return builder.sign(signing_key, hashes.SHA256())


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem_of(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def sha256_id(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def new_ca(subject: str = "Test CA") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = new_key()
    return make_certificate(subject, key), key


def verification_for(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, code: str) -> str:
    return pem_of(make_certificate(code, new_key(), (ca.subject, ca_key), ca=False))


def register(
    client: Any, subject: str = "Test CA", **params: Any
) -> tuple[str, x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Register a new CA in DEFAULT mode with a correct verification certificate: (id, certificate, key)."""
    ca, key = new_ca(subject)
    code = client.get_registration_code()["registrationCode"]
    result = client.register_ca_certificate(
        caCertificate=pem_of(ca), verificationCertificate=verification_for(ca, key, code), **params
    )
    return str(result["certificateId"]), ca, key


def register_sni_only(client: Any, subject: str = "SNI CA", **params: Any) -> str:
    ca, _ = new_ca(subject)
    result = client.register_ca_certificate(caCertificate=pem_of(ca), certificateMode="SNI_ONLY", **params)
    return str(result["certificateId"])


def failure(call: Any, **params: Any) -> tuple[str, int]:
    with pytest.raises(Exception) as caught:
        call(**params)
    code, status, _ = error_of(caught)
    return code, status


def listed_ids(client: Any, **params: Any) -> list[str]:
    pages = client.get_paginator("list_ca_certificates").paginate(**params)
    return [item["certificateId"] for page in pages for item in page["certificates"]]


def create_template(client: Any, name: str, template_type: str) -> None:
    body = JITP_BODY if template_type == "JITP" else SIMPLE_TEMPLATE
    client.create_provisioning_template(
        templateName=name, templateBody=body, provisioningRoleArn=ROLE_ARN, type=template_type
    )


# ---------------------------------------------------------------- GetRegistrationCode


def test_registration_code_is_stable_per_account_and_region(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    code = client.get_registration_code()["registrationCode"]
    assert re.fullmatch(r"[0-9a-f]{64}", code)
    assert client.get_registration_code()["registrationCode"] == code
    other_region = iot_client("eu-west-1").get_registration_code()["registrationCode"]
    assert re.fullmatch(r"[0-9a-f]{64}", other_region) and other_region != code


# ------------------------------------------------------- RegisterCACertificate, DescribeCACertificate


def test_register_ca_certificate_and_describe(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    ca_id, ca, _ = register(client)
    assert ca_id == sha256_id(ca)
    described = client.describe_ca_certificate(certificateId=ca_id)
    assert "registrationConfig" not in described
    description = described["certificateDescription"]
    assert description["certificateArn"] == f"arn:aws:iot:us-east-1:123456789012:cacert/{ca_id}"
    assert description["certificateId"] == ca_id
    assert description["status"] == "INACTIVE"
    assert description["autoRegistrationStatus"] == "DISABLE"
    assert description["certificatePem"] == pem_of(ca)
    assert description["ownedBy"] == "123456789012"
    assert description["customerVersion"] == 1
    assert description["generationId"]
    assert description["certificateMode"] == "DEFAULT"
    assert description["creationDate"] == description["lastModifiedDate"]
    assert description["validity"] == {
        "notBefore": ca.not_valid_before_utc,
        "notAfter": ca.not_valid_after_utc,
    }


def test_register_ca_certificate_active_with_auto_registration_and_tags(
    iot_provisioning: MockIotProvisioning,
) -> None:
    client = iot_client()
    ca_id, _, _ = register(
        client, setAsActive=True, allowAutoRegistration=True, tags=[{"Key": "team", "Value": "fleet"}]
    )
    description = client.describe_ca_certificate(certificateId=ca_id)["certificateDescription"]
    assert (description["status"], description["autoRegistrationStatus"]) == ("ACTIVE", "ENABLE")
    tags = client.list_tags_for_resource(resourceArn=description["certificateArn"])["tags"]
    assert tags == [{"Key": "team", "Value": "fleet"}]


def test_register_ca_certificate_in_sni_only_mode_needs_no_verification(
    iot_provisioning: MockIotProvisioning,
) -> None:
    client = iot_client()
    ca_id = register_sni_only(client)
    description = client.describe_ca_certificate(certificateId=ca_id)["certificateDescription"]
    assert description["certificateMode"] == "SNI_ONLY"


def test_register_ca_certificate_validation_failures(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    code = client.get_registration_code()["registrationCode"]
    ca, key = new_ca()
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf_key = new_key()
    expired_key = new_key()
    expired = make_certificate("Old CA", expired_key, not_before=now - 20 * DAY, not_after=now - DAY)
    stranger, stranger_key = new_ca("Stranger")
    good_verification = verification_for(ca, key, code)
    cases: dict[str, tuple[dict[str, Any], tuple[str, int]]] = {
        "garbage CA": ({"caCertificate": "garbage"}, ("CertificateValidationException", 400)),
        "not a CA": (
            {"caCertificate": pem_of(make_certificate("leaf", leaf_key, ca=False))},
            ("CertificateValidationException", 400),
        ),
        "no basicConstraints": (
            {"caCertificate": pem_of(make_certificate("plain", leaf_key, ca=None))},
            ("CertificateValidationException", 400),
        ),
        "expired CA": (
            {
                "caCertificate": pem_of(expired),
                "verificationCertificate": verification_for(expired, expired_key, code),
            },
            ("CertificateValidationException", 400),
        ),
        "no verification in DEFAULT": ({"caCertificate": pem_of(ca)}, ("InvalidRequestException", 400)),
        "verification in SNI_ONLY": (
            {
                "caCertificate": pem_of(ca),
                "verificationCertificate": good_verification,
                "certificateMode": "SNI_ONLY",
            },
            ("InvalidRequestException", 400),
        ),
        "garbage verification": (
            {"caCertificate": pem_of(ca), "verificationCertificate": "garbage"},
            ("CertificateValidationException", 400),
        ),
        "verification signed by another key": (
            {
                "caCertificate": pem_of(ca),
                "verificationCertificate": verification_for(stranger, stranger_key, code),
            },
            ("CertificateValidationException", 400),
        ),
        "verification with the wrong common name": (
            {"caCertificate": pem_of(ca), "verificationCertificate": verification_for(ca, key, "0" * 64)},
            ("RegistrationCodeValidationException", 400),
        ),
    }
    for label, (params, expected) in cases.items():
        assert (label, failure(client.register_ca_certificate, **params)) == (label, expected)
    assert client.list_ca_certificates()["certificates"] == []


def test_verification_before_any_registration_code_fails(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    ca, key = new_ca()
    params = {"caCertificate": pem_of(ca), "verificationCertificate": verification_for(ca, key, "a" * 64)}
    assert failure(client.register_ca_certificate, **params) == ("RegistrationCodeValidationException", 400)


def test_register_ca_certificate_twice_names_it(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    ca, key = new_ca()
    verification = verification_for(ca, key, client.get_registration_code()["registrationCode"])
    first = client.register_ca_certificate(caCertificate=pem_of(ca), verificationCertificate=verification)
    with pytest.raises(Exception) as caught:
        client.register_ca_certificate(caCertificate=pem_of(ca), verificationCertificate=verification)
    assert error_of(caught)[:2] == ("ResourceAlreadyExistsException", 409)
    response = caught.value.response  # type: ignore[attr-defined]
    assert response["resourceId"] == first["certificateId"]
    assert response["resourceArn"] == first["certificateArn"]


def test_at_most_ten_ca_certificates_share_a_subject(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    for _ in range(10):
        register_sni_only(client, "Shared subject")
    assert failure(
        client.register_ca_certificate,
        caCertificate=pem_of(new_ca("Shared subject")[0]),
        certificateMode="SNI_ONLY",
    ) == ("LimitExceededException", 410)
    register_sni_only(client, "Another subject")
    assert len(listed_ids(client)) == 11


def test_failed_tagging_registers_nothing(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    ca, _ = new_ca()
    assert failure(
        client.register_ca_certificate,
        caCertificate=pem_of(ca),
        certificateMode="SNI_ONLY",
        tags=[{"Key": "aws:reserved", "Value": "x"}],
    ) == ("InvalidRequestException", 400)
    assert client.list_ca_certificates()["certificates"] == []


def test_register_ca_with_inline_registration_template(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    config = {"templateBody": JITP_BODY, "roleArn": ROLE_ARN}
    ca_id, _, _ = register(client, registrationConfig=config)
    assert client.describe_ca_certificate(certificateId=ca_id)["registrationConfig"] == config


def test_register_ca_registration_config_failures(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    create_template(client, "fleet", "FLEET_PROVISIONING")
    create_template(client, "jitp", "JITP")
    configs: dict[str, tuple[dict[str, str], tuple[str, int]]] = {
        "broken body": ({"templateBody": "{not json", "roleArn": ROLE_ARN}, ("InvalidRequestException", 400)),
        "body without role": ({"templateBody": JITP_BODY}, ("InvalidRequestException", 400)),
        "body and name": (
            {"templateBody": JITP_BODY, "roleArn": ROLE_ARN, "templateName": "jitp"},
            ("InvalidRequestException", 400),
        ),
        "unknown template": ({"templateName": "missing"}, ("ResourceNotFoundException", 404)),
        "fleet template": ({"templateName": "fleet"}, ("InvalidRequestException", 400)),
    }
    for label, (config, expected) in configs.items():
        ca, _ = new_ca(label)
        params = {"caCertificate": pem_of(ca), "certificateMode": "SNI_ONLY", "registrationConfig": config}
        assert (label, failure(client.register_ca_certificate, **params)) == (label, expected)
    assert client.list_ca_certificates()["certificates"] == []


def test_describe_unknown_ca_certificate(iot_provisioning: MockIotProvisioning) -> None:
    assert failure(iot_client().describe_ca_certificate, certificateId="d" * 64) == (
        "ResourceNotFoundException",
        404,
    )


# ---------------------------------------------------------------- ListCACertificates


def test_list_ca_certificates_orders_pages_and_filters_by_template(
    iot_provisioning: MockIotProvisioning,
) -> None:
    client = iot_client()
    create_template(client, "jitp", "JITP")
    created = []
    for index in range(5):
        config = {"templateName": "jitp"} if index % 2 == 0 else None
        extra: dict[str, Any] = {"registrationConfig": config} if config else {}
        created.append(register_sni_only(client, f"CA {index}", **extra))
    assert listed_ids(client) == created[::-1]
    assert listed_ids(client, ascendingOrder=True) == created
    pages = list(client.get_paginator("list_ca_certificates").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(page["certificates"]) for page in pages] == [2, 2, 1]
    assert [c["certificateId"] for page in pages for c in page["certificates"]] == created[::-1]
    assert listed_ids(client, templateName="jitp", ascendingOrder=True) == created[0::2]
    assert listed_ids(client, templateName="other") == []
    summary = client.list_ca_certificates(pageSize=1)["certificates"][0]
    assert set(summary) == {"certificateArn", "certificateId", "status", "creationDate"}
    assert failure(client.list_ca_certificates, marker="Zm9v") == ("InvalidRequestException", 400)


# ---------------------------------------------------------------- UpdateCACertificate


def test_update_ca_certificate(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    create_template(client, "jitp", "JITP")
    ca_id, _, _ = register(client)
    before = client.describe_ca_certificate(certificateId=ca_id)["certificateDescription"]
    client.update_ca_certificate(
        certificateId=ca_id,
        newStatus="ACTIVE",
        newAutoRegistrationStatus="ENABLE",
        registrationConfig={"templateName": "jitp"},
    )
    described = client.describe_ca_certificate(certificateId=ca_id)
    after = described["certificateDescription"]
    assert (after["status"], after["autoRegistrationStatus"]) == ("ACTIVE", "ENABLE")
    assert described["registrationConfig"] == {"templateName": "jitp"}
    assert after["customerVersion"] == before["customerVersion"] + 1
    assert after["generationId"] != before["generationId"]
    assert listed_ids(client, templateName="jitp") == [ca_id]
    store = iot_provisioning.backend.store(iot_provisioning.account_id, "us-east-1")
    assert template_in_use(RequestContext(store, iot_provisioning.options), "jitp")

    client.update_ca_certificate(certificateId=ca_id, removeAutoRegistration=True)
    assert "registrationConfig" not in client.describe_ca_certificate(certificateId=ca_id)
    assert listed_ids(client, templateName="jitp") == []


def test_update_ca_certificate_failures_change_nothing(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    ca_id, _, _ = register(client)
    before = client.describe_ca_certificate(certificateId=ca_id)
    assert failure(client.update_ca_certificate, certificateId="e" * 64, newStatus="ACTIVE") == (
        "ResourceNotFoundException",
        404,
    )
    assert failure(
        client.update_ca_certificate,
        certificateId=ca_id,
        newStatus="ACTIVE",
        registrationConfig={"templateBody": JITP_BODY, "roleArn": ROLE_ARN},
        removeAutoRegistration=True,
    ) == ("InvalidRequestException", 400)
    assert failure(
        client.update_ca_certificate,
        certificateId=ca_id,
        newStatus="ACTIVE",
        registrationConfig={"templateName": "missing"},
    ) == ("ResourceNotFoundException", 404)
    after = client.describe_ca_certificate(certificateId=ca_id)
    assert after["certificateDescription"] == before["certificateDescription"]


# ---------------------------------------------------------------- DeleteCACertificate


def test_delete_ca_certificate(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    create_template(client, "jitp", "JITP")
    ca_id, _, _ = register(client, setAsActive=True, tags=[{"Key": "k", "Value": "v"}])
    client.update_ca_certificate(certificateId=ca_id, registrationConfig={"templateName": "jitp"})
    arn = client.describe_ca_certificate(certificateId=ca_id)["certificateDescription"]["certificateArn"]
    assert failure(client.delete_ca_certificate, certificateId=ca_id) == ("CertificateStateException", 406)
    assert listed_ids(client) == [ca_id]

    client.update_ca_certificate(certificateId=ca_id, newStatus="INACTIVE")
    client.delete_ca_certificate(certificateId=ca_id)
    assert failure(client.describe_ca_certificate, certificateId=ca_id) == ("ResourceNotFoundException", 404)
    assert failure(client.delete_ca_certificate, certificateId=ca_id) == ("ResourceNotFoundException", 404)
    assert listed_ids(client) == []
    assert listed_ids(client, templateName="jitp") == []
    assert failure(client.list_tags_for_resource, resourceArn=arn) == ("ResourceNotFoundException", 404)


def test_device_certificates_outlive_their_deleted_ca(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client()
    ca_id, ca, ca_key = register(client, setAsActive=True)
    device = make_certificate("device", new_key(), (ca.subject, ca_key), ca=False)
    device_id = client.register_certificate(certificatePem=pem_of(device))["certificateId"]
    client.update_ca_certificate(certificateId=ca_id, newStatus="INACTIVE")
    client.delete_ca_certificate(certificateId=ca_id)
    description = client.describe_certificate(certificateId=device_id)["certificateDescription"]
    assert description["caCertificateId"] == ca_id
    by_ca = client.list_certificates_by_ca(caCertificateId=ca_id)["certificates"]
    assert [c["certificateId"] for c in by_ca] == [device_id]
    assert listed_ids(client) == []


def test_template_named_by_a_ca_registration_config_cannot_be_deleted(
    iot_provisioning: MockIotProvisioning,
) -> None:
    client = iot_client()
    create_template(client, "jitp-in-use", "JITP")
    ca_id = register_sni_only(client, registrationConfig={"templateName": "jitp-in-use"})
    assert failure(client.delete_provisioning_template, templateName="jitp-in-use") == (
        "DeleteConflictException",
        409,
    )
    assert client.describe_provisioning_template(templateName="jitp-in-use")["type"] == "JITP"
    client.update_ca_certificate(certificateId=ca_id, removeAutoRegistration=True)
    client.delete_provisioning_template(templateName="jitp-in-use")
