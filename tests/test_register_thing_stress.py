"""RegisterThing under pressure: concurrent registrations of one thing, and random templates.

- Two threads, each with its own boto3 client, register the same thing over and over with new and reused
  certificates: the registry ends with one thing, every certificate attached to it once, every policy
  attached to every certificate once, and the group membership not duplicated.
- Random templates (nested JSON built from the template vocabulary, and garbage text) with random parameter
  maps, sent with client-side validation off: the answer is a success or one of the two documented errors,
  never a 5xx and never any other exception.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning
from mock_iotprov.pki import default_key_source
from tests.helpers import ec_key, iot_client, make_csr, subject_name

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
THREADS = 2
ITERATIONS = 25


@pytest.fixture(autouse=True, scope="module")
def quiet_key_generator() -> Iterator[None]:
    """Let the key pool's background generator finish before the module ends."""
    yield
    default_key_source().join_background()


# ---------------------------------------------------------------- concurrency


def _round_policy(iteration: int) -> dict[str, Any]:
    """The inline policy of one round: both threads create the same new policy at the same time."""
    topic = f"arn:aws:iot:us-east-1:123456789012:topic/round-{iteration}"
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": topic}],
    }


def _shared_thing_template(thread: int, iteration: int, certificate: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Resources": {
                "thing": {
                    "Type": "AWS::IoT::Thing",
                    "Properties": {
                        "ThingName": "shared",
                        "ThingGroups": ["fleet"],
                        "AttributePayload": {f"t{thread}": str(iteration)},
                    },
                    "OverrideSettings": {"AttributePayload": "MERGE", "ThingGroups": "MERGE"},
                },
                "certificate": {
                    "Type": "AWS::IoT::Certificate",
                    "Properties": certificate,
                    "OverrideSettings": {"Status": "REPLACE"},
                },
                "inline": {
                    "Type": "AWS::IoT::Policy",
                    "Properties": {"PolicyDocument": _round_policy(iteration)},
                },
                "named": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "NamedPolicy"}},
            }
        }
    )


def test_concurrent_registrations_of_one_thing_never_corrupt_state(
    iot_provisioning: MockIotProvisioning,
) -> None:
    setup = iot_client()
    setup.create_thing_group(thingGroupName="fleet")
    setup.create_policy(policyName="NamedPolicy", policyDocument=json.dumps(ALLOW_ALL))
    reused = setup.create_keys_and_certificate(setAsActive=False)
    clients = [iot_client() for _ in range(THREADS)]
    csrs = [
        [make_csr(subject_name(f"t{t}-{i}"), ec_key())[0] for i in range(ITERATIONS)] for t in range(THREADS)
    ]
    results: list[list[dict[str, str]]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(index: int) -> None:
        try:
            start.wait()
            for iteration, csr in enumerate(csrs[index]):
                if iteration % 5 == 0:
                    source = {"CertificateId": reused["certificateId"], "Status": "ACTIVE"}
                else:
                    source = {"CertificateSigningRequest": csr}
                body = _shared_thing_template(index, iteration, source)
                results[index].append(clients[index].register_thing(templateBody=body)["resourceArns"])
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    every = [arns for per_thread in results for arns in per_thread]
    assert len(every) == THREADS * ITERATIONS
    certificates = {arns["certificate"] for arns in every}
    assert len(certificates) == THREADS * (ITERATIONS - ITERATIONS // 5) + 1
    assert [t["thingName"] for t in setup.list_things()["things"]] == ["shared"]
    principals = setup.list_thing_principals(thingName="shared", maxResults=250)["principals"]
    assert sorted(principals) == sorted(certificates)  # each attached, none twice
    round_policies = {arns["inline"].rsplit("/", 1)[1] for arns in every}
    assert len(round_policies) == ITERATIONS
    listed = [
        p["policyName"]
        for p in setup.get_paginator("list_policies").paginate().build_full_result()["policies"]
    ]
    assert sorted(listed) == sorted([*round_policies, "NamedPolicy"])  # each policy created once
    for arns in every:
        policy_name = arns["inline"].rsplit("/", 1)[1]
        assert arns["certificate"] in setup.list_targets_for_policy(policyName=policy_name)["targets"]
    for arn in certificates:
        assert setup.list_principal_things(principal=arn)["things"] == ["shared"]
        attached = [p["policyName"] for p in setup.list_attached_policies(target=arn)["policies"]]
        assert len(attached) == len(set(attached)) and "NamedPolicy" in attached
        described = setup.describe_certificate(certificateId=arn.rsplit("/", 1)[1])["certificateDescription"]
        assert described["status"] == "ACTIVE"
    assert setup.list_things_in_thing_group(thingGroupName="fleet")["things"] == ["shared"]
    groups = setup.list_thing_groups_for_thing(thingName="shared")["thingGroups"]
    assert [g["groupName"] for g in groups] == ["fleet"]
    # Every registration after the first changed the attributes once: no update was lost.
    thing = setup.describe_thing(thingName="shared")
    last = str(ITERATIONS - 1)
    assert thing["attributes"] == {f"t{n}": last for n in range(THREADS)}
    assert thing["version"] == THREADS * ITERATIONS


# ---------------------------------------------------------------- random templates

CERTIFICATE_ID = "CERTIFICATE-ID"
"""Stands for the id of a registered certificate; replaced in the body and the parameter values."""
CSR_TEXT = "CSR-TEXT"
"""Stands for a valid certificate signing request, replaced the same way."""

_PROPERTIES = {
    "AWS::IoT::Thing": ["ThingName", "AttributePayload", "ThingTypeName", "ThingGroups", "BillingGroup"],
    "AWS::IoT::Certificate": [
        "CertificateId",
        "CertificateSigningRequest",
        "CertificatePem",
        "CACertificatePem",
        "Status",
        "ThingPrincipalType",
    ],
    "AWS::IoT::Policy": ["PolicyName", "PolicyDocument"],
}
_OVERRIDE_KEYS = ["AttributePayload", "ThingTypeName", "ThingGroups", "Status", "THING_GROUPS", "Other"]
_FUNCTIONS = [
    "Ref",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::Sub",
    "Fn::FindInMap",
    "Fn::If",
    "Fn::GetAtt",
]
_WORDS = st.sampled_from(
    [
        "ACTIVE",
        "Inactive",
        "REVOKED",
        "MERGE",
        "REPLACE",
        "DO_NOTHING",
        "FAIL",
        "EXCLUSIVE_THING",
        "NON_EXCLUSIVE_THING",
        "lamp",
        "new-thing",
        "bad name",
        "TypeA",
        "NoType",
        "g1",
        "g2",
        "bill-1",
        "NamedPolicy",
        "NoPolicy",
        "P",
        "Q",
        "AWS::IoT::Certificate::Id",
        CERTIFICATE_ID,
        CSR_TEXT,
        "${P}",
        "${iot:ClientId}",
        "a,b",
        "0",
        "1",
        "",
    ]
)
_SCALARS = st.one_of(_WORDS, st.text(max_size=8), st.integers(-2, 3), st.booleans(), st.none())
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(_WORDS, st.sampled_from(_FUNCTIONS)), children, max_size=3),
        st.builds(lambda name, value: {name: value}, st.sampled_from(_FUNCTIONS), children),
    ),
    max_leaves=12,
)
_VALUES = st.one_of(
    _WORDS,
    _WORDS,
    _WORDS.map(lambda name: {"Ref": name}),
    _WORDS.map(lambda name: {"Fn::FindInMap": ["M", name, "g"]}),
    st.lists(_WORDS, max_size=3).map(lambda parts: {"Fn::Join": ["", parts]}),
    st.lists(_WORDS, max_size=12),
    st.dictionaries(_WORDS, _WORDS, max_size=4),
    st.just(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
    ),
    _JSON,
)


@st.composite
def _resources(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from([*sorted(_PROPERTIES) * 4, "AWS::IoT::Job"]))
    names = _PROPERTIES.get(kind, ["ThingName"])
    resource: dict[str, Any] = {
        "Type": kind,
        "Properties": draw(st.dictionaries(st.sampled_from(names), _VALUES, max_size=len(names))),
    }
    if kind != "AWS::IoT::Policy" and draw(st.integers(0, 2)) == 0:
        resource["OverrideSettings"] = draw(
            st.dictionaries(st.sampled_from(_OVERRIDE_KEYS), _WORDS, max_size=3)
        )
    return resource


@st.composite
def _templates(draw: st.DrawFn) -> dict[str, Any]:
    """Template-shaped objects: declared parameters, a mapping, random resources, now and then junk."""
    template: dict[str, Any] = {
        "Parameters": {"P": {"Type": "String"}, "Q": {"Type": "String", "Default": "lamp"}},
        "Mappings": {"M": {"lamp": {"g": "g1"}}},
        "Resources": draw(
            st.dictionaries(st.sampled_from(["thing", "cert", "policy", "p2", "t2"]), _resources())
        ),
    }
    if draw(st.integers(0, 19)) == 0:
        template.update(draw(st.dictionaries(st.sampled_from(["Outputs", "Resources", "Parameters"]), _JSON)))
    return template


_STRING = st.one_of(
    _WORDS, st.sampled_from(["P", "Q", "AWS::IoT::Certificate::Id", "CSR"]).map(lambda name: {"Ref": name})
)
_OVERRIDE = st.sampled_from(["MERGE", "REPLACE", "DO_NOTHING", "FAIL"])


@st.composite
def _well_formed_templates(draw: st.DrawFn) -> dict[str, Any]:
    """Templates that pass the structural checks, so that registration itself is exercised."""
    thing_properties: dict[str, Any] = {"ThingName": draw(_STRING)}
    optional = {
        "AttributePayload": st.dictionaries(_WORDS, _STRING, max_size=4),
        "ThingTypeName": _STRING,
        "ThingGroups": st.lists(_STRING, max_size=12),
        "BillingGroup": _STRING,
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            thing_properties[name] = draw(values)
    thing_overrides = draw(
        st.dictionaries(st.sampled_from(["AttributePayload", "ThingGroups"]), _OVERRIDE, max_size=2)
    )
    if draw(st.booleans()):
        thing_overrides["ThingTypeName"] = draw(st.sampled_from(["REPLACE", "DO_NOTHING", "FAIL"]))
    resources: dict[str, Any] = {
        "thing": {
            "Type": "AWS::IoT::Thing",
            "Properties": thing_properties,
            "OverrideSettings": thing_overrides,
        }
    }
    if draw(st.integers(0, 3)):
        source = draw(st.sampled_from(["CertificateId", "CertificatePem", "CertificateSigningRequest"]))
        certificate = {source: draw(_STRING), "Status": draw(st.sampled_from(["ACTIVE", "Inactive", "bad"]))}
        if draw(st.booleans()):
            certificate["ThingPrincipalType"] = draw(
                st.sampled_from(["EXCLUSIVE_THING", "NON_EXCLUSIVE_THING"])
            )
        resources["certificate"] = {
            "Type": "AWS::IoT::Certificate",
            "Properties": certificate,
            "OverrideSettings": {"Status": draw(st.sampled_from(["REPLACE", "DO_NOTHING", "FAIL"]))},
        }
    for index in range(draw(st.integers(0, 2))):
        policy = draw(
            st.one_of(
                _STRING.map(lambda name: {"PolicyName": name}),
                st.just({"PolicyDocument": ALLOW_ALL}),
                _WORDS.map(
                    lambda action: {"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": action}]}}
                ),
            )
        )
        resources[f"policy{index}"] = {"Type": "AWS::IoT::Policy", "Properties": policy}
    parameters = {name: {"Type": "String"} for name in ("P", "AWS::IoT::Certificate::Id", "CSR")}
    return {"Parameters": {**parameters, "Q": {"Type": "String", "Default": "lamp"}}, "Resources": resources}


_BODIES = st.one_of(
    _well_formed_templates().map(json.dumps),
    _well_formed_templates().map(json.dumps),
    _well_formed_templates().map(json.dumps),
    _templates().map(json.dumps),
    _templates().map(json.dumps),
    _templates().map(json.dumps),
    _JSON.map(json.dumps),
    st.text(max_size=40),
    st.sampled_from(["", "{", "null", "[]", '{"Resources": 1}', "NaN", "{}" * 3]),
)
_PARAMETERS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"P": _WORDS, "AWS::IoT::Certificate::Id": _WORDS, "CSR": _WORDS},
        optional={"Q": _WORDS, "Other": _WORDS},
    ),
    st.fixed_dictionaries(
        {"P": _WORDS, "AWS::IoT::Certificate::Id": st.just(CERTIFICATE_ID), "CSR": st.just(CSR_TEXT)}
    ),
    st.dictionaries(
        st.sampled_from(["P", "Q", "AWS::IoT::Certificate::Id", "CSR", "Other"]), _WORDS, max_size=4
    ),
    st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=3),
)
ALLOWED_ERRORS = {"InvalidRequestException", "ResourceRegistrationFailureException"}


@pytest.fixture(scope="module")
def unvalidated_client() -> Any:
    """One client for every example (creating a client is slow); each example runs in a fresh mock."""
    return iot_client(validate=False)


def _populate(client: Any) -> str:
    """The registry the random templates may refer to; the id of its one certificate."""
    client.create_thing_type(thingTypeName="TypeA")
    client.create_thing_group(thingGroupName="g1")
    client.create_thing_group(thingGroupName="g2")
    client.create_billing_group(billingGroupName="bill-1")
    client.create_policy(policyName="NamedPolicy", policyDocument=json.dumps(ALLOW_ALL))
    client.create_thing(thingName="lamp", thingTypeName="TypeA", attributePayload={"attributes": {"a": "1"}})
    return str(client.create_certificate_from_csr(certificateSigningRequest=FUZZ_CSR)["certificateId"])


FUZZ_CSR = make_csr(subject_name("random"))[0]


@settings(max_examples=150, deadline=None)
@given(body=_BODIES, parameters=_PARAMETERS)
def test_random_templates_give_only_documented_answers(
    unvalidated_client: Any, body: str, parameters: dict[str, str] | None
) -> None:
    client = unvalidated_client
    with mock_iot_provisioning():
        certificate_id = _populate(client)
        body = body.replace(CERTIFICATE_ID, certificate_id).replace(CSR_TEXT, json.dumps(FUZZ_CSR)[1:-1])
        request: dict[str, Any] = {"templateBody": body}
        if parameters is not None:
            request["parameters"] = {
                name: value.replace(CERTIFICATE_ID, certificate_id).replace(CSR_TEXT, FUZZ_CSR)
                for name, value in parameters.items()
            }
        try:
            result = client.register_thing(**request)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            assert code in ALLOWED_ERRORS, error.response["Error"]
            assert status == 400
        else:
            assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
            assert isinstance(result["resourceArns"], dict)
