"""A device CA of the test's own for just-in-time registration and provisioning: registered with
``allowAutoRegistration``, issuing device certificates with their keys."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers import ROLE_ARN, TestCertificateAuthority, pem_text, subject_name

DAY = datetime.timedelta(days=1)
ARN = "arn:aws:iot:us-east-1:123456789012:"

# The shape of AWS's JITP example (jit-provisioning.html): the thing named by the subject CN, the subject
# serialNumber as an attribute, the Country as a thing group, an inline policy; the certificate by its id.
JITP_TEMPLATE = json.dumps(
    {
        "Parameters": {
            "AWS::IoT::Certificate::CommonName": {"Type": "String"},
            "AWS::IoT::Certificate::SerialNumber": {"Type": "String"},
            "AWS::IoT::Certificate::Country": {"Type": "String"},
            "AWS::IoT::Certificate::Id": {"Type": "String"},
        },
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Ref": "AWS::IoT::Certificate::CommonName"},
                    "AttributePayload": {
                        "version": "v1",
                        "serialNumber": {"Ref": "AWS::IoT::Certificate::SerialNumber"},
                    },
                    "ThingTypeName": "lightBulb-versionA",
                    "ThingGroups": ["v1-lightbulbs", {"Ref": "AWS::IoT::Certificate::Country"}],
                },
                "OverrideSettings": {
                    "AttributePayload": "MERGE",
                    "ThingTypeName": "REPLACE",
                    "ThingGroups": "DO_NOTHING",
                },
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"},
                "OverrideSettings": {"Status": "DO_NOTHING"},
            },
            "policy": {
                "Type": "AWS::IoT::Policy",
                "Properties": {
                    "PolicyDocument": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "iot:Connect",
                                    "Resource": ARN + "client/${iot:Connection.Thing.ThingName}",
                                },
                                {
                                    "Effect": "Allow",
                                    "Action": ["iot:Publish", "iot:Receive"],
                                    "Resource": ARN + "topic/lights/${iot:Connection.Thing.ThingName}/*",
                                },
                                {
                                    "Effect": "Allow",
                                    "Action": "iot:Subscribe",
                                    "Resource": ARN
                                    + "topicfilter/lights/${iot:Connection.Thing.ThingName}/*",
                                },
                            ],
                        }
                    )
                },
            },
        },
    }
)


def prepare_jitp_registry(iot: Any) -> None:
    """The thing type and groups the JITP template names."""
    iot.create_thing_type(thingTypeName="lightBulb-versionA")
    iot.create_thing_group(thingGroupName="v1-lightbulbs")
    iot.create_thing_group(thingGroupName="US")


@dataclass
class DeviceCredentials:
    certificate: x509.Certificate
    certificate_pem: str
    private_key_pem: str


class AutoRegisteringCA(TestCertificateAuthority):
    """A test CA registered with auto-registration (and, for JITP, a registration config)."""

    __test__ = False

    def register_for_jit(self, iot: Any, template_body: str | None = None, active: bool = True) -> str:
        code = iot.get_registration_code()["registrationCode"]
        verification = pem_text(self.issue(subject_name(code)))
        extra: dict[str, Any] = {}
        if template_body is not None:
            extra["registrationConfig"] = {"templateBody": template_body, "roleArn": ROLE_ARN}
        result = iot.register_ca_certificate(
            caCertificate=self.pem,
            verificationCertificate=verification,
            setAsActive=active,
            allowAutoRegistration=True,
            **extra,
        )
        return str(result["certificateId"])

    def device(
        self,
        common_name: str,
        *,
        country: str | None = "US",
        serial: str | None = "0001",
        not_before: datetime.datetime | None = None,
        lifetime: datetime.timedelta = 365 * DAY,
    ) -> DeviceCredentials:
        """A device certificate (with its key) for ``CN=common_name, C=country, serialNumber=serial``."""
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if country is not None:
            attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
        if serial is not None:
            attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
        start = not_before or datetime.datetime.now(datetime.timezone.utc) - DAY
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + lifetime)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")
        return DeviceCredentials(certificate, pem_text(certificate), key_pem)
