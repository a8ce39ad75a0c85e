"""Resource rules of the template engine, the plan it produces, and AWS's sample templates."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import pytest

from mock_iotprov.provisioning.engine import (
    CertificateSpec,
    PolicySpec,
    ProvisioningPlan,
    TemplateError,
    ThingSpec,
    check_template,
    evaluate_template,
    generated_policy_name,
)

POLICY_OBJECT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["iot:Connect"],
            "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"],
        }
    ],
}


def resources_body(resources: dict[str, Any], **sections: Any) -> str:
    return json.dumps({"Resources": resources, **sections})


def thing(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Type": "AWS::IoT::Thing", "Properties": properties, **extra}


def certificate(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Type": "AWS::IoT::Certificate", "Properties": properties, **extra}


def policy(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Type": "AWS::IoT::Policy", "Properties": properties, **extra}


def stored_error(resources: dict[str, Any], **sections: Any) -> str:
    with pytest.raises(TemplateError) as caught:
        check_template(resources_body(resources, **sections))
    return caught.value.message


def evaluation_error(resources: dict[str, Any], parameters: dict[str, str], **sections: Any) -> str:
    with pytest.raises(TemplateError) as caught:
        evaluate_template(resources_body(resources, **sections), parameters)
    return caught.value.message


def plan_of(resources: dict[str, Any], parameters: dict[str, str] | None = None) -> ProvisioningPlan:
    return evaluate_template(resources_body(resources), parameters or {})


# --- resource declarations ----------------------------------------------------------------------


def test_unknown_resource_key_is_rejected() -> None:
    message = stored_error({"thing": thing({"ThingName": "t"}, Condition="IsProd")})
    assert message.startswith("Unsupported key Condition in resource thing")


@pytest.mark.parametrize("resource_type", ["AWS::S3::Bucket", "AWS::IoT::ThingGroup", "aws::iot::thing"])
def test_unknown_resource_type_is_named(resource_type: str) -> None:
    message = stored_error({"bucket": {"Type": resource_type, "Properties": {}}})
    assert message == f"Unsupported resource type {resource_type} for resource bucket"


@pytest.mark.parametrize("declaration", [{"Properties": {}}, {"Type": 1}, {"Type": {"Ref": "T"}}])
def test_resource_type_must_be_a_literal_string(declaration: dict[str, Any]) -> None:
    assert stored_error({"r": declaration}).startswith("Type of resource r must be a string")


@pytest.mark.parametrize("declaration", ["AWS::IoT::Thing", [], None])
def test_resource_must_be_an_object(declaration: Any) -> None:
    assert stored_error({"r": declaration}) == "Resource r must be a JSON object"


@pytest.mark.parametrize("part", ["Properties", "OverrideSettings"])
def test_properties_and_override_settings_must_be_objects(part: str) -> None:
    declaration = {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "t"}, part: ["x"]}
    assert stored_error({"thing": declaration}) == f"{part} of resource thing must be a JSON object"


def test_at_most_one_thing_and_one_certificate() -> None:
    two_things = {"a": thing({"ThingName": "a"}), "b": thing({"ThingName": "b"})}
    assert "at most one AWS::IoT::Thing resource; found a and b" in stored_error(two_things)
    two_certs = {"c1": certificate({"CertificateId": "x"}), "c2": certificate({"CertificateId": "y"})}
    assert "at most one AWS::IoT::Certificate resource" in stored_error(two_certs)


def test_any_number_of_policies_in_template_order() -> None:
    plan = plan_of({"p2": policy({"PolicyName": "second"}), "p1": policy({"PolicyName": "first"})})
    assert [p.policy_name for p in plan.policies] == ["second", "first"]


@pytest.mark.parametrize(
    ("declaration", "resource_type"),
    [
        (thing({"ThingName": "t", "Tags": []}), "AWS::IoT::Thing"),
        (certificate({"CertificateId": "x", "Tags": []}), "AWS::IoT::Certificate"),
        (policy({"PolicyName": "p", "Tags": []}), "AWS::IoT::Policy"),
    ],
)
def test_unknown_property_is_named(declaration: dict[str, Any], resource_type: str) -> None:
    assert stored_error({"r": declaration}) == f"Unsupported property Tags in resource r ({resource_type})"


# --- things ------------------------------------------------------------------------------------


def test_thing_with_every_property() -> None:
    plan = plan_of(
        {
            "device": thing(
                {
                    "ThingName": {"Ref": "Name"},
                    "AttributePayload": {"version": "v1", "serial": {"Ref": "Serial"}},
                    "ThingTypeName": "sensor",
                    "ThingGroups": ["all", {"Ref": "Group"}],
                    "BillingGroup": "cheap",
                    "PackageVersions": {"firmware": "1.2.3"},
                }
            )
        },
        {"Name": "dev-1", "Serial": "s-1", "Group": "g"},
    )
    assert plan.thing == ThingSpec(
        logical_id="device",
        thing_name="dev-1",
        attribute_payload={"version": "v1", "serial": "s-1"},
        thing_type_name="sensor",
        thing_groups=("all", "g"),
        billing_group="cheap",
        package_versions={"firmware": "1.2.3"},
        overrides={},
    )
    assert plan.certificate is None and plan.policies == ()


def test_thing_absent_properties_are_none_and_empty_payload_is_kept() -> None:
    plan = plan_of({"thing": thing({"ThingName": "t", "AttributePayload": {}})})
    assert plan.thing is not None
    assert plan.thing.attribute_payload == {}
    assert plan.thing.thing_type_name is None
    assert plan.thing.thing_groups is None
    assert plan.thing.billing_group is None
    assert plan.thing.package_versions is None


def test_thing_name_is_required_and_non_empty() -> None:
    assert stored_error({"thing": thing({})}) == "Resource thing (AWS::IoT::Thing) requires ThingName"
    assert "ThingName of resource thing must not be empty" in stored_error(
        {"thing": thing({"ThingName": ""})}
    )
    message = evaluation_error({"thing": thing({"ThingName": {"Ref": "N"}})}, {"N": ""})
    assert "must not be empty" in message


def test_thing_without_properties_section_needs_a_name() -> None:
    assert "requires ThingName" in stored_error({"thing": {"Type": "AWS::IoT::Thing"}})


@pytest.mark.parametrize(
    ("properties", "fragment"),
    [
        ({"ThingName": ["a"]}, "Property ThingName of resource thing must be a string, got a list"),
        ({"ThingName": 7}, "ThingName of resource thing must be a string, got a number"),
        ({"ThingName": "t", "ThingTypeName": {}}, "ThingTypeName of resource thing must be a string"),
        (
            {"ThingName": "t", "BillingGroup": None},
            "BillingGroup of resource thing must be a string, got null",
        ),
        ({"ThingName": "t", "ThingGroups": "g"}, "ThingGroups of resource thing must be a list of strings"),
        ({"ThingName": "t", "ThingGroups": ["g", 1]}, "a list of strings (at item 1), got a number"),
        ({"ThingName": "t", "AttributePayload": "a"}, "AttributePayload of resource thing must be an object"),
        ({"ThingName": "t", "AttributePayload": {"a": 1}}, "an object of strings (at key a), got a number"),
        ({"ThingName": "t", "AttributePayload": {"a": {"b": "c"}}}, "(at key a), got an object"),
        ({"ThingName": "t", "PackageVersions": "1.0"}, "PackageVersions of resource thing must be an object"),
    ],
)
def test_thing_literal_property_types_are_checked_when_stored(
    properties: dict[str, Any], fragment: str
) -> None:
    assert fragment in stored_error({"thing": thing(properties)})


def test_thing_property_types_are_checked_after_evaluation() -> None:
    split_name = {"ThingName": {"Fn::Split": [",", {"Ref": "N"}]}}
    check_template(resources_body({"thing": thing(split_name)}))
    message = evaluation_error({"thing": thing(split_name)}, {"N": "a,b"})
    assert "Property ThingName of resource thing must be a string, got a list" in message
    joined_groups = {"ThingName": "t", "ThingGroups": {"Fn::Join": [",", ["a", "b"]]}}
    message = evaluation_error({"thing": thing(joined_groups)}, {})
    assert "ThingGroups of resource thing must be a list of strings, got the string 'a,b'" in message


@pytest.mark.parametrize(
    ("properties", "name"),
    [
        ({"ThingName": "t", "AttributePayload": {"serial": {"Ref": "Serial"}}}, "AttributePayload"),
        ({"ThingName": "t", "ThingGroups": ["a", {"Ref": "Serial"}]}, "ThingGroups"),
        ({"ThingName": "t", "ThingTypeName": {"Fn::Sub": "type-${Serial}"}}, "ThingTypeName"),
    ],
)
def test_unresolved_parameter_anywhere_in_a_property_is_an_error(
    properties: dict[str, Any], name: str
) -> None:
    declared = {"Serial": {"Type": "String"}}
    check_template(resources_body({"thing": thing(properties)}, Parameters=declared))
    message = evaluation_error({"thing": thing(properties)}, {}, Parameters=declared)
    assert f"Parameter Serial has no value and no Default (needed by property {name}" in message


# --- thing OverrideSettings ------------------------------------------------------------------------


def test_thing_override_settings_are_normalised() -> None:
    settings = {"ATTRIBUTE_PAYLOAD": "merge", "ThingTypeName": "Replace", "THING_GROUPS": "do_nothing"}
    plan = plan_of({"thing": thing({"ThingName": "t"}, OverrideSettings=settings)})
    assert plan.thing is not None
    assert plan.thing.overrides == {
        "AttributePayload": "MERGE",
        "ThingTypeName": "REPLACE",
        "ThingGroups": "DO_NOTHING",
    }


@pytest.mark.parametrize("action", ["MERGE", "REPLACE", "DO_NOTHING", "FAIL"])
def test_each_action_is_accepted_for_thing_groups(action: str) -> None:
    plan = plan_of({"thing": thing({"ThingName": "t"}, OverrideSettings={"ThingGroups": action})})
    assert plan.thing is not None and plan.thing.overrides == {"ThingGroups": action}


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"ThingTypeName": "MERGE"}, "MERGE is only allowed for AttributePayload and ThingGroups"),
        ({"THING_TYPE_NAME": "merge"}, "MERGE is only allowed"),
        ({"BillingGroup": "REPLACE"}, "Unsupported OverrideSettings key BillingGroup in resource thing"),
        ({"ThingName": "REPLACE"}, "Unsupported OverrideSettings key ThingName"),
        ({"AttributePayload": "OVERWRITE"}, "must be one of MERGE, REPLACE, DO_NOTHING, FAIL"),
        (
            {"AttributePayload": {"Ref": "Action"}},
            "must be one of MERGE, REPLACE, DO_NOTHING, FAIL, got an object",
        ),
        ({"AttributePayload": "REPLACE", "ATTRIBUTE_PAYLOAD": "MERGE"}, "set AttributePayload twice"),
    ],
)
def test_bad_thing_override_settings(settings: dict[str, Any], fragment: str) -> None:
    assert fragment in stored_error({"thing": thing({"ThingName": "t"}, OverrideSettings=settings)})


# --- certificates ----------------------------------------------------------------------------------


def test_certificate_by_id_defaults() -> None:
    plan = plan_of({"cert": certificate({"CertificateId": {"Ref": "Id"}})}, {"Id": "a" * 64})
    assert plan.certificate == CertificateSpec(
        logical_id="cert",
        certificate_id="a" * 64,
        certificate_signing_request=None,
        certificate_pem=None,
        ca_certificate_pem=None,
        status="ACTIVE",
        status_override=None,
        thing_principal_type=None,
    )


def test_certificate_from_pem_with_ca_status_and_principal_type() -> None:
    properties = {
        "CertificatePem": "-----BEGIN CERTIFICATE-----",
        "CACertificatePem": "-----BEGIN CA-----",
        "Status": "inactive",
        "ThingPrincipalType": "EXCLUSIVE_THING",
    }
    plan = plan_of({"cert": certificate(properties, OverrideSettings={"Status": "fail"})})
    assert plan.certificate is not None
    assert plan.certificate.certificate_pem == "-----BEGIN CERTIFICATE-----"
    assert plan.certificate.ca_certificate_pem == "-----BEGIN CA-----"
    assert plan.certificate.status == "INACTIVE"
    assert plan.certificate.status_override == "FAIL"
    assert plan.certificate.thing_principal_type == "EXCLUSIVE_THING"


def test_certificate_from_csr() -> None:
    plan = plan_of({"cert": certificate({"CertificateSigningRequest": {"Ref": "CSR"}})}, {"CSR": "pem"})
    assert plan.certificate is not None
    assert plan.certificate.certificate_signing_request == "pem"
    assert plan.certificate.certificate_id is None


@pytest.mark.parametrize(
    ("properties", "found"),
    [
        ({}, "none"),
        ({"Status": "ACTIVE"}, "none"),
        (
            {"CertificateId": "x", "CertificateSigningRequest": "y"},
            "CertificateId, CertificateSigningRequest",
        ),
        ({"CertificateId": "x", "CertificatePem": "y"}, "CertificateId, CertificatePem"),
    ],
)
def test_certificate_needs_exactly_one_source(properties: dict[str, Any], found: str) -> None:
    message = stored_error({"cert": certificate(properties)})
    assert message == (
        "Resource cert (AWS::IoT::Certificate) must have exactly one of CertificateId,"
        f" CertificateSigningRequest, CertificatePem; found {found}"
    )


def test_ca_certificate_only_with_certificate_pem() -> None:
    message = stored_error({"cert": certificate({"CertificateId": "x", "CACertificatePem": "ca"})})
    assert message == "CACertificatePem of resource cert is only allowed together with CertificatePem"


@pytest.mark.parametrize(
    ("properties", "fragment"),
    [
        (
            {"CertificateId": "x", "Status": "PENDING_ACTIVATION"},
            "Status of resource cert must be one of ACTIVE, INACTIVE",
        ),
        ({"CertificateId": "x", "Status": "act\u0131ve"}, "Status of resource cert must be one of"),
        ({"CertificateId": "x", "Status": 1}, "Status of resource cert must be a string"),
        (
            {"CertificateId": "x", "ThingPrincipalType": "exclusive_thing"},
            "must be one of EXCLUSIVE_THING, NON_EXCLUSIVE_THING",
        ),
        ({"CertificateId": ["x"]}, "CertificateId of resource cert must be a string, got a list"),
    ],
)
def test_bad_certificate_properties(properties: dict[str, Any], fragment: str) -> None:
    assert fragment in stored_error({"cert": certificate(properties)})


def test_certificate_status_from_parameter_is_checked_at_evaluation() -> None:
    resources = {"cert": certificate({"CertificateId": "x", "Status": {"Ref": "S"}})}
    check_template(resources_body(resources))
    assert "must be one of ACTIVE, INACTIVE, got the string 'ON'" in evaluation_error(resources, {"S": "ON"})
    plan = plan_of(resources, {"S": "Inactive"})
    assert plan.certificate is not None and plan.certificate.status == "INACTIVE"


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"Status": "MERGE"}, "must be one of DO_NOTHING, REPLACE, FAIL, got the string 'MERGE'"),
        (
            {"AttributePayload": "REPLACE"},
            "Unsupported OverrideSettings key AttributePayload in resource cert; only Status",
        ),
        ({"STATUS": "REPLACE"}, "Unsupported OverrideSettings key STATUS"),
    ],
)
def test_bad_certificate_override_settings(settings: dict[str, Any], fragment: str) -> None:
    declaration = certificate({"CertificateId": "x"}, OverrideSettings=settings)
    assert fragment in stored_error({"cert": declaration})


# --- policies --------------------------------------------------------------------------------------


def test_policy_by_name_is_a_reference() -> None:
    plan = plan_of({"policy": policy({"PolicyName": {"Ref": "P"}})}, {"P": "DevicePolicy"})
    assert plan.policies == (PolicySpec("policy", "DevicePolicy", None),)


def test_policy_document_object_is_compacted_and_named_by_its_hash() -> None:
    plan = plan_of({"policy": policy({"PolicyDocument": POLICY_OBJECT})})
    text = json.dumps(POLICY_OBJECT, separators=(",", ":"))
    assert plan.policies == (PolicySpec("policy", generated_policy_name(text), text),)
    assert "${iot:Connection.Thing.ThingName}" in text


def test_policy_document_string_is_kept_verbatim() -> None:
    text = (
        '{ "Version": "2012-10-17",\r\n'
        '  "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}] }'
    )
    plan = plan_of({"policy": policy({"PolicyDocument": text})})
    assert plan.policies == (PolicySpec("policy", generated_policy_name(text), text),)


def test_policy_document_object_may_contain_functions() -> None:
    document = {
        "Statement": [{"Effect": "Allow", "Resource": {"Fn::Sub": "arn:${Region}:x/${iot:ClientId}"}}]
    }
    plan = plan_of({"policy": policy({"PolicyDocument": document})}, {"Region": "eu"})
    assert (
        plan.policies[0].policy_document
        == '{"Statement":[{"Effect":"Allow","Resource":"arn:eu:x/${iot:ClientId}"}]}'
    )


def test_policy_document_built_by_a_function_is_a_string_document() -> None:
    node = {"Fn::Join": ["", ['{"Statement": [{"Resource": "', {"Ref": "R"}, '"}]}']]}
    plan = plan_of({"policy": policy({"PolicyDocument": node})}, {"R": "*"})
    assert plan.policies[0].policy_document == '{"Statement": [{"Resource": "*"}]}'


def test_policy_needs_name_or_document_with_aws_message() -> None:
    assert stored_error({"policy": policy({})}) == (
        "Invalid registration template. Neither policyName nor policyDocument is present in the Template."
    )


def test_policy_with_both_name_and_document_is_rejected() -> None:
    message = stored_error({"policy": policy({"PolicyName": "p", "PolicyDocument": POLICY_OBJECT})})
    assert message == (
        "Resource policy (AWS::IoT::Policy) must have exactly one of PolicyName and PolicyDocument,"
        " not both"
    )


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("not json", "Expecting value"),
        ('{"Version": "2012-10-17"}', "it has no Statement"),
        ("[1]", "expected a JSON object, got a list"),
        ({"Version": "2012-10-17"}, "it has no Statement"),
        (["Statement"], "expected a JSON object, got a list"),
        (42, "expected a JSON object, got a number"),
        ('{"Statement": NaN}', "NaN is not a JSON value"),
    ],
)
def test_invalid_policy_documents(document: Any, reason: str) -> None:
    message = stored_error({"pol": policy({"PolicyDocument": document})})
    assert message.startswith("Policy document of pol is not a valid policy: ")
    assert reason in message


def test_policy_document_from_unresolved_parameter_is_an_error() -> None:
    resources = {"pol": policy({"PolicyDocument": {"Statement": [{"Resource": {"Ref": "R"}}]}})}
    declared = {"R": {"Type": "String"}}
    check_template(resources_body(resources, Parameters=declared))
    message = evaluation_error(resources, {}, Parameters=declared)
    assert (
        "Parameter R has no value and no Default (needed by property PolicyDocument of resource pol)"
        in message
    )


def test_policy_name_must_be_a_non_empty_string() -> None:
    assert "PolicyName of resource pol must be a string" in stored_error(
        {"pol": policy({"PolicyName": ["p"]})}
    )
    assert "PolicyName of resource pol must not be empty" in stored_error({"pol": policy({"PolicyName": ""})})


def test_policy_rejects_override_settings() -> None:
    declaration = policy({"PolicyName": "p"}, OverrideSettings={})
    assert (
        stored_error({"pol": declaration})
        == "Resource pol (AWS::IoT::Policy) does not support OverrideSettings"
    )


def test_generated_policy_name_is_upper_case_sha1_of_utf8_text() -> None:
    document = '{"Statement":"\u00e9"}'
    expected = hashlib.sha1(document.encode("utf-8")).hexdigest().upper()
    assert generated_policy_name(document) == expected
    assert len(expected) == 40 and expected == expected.upper()
    assert generated_policy_name(document + " ") != expected


# --- the plan --------------------------------------------------------------------------------------


def test_plan_is_frozen() -> None:
    plan = plan_of({"thing": thing({"ThingName": "t"})})
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.thing = None  # type: ignore[misc]
    assert plan.thing is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.thing.thing_name = "other"  # type: ignore[misc]


def test_evaluating_twice_gives_equal_independent_plans() -> None:
    resources = {"thing": thing({"ThingName": "t", "AttributePayload": {"a": "b"}})}
    first, second = plan_of(resources), plan_of(resources)
    assert first == second
    assert first.thing is not None and second.thing is not None
    assert first.thing.attribute_payload is not second.thing.attribute_payload


# --- AWS sample templates --------------------------------------------------------------------------

# The fleet-provisioning template used with the AWS IoT Device SDK samples (developer guide,
# "Provisioning templates" / fleet provisioning by claim).
FLEET_PROVISIONING_SAMPLE = """
{
    "Parameters": {
        "ThingName": {"Type": "String"},
        "SerialNumber": {"Type": "String"},
        "DeviceLocation": {"Type": "String"},
        "AWS::IoT::Certificate::Id": {"Type": "String"}
    },
    "Mappings": {
        "LocationTable": {
            "Seattle": {"LocationUrl": "https://example.aws"}
        }
    },
    "Resources": {
        "thing": {
            "Type": "AWS::IoT::Thing",
            "Properties": {
                "ThingName": {"Fn::Join": ["", ["ThingPrefix_", {"Ref": "ThingName"}]]},
                "AttributePayload": {"version": "v1", "serialNumber": {"Ref": "SerialNumber"}},
                "ThingGroups": ["v1-lightbulbs", {"Ref": "DeviceLocation"}]
            },
            "OverrideSettings": {
                "AttributePayload": "MERGE",
                "ThingTypeName": "REPLACE",
                "ThingGroups": "DO_NOTHING"
            }
        },
        "certificate": {
            "Type": "AWS::IoT::Certificate",
            "Properties": {
                "CertificateId": {"Ref": "AWS::IoT::Certificate::Id"},
                "Status": "Active"
            },
            "OverrideSettings": {"Status": "REPLACE"}
        },
        "policy": {
            "Type": "AWS::IoT::Policy",
            "Properties": {
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Action": ["iot:Publish"],
                        "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/foo/bar"]
                    }]
                }
            }
        }
    },
    "DeviceConfiguration": {
        "FallbackUrl": "https://www.example.com/test-site",
        "LocationUrl": {"Fn::FindInMap": ["LocationTable", {"Ref": "DeviceLocation"}, "LocationUrl"]}
    }
}
"""


def test_fleet_provisioning_sample_template() -> None:
    check_template(FLEET_PROVISIONING_SAMPLE)
    cert_id = "4f0ba725787aa94d67d2fca420eca022242532e8b3c58e7465c7778b443fd65e"
    plan = evaluate_template(
        FLEET_PROVISIONING_SAMPLE,
        {
            "ThingName": "lightbulb-7",
            "SerialNumber": "SN-7",
            "DeviceLocation": "Seattle",
            "AWS::IoT::Certificate::Id": cert_id,
        },
    )
    assert plan.thing == ThingSpec(
        logical_id="thing",
        thing_name="ThingPrefix_lightbulb-7",
        attribute_payload={"version": "v1", "serialNumber": "SN-7"},
        thing_type_name=None,
        thing_groups=("v1-lightbulbs", "Seattle"),
        billing_group=None,
        package_versions=None,
        overrides={"AttributePayload": "MERGE", "ThingTypeName": "REPLACE", "ThingGroups": "DO_NOTHING"},
    )
    assert plan.certificate == CertificateSpec(
        logical_id="certificate",
        certificate_id=cert_id,
        certificate_signing_request=None,
        certificate_pem=None,
        ca_certificate_pem=None,
        status="ACTIVE",
        status_override="REPLACE",
        thing_principal_type=None,
    )
    document = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Publish"],'
        '"Resource":["arn:aws:iot:us-east-1:123456789012:topic/foo/bar"]}]}'
    )
    assert plan.policies == (PolicySpec("policy", generated_policy_name(document), document),)
    assert plan.device_configuration == {
        "FallbackUrl": "https://www.example.com/test-site",
        "LocationUrl": "https://example.aws",
    }


def test_fleet_sample_without_device_location_fails_on_thing_groups() -> None:
    with pytest.raises(TemplateError) as caught:
        evaluate_template(
            FLEET_PROVISIONING_SAMPLE,
            {"ThingName": "x", "SerialNumber": "s", "AWS::IoT::Certificate::Id": "c"},
        )
    assert "Parameter DeviceLocation has no value and no Default" in caught.value.message


# The CLI create-provisioning-template example refs SerialNumber and the certificate id without
# declaring them, and references an existing policy by name.
CLI_EXAMPLE = {
    "Parameters": {"DeviceLocation": {"Type": "String"}},
    "Mappings": {"LocationTable": {"Seattle": {"LocationUrl": "https://example.aws"}}},
    "Resources": {
        "thing": {
            "Type": "AWS::IoT::Thing",
            "Properties": {
                "AttributePayload": {"version": "v1", "serialNumber": "serialNumber"},
                "ThingName": {"Fn::Join": ["", ["ThingPrefix_", {"Ref": "SerialNumber"}]]},
                "ThingTypeName": {"Fn::Join": ["", ["ThingTypePrefix_", {"Ref": "SerialNumber"}]]},
                "ThingGroups": ["widgets", "WA"],
                "BillingGroup": "BillingGroup",
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
        },
        "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "MyPolicy"}},
    },
    "DeviceConfiguration": {"FallbackUrl": "https://www.example.com/test-site"},
}


def test_cli_example_with_undeclared_but_supplied_parameters() -> None:
    text = json.dumps(CLI_EXAMPLE)
    check_template(text)
    plan = evaluate_template(text, {"SerialNumber": "9", "AWS::IoT::Certificate::Id": "c" * 64})
    assert plan.thing is not None and plan.thing.thing_name == "ThingPrefix_9"
    assert plan.thing.thing_type_name == "ThingTypePrefix_9"
    assert plan.policies == (PolicySpec("policy", "MyPolicy", None),)
    with pytest.raises(TemplateError, match="Ref to undeclared parameter: SerialNumber"):
        evaluate_template(text, {"AWS::IoT::Certificate::Id": "c" * 64})
