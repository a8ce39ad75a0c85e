"""RegisterThing end to end: every failure is all or nothing.

Each case starts from a full template (a new thing with type, group and billing group, a certificate from a
CSR, a generated policy and a named policy), breaks one thing, and checks the error code, the HTTP status and
that a snapshot of the registry taken through boto3 is the same before and after the call.
"""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

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

INVALID = "InvalidRequestException"
FAILURE = "ResourceRegistrationFailureException"
WORKFLOW_FAILURE = "Register thing workflow execution terminates due to: "
NO_POLICY_SOURCE = (
    "Invalid registration template. Neither policyName nor policyDocument is present in the Template."
)
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}


def full_template() -> dict[str, Any]:
    """A template that succeeds on the prepared registry and touches every kind of resource."""
    return {
        "Parameters": {
            "ThingName": {"Type": "String"},
            "CSR": {"Type": "String"},
            "Location": {"Type": "String", "Default": "Seattle"},
        },
        "Mappings": {"Sites": {"Seattle": {"Group": "g1"}}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Ref": "ThingName"},
                    "ThingTypeName": "TypeA",
                    "ThingGroups": [{"Fn::FindInMap": ["Sites", {"Ref": "Location"}, "Group"]}],
                    "BillingGroup": "bill-1",
                    "AttributePayload": {"version": "v1"},
                },
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateSigningRequest": {"Ref": "CSR"}, "Status": "ACTIVE"},
            },
            "inline": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": ALLOW_ALL}},
            "named": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "NamedPolicy"}},
        },
    }


@dataclass
class World:
    """The prepared registry: what the cases refer to."""

    client: Any
    active_certificate_id: str
    revoked_certificate_id: str
    ca: TestCertificateAuthority



@pytest.fixture
def world(iot_provisioning: MockIotProvisioning) -> World:
    client = iot_client()
    client.create_thing_type(thingTypeName="TypeA")
    client.create_thing_type(thingTypeName="OldType")
    client.deprecate_thing_type(thingTypeName="OldType")
    for group in ("g1", "g2"):
        client.create_thing_group(thingGroupName=group)
    client.create_billing_group(billingGroupName="bill-1")
    client.create_policy(policyName="NamedPolicy", policyDocument=json.dumps(ALLOW_ALL))
    client.create_thing(thingName="Existing", attributePayload={"attributes": {"a": "1"}})
    client.add_thing_to_thing_group(thingGroupName="g2", thingName="Existing")
    active = client.create_keys_and_certificate(setAsActive=True)
    client.attach_thing_principal(thingName="Existing", principal=active["certificateArn"])
    client.attach_policy(policyName="NamedPolicy", target=active["certificateArn"])
    revoked = client.create_keys_and_certificate(setAsActive=True)
    client.update_certificate(certificateId=revoked["certificateId"], newStatus="REVOKED")
    ca = TestCertificateAuthority.create()
    ca.register(client)
    return World(client, active["certificateId"], revoked["certificateId"], ca)


Case = Callable[[World, dict[str, Any], dict[str, str]], "str | None"]
"""Breaks the template or the parameters in place; may return a raw templateBody to send instead."""


def _resources(template: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = template["Resources"]
    return resources


def _thing(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = _resources(template)["thing"]["Properties"]
    return properties


def _certificate_source(template: dict[str, Any], **properties: Any) -> None:
    _resources(template)["certificate"]["Properties"] = properties


def _other_ca_certificate(world: World, template: dict[str, Any], parameters: dict[str, str]) -> None:
    stranger = TestCertificateAuthority.create("Unregistered CA").issue(subject_name("dev"))
    _certificate_source(template, CertificatePem=pem_text(stranger))


def _expired_certificate(world: World, template: dict[str, Any], parameters: dict[str, str]) -> None:
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)
    expired = world.ca.issue(subject_name("dev"), not_before=start, lifetime=datetime.timedelta(days=1))
    _certificate_source(template, CertificatePem=pem_text(expired))


def _csr_of(key: Any) -> Case:
    def case(world: World, template: dict[str, Any], parameters: dict[str, str]) -> None:
        parameters["CSR"] = make_csr(subject_name("dev"), key)[0]

    return case


def _fail_override(world: World, template: dict[str, Any], parameters: dict[str, str]) -> None:
    parameters["ThingName"] = "Existing"
    _resources(template)["thing"]["OverrideSettings"] = {"AttributePayload": "FAIL"}


def _too_many_groups(world: World, template: dict[str, Any], parameters: dict[str, str]) -> None:
    names = [f"many-{n}" for n in range(11)]
    for name in names:
        world.client.create_thing_group(thingGroupName=name)
    _thing(template)["ThingGroups"] = names


def _exclusive_elsewhere(world: World, template: dict[str, Any], parameters: dict[str, str]) -> None:
    _certificate_source(
        template, CertificateId=world.active_certificate_id, ThingPrincipalType="EXCLUSIVE_THING"
    )


def _too_many_attributes(world: World, template: dict[str, Any], parameters: dict[str, str]) -> None:
    del _thing(template)["ThingTypeName"]
    _thing(template)["AttributePayload"] = {"a": "1", "b": "2", "c": "3", "d": "4"}


def _no_thing_name_value(world: World, template: dict[str, Any], parameters: dict[str, str]) -> None:
    del parameters["ThingName"]


def _long_body(world: World, template: dict[str, Any], parameters: dict[str, str]) -> str:
    body = json.dumps(template)
    return body + " " * (10_241 - len(body))


# (case id, how to break the template, expected code, a text the message must contain)
CASES: list[tuple[str, Case, str, str]] = [
    (
        "missing thing type",
        lambda w, t, p: _thing(t).update(ThingTypeName="NoSuchType"),
        FAILURE,
        WORKFLOW_FAILURE + "Thing Type 123456789012:NoSuchType not found.",
    ),
    ("deprecated thing type", lambda w, t, p: _thing(t).update(ThingTypeName="OldType"), FAILURE, "OldType"),
    ("missing thing group", lambda w, t, p: _thing(t).update(ThingGroups=["g1", "nope"]), FAILURE, "nope"),
    ("missing billing group", lambda w, t, p: _thing(t).update(BillingGroup="nobill"), FAILURE, "nobill"),
    (
        "missing PolicyName",
        lambda w, t, p: _resources(t)["named"]["Properties"].update(PolicyName="NoSuchPolicy"),
        FAILURE,
        "NoSuchPolicy",
    ),
    (
        "unknown CertificateId",
        lambda w, t, p: _certificate_source(t, CertificateId="ab" * 32),
        FAILURE,
        "abab",
    ),
    (
        "CSR garbage",
        lambda w, t, p: p.update(CSR="-----BEGIN CERTIFICATE REQUEST-----\nxx"),
        INVALID,
        "CertificateSigningRequest",
    ),
    ("CSR with an Ed25519 key", _csr_of(ed25519.Ed25519PrivateKey.generate()), INVALID, ""),
    ("CSR with a short RSA key", _csr_of(rsa.generate_private_key(65537, 1024)), INVALID, "2048"),
    ("CertificatePem of an unregistered CA", _other_ca_certificate, FAILURE, "CA"),
    ("CertificatePem expired", _expired_certificate, FAILURE, "expired"),
    ("CertificatePem garbage", lambda w, t, p: _certificate_source(t, CertificatePem="garbage"), INVALID, ""),
    (
        "REVOKED certificate",
        lambda w, t, p: _certificate_source(t, CertificateId=w.revoked_certificate_id),
        FAILURE,
        "REVOKED",
    ),
    ("FAIL override", _fail_override, FAILURE, "Existing"),
    ("more than 10 groups", _too_many_groups, FAILURE, "10"),
    ("exclusive attachment of a shared certificate", _exclusive_elsewhere, FAILURE, ""),
    ("ThingName with a space", lambda w, t, p: p.update(ThingName="bad name"), INVALID, "bad name"),
    ("ThingName too long", lambda w, t, p: p.update(ThingName="x" * 129), INVALID, "ThingName"),
    (
        "attribute value with a space",
        lambda w, t, p: _thing(t).update(AttributePayload={"k": "a b"}),
        INVALID,
        "k",
    ),
    (
        "attribute name with a space",
        lambda w, t, p: _thing(t).update(AttributePayload={"a b": "v"}),
        INVALID,
        "a b",
    ),
    (
        "attribute value too long",
        lambda w, t, p: _thing(t).update(AttributePayload={"k": "v" * 801}),
        INVALID,
        "k",
    ),
    (
        "too many attributes without a type",
        _too_many_attributes,
        INVALID,
        "3",
    ),
    (
        "malformed policy document",
        lambda w, t, p: _resources(t)["inline"]["Properties"].update(
            PolicyDocument={"Statement": [{"Effect": "Maybe"}]}
        ),
        INVALID,
        "inline",
    ),
    (
        "Ref to an undeclared parameter",
        lambda w, t, p: _thing(t).update(ThingName={"Ref": "Nope"}),
        INVALID,
        "Nope",
    ),
    ("declared parameter without a value", _no_thing_name_value, INVALID, "ThingName"),
    (
        "Fn::Select out of range",
        lambda w, t, p: _thing(t).update(ThingName={"Fn::Select": [5, ["a", "b"]]}),
        INVALID,
        "out of range",
    ),
    ("missing FindInMap key", lambda w, t, p: p.update(Location="Portland"), INVALID, "Portland"),
    ("Fn::If", lambda w, t, p: _thing(t).update(ThingName={"Fn::If": ["c", "a", "b"]}), INVALID, "Fn::If"),
    ("unknown section", lambda w, t, p: t.update(Outputs={}), INVALID, "Outputs"),
    (
        "unknown resource type",
        lambda w, t, p: _resources(t).update(topic={"Type": "AWS::IoT::TopicRule", "Properties": {}}),
        INVALID,
        "AWS::IoT::TopicRule",
    ),
    (
        "two things",
        lambda w, t, p: _resources(t).update(
            thing2={"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "t2"}}
        ),
        INVALID,
        "thing2",
    ),
    (
        "policy with neither name nor document",
        lambda w, t, p: _resources(t)["inline"].update(Properties={}),
        INVALID,
        NO_POLICY_SOURCE,
    ),
    ("body not JSON", lambda w, t, p: "{not json", INVALID, "JSON"),
    ("body not an object", lambda w, t, p: json.dumps([t]), INVALID, "object"),
    (
        "a list where a string is needed",
        lambda w, t, p: _thing(t).update(ThingName=["a", "b"]),
        INVALID,
        "ThingName",
    ),
    ("templateBody over 10,240 characters", _long_body, INVALID, "10240"),
    ("parameter value over 4,096 characters", lambda w, t, p: p.update(Other="v" * 4097), INVALID, "4096"),
]


def test_the_full_template_succeeds(world: World) -> None:
    """The base of every failure case is itself valid: each case fails because of its one change."""
    parameters = {"ThingName": "brand-new", "CSR": make_csr(subject_name("dev"))[0]}
    result = world.client.register_thing(templateBody=json.dumps(full_template()), parameters=parameters)
    assert set(result["resourceArns"]) == {"thing", "certificate", "inline"}
    assert world.client.describe_thing(thingName="brand-new")["billingGroupName"] == "bill-1"


@pytest.mark.parametrize(
    ("breakage", "code", "text"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_failure_changes_nothing(world: World, breakage: Case, code: str, text: str) -> None:
    template = full_template()
    parameters = {"ThingName": "brand-new", "CSR": make_csr(subject_name("dev"))[0]}
    raw_body = breakage(world, template, parameters)
    body = raw_body if isinstance(raw_body, str) else json.dumps(template)
    before = registry_snapshot(world.client)

    with pytest.raises(ClientError) as caught:
        world.client.register_thing(templateBody=body, parameters=parameters)

    error_code, status, message = error_of(caught)
    assert (error_code, status) == (code, 400), message
    assert text in message
    if code == FAILURE:
        assert message.startswith(WORKFLOW_FAILURE)
    assert registry_snapshot(world.client) == before


def test_missing_thing_type_message_is_exactly_the_aws_form(world: World) -> None:
    template = {
        "Resources": {
            "t": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "x", "ThingTypeName": "Nope"}}
        }
    }
    with pytest.raises(ClientError) as caught:
        world.client.register_thing(templateBody=json.dumps(template))
    assert error_of(caught) == (
        FAILURE,
        400,
        "Register thing workflow execution terminates due to: Thing Type 123456789012:Nope not found.",
    )


def test_policy_without_source_message_is_exact(world: World) -> None:
    template = {"Resources": {"p": {"Type": "AWS::IoT::Policy", "Properties": {}}}}
    with pytest.raises(ClientError) as caught:
        world.client.register_thing(templateBody=json.dumps(template))
    assert error_of(caught) == (INVALID, 400, NO_POLICY_SOURCE)


def test_failure_in_the_last_step_leaves_nothing(world: World) -> None:
    """Thing and CSR certificate are fine; the policy checked last is missing: no certificate, no thing."""
    template = copy.deepcopy(full_template())
    del _resources(template)["inline"]
    _resources(template)["named"]["Properties"]["PolicyName"] = "NotThere"
    parameters = {"ThingName": "brand-new", "CSR": make_csr(subject_name("dev"))[0]}
    certificates_before = world.client.list_certificates()["certificates"]
    before = registry_snapshot(world.client)

    with pytest.raises(ClientError) as caught:
        world.client.register_thing(templateBody=json.dumps(template), parameters=parameters)

    assert error_of(caught)[:2] == (FAILURE, 400)
    assert world.client.list_certificates()["certificates"] == certificates_before
    assert "brand-new" not in [t["thingName"] for t in world.client.list_things()["things"]]
    assert registry_snapshot(world.client) == before


def test_a_failed_registration_can_be_retried_after_the_fix(world: World) -> None:
    template = full_template()
    _resources(template)["named"]["Properties"]["PolicyName"] = "LatePolicy"
    parameters = {"ThingName": "retry", "CSR": make_csr(subject_name("dev"))[0]}
    with pytest.raises(ClientError):
        world.client.register_thing(templateBody=json.dumps(template), parameters=parameters)

    world.client.create_policy(policyName="LatePolicy", policyDocument=json.dumps(ALLOW_ALL))
    result = world.client.register_thing(templateBody=json.dumps(template), parameters=parameters)

    attached = world.client.list_attached_policies(target=result["resourceArns"]["certificate"])["policies"]
    assert sorted(p["policyName"] for p in attached) == sorted(
        ["LatePolicy", result["resourceArns"]["inline"].rsplit("/", 1)[1]]
    )
