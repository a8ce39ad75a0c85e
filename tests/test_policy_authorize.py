"""``handle.authorize``: the policies and variables of a connection gathered from the registry (default
versions, thing-group policies, the connection's thing, certificate fields) and the claim's scope."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning
from tests.device_support import create_template
from tests.helpers import make_csr, subject_name

ARN = "arn:aws:iot:us-east-1:123456789012:"


def policy(iot: Any, name: str, *statements: dict[str, Any]) -> str:
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    iot.create_policy(policyName=name, policyDocument=document)
    return name


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.fixture
def certificate(iot: Any) -> dict[str, Any]:
    created: dict[str, Any] = iot.create_keys_and_certificate(setAsActive=True)
    return created


def test_thing_name_variable_needs_client_id_equal_to_an_attached_thing(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    policy(iot, "device", allow("iot:Connect", ARN + "client/${iot:Connection.Thing.ThingName}"))
    iot.attach_policy(policyName="device", target=certificate["certificateArn"])
    iot.create_thing(thingName="lamp-1")
    iot.create_thing(thingName="lamp-2")
    cid = certificate["certificateId"]
    assert not iot_provisioning.authorize(cid, "iot:Connect", "lamp-1", client_id="lamp-1")  # not attached
    iot.attach_thing_principal(thingName="lamp-1", principal=certificate["certificateArn"])
    decision = iot_provisioning.authorize(cid, "iot:Connect", "lamp-1", client_id="lamp-1")
    assert decision.allowed
    assert decision.statement is not None
    assert (decision.statement.policy_name, decision.statement.policy_version) == ("device", "1")
    other = iot_provisioning.authorize(cid, "iot:Connect", "lamp-2", client_id="lamp-2")
    assert not other.allowed
    assert other.unresolved_variables == ("iot:Connection.Thing.ThingName",)
    # the client id defaults to the one thing the certificate is attached to
    assert iot_provisioning.authorize(cid, "Connect", "lamp-1").allowed


def test_exclusive_thing_is_the_connection_thing_whatever_the_client_id(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    policy(iot, "device", allow("iot:Publish", ARN + "topic/${iot:Connection.Thing.ThingName}/*"))
    iot.attach_policy(policyName="device", target=certificate["certificateArn"])
    iot.create_thing(thingName="meter")
    iot.attach_thing_principal(
        thingName="meter", principal=certificate["certificateArn"], thingPrincipalType="EXCLUSIVE_THING"
    )
    cid = certificate["certificateId"]
    assert iot_provisioning.authorize(cid, "iot:Publish", "meter/reading", client_id="another-id").allowed


def test_is_attached_follows_the_client_id_and_the_certificates_things(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    # AWS's thing-policy example: connect only when the certificate is attached to the thing evaluated.
    is_attached = {"Bool": {"iot:Connection.Thing.IsAttached": ["true"]}}
    policy(iot, "attached-only", allow("iot:Connect", "*", Condition=is_attached))
    iot.attach_policy(policyName="attached-only", target=certificate["certificateArn"])
    iot.create_thing(thingName="door")
    iot.create_thing(thingName="window")
    iot.attach_thing_principal(thingName="door", principal=certificate["certificateArn"])
    cid = certificate["certificateId"]
    assert iot_provisioning.authorize(cid, "iot:Connect", "door", client_id="door").allowed
    assert not iot_provisioning.authorize(cid, "iot:Connect", "window", client_id="window").allowed
    assert not iot_provisioning.authorize(cid, "iot:Connect", "nobody", client_id="nobody").allowed
    iot.detach_thing_principal(thingName="door", principal=certificate["certificateArn"])
    assert not iot_provisioning.authorize(cid, "iot:Connect", "door", client_id="door").allowed


def test_group_policies_of_the_exclusive_thing_apply_whatever_the_client_id(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    iot.create_thing_group(thingGroupName="meters")
    policy(iot, "meters-policy", allow("iot:Publish", ARN + "topic/meters/*"))
    iot.attach_policy(policyName="meters-policy", target=ARN + "thinggroup/meters")
    iot.create_thing(thingName="meter-9")
    iot.add_thing_to_thing_group(thingName="meter-9", thingGroupName="meters")
    iot.attach_thing_principal(
        thingName="meter-9", principal=certificate["certificateArn"], thingPrincipalType="EXCLUSIVE_THING"
    )
    decision = iot_provisioning.authorize(
        certificate["certificateId"], "iot:Publish", "meters/9", client_id="x"
    )
    assert decision.allowed and decision.statement is not None
    assert decision.statement.policy_name == "meters-policy"


def test_only_the_default_version_counts(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    policy(iot, "versions", allow(["iot:Connect", "iot:Publish"], ARN + "topic/old"))
    iot.attach_policy(policyName="versions", target=certificate["certificateArn"])
    newer = json.dumps({"Statement": [allow("iot:Publish", ARN + "topic/new")]})
    iot.create_policy_version(policyName="versions", policyDocument=newer, setAsDefault=True)
    cid = certificate["certificateId"]
    assert not iot_provisioning.authorize(cid, "iot:Publish", "old", client_id="c")
    decision = iot_provisioning.authorize(cid, "iot:Publish", "new", client_id="c")
    assert decision.allowed and decision.statement is not None and decision.statement.policy_version == "2"
    iot.set_default_policy_version(policyName="versions", policyVersionId="1")
    assert iot_provisioning.authorize(cid, "iot:Publish", "old", client_id="c").allowed


def test_thing_group_policies_inherited_from_ancestors(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    iot.create_thing_group(thingGroupName="building")
    iot.create_thing_group(thingGroupName="floor-1", parentGroupName="building")
    policy(iot, "building-policy", allow("iot:Subscribe", ARN + "topicfilter/building/#"))
    iot.attach_policy(policyName="building-policy", target=ARN + "thinggroup/building")
    iot.create_thing(thingName="sensor")
    iot.add_thing_to_thing_group(thingName="sensor", thingGroupName="floor-1")
    cid = certificate["certificateId"]
    assert not iot_provisioning.authorize(cid, "iot:Subscribe", "building/#", client_id="sensor")
    iot.attach_thing_principal(thingName="sensor", principal=certificate["certificateArn"])
    decision = iot_provisioning.authorize(cid, "iot:Subscribe", "building/#", client_id="sensor")
    assert decision.allowed and decision.statement is not None
    assert decision.statement.policy_name == "building-policy"
    # another client id is not the thing: the group's policies do not apply
    assert not iot_provisioning.authorize(cid, "iot:Subscribe", "building/#", client_id="sensor-2")


def test_explicit_deny_in_a_group_policy_beats_the_certificate_policy(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    policy(iot, "everything", allow("iot:*", "*"))
    iot.attach_policy(policyName="everything", target=certificate["certificateArn"])
    iot.create_thing_group(thingGroupName="quarantine")
    deny = {"Sid": "Quarantined", "Effect": "Deny", "Action": "iot:Publish", "Resource": "*"}
    policy(iot, "quarantine-policy", deny)
    iot.attach_policy(policyName="quarantine-policy", target=ARN + "thinggroup/quarantine")
    iot.create_thing(thingName="suspect")
    iot.attach_thing_principal(thingName="suspect", principal=certificate["certificateArn"])
    cid = certificate["certificateId"]
    assert iot_provisioning.authorize(cid, "iot:Publish", "t")
    iot.add_thing_to_thing_group(thingName="suspect", thingGroupName="quarantine")
    decision = iot_provisioning.authorize(cid, "iot:Publish", "t")
    assert not decision.allowed and decision.explicitly_denied
    assert decision.statement is not None and decision.statement.sid == "Quarantined"
    assert "explicitly denied by policy quarantine-policy" in decision.reason


def test_thing_type_and_attribute_variables_come_from_the_registry(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    iot.create_thing(
        thingName="l1", thingTypeName="Lamp", attributePayload={"attributes": {"room": "kitchen"}}
    )
    iot.attach_thing_principal(thingName="l1", principal=certificate["certificateArn"])
    statement = allow(
        "iot:Publish",
        ARN + "topic/${iot:Connection.Thing.Attributes[room]}/*",
        Condition={"StringEquals": {"iot:Connection.Thing.ThingTypeName": "Lamp"}},
    )
    policy(iot, "typed", statement)
    iot.attach_policy(policyName="typed", target=certificate["certificateArn"])
    cid = certificate["certificateId"]
    assert iot_provisioning.authorize(cid, "iot:Publish", "kitchen/light").allowed
    assert not iot_provisioning.authorize(cid, "iot:Publish", "hall/light").allowed
    iot.update_thing(thingName="l1", removeThingType=True)
    assert not iot_provisioning.authorize(cid, "iot:Publish", "kitchen/light").allowed


def test_certificate_variables_come_from_the_registered_certificate(
    iot_provisioning: MockIotProvisioning, iot: Any
) -> None:
    csr, _ = make_csr(subject_name("unit-42", ORGANIZATION_NAME="Example Corp"))
    created = iot.create_certificate_from_csr(certificateSigningRequest=csr, setAsActive=True)
    statements = [
        allow("iot:Publish", ARN + "topic/${iot:Certificate.Subject.CommonName}/*"),
        allow("iot:Publish", ARN + "topic/${iot:CertificateId}"),
        allow(
            "iot:Connect",
            ARN + "client/*",
            Condition={
                "ForAllValues:StringEquals": {
                    "iot:Certificate.Subject.Organization.List": ["Example Corp", "AnyCompany"]
                }
            },
        ),
    ]
    policy(iot, "by-certificate", *statements)
    iot.attach_policy(policyName="by-certificate", target=created["certificateArn"])
    cid = created["certificateId"]
    assert iot_provisioning.authorize(cid, "iot:Publish", "unit-42/telemetry", client_id="c").allowed
    assert iot_provisioning.authorize(cid, "iot:Publish", cid, client_id="c").allowed
    assert not iot_provisioning.authorize(cid, "iot:Publish", "unit-43/telemetry", client_id="c").allowed
    assert iot_provisioning.authorize(cid, "iot:Connect", "anything", client_id="anything").allowed


def test_claim_certificate_is_scoped_to_its_template(iot_provisioning: MockIotProvisioning, iot: Any) -> None:
    create_template(iot, "fleet")
    claim = iot.create_provisioning_claim(templateName="fleet")["certificateId"]
    authorize = iot_provisioning.authorize
    assert authorize(claim, "iot:Connect", "any-client")
    assert authorize(claim, "iot:Publish", "$aws/certificates/create/json")
    assert authorize(claim, "iot:Publish", "$aws/certificates/create-from-csr/cbor")
    assert authorize(claim, "iot:Subscribe", "$aws/provisioning-templates/fleet/provision/json/accepted")
    assert authorize(claim, "iot:Receive", "$aws/provisioning-templates/fleet/provision/json/rejected")
    assert not authorize(claim, "iot:Publish", "$aws/provisioning-templates/other/provision/json")
    assert not authorize(claim, "iot:Subscribe", "$aws/certificates/#")
    assert not authorize(claim, "iot:Publish", "telemetry")
    assert not authorize(claim, "iot:RetainPublish", "$aws/certificates/create/json")
    decision = authorize(claim, "iot:Publish", "$aws/certificates/create/json")
    assert decision.statement is not None and decision.statement.sid == "ClaimProvisioningTopics"


def test_bulk_claim_needs_the_topics_in_its_attached_policy(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    # AWS's claim-policy example (fleet-provision-api.html): create/* and the template's provision/* only.
    topics = [
        ARN + "topic/$aws/certificates/create/*",
        ARN + "topic/$aws/provisioning-templates/fleet/provision/*",
    ]
    filters = [t.replace(":topic/", ":topicfilter/") for t in topics]
    policy(
        iot,
        "claim",
        allow("iot:Connect", "*"),
        allow(["iot:Publish", "iot:Receive"], topics),
        allow("iot:Subscribe", filters),
    )
    iot.attach_policy(policyName="claim", target=certificate["certificateArn"])
    cid = certificate["certificateId"]
    assert iot_provisioning.authorize(cid, "iot:Publish", "$aws/certificates/create/json", client_id="c")
    assert iot_provisioning.authorize(
        cid, "iot:Subscribe", "$aws/provisioning-templates/fleet/provision/json/accepted", client_id="c"
    )
    csr_topic = iot_provisioning.authorize(
        cid, "iot:Publish", "$aws/certificates/create-from-csr/json", client_id="c"
    )
    assert not csr_topic.allowed and csr_topic.statement is None


def test_full_arn_and_short_resource_agree(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    policy(iot, "p", allow("iot:Subscribe", ARN + "topicfilter/a/+"))
    iot.attach_policy(policyName="p", target=certificate["certificateArn"])
    cid = certificate["certificateId"]
    short = iot_provisioning.authorize(cid, "iot:Subscribe", "a/+", client_id="c")
    full = iot_provisioning.authorize(cid, "iot:Subscribe", ARN + "topicfilter/a/+", client_id="c")
    assert short.allowed and full.allowed and short.resource == full.resource == ARN + "topicfilter/a/+"
    assert not iot_provisioning.authorize(cid, "iot:Subscribe", "a/b", client_id="c")


def test_inactive_certificate_is_refused_before_any_policy(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    policy(iot, "everything", allow("iot:*", "*"))
    iot.attach_policy(policyName="everything", target=certificate["certificateArn"])
    iot.update_certificate(certificateId=certificate["certificateId"], newStatus="INACTIVE")
    decision = iot_provisioning.authorize(certificate["certificateId"], "iot:Connect", "c", client_id="c")
    assert not decision.allowed and "INACTIVE" in decision.reason


def test_helper_fails_loudly_on_mistakes(
    iot_provisioning: MockIotProvisioning, certificate: dict[str, Any]
) -> None:
    with pytest.raises(LookupError, match="neither registered nor a provisioning claim"):
        iot_provisioning.authorize("ab" * 32, "iot:Connect", "c", client_id="c")
    with pytest.raises(ValueError, match="unknown action"):
        iot_provisioning.authorize(certificate["certificateId"], "iot:Shadow", "c", client_id="c")
    with pytest.raises(ValueError, match="give client_id"):
        iot_provisioning.authorize(certificate["certificateId"], "iot:Connect", "c")


def test_admission_enforces_iot_connect(
    iot_provisioning: MockIotProvisioning, iot: Any, certificate: dict[str, Any]
) -> None:
    from tests.device_support import hello_for

    hooks = iot_provisioning.device_service
    refused = hooks.admit(hello_for(certificate["certificatePem"], "client-1"))
    assert not refused.accepted and "iot:Connect" in refused.reason and "implicitly denied" in refused.reason
    policy(
        iot, "connect", allow("iot:Connect", ARN + "client/client-1"), allow("iot:Publish", ARN + "topic/up")
    )
    iot.attach_policy(policyName="connect", target=certificate["certificateArn"])
    assert not hooks.admit(hello_for(certificate["certificatePem"], "client-2")).accepted
    admitted = hooks.admit(hello_for(certificate["certificatePem"], "client-1"))
    assert admitted.accepted
    assert hooks.authorize(admitted.principal, "client-1", "iot:Publish", "up")
    assert not hooks.authorize(admitted.principal, "client-1", "iot:Publish", "down")
    assert not hooks.authorize(admitted.principal, "client-1", "iot:Receive", "up")
    iot.detach_policy(policyName="connect", target=certificate["certificateArn"])
    assert not hooks.authorize(admitted.principal, "client-1", "iot:Publish", "up")  # policies read live
