"""The real AWS CLI (``python -m awscli``) against the local endpoint: the commands of the seed scenarios."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509

from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.pki import is_signed_by

TEMPLATE_BODY = (
    '{"Parameters":{"ThingName":{"Type":"String"},"AWS::IoT::Certificate::Id":{"Type":"String"}},'
    '"Resources":{"certificate":{"Properties":{"CertificateId":{"Ref":"AWS::IoT::Certificate::Id"},'
    '"Status":"Active"},"Type":"AWS::IoT::Certificate"},"thing":{"Properties":{"ThingName":'
    '{"Ref":"ThingName"}},"Type":"AWS::IoT::Thing"}}}'
)
ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"
ARN_PREFIX = "arn:aws:iot:us-east-1:123456789012:"
CLI_TIMEOUT_SECONDS = 120
_ENV_TO_DROP = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_IOT",
    "AWS_CA_BUNDLE",
)


class Cli:
    """Runs ``aws iot ...`` against one endpoint, offline, with throw-away configuration."""

    def __init__(self, endpoint_url: str, home: Path) -> None:
        self.endpoint_url = endpoint_url
        env = {k: v for k, v in os.environ.items() if k not in _ENV_TO_DROP and "proxy" not in k.lower()}
        env.update(
            AWS_ACCESS_KEY_ID="x",
            AWS_SECRET_ACCESS_KEY="y",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE=str(home / "no-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_MAX_ATTEMPTS="1",
            NO_PROXY="127.0.0.1,localhost",
        )
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "awscli", "iot", *args]
        command += ["--endpoint-url", self.endpoint_url, "--output", "json"]
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, check=False
        )

    def json(self, *args: str) -> Any:
        """The JSON the command prints; fails the test (with the CLI's error) if the command failed."""
        done = self.run(*args)
        assert done.returncode == 0, f"aws iot {args[0]} failed ({done.returncode}): {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else {}


@pytest.fixture(scope="module")
def server() -> Iterator[IotProvisioningServer]:
    with IotProvisioningServer(port=0) as running:
        yield running


@pytest.fixture
def aws(server: IotProvisioningServer, tmp_path: Path) -> Iterator[Cli]:
    server.backend.reset()
    yield Cli(server.url, tmp_path)


def ca_bundle(endpoint_url: str) -> bytes:
    """The endpoint's CA bundle (``GET /_mock_iotprov/ca.pem``)."""
    split = urlsplit(endpoint_url)
    connection = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port, timeout=10)
    try:
        connection.request("GET", "/_mock_iotprov/ca.pem")
        return connection.getresponse().read()
    finally:
        connection.close()


def create_template(aws: Cli, name: str) -> Any:
    return aws.json(
        "create-provisioning-template",
        "--template-name",
        name,
        "--template-body",
        TEMPLATE_BODY,
        "--provisioning-role-arn",
        ROLE_ARN,
        "--enabled",
    )


def test_create_and_describe_provisioning_template(aws: Cli) -> None:
    created = create_template(aws, "FleetTemplate")
    assert created == {
        "templateArn": f"{ARN_PREFIX}provisioningtemplate/FleetTemplate",
        "templateName": "FleetTemplate",
        "defaultVersionId": 1,
    }
    described = aws.json("describe-provisioning-template", "--template-name", "FleetTemplate")
    assert described["templateName"] == "FleetTemplate"
    assert json.loads(described["templateBody"]) == json.loads(TEMPLATE_BODY)
    assert described["provisioningRoleArn"] == ROLE_ARN
    assert described["enabled"] is True
    assert described["defaultVersionId"] == 1
    assert described["type"] == "FLEET_PROVISIONING"
    assert isinstance(described["creationDate"], (int, float, str))


def test_error_is_printed_with_its_code_and_exits_non_zero(aws: Cli) -> None:
    done = aws.run("describe-provisioning-template", "--template-name", "NoSuchTemplate")
    assert done.returncode != 0
    assert "ResourceNotFoundException" in done.stderr
    assert "DescribeProvisioningTemplate" in done.stderr
    assert done.stdout == ""


def test_validation_error_is_printed_with_its_code(aws: Cli) -> None:
    done = aws.run(
        "create-provisioning-template",
        "--template-name",
        "bad",
        "--template-body",
        "{not json",
        "--provisioning-role-arn",
        ROLE_ARN,
    )
    assert done.returncode != 0
    assert "InvalidRequestException" in done.stderr


def test_create_provisioning_claim(aws: Cli) -> None:
    create_template(aws, "ClaimTemplate")
    claim = aws.json("create-provisioning-claim", "--template-name", "ClaimTemplate")
    assert set(claim) >= {"certificateId", "certificatePem", "keyPair", "expiration"}
    assert claim["keyPair"]["PrivateKey"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert len(claim["certificateId"]) == 64
    certificate = x509.load_pem_x509_certificate(claim["certificatePem"].encode())
    authorities = x509.load_pem_x509_certificates(ca_bundle(aws.endpoint_url))
    assert any(is_signed_by(certificate, authority) for authority in authorities)


def test_create_keys_and_certificate(aws: Cli) -> None:
    created = aws.json("create-keys-and-certificate", "--set-as-active")
    certificate_id = created["certificateId"]
    assert created["certificateArn"] == f"{ARN_PREFIX}cert/{certificate_id}"
    assert created["certificatePem"].startswith("-----BEGIN CERTIFICATE-----")
    assert set(created["keyPair"]) == {"PublicKey", "PrivateKey"}
    described = aws.json("describe-certificate", "--certificate-id", certificate_id)
    assert described["certificateDescription"]["status"] == "ACTIVE"


def test_create_policy(aws: Cli) -> None:
    document = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}'
    )
    created = aws.json("create-policy", "--policy-name", "DevicePolicy", "--policy-document", document)
    assert created["policyName"] == "DevicePolicy"
    assert created["policyArn"] == f"{ARN_PREFIX}policy/DevicePolicy"
    assert created["policyVersionId"] == "1"
    assert json.loads(created["policyDocument"]) == json.loads(document)


def test_create_thing_type(aws: Cli) -> None:
    created = aws.json("create-thing-type", "--thing-type-name", "Sensor")
    assert created["thingTypeName"] == "Sensor"
    assert created["thingTypeArn"] == f"{ARN_PREFIX}thingtype/Sensor"
    assert created["thingTypeId"]


def test_register_thing(aws: Cli) -> None:
    certificate_id = aws.json("create-keys-and-certificate")["certificateId"]
    parameters = json.dumps({"ThingName": "device-1", "AWS::IoT::Certificate::Id": certificate_id})
    registered = aws.json("register-thing", "--template-body", TEMPLATE_BODY, "--parameters", parameters)
    assert registered["resourceArns"] == {
        "certificate": f"{ARN_PREFIX}cert/{certificate_id}",
        "thing": f"{ARN_PREFIX}thing/device-1",
    }
    assert registered["certificatePem"].startswith("-----BEGIN CERTIFICATE-----")
    principals = aws.json("list-thing-principals", "--thing-name", "device-1")["principals"]
    assert principals == [f"{ARN_PREFIX}cert/{certificate_id}"]
