"""RegisterThing end to end: what a registration does to the registry.

Policies attached to the certificate, the certificate attached to the thing (``ThingPrincipalType``
honoured), certificate status, and every ``OverrideSettings`` value for an existing thing and certificate.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509

from mock_iotprov import MockIotProvisioning
from tests.helpers import error_of, iot_client, make_csr, registry_snapshot, subject_name

ARN_PREFIX = "arn:aws:iot:us-east-1:123456789012:"
WORKFLOW_FAILURE = "Register thing workflow execution terminates due to: "
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
)
ALLOW_CONNECT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
}



@pytest.fixture
def client(iot_provisioning: MockIotProvisioning) -> Any:
    iot = iot_client()
    for thing_type in ("TypeA", "TypeB"):
        iot.create_thing_type(thingTypeName=thing_type)
    for group in ("g1", "g2", "g3"):
        iot.create_thing_group(thingGroupName=group)
    iot.create_billing_group(billingGroupName="bill-1")
    iot.create_billing_group(billingGroupName="bill-2")
    iot.create_policy(policyName="NamedPolicy", policyDocument=ALLOW_ALL)
    return iot


def _register(client: Any, resources: dict[str, Any], **parameters: str) -> dict[str, Any]:
    result: dict[str, Any] = client.register_thing(
        templateBody=json.dumps({"Resources": resources}), parameters=parameters
    )
    return result


def _thing_resource(name: str, overrides: dict[str, str] | None = None, **properties: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": name, **properties}}
    if overrides is not None:
        resource["OverrideSettings"] = overrides
    return resource


def _csr_certificate(**properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IoT::Certificate",
        "Properties": {"CertificateSigningRequest": make_csr(subject_name("device"))[0], **properties},
    }


def _id_certificate(
    certificate_id: str, overrides: dict[str, str] | None = None, **properties: Any
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AWS::IoT::Certificate",
        "Properties": {"CertificateId": certificate_id, **properties},
    }
    if overrides is not None:
        resource["OverrideSettings"] = overrides
    return resource


def _status(client: Any, certificate_id: str) -> str:
    return str(client.describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"])


def _certificate_id(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def _described(client: Any, thing_name: str) -> dict[str, Any]:
    described = client.describe_thing(thingName=thing_name)
    groups = client.list_thing_groups_for_thing(thingName=thing_name)["thingGroups"]
    return {
        "attributes": described["attributes"],
        "type": described.get("thingTypeName"),
        "billing": described.get("billingGroupName"),
        "groups": sorted(group["groupName"] for group in groups),
        "version": described["version"],
    }


def _failure(client: Any, resources: dict[str, Any]) -> tuple[str, int, str]:
    """Register, expect a failure, check that nothing changed; (code, status, message)."""
    before = registry_snapshot(client)
    with pytest.raises(ClientError) as caught:
        _register(client, resources)
    assert registry_snapshot(client) == before
    return error_of(caught)


# ---------------------------------------------------------------- policies and attachments


def test_every_policy_is_attached_to_the_certificate(client: Any) -> None:
    result = _register(
        client,
        {
            "thing": _thing_resource("lamp"),
            "certificate": _csr_certificate(),
            "named": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "NamedPolicy"}},
            "inline": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": ALLOW_CONNECT}},
        },
    )

    inline_name = _certificate_id(result["resourceArns"]["inline"])
    attached = client.list_attached_policies(target=result["resourceArns"]["certificate"])["policies"]
    assert sorted(p["policyName"] for p in attached) == sorted(["NamedPolicy", inline_name])
    assert "named" not in result["resourceArns"]
    assert json.loads(client.get_policy(policyName=inline_name)["policyDocument"]) == ALLOW_CONNECT


def test_certificate_is_attached_to_the_thing_non_exclusively_by_default(client: Any) -> None:
    result = _register(client, {"thing": _thing_resource("lamp"), "certificate": _csr_certificate()})

    certificate_arn = result["resourceArns"]["certificate"]
    assert client.list_thing_principals(thingName="lamp")["principals"] == [certificate_arn]
    assert client.list_thing_principals_v2(thingName="lamp")["thingPrincipalObjects"] == [
        {"principal": certificate_arn, "thingPrincipalType": "NON_EXCLUSIVE_THING"}
    ]
    assert client.list_principal_things(principal=certificate_arn)["things"] == ["lamp"]


def test_exclusive_thing_principal_type_is_honoured(client: Any) -> None:
    result = _register(
        client,
        {
            "thing": _thing_resource("lamp"),
            "certificate": _csr_certificate(ThingPrincipalType="EXCLUSIVE_THING"),
        },
    )
    certificate_id = _certificate_id(result["resourceArns"]["certificate"])
    listed = client.list_thing_principals_v2(thingName="lamp", thingPrincipalType="EXCLUSIVE_THING")
    assert listed["thingPrincipalObjects"] == [
        {"principal": result["resourceArns"]["certificate"], "thingPrincipalType": "EXCLUSIVE_THING"}
    ]

    code, status, message = _failure(
        client, {"thing": _thing_resource("other-lamp"), "certificate": _id_certificate(certificate_id)}
    )
    assert (code, status) == ("ResourceRegistrationFailureException", 400)
    assert message.startswith(WORKFLOW_FAILURE)


def test_exclusive_attachment_is_refused_for_a_certificate_on_another_thing(client: Any) -> None:
    result = _register(client, {"thing": _thing_resource("lamp"), "certificate": _csr_certificate()})
    certificate_id = _certificate_id(result["resourceArns"]["certificate"])

    code, status, _ = _failure(
        client,
        {
            "thing": _thing_resource("other-lamp"),
            "certificate": _id_certificate(certificate_id, ThingPrincipalType="EXCLUSIVE_THING"),
        },
    )
    assert (code, status) == ("ResourceRegistrationFailureException", 400)


def test_re_registering_keeps_an_exclusive_attachment_when_the_template_does_not_say(client: Any) -> None:
    result = _register(
        client,
        {
            "thing": _thing_resource("lamp"),
            "certificate": _csr_certificate(ThingPrincipalType="EXCLUSIVE_THING"),
        },
    )
    certificate_id = _certificate_id(result["resourceArns"]["certificate"])

    _register(client, {"thing": _thing_resource("lamp"), "certificate": _id_certificate(certificate_id)})

    kinds = client.list_thing_principals_v2(thingName="lamp")["thingPrincipalObjects"]
    assert [k["thingPrincipalType"] for k in kinds] == ["EXCLUSIVE_THING"]


def test_registering_the_same_thing_and_certificate_twice_attaches_once(client: Any) -> None:
    resources = {
        "thing": _thing_resource("lamp"),
        "certificate": _csr_certificate(),
        "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "NamedPolicy"}},
    }
    first = _register(client, resources)
    certificate_id = _certificate_id(first["resourceArns"]["certificate"])
    resources["certificate"] = _id_certificate(certificate_id)

    second = _register(client, resources)

    assert second["resourceArns"] == first["resourceArns"]
    assert client.list_thing_principals(thingName="lamp")["principals"] == [
        first["resourceArns"]["certificate"]
    ]
    attached = client.list_attached_policies(target=first["resourceArns"]["certificate"])["policies"]
    assert [p["policyName"] for p in attached] == ["NamedPolicy"]


# ---------------------------------------------------------------- certificate status


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, "ACTIVE"),
        ("ACTIVE", "ACTIVE"),
        ("INACTIVE", "INACTIVE"),
        ("Inactive", "INACTIVE"),
        ("active", "ACTIVE"),
    ],
)
def test_new_certificate_gets_the_template_status(client: Any, status: str | None, expected: str) -> None:
    properties = {} if status is None else {"Status": status}
    result = _register(client, {"certificate": _csr_certificate(**properties)})

    assert _status(client, _certificate_id(result["resourceArns"]["certificate"])) == expected


@pytest.mark.parametrize(
    ("existing", "template", "override", "expected"),
    [
        ("ACTIVE", "INACTIVE", "REPLACE", "INACTIVE"),
        ("INACTIVE", "ACTIVE", "REPLACE", "ACTIVE"),
        ("INACTIVE", "Active", "REPLACE", "ACTIVE"),
        ("ACTIVE", "INACTIVE", "DO_NOTHING", "ACTIVE"),
        ("INACTIVE", "ACTIVE", "DO_NOTHING", "INACTIVE"),
        ("ACTIVE", "INACTIVE", None, "ACTIVE"),
        ("INACTIVE", "ACTIVE", None, "INACTIVE"),
        ("ACTIVE", "ACTIVE", "FAIL", "ACTIVE"),  # same status: no conflict
    ],
)
def test_status_override_on_an_existing_certificate(
    client: Any, existing: str, template: str, override: str | None, expected: str
) -> None:
    created = client.create_keys_and_certificate(setAsActive=existing == "ACTIVE")
    overrides = None if override is None else {"Status": override}

    _register(client, {"certificate": _id_certificate(created["certificateId"], overrides, Status=template)})

    assert _status(client, created["certificateId"]) == expected


def test_status_fail_override_with_another_status_fails_the_request(client: Any) -> None:
    created = client.create_keys_and_certificate(setAsActive=True)

    code, status, message = _failure(
        client,
        {
            "thing": _thing_resource("lamp"),
            "certificate": _id_certificate(created["certificateId"], {"Status": "FAIL"}, Status="INACTIVE"),
        },
    )

    assert (code, status) == ("ResourceRegistrationFailureException", 400)
    assert message.startswith(WORKFLOW_FAILURE)


# ---------------------------------------------------------------- OverrideSettings of an existing thing


@pytest.fixture
def existing(client: Any) -> Any:
    """A thing ``lamp`` of type TypeA, attributes a=1 b=2, in g1 and g2 and billing group bill-1."""
    client.create_thing(
        thingName="lamp",
        thingTypeName="TypeA",
        attributePayload={"attributes": {"a": "1", "b": "2"}},
        billingGroupName="bill-1",
    )
    client.update_thing_groups_for_thing(thingName="lamp", thingGroupsToAdd=["g1", "g2"])
    return client


_CHANGES = {
    "AttributePayload": {"b": "20", "c": "3"},
    "ThingTypeName": "TypeB",
    "ThingGroups": ["g2", "g3"],
    "BillingGroup": "bill-2",
}
_UNCHANGED = {
    "attributes": {"a": "1", "b": "2"},
    "type": "TypeA",
    "billing": "bill-1",
    "groups": ["g1", "g2"],
}


def _without_version(described: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in described.items() if key != "version"}


def test_merge_unites_attributes_and_groups(existing: Any) -> None:
    overrides = {"AttributePayload": "MERGE", "ThingGroups": "MERGE", "ThingTypeName": "DO_NOTHING"}
    _register(existing, {"thing": _thing_resource("lamp", overrides, **_CHANGES)})

    assert _described(existing, "lamp") == {
        "attributes": {"a": "1", "b": "20", "c": "3"},
        "type": "TypeA",
        "billing": "bill-1",
        "groups": ["g1", "g2", "g3"],
        "version": 2,
    }


def test_replace_overwrites_attributes_type_and_groups(existing: Any) -> None:
    overrides = {"AttributePayload": "REPLACE", "ThingGroups": "REPLACE", "ThingTypeName": "REPLACE"}
    _register(existing, {"thing": _thing_resource("lamp", overrides, **_CHANGES)})

    described = _described(existing, "lamp")
    assert _without_version(described) == {
        "attributes": {"b": "20", "c": "3"},
        "type": "TypeB",
        "billing": "bill-1",  # BillingGroup has no override setting: an existing thing keeps its own
        "groups": ["g2", "g3"],
    }
    assert described["version"] > 1
    assert existing.list_things_in_thing_group(thingGroupName="g1")["things"] == []


def test_replace_accepts_the_upper_snake_override_keys(existing: Any) -> None:
    overrides = {"ATTRIBUTE_PAYLOAD": "REPLACE", "THING_GROUPS": "REPLACE", "THING_TYPE_NAME": "REPLACE"}
    _register(existing, {"thing": _thing_resource("lamp", overrides, **_CHANGES)})

    assert _without_version(_described(existing, "lamp")) == {
        "attributes": {"b": "20", "c": "3"},
        "type": "TypeB",
        "billing": "bill-1",
        "groups": ["g2", "g3"],
    }


def test_do_nothing_keeps_the_existing_thing(existing: Any) -> None:
    overrides = {"AttributePayload": "DO_NOTHING", "ThingGroups": "DO_NOTHING", "ThingTypeName": "DO_NOTHING"}
    result = _register(existing, {"thing": _thing_resource("lamp", overrides, **_CHANGES)})

    assert result["resourceArns"] == {"thing": f"{ARN_PREFIX}thing/lamp"}
    assert _described(existing, "lamp") == {**_UNCHANGED, "version": 1}


def test_absent_override_settings_mean_do_nothing(existing: Any) -> None:
    created = existing.create_keys_and_certificate(setAsActive=True)
    _register(
        existing,
        {
            "thing": _thing_resource("lamp", None, **_CHANGES),
            "certificate": _id_certificate(created["certificateId"]),
        },
    )

    assert _described(existing, "lamp") == {**_UNCHANGED, "version": 1}
    # The registration still attaches the certificate to the existing thing.
    assert existing.list_thing_principals(thingName="lamp")["principals"] == [created["certificateArn"]]


@pytest.mark.parametrize(
    ("prop", "value"),
    [("AttributePayload", {"a": "1"}), ("ThingTypeName", "TypeB"), ("ThingGroups", ["g1"])],
)
def test_fail_aborts_the_whole_request_when_the_property_would_change(
    existing: Any, prop: str, value: Any
) -> None:
    resources = {
        "thing": _thing_resource("lamp", {prop: "FAIL"}, **{prop: value}),
        "certificate": _csr_certificate(),
        "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": ALLOW_CONNECT}},
    }

    code, status, message = _failure(existing, resources)

    assert (code, status) == ("ResourceRegistrationFailureException", 400)
    assert message.startswith(WORKFLOW_FAILURE) and "lamp" in message


def test_fail_with_identical_values_is_no_conflict(existing: Any) -> None:
    overrides = {"AttributePayload": "FAIL", "ThingGroups": "FAIL", "ThingTypeName": "FAIL"}
    properties = {
        "AttributePayload": {"a": "1", "b": "2"},
        "ThingTypeName": "TypeA",
        "ThingGroups": ["g2", "g1"],
    }

    _register(existing, {"thing": _thing_resource("lamp", overrides, **properties)})

    assert _described(existing, "lamp") == {**_UNCHANGED, "version": 1}


def test_replace_that_would_exceed_the_attribute_limit_fails(existing: Any) -> None:
    existing.create_thing(thingName="plain", attributePayload={"attributes": {"x": "1"}})
    code, status, _ = _failure(
        existing,
        {
            "thing": _thing_resource(
                "plain", {"AttributePayload": "MERGE"}, AttributePayload={"p": "1", "q": "2", "r": "3"}
            )
        },
    )
    assert (code, status) == ("InvalidRequestException", 400)


def test_merge_into_more_than_ten_groups_fails(existing: Any) -> None:
    names = [f"extra-{n}" for n in range(9)]
    for name in names:
        existing.create_thing_group(thingGroupName=name)

    code, status, message = _failure(
        existing, {"thing": _thing_resource("lamp", {"ThingGroups": "MERGE"}, ThingGroups=names)}
    )

    assert (code, status) == ("ResourceRegistrationFailureException", 400)
    assert message.startswith(WORKFLOW_FAILURE)


def test_new_thing_gets_type_groups_billing_group_and_attributes(client: Any) -> None:
    _register(
        client,
        {
            "thing": _thing_resource(
                "fresh",
                ThingTypeName="TypeA",
                ThingGroups=["g1", "g3", "g1"],
                BillingGroup="bill-2",
                AttributePayload={"k": "v"},
            )
        },
    )

    assert _described(client, "fresh") == {
        "attributes": {"k": "v"},
        "type": "TypeA",
        "billing": "bill-2",
        "groups": ["g1", "g3"],
        "version": 1,
    }
    assert client.list_things_in_billing_group(billingGroupName="bill-2")["things"] == ["fresh"]


def test_existing_thing_of_a_since_deprecated_type_can_register_again(existing: Any) -> None:
    existing.deprecate_thing_type(thingTypeName="TypeA")
    created = existing.create_keys_and_certificate(setAsActive=True)

    _register(
        existing,
        {
            "thing": _thing_resource("lamp", {"ThingTypeName": "REPLACE"}, ThingTypeName="TypeA"),
            "certificate": _id_certificate(created["certificateId"]),
        },
    )

    assert existing.list_thing_principals(thingName="lamp")["principals"] == [created["certificateArn"]]


def test_existing_thing_cannot_take_a_deprecated_type(existing: Any) -> None:
    existing.deprecate_thing_type(thingTypeName="TypeB")

    code, status, message = _failure(
        existing, {"thing": _thing_resource("lamp", {"ThingTypeName": "REPLACE"}, ThingTypeName="TypeB")}
    )

    assert (code, status) == ("ResourceRegistrationFailureException", 400)
    assert "TypeB" in message


def test_csr_with_an_empty_subject_gets_the_default_subject(client: Any) -> None:
    csr = make_csr(x509.Name([]))[0]
    certificate = {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateSigningRequest": csr}}
    result = _register(client, {"certificate": certificate})

    issued = x509.load_pem_x509_certificate(result["certificatePem"].encode())
    assert issued.subject.rfc4514_string() == "CN=AWS IoT Certificate"
