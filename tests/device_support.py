"""Shared pieces of the device-side tests: a fleet template, claims, and calls through ``BrokerHooks``."""

from __future__ import annotations

import json
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mock_iotprov import MockIotProvisioning
from mock_iotprov.mqtt.hooks import ClientHello
from tests.helpers import ROLE_ARN

FLEET_TEMPLATE = json.dumps(
    {
        "Parameters": {
            "SerialNumber": {"Type": "String"},
            "AWS::IoT::Certificate::Id": {"Type": "String"},
        },
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Fn::Join": ["", ["device-", {"Ref": "SerialNumber"}]]},
                    "AttributePayload": {"serial": {"Ref": "SerialNumber"}},
                },
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"},
            },
            "policy": {
                "Type": "AWS::IoT::Policy",
                "Properties": {
                    "PolicyDocument": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
                        }
                    )
                },
            },
        },
        "DeviceConfiguration": {"FallbackUrl": "https://www.example.com/"},
    }
)

NO_THING_TEMPLATE = json.dumps(
    {
        "Parameters": {"AWS::IoT::Certificate::Id": {"Type": "String"}},
        "Resources": {
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"},
            }
        },
    }
)


def create_template(client: Any, name: str = "fleet", body: str = FLEET_TEMPLATE, **extra: Any) -> None:
    extra.setdefault("enabled", True)
    client.create_provisioning_template(
        templateName=name, templateBody=body, provisioningRoleArn=ROLE_ARN, **extra
    )


def hello_for(certificate_pem: str, client_id: str = "device-1", **extra: Any) -> ClientHello:
    der = x509.load_pem_x509_certificate(certificate_pem.encode()).public_bytes(serialization.Encoding.DER)
    return ClientHello(client_id=client_id, certificate_der=der, source_address="127.0.0.1", **extra)


class DeviceClient:
    """A connection as the broker would make it, talking to the device side through ``BrokerHooks``."""

    def __init__(self, mock: MockIotProvisioning, certificate_pem: str, client_id: str = "device-1") -> None:
        self.hooks = mock.device_service
        self.hello = hello_for(certificate_pem, client_id)
        admission = self.hooks.admit(self.hello)
        assert admission.accepted, admission.reason
        self.principal = admission.principal
        self.client_id = client_id

    def request(self, topic: str, document: Any = None, fmt: str = "json") -> tuple[str, dict[str, Any]]:
        """Publish a request; the one reply's topic suffix (accepted/rejected) and its decoded payload."""
        if document is None:
            payload = b""
        elif fmt == "cbor":
            payload = cbor2.dumps(document)
        else:
            payload = json.dumps(document).encode()
        replies = self.hooks.reserved(self.principal, self.client_id, topic, payload)
        assert replies is not None and len(replies) == 1
        reply = replies[0]
        assert reply.topic.startswith(topic + "/")
        decoded = cbor2.loads(reply.payload) if fmt == "cbor" else json.loads(reply.payload)
        return reply.topic[len(topic) + 1 :], decoded

    def create_keys(self, fmt: str = "json") -> dict[str, Any]:
        outcome, reply = self.request(f"$aws/certificates/create/{fmt}", {}, fmt)
        assert outcome == "accepted", reply
        return reply

    def register(
        self, token: str, parameters: dict[str, str] | None = None, template: str = "fleet", fmt: str = "json"
    ) -> tuple[str, dict[str, Any]]:
        document: dict[str, Any] = {"certificateOwnershipToken": token}
        if parameters is not None:
            document["parameters"] = parameters
        return self.request(f"$aws/provisioning-templates/{template}/provision/{fmt}", document, fmt)


def claim_client(
    mock: MockIotProvisioning, client: Any, template: str = "fleet", client_id: str = "device-1"
) -> DeviceClient:
    claim = client.create_provisioning_claim(templateName=template)
    return DeviceClient(mock, claim["certificatePem"], client_id)
