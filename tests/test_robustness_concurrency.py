"""Sixteen threads, each with its own boto3 client, working one mock at the same time.

Every thread creates things (in a shared thing group and a shared billing group), certificates attached to
them with a shared policy, provisions things with RegisterThing, tears down some of its own things again
(detach, deactivate, force-delete the certificate, delete the thing), and in every round creates the same
contested thing as every other thread. The run stops after a bounded number of rounds or a bounded time,
whichever comes first; nothing asserts on timing.

Afterwards, read through paginators with small pages: every thing a thread created and did not delete
exists exactly once and nothing else does; each has exactly its certificate attached; the shared policy's
targets, the certificates, and the shared groups' members are exactly the expected ones; each contested
thing was created once (one ``thingId`` for every caller); ``registry_problems`` finds nothing.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mock_iotprov import MockIotProvisioning
from mock_iotprov.invariants import registry_problems
from tests.helpers import iot_client

THREADS = 16
ROUNDS = 30
TIME_LIMIT = 3.0  # seconds; a bound on the run, never asserted
SHARED_GROUP = "shared-group"
SHARED_BILLING_GROUP = "shared-billing"
SHARED_POLICY = "shared-policy"
CONTESTED_PREFIX = "contested-"
POLICY_DOCUMENT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}
)
REGISTER_TEMPLATE = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}, "CertificateId": {"Type": "String"}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {"ThingName": {"Ref": "ThingName"}, "ThingGroups": [SHARED_GROUP]},
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "CertificateId"}, "Status": "ACTIVE"},
            },
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": SHARED_POLICY}},
        },
    }
)


@dataclasses.dataclass
class Outcome:
    """What one thread left behind: live things (with their certificate) and what it saw of the contest."""

    things: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)  # name -> (cert id, ARN)
    billed: set[str] = dataclasses.field(default_factory=set)  # live things in the shared billing group
    deleted: set[str] = dataclasses.field(default_factory=set)
    contested_ids: dict[str, str] = dataclasses.field(default_factory=dict)  # contested name -> thingId
    rounds: int = 0


def work(index: int, iot: Any, start: threading.Barrier, deadline: float) -> Outcome:
    """One thread's share: create, attach, register, tear down its own things; contest a shared one."""
    outcome = Outcome()
    start.wait()
    for round_number in range(ROUNDS):
        if time.monotonic() > deadline:
            break
        outcome.rounds += 1
        contested = f"{CONTESTED_PREFIX}{round_number:03d}"  # every thread creates it in the same round
        made = iot.create_thing(thingName=contested, attributePayload={"attributes": {"kind": "x"}})
        outcome.contested_ids[contested] = made["thingId"]
        name = f"worker-{index:02d}-thing-{round_number:03d}"
        created = iot.create_keys_and_certificate(setAsActive=True)
        certificate = (created["certificateId"], created["certificateArn"])
        if round_number % 3 == 2:
            parameters = {"ThingName": name, "CertificateId": certificate[0]}
            iot.register_thing(templateBody=REGISTER_TEMPLATE, parameters=parameters)
        else:
            iot.create_thing(thingName=name, billingGroupName=SHARED_BILLING_GROUP)
            outcome.billed.add(name)
            iot.add_thing_to_thing_group(thingGroupName=SHARED_GROUP, thingName=name)
            iot.attach_thing_principal(thingName=name, principal=certificate[1])
            iot.attach_policy(policyName=SHARED_POLICY, target=certificate[1])
        outcome.things[name] = certificate
        if round_number % 4 == 3:
            tear_down(iot, outcome, sorted(outcome.things)[0])
    return outcome


def tear_down(iot: Any, outcome: Outcome, name: str) -> None:
    certificate_id, arn = outcome.things.pop(name)
    iot.detach_thing_principal(thingName=name, principal=arn)
    iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
    iot.delete_certificate(certificateId=certificate_id, forceDelete=True)
    iot.delete_thing(thingName=name)
    outcome.billed.discard(name)
    outcome.deleted.add(name)


def listed(iot: Any, operation: str, key: str, page_size: int, **params: Any) -> list[Any]:
    """Every item of a list, read through botocore's paginator in small pages."""
    pages = iot.get_paginator(operation).paginate(PaginationConfig={"PageSize": page_size}, **params)
    return [item for page in pages for item in page.get(key, [])]


def assert_listing(items: list[str], expected: set[str], what: str) -> None:
    duplicated = sorted(item for item, count in Counter(items).items() if count > 1)
    assert duplicated == [], f"{what} listed twice: {duplicated}"
    assert set(items) == expected, (
        f"{what}: missing {sorted(expected - set(items))}, extra {sorted(set(items) - expected)}"
    )


def test_sixteen_threads_lose_and_duplicate_nothing(iot_provisioning: MockIotProvisioning) -> None:
    setup = iot_client()
    setup.create_thing_group(thingGroupName=SHARED_GROUP)
    setup.create_billing_group(billingGroupName=SHARED_BILLING_GROUP)
    setup.create_policy(policyName=SHARED_POLICY, policyDocument=POLICY_DOCUMENT)
    clients = [iot_client() for _ in range(THREADS)]
    start = threading.Barrier(THREADS)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        deadline = time.monotonic() + TIME_LIMIT
        futures = [pool.submit(work, index, clients[index], start, deadline) for index in range(THREADS)]
        outcomes = [future.result(timeout=120) for future in futures]

    assert all(outcome.rounds > 0 for outcome in outcomes)
    live = {name: certificate for outcome in outcomes for name, certificate in outcome.things.items()}
    assert len(live) == sum(len(outcome.things) for outcome in outcomes), "two threads made the same thing"
    contested: dict[str, set[str]] = {}
    for outcome in outcomes:
        for name, thing_id in outcome.contested_ids.items():
            contested.setdefault(name, set()).add(thing_id)
    created_twice = sorted(name for name, ids in contested.items() if len(ids) > 1)
    assert created_twice == [], "contested things created more than once (several thingIds)"

    things = [item["thingName"] for item in listed(setup, "list_things", "things", 17)]
    assert_listing(things, {*live, *contested}, "things")
    for outcome in outcomes:
        assert not outcome.deleted & set(things), "a deleted thing is still listed"
    for name, (_, arn) in live.items():
        assert listed(setup, "list_thing_principals", "principals", 5, thingName=name) == [arn], name
        assert listed(setup, "list_principal_things", "things", 5, principal=arn) == [name], arn
        policies = listed(setup, "list_attached_policies", "policies", 5, target=arn)
        assert [policy["policyName"] for policy in policies] == [SHARED_POLICY], arn
    targets = listed(setup, "list_targets_for_policy", "targets", 9, policyName=SHARED_POLICY)
    assert_listing(targets, {arn for _, arn in live.values()}, "targets of the shared policy")
    certificates = [item["certificateId"] for item in listed(setup, "list_certificates", "certificates", 7)]
    assert_listing(certificates, {certificate_id for certificate_id, _ in live.values()}, "certificates")
    members = listed(setup, "list_things_in_thing_group", "things", 11, thingGroupName=SHARED_GROUP)
    assert_listing(members, set(live), "members of the shared thing group")
    billed = set().union(*(outcome.billed for outcome in outcomes))
    in_billing = listed(
        setup, "list_things_in_billing_group", "things", 13, billingGroupName=SHARED_BILLING_GROUP
    )
    assert_listing(in_billing, billed, "members of the shared billing group")
    for store in iot_provisioning.backend.stores():
        assert registry_problems(store) == []
