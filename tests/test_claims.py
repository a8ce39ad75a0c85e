"""CreateProvisioningClaim: real, short-lived claim certificates, checked with cryptography."""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from freezegun import freeze_time

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning
from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE, error_of, iot_client

UTC = datetime.timezone.utc


@pytest.fixture
def client(iot_provisioning: MockIotProvisioning) -> Any:
    client = iot_client()
    client.create_provisioning_template(
        templateName="fleet", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN, enabled=True
    )
    return client


def _chain_verifies(certificate: x509.Certificate, bundle_pem: str) -> None:
    cas = x509.load_pem_x509_certificates(bundle_pem.encode())
    by_subject = {ca.subject: ca for ca in cas}
    issuer = by_subject[certificate.issuer]
    certificate.verify_directly_issued_by(issuer)
    root = by_subject[issuer.issuer]
    issuer.verify_directly_issued_by(root)
    assert root.issuer == root.subject


def test_claim_certificate_and_keys(client: Any, iot_provisioning: MockIotProvisioning) -> None:
    claim = client.create_provisioning_claim(templateName="fleet")
    certificate = x509.load_pem_x509_certificate(claim["certificatePem"].encode())
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert claim["certificateId"] == hashlib.sha256(der).hexdigest()
    _chain_verifies(certificate, iot_provisioning.ca_bundle_pem)

    public_pem = claim["keyPair"]["PublicKey"]
    private_pem = claim["keyPair"]["PrivateKey"]
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert private_pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size == 2048
    public_key = serialization.load_pem_public_key(public_pem.encode())
    assert public_key.public_numbers() == private_key.public_key().public_numbers()  # type: ignore[union-attr]
    assert certificate.public_key().public_numbers() == private_key.public_key().public_numbers()  # type: ignore[union-attr]

    ou = certificate.issuer.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    assert [a.value for a in ou] == ["Amazon IoT Provisioning"]
    common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(common_name, str) and len(common_name) == 64
    assert int(common_name, 16) >= 0 and common_name == common_name.lower()
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is False
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_encipherment


def test_validity_window_and_expiration_under_frozen_time(client: Any) -> None:
    moment = datetime.datetime(2020, 7, 28, 16, 46, 6, tzinfo=UTC)
    with freeze_time(moment):
        claim = client.create_provisioning_claim(templateName="fleet")
    certificate = x509.load_pem_x509_certificate(claim["certificatePem"].encode())
    assert certificate.not_valid_before_utc == moment - datetime.timedelta(minutes=2)
    assert certificate.not_valid_after_utc == moment + datetime.timedelta(minutes=5)
    assert claim["expiration"] == certificate.not_valid_after_utc


def test_time_machine_moves_dates_and_claims_expire(
    client: Any, iot_provisioning: MockIotProvisioning
) -> None:
    moment = datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        claim = client.create_provisioning_claim(templateName="fleet")
    assert claim["expiration"] == moment + datetime.timedelta(minutes=5)
    remembered = iot_provisioning.claims[-1]
    assert remembered.certificate_id == claim["certificateId"]
    assert remembered.template_name == "fleet"
    assert remembered.is_valid_at(moment + datetime.timedelta(minutes=4, seconds=59))
    with time_machine.travel(moment + datetime.timedelta(minutes=5, seconds=1), tick=False):
        assert not remembered.is_valid_at(datetime.datetime.now(UTC))


def test_every_claim_is_distinct(client: Any, iot_provisioning: MockIotProvisioning) -> None:
    claims = [client.create_provisioning_claim(templateName="fleet") for _ in range(5)]
    assert len({c["certificateId"] for c in claims}) == 5
    assert [c.certificate_id for c in iot_provisioning.claims] == [c["certificateId"] for c in claims]


def test_claims_are_not_account_certificates(client: Any) -> None:
    claim = client.create_provisioning_claim(templateName="fleet")
    listed = client.list_certificates()["certificates"]
    assert claim["certificateId"] not in [c["certificateId"] for c in listed]
    with pytest.raises(Exception) as excinfo:
        client.describe_certificate(certificateId=claim["certificateId"])
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


def test_missing_template(client: Any) -> None:
    with pytest.raises(Exception) as excinfo:
        client.create_provisioning_claim(templateName="missing")
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


def test_jitp_template_is_rejected(client: Any, iot_provisioning: MockIotProvisioning) -> None:
    client.create_provisioning_template(
        templateName="jitp", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN, type="JITP"
    )
    with pytest.raises(Exception) as excinfo:
        client.create_provisioning_claim(templateName="jitp")
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400) and "FLEET_PROVISIONING" in message
    assert iot_provisioning.claims == []


def test_disabled_template_still_gets_a_claim(client: Any) -> None:
    client.create_provisioning_template(
        templateName="disabled", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN
    )
    assert client.create_provisioning_claim(templateName="disabled")["certificateId"]


def test_fresh_keys_option_gives_distinct_keys() -> None:
    with mock_iot_provisioning(fresh_keys=True):
        client = iot_client()
        client.create_provisioning_template(
            templateName="fleet", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN
        )
        keys = {
            client.create_provisioning_claim(templateName="fleet")["keyPair"]["PublicKey"] for _ in range(2)
        }
    assert len(keys) == 2
