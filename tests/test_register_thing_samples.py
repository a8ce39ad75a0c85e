"""RegisterThing end to end with the templates AWS publishes: fleet provisioning (Device SDK sample), bulk
registration (CSR + parameter defaults), just-in-time provisioning (certificate pseudo-parameters, a
certificate of a registered CA), the CLI example, and custom logical names."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from mock_iotprov import MockIotProvisioning
from tests.helpers import (
    TestCertificateAuthority,
    error_of,
    iot_client,
    make_csr,
    pem_text,
    registry_snapshot,
    subject_name,
)

ACCOUNT = "123456789012"
ARN_PREFIX = f"arn:aws:iot:us-east-1:{ACCOUNT}:"
GENERATED_POLICY_ARN = re.compile(rf"{re.escape(ARN_PREFIX)}policy/[0-9A-F]{{40}}")
WORKFLOW_FAILURE = "Register thing workflow execution terminates due to: "
THING_VARIABLE = "${iot:Connection.Thing.ThingName}"

# The fleet-provisioning template of the AWS IoT Device SDK samples.
FLEET_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "SerialNumber": {"Type": "String"},
        "DeviceLocation": {"Type": "String"},
        "AWS::IoT::Certificate::Id": {"Type": "String"},
    },
    "Mappings": {"LocationTable": {"Seattle": {"LocationUrl": "https://example.aws"}}},
    "Resources": {
        "thing": {
            "Type": "AWS::IoT::Thing",
            "Properties": {
                "AttributePayload": {"version": "v1", "serialNumber": {"Ref": "SerialNumber"}},
                "ThingName": {"Fn::Join": ["", ["ThingPrefix_", {"Ref": "SerialNumber"}]]},
                "ThingTypeName": "lightBulb-versionA",
                "ThingGroups": ["v1-lightbulbs", {"Ref": "DeviceLocation"}],
            },
            "OverrideSettings": {
                "AttributePayload": "MERGE",
                "ThingTypeName": "REPLACE",
                "ThingGroups": "DO_NOTHING",
            },
        },
        "certificate": {
            "Type": "AWS::IoT::Certificate",
            "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "Active"},
            "OverrideSettings": {"Status": "REPLACE"},
        },
        "policy": {
            "Type": "AWS::IoT::Policy",
            "Properties": {
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["iot:Publish"],
                            "Resource": [
                                f"arn:aws:iot:us-east-1:{ACCOUNT}:topic/devices/{THING_VARIABLE}/data"
                            ],
                        }
                    ],
                }
            },
        },
    },
    "DeviceConfiguration": {
        "FallbackUrl": "https://www.example.com/test-site",
        "LocationUrl": {"Fn::FindInMap": ["LocationTable", {"Ref": "DeviceLocation"}, "LocationUrl"]},
    },
}

_BULK_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iot:Publish"], "Resource": [f"{ARN_PREFIX}topic/foo/bar"]}
        ],
    }
)

# A bulk-registration template: the certificate comes from a CSR, two parameters have defaults.
BULK_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "ThingName": {"Type": "String"},
        "SerialNumber": {"Type": "String", "Default": "123"},
        "Location": {"Type": "String", "Default": "WA"},
        "CSR": {"Type": "String"},
    },
    "Resources": {
        "thing": {
            "Type": "AWS::IoT::Thing",
            "Properties": {
                "ThingName": {"Ref": "ThingName"},
                "AttributePayload": {"version": "v1", "serialNumber": {"Ref": "SerialNumber"}},
                "ThingTypeName": "lightBulb-versionA",
                "ThingGroups": ["v1-lightbulbs", {"Ref": "Location"}],
            },
        },
        "certificate": {
            "Type": "AWS::IoT::Certificate",
            "Properties": {"CertificateSigningRequest": {"Ref": "CSR"}, "Status": "ACTIVE"},
        },
        "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": _BULK_POLICY}},
    },
}

_JITP_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iot:Connect"],
                "Resource": [f"{ARN_PREFIX}client/{THING_VARIABLE}"],
            }
        ],
    }
)

# A just-in-time provisioning template: everything comes from the device certificate.
JITP_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "AWS::IoT::Certificate::CommonName": {"Type": "String"},
        "AWS::IoT::Certificate::Country": {"Type": "String"},
        "AWS::IoT::Certificate::Organization": {"Type": "String"},
        "AWS::IoT::Certificate::SerialNumber": {"Type": "String"},
        "AWS::IoT::Certificate::Id": {"Type": "String"},
    },
    "Resources": {
        "thing": {
            "Type": "AWS::IoT::Thing",
            "Properties": {
                "ThingName": {"Ref": "AWS::IoT::Certificate::CommonName"},
                "AttributePayload": {
                    "country": {"Ref": "AWS::IoT::Certificate::Country"},
                    "organization": {"Ref": "AWS::IoT::Certificate::Organization"},
                    "serial": {"Ref": "AWS::IoT::Certificate::SerialNumber"},
                },
                "ThingTypeName": "lightBulb-versionA",
                "ThingGroups": ["v1-lightbulbs", {"Ref": "AWS::IoT::Certificate::Country"}],
            },
        },
        "certificate": {
            "Type": "AWS::IoT::Certificate",
            "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"},
        },
        "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": _JITP_POLICY}},
    },
}

# The template of the AWS CLI ``register-thing`` example.
CLI_TEMPLATE: dict[str, Any] = {
    "Parameters": {"ThingName": {"Type": "String"}, "AWS::IoT::Certificate::Id": {"Type": "String"}},
    "Resources": {
        "certificate": {
            "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "Active"},
            "Type": "AWS::IoT::Certificate",
        },
        "policy": {"Properties": {"PolicyName": "MyIotPolicy"}, "Type": "AWS::IoT::Policy"},
        "thing": {
            "OverrideSettings": {
                "AttributePayload": "MERGE",
                "ThingGroups": "DO_NOTHING",
                "ThingTypeName": "REPLACE",
            },
            "Properties": {
                "AttributePayload": {},
                "ThingGroups": [],
                "ThingName": {"Ref": "ThingName"},
                "ThingTypeName": "VirtualThings",
            },
            "Type": "AWS::IoT::Thing",
        },
    },
}

ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
)



@pytest.fixture
def client(iot_provisioning: MockIotProvisioning) -> Any:
    """A client on a registry holding what the sample templates name."""
    iot = iot_client()
    iot.create_thing_type(thingTypeName="lightBulb-versionA")
    iot.create_thing_type(thingTypeName="VirtualThings")
    for group in ("v1-lightbulbs", "Seattle", "WA", "OR", "US"):
        iot.create_thing_group(thingGroupName=group)
    return iot


def _body(template: dict[str, Any]) -> str:
    return json.dumps(template)


def _thing(client: Any, name: str) -> dict[str, Any]:
    described = client.describe_thing(thingName=name)
    groups = client.list_thing_groups_for_thing(thingName=name)["thingGroups"]
    principals = client.list_thing_principals(thingName=name)["principals"]
    return {
        "attributes": described["attributes"],
        "type": described.get("thingTypeName"),
        "groups": sorted(group["groupName"] for group in groups),
        "principals": principals,
    }


def _attached_policies(client: Any, certificate_arn: str) -> list[str]:
    return sorted(p["policyName"] for p in client.list_attached_policies(target=certificate_arn)["policies"])


def _certificate(client: Any, certificate_id: str) -> dict[str, Any]:
    description: dict[str, Any] = client.describe_certificate(certificateId=certificate_id)[
        "certificateDescription"
    ]
    return description


# ---------------------------------------------------------------- fleet provisioning (Device SDK sample)


def test_fleet_sample_template_provisions_thing_policy_and_activates_certificate(client: Any) -> None:
    created = client.create_keys_and_certificate(setAsActive=False)
    assert _certificate(client, created["certificateId"])["status"] == "INACTIVE"

    result = client.register_thing(
        templateBody=_body(FLEET_TEMPLATE),
        parameters={
            "SerialNumber": "0042",
            "DeviceLocation": "Seattle",
            "AWS::IoT::Certificate::Id": created["certificateId"],
        },
    )

    arns = result["resourceArns"]
    assert set(arns) == {"certificate", "policy", "thing"}
    assert arns["thing"] == f"{ARN_PREFIX}thing/ThingPrefix_0042"
    assert arns["certificate"] == created["certificateArn"]
    assert GENERATED_POLICY_ARN.fullmatch(arns["policy"])
    assert result["certificatePem"] == created["certificatePem"]
    assert _thing(client, "ThingPrefix_0042") == {
        "attributes": {"version": "v1", "serialNumber": "0042"},
        "type": "lightBulb-versionA",
        "groups": ["Seattle", "v1-lightbulbs"],
        "principals": [created["certificateArn"]],
    }
    assert _certificate(client, created["certificateId"])["status"] == "ACTIVE"
    policy_name = arns["policy"].rsplit("/", 1)[1]
    assert _attached_policies(client, created["certificateArn"]) == [policy_name]
    stored = client.get_policy(policyName=policy_name)
    assert stored["policyArn"] == arns["policy"]
    assert THING_VARIABLE in stored["policyDocument"]
    assert (
        json.loads(stored["policyDocument"])
        == FLEET_TEMPLATE["Resources"]["policy"]["Properties"]["PolicyDocument"]
    )


def test_fleet_sample_evaluates_find_in_map_in_device_configuration(client: Any) -> None:
    created = client.create_keys_and_certificate(setAsActive=False)
    before = registry_snapshot(client)
    with pytest.raises(ClientError) as caught:
        client.register_thing(
            templateBody=_body(FLEET_TEMPLATE),
            parameters={
                "SerialNumber": "7",
                "DeviceLocation": "OR",  # a group, but not a key of LocationTable
                "AWS::IoT::Certificate::Id": created["certificateId"],
            },
        )
    code, status, message = error_of(caught)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "OR" in message and "LocationTable" in message
    assert registry_snapshot(client) == before


# ---------------------------------------------------------------- bulk registration: CSR and Defaults


def _bundle(ca_bundle_pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(ca_bundle_pem.encode())


def _chains_to_bundle(certificate: x509.Certificate, bundle: list[x509.Certificate]) -> bool:
    """Whether a path of signatures leads from ``certificate`` to a self-signed certificate of ``bundle``."""
    current = certificate
    for _ in range(len(bundle) + 1):
        issuers = [ca for ca in bundle if ca.subject == current.issuer]
        if not issuers:
            return False
        issuer = issuers[0]
        current.verify_directly_issued_by(issuer)
        if issuer.subject == issuer.issuer:
            return True
        current = issuer
    return False


def test_bulk_template_signs_the_csr_and_registers_the_certificate(
    client: Any, iot_provisioning: MockIotProvisioning
) -> None:
    name = subject_name("sensor-1", ORGANIZATION_NAME="Example Corp", COUNTRY_NAME="US")
    csr_pem, key = make_csr(name)

    result = client.register_thing(
        templateBody=_body(BULK_TEMPLATE), parameters={"ThingName": "sensor-1", "CSR": csr_pem}
    )

    issued = x509.load_pem_x509_certificate(result["certificatePem"].encode())
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert issued.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ) == key.public_key().public_bytes(serialization.Encoding.DER, spki)
    assert issued.subject == name
    assert _chains_to_bundle(issued, _bundle(iot_provisioning.ca_bundle_pem))
    certificate_id = hashlib.sha256(issued.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert result["resourceArns"]["certificate"] == f"{ARN_PREFIX}cert/{certificate_id}"
    described = _certificate(client, certificate_id)
    assert described["status"] == "ACTIVE"
    assert described["certificatePem"] == result["certificatePem"]
    assert _thing(client, "sensor-1")["principals"] == [result["resourceArns"]["certificate"]]


def test_a_chain_check_that_can_fail(iot_provisioning: MockIotProvisioning) -> None:
    foreign = TestCertificateAuthority.create("Foreign CA")
    stranger = foreign.issue(subject_name("stranger"))
    assert not _chains_to_bundle(stranger, _bundle(iot_provisioning.ca_bundle_pem))


def test_bulk_template_parameter_defaults_apply_unless_a_value_is_supplied(client: Any) -> None:
    defaulted = client.register_thing(
        templateBody=_body(BULK_TEMPLATE),
        parameters={"ThingName": "bulk-a", "CSR": make_csr(subject_name("a"))[0]},
    )
    supplied = client.register_thing(
        templateBody=_body(BULK_TEMPLATE),
        parameters={
            "ThingName": "bulk-b",
            "CSR": make_csr(subject_name("b"))[0],
            "SerialNumber": "999",
            "Location": "OR",
        },
    )

    assert _thing(client, "bulk-a")["attributes"] == {"version": "v1", "serialNumber": "123"}
    assert _thing(client, "bulk-a")["groups"] == ["WA", "v1-lightbulbs"]
    assert _thing(client, "bulk-b")["attributes"] == {"version": "v1", "serialNumber": "999"}
    assert _thing(client, "bulk-b")["groups"] == ["OR", "v1-lightbulbs"]
    # Same policy document, so the same generated policy, reused.
    assert defaulted["resourceArns"]["policy"] == supplied["resourceArns"]["policy"]
    assert GENERATED_POLICY_ARN.fullmatch(defaulted["resourceArns"]["policy"])


# ---------------------------------------------------------------- just-in-time provisioning


def _jitp_parameters(certificate: x509.Certificate, certificate_id: str) -> dict[str, str]:
    """The ``AWS::IoT::Certificate::*`` values JITP would take from the certificate."""

    def attribute(oid: x509.ObjectIdentifier) -> str:
        return str(certificate.subject.get_attributes_for_oid(oid)[0].value)

    return {
        "AWS::IoT::Certificate::CommonName": attribute(NameOID.COMMON_NAME),
        "AWS::IoT::Certificate::Country": attribute(NameOID.COUNTRY_NAME),
        "AWS::IoT::Certificate::Organization": attribute(NameOID.ORGANIZATION_NAME),
        "AWS::IoT::Certificate::SerialNumber": attribute(NameOID.SERIAL_NUMBER),
        "AWS::IoT::Certificate::Id": certificate_id,
    }


def _device_name() -> x509.Name:
    return subject_name("jitp-device-7", COUNTRY_NAME="US", ORGANIZATION_NAME="Example", SERIAL_NUMBER="SN-7")


def test_jitp_template_with_certificate_parameters_passed_explicitly(client: Any) -> None:
    ca = TestCertificateAuthority.create()
    ca.register(client)
    device = ca.issue(_device_name())
    registered = client.register_certificate(certificatePem=pem_text(device), status="ACTIVE")

    result = client.register_thing(
        templateBody=_body(JITP_TEMPLATE), parameters=_jitp_parameters(device, registered["certificateId"])
    )

    assert result["resourceArns"]["thing"] == f"{ARN_PREFIX}thing/jitp-device-7"
    assert result["resourceArns"]["certificate"] == registered["certificateArn"]
    assert result["certificatePem"] == pem_text(device)
    assert _thing(client, "jitp-device-7") == {
        "attributes": {"country": "US", "organization": "Example", "serial": "SN-7"},
        "type": "lightBulb-versionA",
        "groups": ["US", "v1-lightbulbs"],
        "principals": [registered["certificateArn"]],
    }
    policy_name = result["resourceArns"]["policy"].rsplit("/", 1)[1]
    assert _attached_policies(client, registered["certificateArn"]) == [policy_name]
    assert client.get_policy(policyName=policy_name)["policyDocument"] == _JITP_POLICY


def _pem_template() -> dict[str, Any]:
    template: dict[str, Any] = copy.deepcopy(JITP_TEMPLATE)
    template["Parameters"]["DevicePem"] = {"Type": "String"}
    del template["Parameters"]["AWS::IoT::Certificate::Id"]
    template["Resources"]["certificate"]["Properties"] = {"CertificatePem": {"Ref": "DevicePem"}}
    return template


def _pem_parameters(device: x509.Certificate) -> dict[str, str]:
    parameters = _jitp_parameters(device, "")
    del parameters["AWS::IoT::Certificate::Id"]
    return {**parameters, "DevicePem": pem_text(device)}


def test_certificate_pem_signed_by_a_registered_active_ca_is_registered(client: Any) -> None:
    ca = TestCertificateAuthority.create()
    ca_id = ca.register(client)
    device = ca.issue(_device_name())

    result = client.register_thing(templateBody=_body(_pem_template()), parameters=_pem_parameters(device))

    device_id = hashlib.sha256(device.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert result["resourceArns"]["certificate"] == f"{ARN_PREFIX}cert/{device_id}"
    assert result["certificatePem"] == pem_text(device)
    described = _certificate(client, device_id)
    assert (described["status"], described["caCertificateId"]) == ("ACTIVE", ca_id)
    assert _thing(client, "jitp-device-7")["principals"] == [f"{ARN_PREFIX}cert/{device_id}"]


@pytest.mark.parametrize("ca_state", ["unregistered", "inactive", "deactivated"])
def test_certificate_pem_fails_without_a_registered_active_ca(client: Any, ca_state: str) -> None:
    ca = TestCertificateAuthority.create()
    if ca_state != "unregistered":
        ca_id = ca.register(client, active=ca_state == "deactivated")
        if ca_state == "deactivated":
            client.update_ca_certificate(certificateId=ca_id, newStatus="INACTIVE")
    device = ca.issue(_device_name())
    before = registry_snapshot(client)

    with pytest.raises(ClientError) as caught:
        client.register_thing(templateBody=_body(_pem_template()), parameters=_pem_parameters(device))

    code, status, message = error_of(caught)
    assert (code, status) == ("ResourceRegistrationFailureException", 400)
    assert message.startswith(WORKFLOW_FAILURE)
    assert registry_snapshot(client) == before


def test_certificate_pem_already_registered_is_used_as_it_is(client: Any) -> None:
    ca = TestCertificateAuthority.create()
    ca.register(client)
    device = ca.issue(_device_name())
    registered = client.register_certificate(certificatePem=pem_text(device), status="INACTIVE")
    template = _pem_template()
    template["Resources"]["certificate"]["OverrideSettings"] = {"Status": "REPLACE"}

    result = client.register_thing(templateBody=_body(template), parameters=_pem_parameters(device))

    assert result["resourceArns"]["certificate"] == registered["certificateArn"]
    assert [c["certificateId"] for c in client.list_certificates()["certificates"]] == [
        registered["certificateId"]
    ]
    assert _certificate(client, registered["certificateId"])["status"] == "ACTIVE"


def test_ca_certificate_pem_names_the_signing_ca(client: Any) -> None:
    signer, bystander = (
        TestCertificateAuthority.create("Signer CA"),
        TestCertificateAuthority.create("Other CA"),
    )
    signer_id = signer.register(client)
    bystander.register(client)
    device = signer.issue(_device_name())
    template = _pem_template()
    properties = template["Resources"]["certificate"]["Properties"]

    properties["CACertificatePem"] = bystander.pem
    before = registry_snapshot(client)
    with pytest.raises(ClientError) as caught:
        client.register_thing(templateBody=_body(template), parameters=_pem_parameters(device))
    assert error_of(caught)[:2] == ("ResourceRegistrationFailureException", 400)
    assert registry_snapshot(client) == before

    properties["CACertificatePem"] = signer.pem
    result = client.register_thing(templateBody=_body(template), parameters=_pem_parameters(device))
    certificate_id = result["resourceArns"]["certificate"].rsplit("/", 1)[1]
    assert _certificate(client, certificate_id)["caCertificateId"] == signer_id


# ---------------------------------------------------------------- the AWS CLI example


def test_cli_example_lists_only_certificate_and_thing(client: Any) -> None:
    client.create_policy(policyName="MyIotPolicy", policyDocument=ALLOW_ALL)
    existing = client.create_keys_and_certificate(setAsActive=True)

    result = client.register_thing(
        templateBody=_body(CLI_TEMPLATE),
        parameters={"ThingName": "MyLightBulb", "AWS::IoT::Certificate::Id": existing["certificateId"]},
    )

    assert result["resourceArns"] == {
        "certificate": existing["certificateArn"],
        "thing": f"{ARN_PREFIX}thing/MyLightBulb",
    }
    assert result["certificatePem"] == existing["certificatePem"]
    assert _attached_policies(client, existing["certificateArn"]) == ["MyIotPolicy"]
    assert _thing(client, "MyLightBulb") == {
        "attributes": {},
        "type": "VirtualThings",
        "groups": [],
        "principals": [existing["certificateArn"]],
    }
    assert [p["policyName"] for p in client.list_policies()["policies"]] == ["MyIotPolicy"]


# ---------------------------------------------------------------- custom logical names


CUSTOM_TEMPLATE: dict[str, Any] = {
    "Parameters": {"Name": {"Type": "String"}, "Csr": {"Type": "String"}},
    "Resources": {
        "MyDevice": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "Name"}}},
        "DeviceCert": {
            "Type": "AWS::IoT::Certificate",
            "Properties": {"CertificateSigningRequest": {"Ref": "Csr"}},
        },
        "InlinePolicy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": json.loads(ALLOW_ALL)}},
    },
}


def test_custom_logical_names_key_the_resource_arns_and_the_policy_is_reused(client: Any) -> None:
    first = client.register_thing(
        templateBody=_body(CUSTOM_TEMPLATE),
        parameters={"Name": "dev-1", "Csr": make_csr(subject_name("1"))[0]},
    )
    second = client.register_thing(
        templateBody=_body(CUSTOM_TEMPLATE),
        parameters={"Name": "dev-2", "Csr": make_csr(subject_name("2"))[0]},
    )

    for number, result in ((1, first), (2, second)):
        arns = result["resourceArns"]
        assert set(arns) == {"MyDevice", "DeviceCert", "InlinePolicy"}
        assert arns["MyDevice"] == f"{ARN_PREFIX}thing/dev-{number}"
        assert arns["DeviceCert"].startswith(f"{ARN_PREFIX}cert/")
        assert GENERATED_POLICY_ARN.fullmatch(arns["InlinePolicy"])
    assert first["resourceArns"]["InlinePolicy"] == second["resourceArns"]["InlinePolicy"]
    assert first["resourceArns"]["DeviceCert"] != second["resourceArns"]["DeviceCert"]
    policy_name = first["resourceArns"]["InlinePolicy"].rsplit("/", 1)[1]
    assert [p["policyName"] for p in client.list_policies()["policies"]] == [policy_name]
    targets = client.list_targets_for_policy(policyName=policy_name)["targets"]
    assert sorted(targets) == sorted(
        [first["resourceArns"]["DeviceCert"], second["resourceArns"]["DeviceCert"]]
    )


def test_template_without_certificate_has_no_certificate_pem(client: Any) -> None:
    template = {"Resources": {"Lamp": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "lamp"}}}}

    result = client.register_thing(templateBody=_body(template))

    assert "certificatePem" not in result
    assert result["resourceArns"] == {"Lamp": f"{ARN_PREFIX}thing/lamp"}
    assert _thing(client, "lamp")["principals"] == []
