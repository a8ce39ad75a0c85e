"""Referential integrity after every step of long random mixes of registry operations.

A Hypothesis state machine drives one mock through a real boto3 client: things, thing types, thing groups,
billing groups, device certificates (created by the mock or registered under a CA of the test's own, with
status changes and deletes, forced or not), the CA itself (deactivated, deleted, registered again, its
registration config pointing at a JITP template or not), policies, policy and thing-principal attachments
and RegisterThing with a template. Names come from small pools, so operations collide: deletes of things
that still have principals, of active certificates, of attached policies, of groups with children.

After every step ``registry_problems`` must find nothing (every attachment and membership names existing
objects, certificate ids are the SHA-256 of their DER, indexes agree with tables). Rules also check what they
can see directly: a thing with principals cannot be deleted, a deleted object is gone, no call answers
with HTTP >= 500.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning
from mock_iotprov.invariants import registry_problems
from mock_iotprov.pagination import SortedKeys
from mock_iotprov.registry.attachments import AttachmentTables
from mock_iotprov.registry.ca_certificates import CACertificateTables
from mock_iotprov.registry.certificates import CertificateTables
from mock_iotprov.registry.groups import GroupTables
from mock_iotprov.registry.memberships import MembershipTables
from mock_iotprov.registry.policies import PolicyTables
from mock_iotprov.registry.tags import TagTables
from mock_iotprov.registry.thing_records import ThingTables
from mock_iotprov.state import Store
from tests.helpers import (
    ROLE_ARN,
    SIMPLE_TEMPLATE,
    TestCertificateAuthority,
    iot_client,
    pem_text,
    subject_name,
)

# No shrinking: a failing run prints its whole sequence of steps at once (shrinking a long stateful run
# through real clients can take minutes).
STEPS = settings(
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    max_examples=50,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
THINGS = ["thing-a", "thing-b", "thing-c", "thing-d"]
TYPES = ["type-a", "type-b"]
GROUPS = ["group-root", "group-child", "group-other"]
BILLING_GROUPS = ["billing-a", "billing-b"]
POLICIES = ["policy-a", "policy-b", "policy-c"]
STATUSES = ["ACTIVE", "INACTIVE", "REVOKED"]
ARN_PREFIX = "arn:aws:iot:us-east-1:123456789012:"
JITP_TEMPLATE = "jitp-template"
POLICY_DOCUMENT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}
)
REGISTER_TEMPLATE = json.dumps(
    {
        "Parameters": {
            "ThingName": {"Type": "String"},
            "CertificateId": {"Type": "String"},
            "Group": {"Type": "String"},
            "Policy": {"Type": "String"},
            "PrincipalType": {"Type": "String", "Default": "NON_EXCLUSIVE_THING"},
        },
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {"ThingName": {"Ref": "ThingName"}, "ThingGroups": [{"Ref": "Group"}]},
                "OverrideSettings": {"ThingGroups": "MERGE"},
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {
                    "CertificateId": {"Ref": "CertificateId"},
                    "Status": "ACTIVE",
                    "ThingPrincipalType": {"Ref": "PrincipalType"},
                },
                "OverrideSettings": {"Status": "REPLACE"},
            },
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": {"Ref": "Policy"}}},
        },
    }
)

picks = st.integers(min_value=0, max_value=1000)
mostly_true = st.sampled_from(
    [True, True, True, False]
)  # creations outnumber deletions: the registry fills up


@cache
def client() -> Any:
    return iot_client()


@cache
def certificate_authority() -> TestCertificateAuthority:
    return TestCertificateAuthority.create("Invariants CA")


class RegistryMachine(RuleBasedStateMachine):
    """Random registry operations against one mock; the registry must stay consistent after each."""

    def __init__(self) -> None:
        super().__init__()
        self.mock: MockIotProvisioning = mock_iot_provisioning().start()
        self.iot = client()
        self.certificates: list[str] = []  # every certificate id handed out (some deleted since)
        self.ca_id: str | None = None

    def teardown(self) -> None:
        self.mock.stop()

    def call(self, operation: str, **params: Any) -> tuple[dict[str, Any] | None, str | None]:
        """(response, None) or (None, error code); a server error fails the run."""
        try:
            return getattr(self.iot, operation)(**params), None
        except ClientError as error:
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            assert status < 500, f"{operation}{params}: HTTP {status} {error.response['Error']}"
            return None, str(error.response["Error"]["Code"])

    def certificate(self, pick: int) -> tuple[str, str]:
        certificate_id = self.certificates[pick % len(self.certificates)]
        return certificate_id, f"{ARN_PREFIX}cert/{certificate_id}"

    def thing_exists(self, name: str) -> bool:
        return self.call("describe_thing", thingName=name)[1] is None

    @initialize()
    def starting_registry(self) -> None:
        """One of everything, so that every rule meets existing objects from the first step: the JITP
        template, the CA, every type, billing group and policy, a three-level group hierarchy, two things
        with an attached certificate (with a policy), two things without (one in a group and a billing
        group, one with a type), a certificate attached to nothing and a group with a policy."""
        iot = self.iot
        iot.create_provisioning_template(
            templateName=JITP_TEMPLATE,
            templateBody=SIMPLE_TEMPLATE,
            provisioningRoleArn=ROLE_ARN,
            type="JITP",
        )
        self.ca_id = certificate_authority().register(iot)
        for name in TYPES:
            iot.create_thing_type(thingTypeName=name)
        iot.create_thing_group(thingGroupName=GROUPS[0])
        iot.create_thing_group(thingGroupName=GROUPS[1], parentGroupName=GROUPS[0])
        iot.create_thing_group(thingGroupName=GROUPS[2], parentGroupName=GROUPS[1])
        for name in BILLING_GROUPS:
            iot.create_billing_group(billingGroupName=name)
        for name in POLICIES:
            iot.create_policy(policyName=name, policyDocument=POLICY_DOCUMENT)
        iot.attach_policy(policyName=POLICIES[1], target=f"{ARN_PREFIX}thinggroup/{GROUPS[1]}")
        for name in THINGS[:2]:
            iot.create_thing(thingName=name, thingTypeName=TYPES[0], billingGroupName=BILLING_GROUPS[0])
            created = iot.create_keys_and_certificate(setAsActive=True)
            self.certificates.append(created["certificateId"])
            iot.attach_thing_principal(thingName=name, principal=created["certificateArn"])
            iot.attach_policy(policyName=POLICIES[0], target=created["certificateArn"])
        iot.create_thing(thingName=THINGS[2], billingGroupName=BILLING_GROUPS[1])
        iot.add_thing_to_thing_group(thingGroupName=GROUPS[2], thingName=THINGS[2])
        iot.create_thing(thingName=THINGS[3], thingTypeName=TYPES[1])
        self.certificates.append(iot.create_keys_and_certificate(setAsActive=False)["certificateId"])

    @invariant()
    def registry_is_consistent(self) -> None:
        for store in self.mock.backend.stores():
            assert registry_problems(store) == []

    # things and thing types

    @rule(
        name=st.sampled_from(THINGS),
        thing_type=st.sampled_from([None, None, *TYPES]),
        billing=st.sampled_from([None, None, *BILLING_GROUPS]),
    )
    def create_thing(self, name: str, thing_type: str | None, billing: str | None) -> None:
        params: dict[str, Any] = {"thingName": name}
        if thing_type:
            params["thingTypeName"] = thing_type
        if billing:
            params["billingGroupName"] = billing
        self.call("create_thing", **params)

    @rule(name=st.sampled_from(THINGS))
    def delete_thing(self, name: str) -> None:
        listed, missing = self.call("list_thing_principals", thingName=name)
        _, error = self.call("delete_thing", thingName=name)
        if missing is not None:
            assert error is None, "deleting a missing thing succeeds"
        elif listed is not None and listed["principals"]:
            assert error == "InvalidRequestException", "a thing with principals cannot be deleted"
            assert self.thing_exists(name)
        else:
            assert error is None
            assert not self.thing_exists(name)

    @rule()
    def delete_a_thing_with_principals(self) -> None:
        """Must fail and leave the thing and its principals in place."""
        for name in THINGS:
            listed, _ = self.call("list_thing_principals", thingName=name)
            if listed is not None and listed["principals"]:
                _, error = self.call("delete_thing", thingName=name)
                assert error == "InvalidRequestException", "a thing with principals cannot be deleted"
                after, _ = self.call("list_thing_principals", thingName=name)
                assert after is not None and after["principals"] == listed["principals"]
                return

    @rule(name=st.sampled_from(THINGS), thing_type=st.sampled_from([None, *TYPES]))
    def change_thing_type(self, name: str, thing_type: str | None) -> None:
        if thing_type is None:
            self.call("update_thing", thingName=name, removeThingType=True)
        else:
            self.call("update_thing", thingName=name, thingTypeName=thing_type)

    @rule(
        name=st.sampled_from(TYPES),
        action=st.sampled_from(["create", "create", "deprecate", "undo", "delete"]),
    )
    def thing_type(self, name: str, action: str) -> None:
        if action == "create":
            self.call("create_thing_type", thingTypeName=name)
        elif action == "delete":
            self.call("delete_thing_type", thingTypeName=name)
        else:
            self.call("deprecate_thing_type", thingTypeName=name, undoDeprecate=action == "undo")

    # thing groups and billing groups

    @rule(name=st.sampled_from(GROUPS), create=mostly_true, parent=st.sampled_from([None, *GROUPS]))
    def thing_group(self, name: str, create: bool, parent: str | None) -> None:
        if not create:
            self.call("delete_thing_group", thingGroupName=name)
        elif parent is None or parent == name:
            self.call("create_thing_group", thingGroupName=name)
        else:
            self.call("create_thing_group", thingGroupName=name, parentGroupName=parent)

    @rule(thing=st.sampled_from(THINGS), group=st.sampled_from(GROUPS), add=st.booleans())
    def thing_group_membership(self, thing: str, group: str, add: bool) -> None:
        operation = "add_thing_to_thing_group" if add else "remove_thing_from_thing_group"
        self.call(operation, thingName=thing, thingGroupName=group)

    @rule(name=st.sampled_from(BILLING_GROUPS), create=mostly_true)
    def billing_group(self, name: str, create: bool) -> None:
        if create:
            self.call("create_billing_group", billingGroupName=name)
        else:
            self.call("delete_billing_group", billingGroupName=name)

    @rule(thing=st.sampled_from(THINGS), group=st.sampled_from(BILLING_GROUPS), add=st.booleans())
    def billing_group_membership(self, thing: str, group: str, add: bool) -> None:
        operation = "add_thing_to_billing_group" if add else "remove_thing_from_billing_group"
        self.call(operation, thingName=thing, billingGroupName=group)

    # certificates and the CA

    @rule(active=st.booleans())
    def create_keys_and_certificate(self, active: bool) -> None:
        created, _ = self.call("create_keys_and_certificate", setAsActive=active)
        assert created is not None
        self.certificates.append(created["certificateId"])

    @rule(status=st.sampled_from(STATUSES))
    def register_certificate_under_the_ca(self, status: str) -> None:
        authority = certificate_authority()
        pem = pem_text(authority.issue(subject_name(f"device-{len(self.certificates)}")))
        registered, error = self.call(
            "register_certificate", certificatePem=pem, caCertificatePem=authority.pem, status=status
        )
        if registered is not None:
            self.certificates.append(registered["certificateId"])
        else:
            assert error == "CertificateValidationException", "only a missing or inactive CA refuses it"

    @precondition(lambda self: bool(self.certificates))
    @rule(pick=picks, status=st.sampled_from(STATUSES))
    def update_certificate(self, pick: int, status: str) -> None:
        certificate_id, _ = self.certificate(pick)
        self.call("update_certificate", certificateId=certificate_id, newStatus=status)

    @precondition(lambda self: bool(self.certificates))
    @rule(pick=picks, force=st.booleans())
    def delete_certificate(self, pick: int, force: bool) -> None:
        certificate_id, arn = self.certificate(pick)
        things, _ = self.call("list_principal_things", principal=arn)
        _, error = self.call("delete_certificate", certificateId=certificate_id, forceDelete=force)
        if error is None:
            assert things is not None and not things["things"], (
                "a certificate attached to a thing was deleted"
            )
            assert (
                self.call("describe_certificate", certificateId=certificate_id)[1]
                == "ResourceNotFoundException"
            )

    @rule()
    def cycle_the_ca(self) -> None:
        """ACTIVE -> INACTIVE -> deleted -> registered again (ACTIVE)."""
        if self.ca_id is None:
            self.ca_id = certificate_authority().register(self.iot)
            return
        described, _ = self.call("describe_ca_certificate", certificateId=self.ca_id)
        assert described is not None
        if described["certificateDescription"]["status"] == "ACTIVE":
            self.call("update_ca_certificate", certificateId=self.ca_id, newStatus="INACTIVE")
        else:
            _, error = self.call("delete_ca_certificate", certificateId=self.ca_id)
            assert error is None
            self.ca_id = None

    @precondition(lambda self: self.ca_id is not None)
    @rule(use_template=st.booleans())
    def ca_registration_config(self, use_template: bool) -> None:
        assert self.ca_id is not None
        if use_template:
            config = {"templateName": JITP_TEMPLATE}
            self.call("update_ca_certificate", certificateId=self.ca_id, registrationConfig=config)
        else:
            self.call("update_ca_certificate", certificateId=self.ca_id, removeAutoRegistration=True)

    @rule()
    def delete_jitp_template(self) -> None:
        """Refused while a CA's registration config names it; then created again."""
        _, error = self.call("delete_provisioning_template", templateName=JITP_TEMPLATE)
        if error is None:
            self.iot.create_provisioning_template(
                templateName=JITP_TEMPLATE,
                templateBody=SIMPLE_TEMPLATE,
                provisioningRoleArn=ROLE_ARN,
                type="JITP",
            )
        else:
            assert error == "DeleteConflictException"

    # policies and attachments

    @rule(name=st.sampled_from(POLICIES), create=mostly_true)
    def policy(self, name: str, create: bool) -> None:
        if create:
            self.call("create_policy", policyName=name, policyDocument=POLICY_DOCUMENT)
            return
        targets, _ = self.call("list_targets_for_policy", policyName=name)
        _, error = self.call("delete_policy", policyName=name)
        if targets is not None and targets["targets"]:
            assert error == "DeleteConflictException", "an attached policy was deleted"

    @precondition(lambda self: bool(self.certificates))
    @rule(
        policy=st.sampled_from(POLICIES),
        pick=picks,
        to_group=st.sampled_from([None, *GROUPS]),
        attach=st.booleans(),
    )
    def policy_attachment(self, policy: str, pick: int, to_group: str | None, attach: bool) -> None:
        _, arn = self.certificate(pick)
        target = arn if to_group is None else f"{ARN_PREFIX}thinggroup/{to_group}"
        self.call("attach_policy" if attach else "detach_policy", policyName=policy, target=target)

    @precondition(lambda self: bool(self.certificates))
    @rule(thing=st.sampled_from(THINGS), pick=picks, exclusive=st.booleans(), attach=st.booleans())
    def thing_principal(self, thing: str, pick: int, exclusive: bool, attach: bool) -> None:
        _, arn = self.certificate(pick)
        if not attach:
            self.call("detach_thing_principal", thingName=thing, principal=arn)
            return
        kind = "EXCLUSIVE_THING" if exclusive else "NON_EXCLUSIVE_THING"
        self.call("attach_thing_principal", thingName=thing, principal=arn, thingPrincipalType=kind)

    @precondition(lambda self: bool(self.certificates))
    @rule(
        thing=st.sampled_from(THINGS),
        pick=picks,
        group=st.sampled_from(GROUPS),
        policy=st.sampled_from(POLICIES),
        exclusive=st.booleans(),
    )
    def register_thing(self, thing: str, pick: int, group: str, policy: str, exclusive: bool) -> None:
        certificate_id, arn = self.certificate(pick)
        parameters = {"ThingName": thing, "CertificateId": certificate_id, "Group": group, "Policy": policy}
        if exclusive:
            parameters["PrincipalType"] = "EXCLUSIVE_THING"
        registered, error = self.call("register_thing", templateBody=REGISTER_TEMPLATE, parameters=parameters)
        if registered is None:
            assert error in ("ResourceRegistrationFailureException", "InvalidRequestException"), error
            return
        things, _ = self.call("list_principal_things", principal=arn)
        assert things is not None and thing in things["things"]


def test_registry_stays_consistent_through_random_operations() -> None:
    run_state_machine_as_test(RegistryMachine, settings=STEPS)  # type: ignore[no-untyped-call]


# ---------------------------------------------------------------- registry_problems finds what breaks


def _populated(mock: MockIotProvisioning) -> Store:
    """A registry with one of everything, consistent; its store."""
    iot = client()
    iot.create_thing_type(thingTypeName="type-a")
    iot.create_thing_group(thingGroupName="group-root")
    iot.create_thing_group(thingGroupName="group-child", parentGroupName="group-root")
    iot.create_billing_group(billingGroupName="billing-a")
    iot.create_thing(thingName="thing-a", thingTypeName="type-a", billingGroupName="billing-a")
    iot.add_thing_to_thing_group(thingGroupName="group-child", thingName="thing-a")
    created = iot.create_keys_and_certificate(setAsActive=True)
    iot.attach_thing_principal(thingName="thing-a", principal=created["certificateArn"])
    iot.create_policy(policyName="policy-a", policyDocument=POLICY_DOCUMENT)
    iot.attach_policy(policyName="policy-a", target=created["certificateArn"])
    iot.create_provisioning_template(
        templateName=JITP_TEMPLATE, templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN, type="JITP"
    )
    ca_id = certificate_authority().register(iot)
    iot.update_ca_certificate(certificateId=ca_id, registrationConfig={"templateName": JITP_TEMPLATE})
    authority = certificate_authority()
    device = pem_text(authority.issue(subject_name("device")))
    iot.register_certificate(certificatePem=device, caCertificatePem=authority.pem, status="ACTIVE")
    iot.tag_resource(resourceArn=iot.get_policy(policyName="policy-a")["policyArn"], tags=[{"Key": "k"}])
    [store] = mock.backend.stores()
    return store


def _drop_thing_record(store: Store) -> None:
    del store.component(ThingTables).things["thing-a"]


def _forge_certificate_id(store: Store) -> None:
    certificates = store.component(CertificateTables).certificates
    key, record = next(iter(certificates.items()))
    forged = "0" * 64
    certificates[forged] = dataclasses.replace(record, certificate_id=forged)
    del certificates[key]


def _dangling_policy_target(store: Store) -> None:
    store.component(AttachmentTables).attach_policy(
        "policy-a", "arn:aws:iot:us-east-1:123456789012:cert/" + "f" * 64
    )


def _one_sided_thing_principal(store: Store) -> None:
    store.component(AttachmentTables).principal_things.clear()


def _stale_name_index(store: Store) -> None:
    store.component(GroupTables).names.add("group-ghost")


def _stale_type_index(store: Store) -> None:
    store.component(MembershipTables).type_members["type-a"].discard("thing-a")


def _group_member_of_missing_thing(store: Store) -> None:
    tables = store.component(MembershipTables)
    tables.group_members["group-root"] = SortedKeys(["thing-ghost"])
    tables.thing_groups["thing-ghost"] = {"group-root": None}


def _billing_member_elsewhere(store: Store) -> None:
    del store.component(MembershipTables).thing_billing_group["thing-a"]


def _missing_ca_in_creation_order(store: Store) -> None:
    tables = store.component(CACertificateTables)
    for ca in tables.ca_certificates.values():
        tables.order.discard(ca.sort_key)


def _certificate_missing_from_by_ca_index(store: Store) -> None:
    tables = store.component(CertificateTables)
    for order in tables.by_ca.values():
        for record in tables.certificates.values():
            order.discard(record.sort_key)


def _tags_of_deleted_resource(store: Store) -> None:
    store.component(TagTables).by_arn["arn:aws:iot:us-east-1:123456789012:thinggroup/gone"] = {"k": ""}


def _policy_default_version_missing(store: Store) -> None:
    store.component(PolicyTables).policies["policy-a"].default_version_id = 7


@pytest.mark.parametrize(
    "corrupt",
    [
        _drop_thing_record,
        _forge_certificate_id,
        _dangling_policy_target,
        _one_sided_thing_principal,
        _stale_name_index,
        _stale_type_index,
        _group_member_of_missing_thing,
        _billing_member_elsewhere,
        _missing_ca_in_creation_order,
        _certificate_missing_from_by_ca_index,
        _tags_of_deleted_resource,
        _policy_default_version_missing,
    ],
)
def test_registry_problems_reports_a_corrupted_store(
    iot_provisioning: MockIotProvisioning, corrupt: Callable[[Store], None]
) -> None:
    store = _populated(iot_provisioning)
    assert registry_problems(store) == []
    corrupt(store)
    assert registry_problems(store) != []
