"""Small shared helpers for the test suite."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.x509.oid import NameOID

ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"
SIMPLE_TEMPLATE = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}},
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "ThingName"}}}
        },
    }
)


def iot_client(region: str = "us-east-1", validate: bool = True) -> Any:
    """A boto3 IoT client; ``validate=False`` turns off botocore's client-side parameter validation."""
    config = Config(parameter_validation=validate)
    return boto3.client("iot", region_name=region, config=config)


def endpoint_client(url: str, region: str = "us-east-1") -> Any:
    """A boto3 IoT client of a local endpoint (e.g. ``IotProvisioningServer.url``): throw-away credentials,
    no retries, so every answer is the endpoint's first."""
    return boto3.client(
        "iot",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"max_attempts": 0}),
    )


def error_of(excinfo: Any) -> tuple[str, int, str]:
    """(code, HTTP status, message) of a ClientError caught by pytest.raises."""
    error = excinfo.value
    assert isinstance(error, ClientError)
    response = error.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )


# ---------------------------------------------------------------- registry snapshots


def _without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def _listed(client: Any, operation: str, result_key: str, **params: Any) -> list[Any]:
    """Every item of a list operation, through botocore's paginator."""
    pages = client.get_paginator(operation).paginate(**params)
    return [item for page in pages for item in page.get(result_key, [])]


def registry_snapshot(client: Any) -> dict[str, Any]:
    """Everything RegisterThing can touch, read through ``client``, as comparable data.

    Things (DescribeThing, principals with their attachment type, thing groups), thing types, thing groups
    (description and members), billing groups (description and members), certificates (DescribeCertificate,
    attached policies, things), CA certificates, policies (GetPolicy, versions, targets).
    """
    snapshot: dict[str, Any] = {"things": {}, "thing_types": {}, "thing_groups": {}, "billing_groups": {}}
    snapshot.update({"certificates": {}, "ca_certificates": {}, "policies": {}})
    for item in _listed(client, "list_things", "things"):
        name = item["thingName"]
        principals = _listed(client, "list_thing_principals_v2", "thingPrincipalObjects", thingName=name)
        groups = _listed(client, "list_thing_groups_for_thing", "thingGroups", thingName=name)
        snapshot["things"][name] = {
            "description": _without_metadata(client.describe_thing(thingName=name)),
            "principals": sorted((p["principal"], p["thingPrincipalType"]) for p in principals),
            "groups": sorted(group["groupName"] for group in groups),
        }
    for item in _listed(client, "list_thing_types", "thingTypes"):
        name = item["thingTypeName"]
        snapshot["thing_types"][name] = _without_metadata(client.describe_thing_type(thingTypeName=name))
    for item in _listed(client, "list_thing_groups", "thingGroups"):
        name = item["groupName"]
        snapshot["thing_groups"][name] = {
            "description": _without_metadata(client.describe_thing_group(thingGroupName=name)),
            "members": sorted(_listed(client, "list_things_in_thing_group", "things", thingGroupName=name)),
        }
    for item in _listed(client, "list_billing_groups", "billingGroups"):
        name = item["groupName"]
        snapshot["billing_groups"][name] = {
            "description": _without_metadata(client.describe_billing_group(billingGroupName=name)),
            "members": sorted(
                _listed(client, "list_things_in_billing_group", "things", billingGroupName=name)
            ),
        }
    for item in _listed(client, "list_certificates", "certificates"):
        certificate_id, arn = item["certificateId"], item["certificateArn"]
        things = _listed(client, "list_principal_things_v2", "principalThingObjects", principal=arn)
        policies = _listed(client, "list_attached_policies", "policies", target=arn)
        snapshot["certificates"][certificate_id] = {
            "description": client.describe_certificate(certificateId=certificate_id)[
                "certificateDescription"
            ],
            "things": sorted((t["thingName"], t["thingPrincipalType"]) for t in things),
            "policies": [policy["policyName"] for policy in policies],
        }
    for item in _listed(client, "list_ca_certificates", "certificates"):
        ca_id = item["certificateId"]
        described = client.describe_ca_certificate(certificateId=ca_id)
        snapshot["ca_certificates"][ca_id] = described["certificateDescription"]
    for item in _listed(client, "list_policies", "policies"):
        name = item["policyName"]
        snapshot["policies"][name] = {
            "policy": _without_metadata(client.get_policy(policyName=name)),
            "versions": client.list_policy_versions(policyName=name)["policyVersions"],
            "targets": _listed(client, "list_targets_for_policy", "targets", policyName=name),
        }
    return snapshot


# ---------------------------------------------------------------- keys, CSRs and a test CA

_DAY = datetime.timedelta(days=1)


def ec_key() -> ec.EllipticCurvePrivateKey:
    """A new P-256 key (fast to generate, accepted by AWS IoT)."""
    return ec.generate_private_key(ec.SECP256R1())


def subject_name(common_name: str, **attributes: str) -> x509.Name:
    """``CN=common_name`` plus attributes named by ``NameOID`` member (``COUNTRY_NAME="US"``)."""
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    parts += [x509.NameAttribute(getattr(NameOID, oid), value) for oid, value in attributes.items()]
    return x509.Name(parts)


def pem_text(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def make_csr(name: x509.Name, key: Any = None) -> tuple[str, Any]:
    """A PEM CSR for ``name`` signed by ``key`` (a new P-256 key by default): (pem, key)."""
    key = key if key is not None else ec_key()
    edwards = isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
    algorithm = None if edwards else hashes.SHA256()
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, algorithm)
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii"), key


@dataclass
class TestCertificateAuthority:
    """A self-signed CA of the test's own, able to register itself and to issue device certificates."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    __test__ = False  # not a pytest test class

    @classmethod
    def create(cls, common_name: str = "Test Device CA") -> TestCertificateAuthority:
        key = ec_key()
        start = datetime.datetime.now(datetime.timezone.utc) - _DAY
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject_name(common_name))
            .issuer_name(subject_name(common_name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + 3650 * _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    @property
    def pem(self) -> str:
        return pem_text(self.certificate)

    def issue(
        self,
        name: x509.Name,
        not_before: datetime.datetime | None = None,
        lifetime: datetime.timedelta = 3650 * _DAY,
    ) -> x509.Certificate:
        """A certificate for a new key, valid from ``not_before`` (default: a day ago) for ``lifetime``."""
        start = not_before or datetime.datetime.now(datetime.timezone.utc) - _DAY
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(self.certificate.subject)
            .public_key(ec_key().public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + lifetime)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def register(self, client: Any, active: bool = True) -> str:
        """Register this CA (DEFAULT mode, verification certificate CN = registration code); its id."""
        code = client.get_registration_code()["registrationCode"]
        verification = pem_text(self.issue(subject_name(code)))
        result = client.register_ca_certificate(
            caCertificate=self.pem, verificationCertificate=verification, setAsActive=active
        )
        return str(result["certificateId"])


def failure(call: Any, **kwargs: Any) -> tuple[str, int, dict[str, Any]]:
    """Call ``call(**kwargs)``, which must fail: (code, HTTP status, whole error response)."""
    try:
        call(**kwargs)
    except ClientError as error:
        response = dict(error.response)
        return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response
    raise AssertionError(f"{getattr(call, '__name__', call)} succeeded, but it should have failed")
