"""The IoT-policy evaluator, case by case from the AWS IoT developer guide's policy pages and examples
(basic-policy-variables, thing-policy-variables, thing-policy-examples, cert-policy-variables,
use-policy-variables, certificate-policy-examples, pub-sub-policy, fleet-provision claim policies)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from mock_iotprov.policy import Decision, PolicyDocumentError, PolicyVariables, evaluate, parse_policy

ARN = "arn:aws:iot:us-east-1:123456789012:"


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


@dataclass
class Case:
    statements: list[dict[str, Any]]
    action: str
    resource: str
    allowed: bool
    variables: dict[str, Any] = field(default_factory=dict)
    deciding: int | None = None  # index of the deciding statement (None: implicit deny)


def full(resource: str) -> str:
    return resource if resource.startswith("arn:") or resource == "*" else ARN + resource


CASES: dict[str, Case] = {
    # Basic policy variables: the clientid1 example and ${iot:ClientId} in a topic.
    "connect-exact-client-id": Case(
        [allow("iot:Connect", full("client/clientid1"))], "iot:Connect", "client/clientid1", True, deciding=0
    ),
    "connect-other-client-id-implicitly-denied": Case(
        [allow("iot:Connect", full("client/clientid1"))], "iot:Connect", "client/clientid2", False
    ),
    "client-id-variable-in-topic": Case(
        [allow("iot:Publish", full("topic/my/topic/${iot:ClientId}"))],
        "iot:Publish",
        "topic/my/topic/dev1",
        True,
        {"iot:ClientId": "dev1"},
        0,
    ),
    "client-id-variable-other-topic": Case(
        [allow("iot:Publish", full("topic/my/topic/${iot:ClientId}"))],
        "iot:Publish",
        "topic/my/topic/dev2",
        False,
        {"iot:ClientId": "dev1"},
    ),
    # The guide's warning: a client connecting with client id "+" may subscribe to my/+/topic.
    "client-id-plus-in-topicfilter": Case(
        [allow("iot:Subscribe", full("topicfilter/my/${iot:ClientId}/topic"))],
        "iot:Subscribe",
        "topicfilter/my/+/topic",
        True,
        {"iot:ClientId": "+"},
        0,
    ),
    "plus-filter-not-matched-by-other-client": Case(
        [allow("iot:Subscribe", full("topicfilter/my/${iot:ClientId}/topic"))],
        "iot:Subscribe",
        "topicfilter/my/+/topic",
        False,
        {"iot:ClientId": "dev1"},
    ),
    # MQTT wildcards are literal characters in policies.
    "hash-in-topicfilter-matches-only-itself": Case(
        [allow("iot:Subscribe", full("topicfilter/sensors/#"))],
        "iot:Subscribe",
        "topicfilter/sensors/#",
        True,
        deciding=0,
    ),
    "hash-in-topicfilter-is-not-a-wildcard": Case(
        [allow("iot:Subscribe", full("topicfilter/sensors/#"))],
        "iot:Subscribe",
        "topicfilter/sensors/temp",
        False,
    ),
    "plus-in-topicfilter-matches-only-itself": Case(
        [allow("iot:Subscribe", full("topicfilter/a/+"))],
        "iot:Subscribe",
        "topicfilter/a/+",
        True,
        deciding=0,
    ),
    "plus-in-topicfilter-is-not-a-wildcard": Case(
        [allow("iot:Subscribe", full("topicfilter/a/+"))], "iot:Subscribe", "topicfilter/a/b", False
    ),
    "star-in-topicfilter-covers-a-narrower-filter": Case(
        [allow("iot:Subscribe", full("topicfilter/a/*"))],
        "iot:Subscribe",
        "topicfilter/a/+",
        True,
        deciding=0,
    ),
    "plus-in-topic-is-literal": Case(
        [allow("iot:Publish", full("topic/a/+/c"))], "iot:Publish", "topic/a/b/c", False
    ),
    # * and ? wildcards in resource ARNs.
    "star-spans-levels": Case(
        [allow("iot:Publish", full("topic/sensors/*"))],
        "iot:Publish",
        "topic/sensors/a/b/c",
        True,
        deciding=0,
    ),
    "star-needs-the-prefix": Case(
        [allow("iot:Publish", full("topic/sensors/*"))], "iot:Publish", "topic/actuators/a", False
    ),
    "star-resource-matches-everything": Case(
        [allow("iot:Connect", "*")], "iot:Connect", "client/x", True, deciding=0
    ),
    "star-in-account-and-region": Case(
        [allow("iot:Publish", "arn:aws:iot:*:*:topic/t")], "iot:Publish", "topic/t", True, deciding=0
    ),
    "question-mark-one-character": Case(
        [allow("iot:Publish", full("topic/room?/temp"))], "iot:Publish", "topic/room1/temp", True, deciding=0
    ),
    "question-mark-not-two-characters": Case(
        [allow("iot:Publish", full("topic/room?/temp"))], "iot:Publish", "topic/room10/temp", False
    ),
    "resources-are-case-sensitive": Case(
        [allow("iot:Publish", full("topic/Room"))], "iot:Publish", "topic/room", False
    ),
    # Actions: iot:*, prefixes with *, case-insensitive names, lists.
    "iot-star-covers-receive": Case([allow("iot:*", "*")], "iot:Receive", "topic/t", True, deciding=0),
    "star-action-covers-everything": Case(
        [allow("*", "*")], "iot:Subscribe", "topicfilter/t", True, deciding=0
    ),
    "action-prefix-wildcard": Case([allow("iot:Pub*", "*")], "iot:Publish", "topic/t", True, deciding=0),
    "action-prefix-wildcard-other-action": Case(
        [allow("iot:Pub*", "*")], "iot:Subscribe", "topicfilter/t", False
    ),
    "action-names-ignore-case": Case([allow("IOT:publish", "*")], "iot:Publish", "topic/t", True, deciding=0),
    "action-list": Case(
        [allow(["iot:Publish", "iot:Receive"], full("topic/t"))], "iot:Receive", "topic/t", True, deciding=0
    ),
    "resource-list": Case(
        [allow("iot:Publish", [full("topic/a"), full("topic/b")])], "iot:Publish", "topic/b", True, deciding=0
    ),
    "publish-does-not-grant-retain-publish": Case(
        [allow("iot:Publish", "*")], "iot:RetainPublish", "topic/t", False
    ),
    "retain-publish-granted-explicitly": Case(
        [allow("iot:RetainPublish", full("topic/t"))], "iot:RetainPublish", "topic/t", True, deciding=0
    ),
    "subscribe-does-not-grant-receive": Case(
        [allow("iot:Subscribe", full("topicfilter/t"))], "iot:Receive", "topic/t", False
    ),
    # NotAction / NotResource.
    "not-action-allows-other-actions": Case(
        [{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}],
        "iot:Subscribe",
        "topicfilter/t",
        True,
        deciding=0,
    ),
    "not-action-excludes-its-action": Case(
        [{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}], "iot:Publish", "topic/t", False
    ),
    "not-resource-allows-other-resources": Case(
        [{"Effect": "Allow", "Action": "iot:Publish", "NotResource": full("topic/secret")}],
        "iot:Publish",
        "topic/public",
        True,
        deciding=0,
    ),
    "not-resource-excludes-its-resource": Case(
        [{"Effect": "Allow", "Action": "iot:Publish", "NotResource": full("topic/secret")}],
        "iot:Publish",
        "topic/secret",
        False,
    ),
    "deny-with-not-resource": Case(
        [allow("iot:*", "*"), {"Effect": "Deny", "Action": "iot:Publish", "NotResource": full("topic/ok/*")}],
        "iot:Publish",
        "topic/other",
        False,
        deciding=1,
    ),
    # Explicit deny wins, implicit deny by default.
    "explicit-deny-wins-after-allow": Case(
        [allow("iot:Publish", "*"), deny("iot:Publish", full("topic/t"))],
        "iot:Publish",
        "topic/t",
        False,
        deciding=1,
    ),
    "explicit-deny-wins-before-allow": Case(
        [deny("iot:Publish", full("topic/t")), allow("iot:Publish", "*")],
        "iot:Publish",
        "topic/t",
        False,
        deciding=0,
    ),
    "deny-of-other-resource-leaves-allow": Case(
        [allow("iot:Publish", "*"), deny("iot:Publish", full("topic/x"))],
        "iot:Publish",
        "topic/t",
        True,
        deciding=0,
    ),
    "implicit-deny": Case([allow("iot:Connect", "*")], "iot:Publish", "topic/t", False),
    # Thing policy variables (thing-policy-variables, thing-policy-examples).
    "thing-name-in-connect": Case(
        [allow("iot:Connect", full("client/${iot:Connection.Thing.ThingName}"))],
        "iot:Connect",
        "client/thing1",
        True,
        {"iot:Connection.Thing.ThingName": "thing1"},
        0,
    ),
    "thing-name-unresolved-without-thing": Case(
        [allow("iot:Connect", full("client/${iot:Connection.Thing.ThingName}"))],
        "iot:Connect",
        "client/thing1",
        False,
        {"iot:ClientId": "thing1"},
    ),
    "thing-name-other-client": Case(
        [allow("iot:Connect", full("client/${iot:Connection.Thing.ThingName}"))],
        "iot:Connect",
        "client/other",
        False,
        {"iot:Connection.Thing.ThingName": "thing1"},
    ),
    "unresolved-entry-does-not-spoil-other-entries": Case(
        [allow("iot:Publish", [full("topic/${iot:Connection.Thing.ThingName}"), full("topic/common")])],
        "iot:Publish",
        "topic/common",
        True,
        {},
        0,
    ),
    "unresolved-deny-denies-nothing": Case(
        [allow("iot:Publish", "*"), deny("iot:Publish", full("topic/${iot:Connection.Thing.ThingName}/*"))],
        "iot:Publish",
        "topic/x/y",
        True,
        {},
        0,
    ),
    "unresolved-not-resource-deny-denies-everything": Case(
        [
            allow("iot:Publish", "*"),
            {
                "Effect": "Deny",
                "Action": "iot:Publish",
                "NotResource": full("topic/${iot:Connection.Thing.ThingName}/*"),
            },
        ],
        "iot:Publish",
        "topic/x/y",
        False,
        {},
        1,
    ),
    "thing-type-condition": Case(
        [
            allow(
                "iot:Publish",
                full("topic/device/stats"),
                Condition={
                    "StringEquals": {
                        "iot:Connection.Thing.Attributes[attributeName]": "attributeValue",
                        "iot:Connection.Thing.ThingTypeName": "Thing_Type_Name",
                    },
                    "Bool": {"iot:Connection.Thing.IsAttached": "true"},
                },
            )
        ],
        "iot:Publish",
        "topic/device/stats",
        True,
        {
            "iot:Connection.Thing.Attributes[attributeName]": "attributeValue",
            "iot:Connection.Thing.ThingTypeName": "Thing_Type_Name",
            "iot:Connection.Thing.IsAttached": "true",
        },
        0,
    ),
    "thing-type-condition-other-type": Case(
        [
            allow(
                "iot:Publish", "*", Condition={"StringEquals": {"iot:Connection.Thing.ThingTypeName": "Lamp"}}
            )
        ],
        "iot:Publish",
        "topic/t",
        False,
        {"iot:Connection.Thing.ThingTypeName": "Switch"},
    ),
    "thing-attribute-in-resource": Case(
        [allow("iot:Publish", full("topic/${iot:Connection.Thing.Attributes[attributeName]}/*"))],
        "iot:Publish",
        "topic/blue/x",
        True,
        {"iot:Connection.Thing.Attributes[attributeName]": "blue"},
        0,
    ),
    "thing-attribute-name-is-case-sensitive": Case(
        [allow("iot:Publish", full("topic/${iot:Connection.Thing.Attributes[AttributeName]}/*"))],
        "iot:Publish",
        "topic/blue/x",
        False,
        {"iot:Connection.Thing.Attributes[attributeName]": "blue"},
    ),
    "is-attached-true": Case(
        [allow("iot:Connect", "*", Condition={"Bool": {"iot:Connection.Thing.IsAttached": ["true"]}})],
        "iot:Connect",
        "client/t",
        True,
        {"iot:Connection.Thing.IsAttached": "true"},
        0,
    ),
    "is-attached-false": Case(
        [allow("iot:Connect", "*", Condition={"Bool": {"iot:Connection.Thing.IsAttached": ["true"]}})],
        "iot:Connect",
        "client/t",
        False,
        {"iot:Connection.Thing.IsAttached": "false"},
    ),
    "variable-names-ignore-case": Case(
        [allow("iot:Publish", full("topic/${IOT:CLIENTID}"))],
        "iot:Publish",
        "topic/d",
        True,
        {"iot:ClientId": "d"},
        0,
    ),
    # Certificate policy variables (cert-policy-variables, use-policy-variables, certificate-policy-examples).
    "certificate-id-topic": Case(
        [allow("iot:Publish", full("topic/${iot:CertificateId}"))],
        "iot:Publish",
        "topic/abc123",
        True,
        {"iot:CertificateId": "abc123"},
        0,
    ),
    "subject-common-name-topic": Case(
        [allow("iot:Publish", full("topic/${iot:Certificate.Subject.CommonName}"))],
        "iot:Publish",
        "topic/dev-7",
        True,
        {"iot:Certificate.Subject.CommonName": "dev-7"},
        0,
    ),
    "organization-list-all-values": Case(
        [
            allow(
                "iot:Publish",
                "*",
                Condition={
                    "ForAllValues:StringEquals": {
                        "iot:Certificate.Subject.Organization.List": ["Example Corp", "AnyCompany"]
                    }
                },
            )
        ],
        "iot:Publish",
        "topic/t",
        True,
        {"iot:Certificate.Subject.Organization": ["AnyCompany", "Example Corp"]},
        0,
    ),
    "organization-list-one-value-outside": Case(
        [
            allow(
                "iot:Publish",
                "*",
                Condition={
                    "ForAllValues:StringEquals": {
                        "iot:Certificate.Subject.Organization.List": ["Example Corp", "AnyCompany"]
                    }
                },
            )
        ],
        "iot:Publish",
        "topic/t",
        False,
        {"iot:Certificate.Subject.Organization": ["Example Corp", "Other"]},
    ),
    "multi-value-first-by-default": Case(
        [allow("iot:Publish", full("topic/${iot:Certificate.Subject.Country}"))],
        "iot:Publish",
        "topic/US",
        True,
        {"iot:Certificate.Subject.Country": ["US", "CA"]},
        0,
    ),
    "multi-value-by-index": Case(
        [allow("iot:Publish", full("topic/${iot:Certificate.Subject.Country.1}"))],
        "iot:Publish",
        "topic/CA",
        True,
        {"iot:Certificate.Subject.Country": ["US", "CA"]},
        0,
    ),
    "multi-value-index-past-end": Case(
        [allow("iot:Publish", full("topic/${iot:Certificate.Subject.Country.2}"))],
        "iot:Publish",
        "topic/CA",
        False,
        {"iot:Certificate.Subject.Country": ["US", "CA"]},
    ),
    "serial-number-present-null-false": Case(
        [
            allow(
                "iot:Connect",
                full("client/*"),
                Condition={
                    "Null": {
                        "iot:Certificate.SerialNumber": "false",
                        "iot:Certificate.Subject.CommonName": "false",
                    }
                },
            )
        ],
        "iot:Connect",
        "client/c",
        True,
        {"iot:Certificate.SerialNumber": "10525622389124227206", "iot:Certificate.Subject.CommonName": "c"},
        0,
    ),
    "serial-number-null-false-missing-cn": Case(
        [
            allow(
                "iot:Connect",
                full("client/*"),
                Condition={
                    "Null": {
                        "iot:Certificate.SerialNumber": "false",
                        "iot:Certificate.Subject.CommonName": "false",
                    }
                },
            )
        ],
        "iot:Connect",
        "client/c",
        False,
        {"iot:Certificate.SerialNumber": "1"},
    ),
    "serial-number-as-client-id": Case(
        [allow("iot:Connect", full("client/${iot:Certificate.SerialNumber}"))],
        "iot:Connect",
        "client/10525622389124227206",
        True,
        {"iot:Certificate.SerialNumber": "10525622389124227206"},
        0,
    ),
    "certificate-value-with-wildcard-not-substituted": Case(
        [allow("iot:Publish", full("topic/${iot:Certificate.Subject.CommonName}"))],
        "iot:Publish",
        "topic/dev*",
        False,
        {"iot:Certificate.Subject.CommonName": "dev*"},
    ),
    "certificate-value-too-long-not-substituted": Case(
        [allow("iot:Publish", full("topic/${iot:Certificate.Subject.CommonName}"))],
        "iot:Publish",
        "topic/" + "x" * 1025,
        False,
        {"iot:Certificate.Subject.CommonName": "x" * 1025},
    ),
    "certificate-sixth-value-ignored": Case(
        [allow("iot:Publish", full("topic/${iot:Certificate.Subject.OrganizationalUnit.5}"))],
        "iot:Publish",
        "topic/f",
        False,
        {"iot:Certificate.Subject.OrganizationalUnit": list("abcdef")},
    ),
    "client-id-value-stays-literal": Case(
        [allow("iot:Publish", full("topic/${iot:ClientId}"))],
        "iot:Publish",
        "topic/abc",
        False,
        {"iot:ClientId": "a*"},
    ),
    "client-id-value-literal-match": Case(
        [allow("iot:Publish", full("topic/${iot:ClientId}"))],
        "iot:Publish",
        "topic/a*",
        True,
        {"iot:ClientId": "a*"},
        0,
    ),
    "unknown-variable-unresolved": Case(
        [allow("iot:Publish", full("topic/${iot:Certificate.Validity.NotAfter}"))],
        "iot:Publish",
        "topic/x",
        False,
        {"iot:ClientId": "x"},
    ),
    # Escapes ${*}, ${?}, ${$}.
    "escaped-star-is-literal": Case(
        [allow("iot:Publish", full("topic/a${*}"))], "iot:Publish", "topic/a*", True, deciding=0
    ),
    "escaped-star-is-not-a-wildcard": Case(
        [allow("iot:Publish", full("topic/a${*}"))], "iot:Publish", "topic/abc", False
    ),
    "escaped-question-mark": Case(
        [allow("iot:Publish", full("topic/what${?}"))], "iot:Publish", "topic/what?", True, deciding=0
    ),
    "escaped-question-mark-not-wildcard": Case(
        [allow("iot:Publish", full("topic/what${?}"))], "iot:Publish", "topic/whats", False
    ),
    "escaped-dollar": Case(
        [allow("iot:Publish", full("topic/${$}{literal}"))],
        "iot:Publish",
        "topic/${literal}",
        True,
        deciding=0,
    ),
    # Conditions.
    "source-ip-in-range": Case(
        [allow("iot:Publish", "*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})],
        "iot:Publish",
        "topic/t",
        True,
        {"aws:SourceIp": "10.1.2.3"},
        0,
    ),
    "source-ip-out-of-range": Case(
        [allow("iot:Publish", "*", Condition={"IpAddress": {"aws:SourceIp": "123.45.167.89"}})],
        "iot:Publish",
        "topic/t",
        False,
        {"aws:SourceIp": "127.0.0.1"},
    ),
    "string-like-with-variable": Case(
        [
            allow(
                "iot:Publish",
                "*",
                Condition={"StringLike": {"iot:ClientId": "${iot:Connection.Thing.ThingName}-*"}},
            )
        ],
        "iot:Publish",
        "topic/t",
        True,
        {"iot:ClientId": "t1-backup", "iot:Connection.Thing.ThingName": "t1"},
        0,
    ),
    "string-not-equals-absent-key-holds": Case(
        [
            deny(
                "iot:Publish",
                "*",
                Condition={"StringNotEquals": {"iot:Connection.Thing.ThingTypeName": "Lamp"}},
            ),
            allow("iot:Publish", "*"),
        ],
        "iot:Publish",
        "topic/t",
        False,
        {},
        0,
    ),
    "string-equals-absent-key-fails": Case(
        [
            allow(
                "iot:Publish", "*", Condition={"StringEquals": {"iot:Connection.Thing.ThingTypeName": "Lamp"}}
            )
        ],
        "iot:Publish",
        "topic/t",
        False,
        {},
    ),
    "if-exists-absent-key-holds": Case(
        [
            allow(
                "iot:Publish",
                "*",
                Condition={"StringEqualsIfExists": {"iot:Connection.Thing.ThingTypeName": "Lamp"}},
            )
        ],
        "iot:Publish",
        "topic/t",
        True,
        {},
        0,
    ),
    "for-any-value-absent-key-fails": Case(
        [
            allow(
                "iot:Publish",
                "*",
                Condition={
                    "ForAnyValue:StringEquals": {
                        "iot:Certificate.Subject.Organization.List": ["Example Corp"]
                    }
                },
            )
        ],
        "iot:Publish",
        "topic/t",
        False,
        {},
    ),
    "string-equals-ignore-case": Case(
        [allow("iot:Publish", "*", Condition={"StringEqualsIgnoreCase": {"iot:ClientId": "DEVICE"}})],
        "iot:Publish",
        "topic/t",
        True,
        {"iot:ClientId": "device"},
        0,
    ),
    "numeric-condition": Case(
        [
            allow(
                "iot:Publish",
                "*",
                Condition={"NumericLessThan": {"iot:Connection.Thing.Attributes[rev]": "3"}},
            )
        ],
        "iot:Publish",
        "topic/t",
        True,
        {"iot:Connection.Thing.Attributes[rev]": "2"},
        0,
    ),
    "unknown-operator-never-holds": Case(
        [allow("iot:Publish", "*", Condition={"StringSoundsLike": {"iot:ClientId": "x"}})],
        "iot:Publish",
        "topic/t",
        False,
        {"iot:ClientId": "x"},
    ),
    "unknown-operator-in-deny-denies-nothing": Case(
        [
            allow("iot:Publish", "*"),
            deny("iot:Publish", "*", Condition={"StringSoundsLike": {"iot:ClientId": "x"}}),
        ],
        "iot:Publish",
        "topic/t",
        True,
        {"iot:ClientId": "x"},
        0,
    ),
    # The fleet-provisioning claim policy of the guide (provision-wo-cert / fleet-provision-api).
    "claim-policy-create-topic": Case(
        [
            allow(
                ["iot:Publish", "iot:Receive"],
                [
                    full("topic/$aws/certificates/create/*"),
                    full("topic/$aws/provisioning-templates/T/provision/*"),
                ],
            ),
            allow(
                "iot:Subscribe",
                [
                    full("topicfilter/$aws/certificates/create/*"),
                    full("topicfilter/$aws/provisioning-templates/T/provision/*"),
                ],
            ),
        ],
        "iot:Publish",
        "topic/$aws/certificates/create/json",
        True,
        deciding=0,
    ),
    "claim-policy-without-create-from-csr": Case(
        [
            allow(
                ["iot:Publish", "iot:Receive"],
                [
                    full("topic/$aws/certificates/create/*"),
                    full("topic/$aws/provisioning-templates/T/provision/*"),
                ],
            )
        ],
        "iot:Publish",
        "topic/$aws/certificates/create-from-csr/json",
        False,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_policy_case(case: Case) -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": case.statements}, "P", "1")
    decision = evaluate([policy], case.action, full(case.resource), case.variables)
    assert decision.allowed is case.allowed, decision.reason
    if case.deciding is None:
        assert decision.statement is None, decision.reason
    else:
        assert decision.statement is not None
        assert decision.statement.statement_index == case.deciding
        assert decision.statement.effect == case.statements[case.deciding]["Effect"]


def test_deny_in_a_later_policy_wins_and_is_reported() -> None:
    granting = parse_policy(json.dumps({"Statement": [allow("iot:*", "*")]}), "Granting", "3")
    denying = parse_policy(
        {"Statement": {"Sid": "NoSecrets", **deny("iot:Publish", full("topic/secret/*"))}}, "Denying", "1"
    )
    decision = evaluate([granting, denying], "iot:Publish", full("topic/secret/x"))
    assert not decision.allowed and decision.explicitly_denied
    assert decision.statement is not None
    assert (decision.statement.policy_name, decision.statement.policy_version) == ("Denying", "1")
    assert decision.statement.sid == "NoSecrets"
    assert "explicitly denied by policy Denying version 1, statement 0 (Sid NoSecrets)" in decision.reason


def test_first_allowing_statement_is_reported() -> None:
    first = parse_policy({"Statement": [allow("iot:Connect", "*")]}, "First", "1")
    second = parse_policy({"Statement": [allow("iot:Publish", "*"), allow("iot:*", "*")]}, "Second", "2")
    decision = evaluate([first, second], "iot:Publish", full("topic/t"))
    assert decision.statement is not None
    assert (decision.statement.policy_name, decision.statement.statement_index) == ("Second", 0)
    assert "allowed by policy Second version 2, statement 0" in decision.reason


def test_implicit_deny_names_the_unresolved_variables() -> None:
    policy = parse_policy(
        {"Statement": [allow("iot:Connect", full("client/${iot:Connection.Thing.ThingName}"))]}
    )
    decision: Decision = evaluate(
        [policy], "iot:Connect", full("client/t"), PolicyVariables({"iot:ClientId": "t"})
    )
    assert not decision and not decision.explicitly_denied
    assert decision.unresolved_variables == ("iot:Connection.Thing.ThingName",)
    assert "iot:Connection.Thing.ThingName" in decision.reason


def test_no_policies_is_an_implicit_deny() -> None:
    decision = evaluate([], "iot:Connect", full("client/c"))
    assert not decision.allowed and decision.statement is None


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        "[]",
        {"Statement": []},
        {"Statement": [{"Effect": "allow", "Action": "iot:*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "iot:*", "NotAction": "iot:Connect", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": 5}]},
        {"Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*", "Condition": []}]},
    ],
)
def test_unreadable_documents_are_rejected(document: Any) -> None:
    with pytest.raises(PolicyDocumentError):
        parse_policy(document)


def test_hostile_wildcards_are_matched_in_bounded_time() -> None:
    pattern = "arn:" + "*a" * 400 + "b"
    policy = parse_policy({"Statement": [allow("iot:Publish", pattern)]})
    assert not evaluate([policy], "iot:Publish", "arn:" + "a" * 5000, {}).allowed
    assert evaluate([policy], "iot:Publish", "arn:" + "a" * 5000 + "b", {}).allowed
