"""Model-driven fuzzing of every operation in the service table, through a real boto3 client.

For each operation, inputs are generated from botocore's input shape: valid ones (strings within their
length bounds drawn from an alphabet read off the member's pattern, enum values, integers in range, lists,
maps, structures with every required member) and ones that break exactly one constraint (too long, too
short, a value outside the enum, an integer out of range, a required member missing, a character the
pattern forbids, a value of the wrong type). The registry is seeded first (a thing type, things, thing
groups, a billing group, certificates, a CA certificate, policies, templates, attachments) and generated
inputs often name those objects, so calls reach deep paths rather than 404s; for operations whose members
only work together (RegisterThing's template and parameters, a CA and its verification certificate ...)
seeding also supplies complete inputs, sent as they are or with one member broken. Empty uri labels are
sent too: this botocore builds such a request (``/things/``) and the mock must refuse it.

The client runs with ``parameter_validation=False``, so every check is the mock's. What must hold:

- The only exception a call raises is ``ClientError``, except where botocore itself cannot build the
  request (a missing uri label is a ``KeyError``, a structure given as a string an ``AttributeError``, a
  lone surrogate in a uri label or query string a ``UnicodeEncodeError``, ...). Those requests never leave
  the client and never reach the mock; the test builds each request with botocore's own rest-json
  serializer and ``prepare_request_dict``, the two steps the client runs before its ``before-call`` event,
  and allows exactly the exception type they raise, and only then.
- No HTTP status >= 500, and every error code is one the model declares for the operation or a generic one.
- An input that breaks a length, range, enum or required constraint is refused (the server validates all).
- A failed call changes no state (a structural dump of every store's tables, before and after), and after
  every call the registry is consistent (``registry_problems``).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import string
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from botocore import xform_name
from botocore.awsrequest import prepare_request_dict
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.serialize import create_serializer
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sortedcontainers import SortedList

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning
from mock_iotprov.invariants import registry_problems
from mock_iotprov.pagination import InsertionOrder, SortedKeys
from mock_iotprov.protocol.model import operation_model
from mock_iotprov.service import OPERATIONS
from tests.helpers import (
    ROLE_ARN,
    SIMPLE_TEMPLATE,
    TestCertificateAuthority,
    error_of,
    iot_client,
    make_csr,
    pem_text,
    subject_name,
)

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
GENERIC_ERRORS = {
    "InvalidRequestException",
    "ThrottlingException",
    "UnauthorizedException",
    "ServiceUnavailableException",
}
# Botocore's serializer fails on these types of wrong input before any request exists.
CLIENT_SIDE_ERRORS = (KeyError, AttributeError, TypeError, ValueError)
STRICT = "strict"  # a violation the service must refuse (length, range, enum, required)
LOOSE = "loose"  # a violation that may survive serialization as a valid value (type, pattern)
ODD_CHARACTERS = [" ", "!", "%", "/", "?", "#", "\x00", "\n", "é", "\u2028", "\ud800", "💡", "*"]
ODD_FRAGMENTS = [*ODD_CHARACTERS, "..", "%2F", "../"]
ACCOUNT = "123456789012"
REGION = "us-east-1"
COGNITO_ID = "us-east-1:12345678-1234-1234-1234-123456789012"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pre-provisioning-hook"


def _policy(action: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
    )


REGISTER_BY_ID = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}, "CertificateId": {"Type": "String"}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Ref": "ThingName"},
                    "ThingTypeName": "fuzz-type",
                    "ThingGroups": ["fuzz-group"],
                    "BillingGroup": "fuzz-billing",
                    "AttributePayload": {"serial": "002"},
                },
                "OverrideSettings": {"AttributePayload": "MERGE", "ThingGroups": "REPLACE"},
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "CertificateId"}, "Status": "ACTIVE"},
            },
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "fuzz-policy"}},
        },
    }
)
REGISTER_BY_CSR = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}, "CSR": {"Type": "String"}},
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "ThingName"}}},
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateSigningRequest": {"Ref": "CSR"}, "Status": "ACTIVE"},
            },
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": _policy("iot:Receive")}},
        },
    }
)


# ---------------------------------------------------------------- certificates made once per process


@dataclasses.dataclass(frozen=True)
class Pki:
    """Certificates of the test's own: a CA to register, a second CA, a device certificate, a CSR."""

    ca: TestCertificateAuthority
    other_ca: TestCertificateAuthority
    device_pem: str
    csr_pem: str


@cache
def pki() -> Pki:
    ca = TestCertificateAuthority.create("Fuzz CA")
    device = pem_text(ca.issue(subject_name("fuzz-device")))
    return Pki(ca, TestCertificateAuthority.create("Other Fuzz CA"), device, make_csr(subject_name("csr"))[0])


@cache
def clients() -> tuple[Any, Any]:
    """(validating client for seeding, non-validating client for fuzzing), shared by the module's tests."""
    return iot_client(), iot_client(validate=False)


# ---------------------------------------------------------------- seeding


@dataclasses.dataclass(frozen=True)
class Seed:
    """What seeding made: values by member name, and whole inputs by operation that reach deep paths."""

    values: dict[str, list[Any]]
    inputs: dict[str, list[dict[str, Any]]]


def seed(iot: Any) -> Seed:
    """Create the seed objects (a thing type, things, groups, certificates, a CA, a policy, templates)."""
    material = pki()
    iot.create_thing_type(
        thingTypeName="fuzz-type",
        thingTypeProperties={"searchableAttributes": ["serial"]},
        tags=[{"Key": "team", "Value": "blue"}],
    )
    iot.create_thing_type(thingTypeName="fuzz-old-type")
    iot.deprecate_thing_type(thingTypeName="fuzz-old-type")
    billing = iot.create_billing_group(billingGroupName="fuzz-billing")["billingGroupArn"]
    group = iot.create_thing_group(thingGroupName="fuzz-group")["thingGroupArn"]
    iot.create_thing_group(thingGroupName="fuzz-child", parentGroupName="fuzz-group")
    thing = iot.create_thing(
        thingName="fuzz-thing",
        thingTypeName="fuzz-type",
        attributePayload={"attributes": {"serial": "001"}},
        billingGroupName="fuzz-billing",
    )["thingArn"]
    iot.create_thing(thingName="fuzz-bare")
    iot.add_thing_to_thing_group(thingGroupName="fuzz-child", thingName="fuzz-thing")
    active = iot.create_keys_and_certificate(setAsActive=True)
    inactive = iot.create_keys_and_certificate(setAsActive=False)
    policy = iot.create_policy(policyName="fuzz-policy", policyDocument=_policy("iot:Connect"))["policyArn"]
    iot.create_policy_version(policyName="fuzz-policy", policyDocument=_policy("iot:Publish"))
    iot.create_policy(policyName="fuzz-spare-policy", policyDocument=_policy("iot:Receive"))
    iot.attach_policy(policyName="fuzz-policy", target=active["certificateArn"])
    iot.attach_policy(policyName="fuzz-policy", target=group)
    iot.attach_thing_principal(thingName="fuzz-thing", principal=active["certificateArn"])
    template = iot.create_provisioning_template(
        templateName="fuzz-template", templateBody=REGISTER_BY_ID, provisioningRoleArn=ROLE_ARN, enabled=True
    )["templateArn"]
    iot.create_provisioning_template_version(templateName="fuzz-template", templateBody=SIMPLE_TEMPLATE)
    iot.create_provisioning_template(
        templateName="fuzz-jitp", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN, type="JITP"
    )
    ca_id = material.ca.register(iot)
    iot.update_ca_certificate(certificateId=ca_id, registrationConfig={"templateName": "fuzz-jitp"})
    code = iot.get_registration_code()["registrationCode"]
    verification = pem_text(material.other_ca.issue(subject_name(code)))
    cert_ids = [active["certificateId"], inactive["certificateId"], ca_id]
    cert_arns = [active["certificateArn"], inactive["certificateArn"]]
    group_names = ["fuzz-group", "fuzz-child", "fuzz-new-group"]
    values: dict[str, list[Any]] = {
        "thingName": ["fuzz-thing", "fuzz-bare", "fuzz-new"],
        "thingTypeName": ["fuzz-type", "fuzz-old-type", "fuzz-new-type"],
        "thingGroupName": group_names,
        "parentGroupName": group_names,
        "parentGroup": group_names,
        "thingGroupsToAdd": group_names,
        "thingGroupsToRemove": group_names,
        "billingGroupName": ["fuzz-billing", "fuzz-new-billing"],
        "certificateId": cert_ids,
        "caCertificateId": [ca_id],
        "policyName": ["fuzz-policy", "fuzz-spare-policy", "fuzz-new-policy"],
        "policyVersionId": ["1", "2", "3"],
        "templateName": ["fuzz-template", "fuzz-jitp", "fuzz-new-template"],
        "versionId": [1, 2, 3],
        "defaultVersionId": [1, 2, 3],
        "expectedVersion": [1, 2],
        "principal": [*cert_arns, COGNITO_ID],
        "target": [*cert_arns, group, COGNITO_ID],
        "resourceArn": [
            billing,
            group,
            policy,
            template,
            thing,
            f"arn:aws:iot:{REGION}:{ACCOUNT}:cacert/{ca_id}",
        ],
        "thingArn": [thing],
        "thingGroupArn": [group],
        "billingGroupArn": [billing],
        "templateBody": [REGISTER_BY_ID, REGISTER_BY_CSR, SIMPLE_TEMPLATE],
        "parameters": [
            {"ThingName": "fuzz-new", "CertificateId": inactive["certificateId"]},
            {"ThingName": "fuzz-thing", "CertificateId": active["certificateId"]},
            {"ThingName": "fuzz-bare", "CSR": material.csr_pem},
        ],
        "parameters.key": ["ThingName", "CertificateId", "CSR"],
        "parameters.value": ["fuzz-thing", "fuzz-new", active["certificateId"]],
        "policyDocument": [_policy("iot:Subscribe"), _policy("iot:*")],
        "certificatePem": [material.device_pem, active["certificatePem"]],
        "caCertificatePem": [material.ca.pem],
        "caCertificate": [material.other_ca.pem, material.ca.pem],
        "verificationCertificate": [verification],
        "certificateSigningRequest": [material.csr_pem],
        "roleArn": [ROLE_ARN],
        "provisioningRoleArn": [ROLE_ARN],
        "targetArn": [LAMBDA_ARN],
        "nextToken": [iot.list_things(maxResults=1)["nextToken"]],
        "marker": [iot.list_certificates(pageSize=1)["nextMarker"]],
        "namePrefixFilter": ["fuzz"],
        "attributeName": ["serial"],
        "attributeValue": ["001", "0"],
        "attributes.key": ["serial"],
        "searchableAttributes": ["serial"],
        "Key": ["team"],
        "tagKeys": ["team"],
        "endpointType": ["iot:Data-ATS", "iot:Data", "iot:CredentialProvider", "iot:Jobs"],
    }
    by_name = {"thingGroupName": "fuzz-group", "thingName": "fuzz-bare"}
    by_arn = {"thingGroupArn": group, "thingArn": thing}
    billing_by_name = {"billingGroupName": "fuzz-billing", "thingName": "fuzz-thing"}
    inputs: dict[str, list[dict[str, Any]]] = {
        "RegisterThing": [
            {"templateBody": REGISTER_BY_ID, "parameters": parameters}
            for parameters in values["parameters"][:2]
        ]
        + [{"templateBody": REGISTER_BY_CSR, "parameters": values["parameters"][2]}],
        "RegisterCACertificate": [
            {
                "caCertificate": material.other_ca.pem,
                "verificationCertificate": verification,
                "setAsActive": True,
                "allowAutoRegistration": True,
                "registrationConfig": {"templateName": "fuzz-jitp"},
                "tags": [{"Key": "team", "Value": "red"}],
            },
            {"caCertificate": material.other_ca.pem, "certificateMode": "SNI_ONLY"},
        ],
        "RegisterCertificate": [
            {"certificatePem": material.device_pem, "caCertificatePem": material.ca.pem, "status": "ACTIVE"},
            {"certificatePem": material.device_pem, "setAsActive": False},
        ],
        "RegisterCertificateWithoutCA": [{"certificatePem": material.device_pem, "status": "INACTIVE"}],
        "CreateProvisioningTemplate": [
            {
                "templateName": "fuzz-new-template",
                "templateBody": SIMPLE_TEMPLATE,
                "provisioningRoleArn": ROLE_ARN,
                "enabled": True,
                "preProvisioningHook": {"targetArn": LAMBDA_ARN},
                "tags": [{"Key": "team", "Value": "red"}],
            }
        ],
        "UpdateCACertificate": [
            {
                "certificateId": ca_id,
                "newStatus": "INACTIVE",
                "newAutoRegistrationStatus": "ENABLE",
                "registrationConfig": {"templateBody": SIMPLE_TEMPLATE, "roleArn": ROLE_ARN},
            },
            {"certificateId": ca_id, "removeAutoRegistration": True},
        ],
        "CreateThing": [
            {
                "thingName": "fuzz-new",
                "thingTypeName": "fuzz-type",
                "attributePayload": {"attributes": {"serial": "9"}},
                "billingGroupName": "fuzz-billing",
            }
        ],
        "UpdateThing": [
            {
                "thingName": "fuzz-thing",
                "attributePayload": {"attributes": {"serial": "", "site": "x"}, "merge": True},
                "expectedVersion": 1,
            },
            {"thingName": "fuzz-thing", "removeThingType": True},
        ],
        "AttachThingPrincipal": [
            {"thingName": "fuzz-bare", "principal": cert_arns[1], "thingPrincipalType": "EXCLUSIVE_THING"},
            {"thingName": "fuzz-bare", "principal": cert_arns[0]},
        ],
        "DeleteCertificate": [{"certificateId": cert_ids[1], "forceDelete": True}],
        "UpdateThingGroupsForThing": [
            {
                "thingName": "fuzz-thing",
                "thingGroupsToAdd": ["fuzz-group"],
                "thingGroupsToRemove": ["fuzz-child"],
            }
        ],
        "AddThingToThingGroup": [by_name, by_arn],
        "RemoveThingFromThingGroup": [{**by_name, "thingName": "fuzz-thing", "thingGroupName": "fuzz-child"}],
        "AddThingToBillingGroup": [
            {**billing_by_name, "thingName": "fuzz-bare"},
            {"billingGroupArn": billing, "thingArn": thing},
        ],
        "RemoveThingFromBillingGroup": [billing_by_name],
        "TagResource": [
            {"resourceArn": arn, "tags": [{"Key": "k", "Value": "v"}]} for arn in values["resourceArn"]
        ],
        "CreateThingGroup": [
            {
                "thingGroupName": "fuzz-new-group",
                "parentGroupName": "fuzz-child",
                "thingGroupProperties": {
                    "thingGroupDescription": "d",
                    "attributePayload": {"attributes": {"a": "1"}},
                },
            }
        ],
    }
    return Seed(values, inputs)


# ---------------------------------------------------------------- strategies from shapes


@dataclasses.dataclass(frozen=True)
class Draft:
    """A generated input and, when it breaks a constraint, which one and whether it must be refused."""

    value: Any
    violation: str | None = None
    severity: str | None = None


_CLASS = re.compile(r"\[((?:\\.|[^\]\\])+)\]")
_ESCAPES = {
    "w": string.ascii_letters + string.digits + "_",
    "d": string.digits,
    "p{L}": string.ascii_letters + "é",
    "p{N}": string.digits,
    "p{Z}": " ",
    "p{Graph}": "".join(chr(c) for c in range(0x21, 0x7F)),
    "x20": " ",
}


def pattern_alphabet(pattern: str | None) -> str | None:
    """Characters that usually satisfy a model pattern's first character class (None: anything goes)."""
    found = _CLASS.search(pattern or "")
    if found is None or found.group(1).startswith("^") or "\\s" in found.group(1):
        return None
    body, chars, i = found.group(1), [], 0
    while i < len(body):
        if body[i] == "\\":
            name = next((key for key in _ESCAPES if body.startswith(key, i + 1)), None)
            chars.append(_ESCAPES[name] if name else body[i + 1])
            i += 1 + (len(name) if name else 1)
        elif i + 2 < len(body) and body[i + 1] == "-":
            chars.append("".join(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1)))
            i += 3
        else:
            chars.append(body[i])
            i += 1
    return "".join(sorted(set("".join(chars))))


def choice(*options: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of ``options``, each equally likely (``st.one_of`` flattens nested choices into their leaves,
    which would let a branch with many alternatives crowd out the others)."""
    possible = [option for option in options if not option.is_empty]
    if len(possible) <= 1:
        return possible[0] if possible else st.nothing()
    return st.sampled_from(possible).flatmap(lambda option: option)


def _padded(seed_text: str, length: int, filler: str) -> str:
    text = (seed_text or filler) * (length // max(len(seed_text), 1) + 1)
    return text[:length]


class ShapeStrategies:
    """Hypothesis strategies for the values of botocore shapes, valid or breaking one constraint."""

    def __init__(self, known: dict[str, list[Any]], scenarios: list[dict[str, Any]] | None = None) -> None:
        self.known = known
        self.scenarios = scenarios or []

    # valid values

    def valid(self, shape: Shape, name: str, depth: int = 0) -> st.SearchStrategy[Any]:
        generic = self._generic(shape, name, depth)
        if self.known.get(name):
            known = st.sampled_from(self.known[name])
            return choice(known, known, known, generic)
        return generic

    def _generic(self, shape: Shape, name: str, depth: int) -> st.SearchStrategy[Any]:
        kind = shape.type_name
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            return self._structure(shape, depth)
        if kind == "list":
            assert isinstance(shape, ListShape)
            size = low or 0
            return st.lists(
                self.valid(shape.member, name, depth + 1), min_size=size, max_size=high or size + 3
            )
        if kind == "map":
            assert isinstance(shape, MapShape)
            keys = self.valid(shape.key, f"{name}.key", depth + 1)
            return st.dictionaries(keys, self.valid(shape.value, f"{name}.value", depth + 1), max_size=3)
        if kind == "string":
            return self._string(shape)
        if kind in ("integer", "long"):
            return st.integers(low if low is not None else -10, high if high is not None else 10**6)
        if kind in ("double", "float"):
            return st.floats(low, high, allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            return st.datetimes(
                min_value=datetime.datetime(1971, 1, 1), timezones=st.just(datetime.timezone.utc)
            )
        if kind == "blob":
            return st.binary(max_size=16)
        raise AssertionError(f"no strategy for shape type {kind}")

    def _string(self, shape: Shape) -> st.SearchStrategy[str]:
        enum = shape.metadata.get("enum")
        if enum:
            return st.sampled_from(enum)
        pattern = shape.metadata.get("pattern")
        alphabet = pattern_alphabet(pattern)
        low = shape.metadata.get("min") or (1 if pattern and "]+" in pattern else 0)
        high = shape.metadata.get("max")
        cap = max(low, 16) if high is None else min(high, max(low, 16))
        anything = st.one_of(st.characters(), st.sampled_from(ODD_CHARACTERS))  # with surrogates, NUL...
        characters = st.text(alphabet or anything, min_size=low, max_size=cap)
        if high is None:  # unbounded: sometimes very long (past Python's 4300-digit int conversion limit)
            sizes = st.sampled_from([257, 1025, 4301, 10241])
            filler = st.text(alphabet or string.printable, min_size=1, max_size=4)
            long_text = st.tuples(filler, sizes).map(lambda t: _padded(t[0], t[1], "a"))
            return choice(characters, characters, long_text)
        return characters

    def _structure(
        self, shape: StructureShape, depth: int, without: str | None = None
    ) -> st.SearchStrategy[Any]:
        if depth > 6:
            return st.fixed_dictionaries({})
        required = {
            member: self.valid(shape.members[member], member, depth + 1)
            for member in shape.required_members
            if member != without
        }
        optional = {
            member: self.valid(member_shape, member, depth + 1)
            for member, member_shape in shape.members.items()
            if member not in shape.required_members and member != without
        }
        return st.fixed_dictionaries(required, optional=optional)

    # values breaking one constraint

    def broken(
        self, shape: Shape, name: str, depth: int = 0, top: bool = False, key: bool = False
    ) -> st.SearchStrategy[Draft]:
        """Values breaking one constraint of ``shape`` or of one member below it (``top``: an input)."""
        kind = shape.type_name
        options: list[st.SearchStrategy[Draft]] = []
        if not top and not key:
            options.append(self._wrong_type(shape, name))
        if kind == "structure" and depth <= 6:
            assert isinstance(shape, StructureShape)
            options += [self._missing(shape, member, depth) for member in shape.required_members]
            options += [self._broken_member(shape, member, depth) for member in shape.members]
        elif kind == "list":
            assert isinstance(shape, ListShape)
            options.append(self._broken_item(shape, name, depth))
        elif kind == "map":
            assert isinstance(shape, MapShape)
            options.append(self._broken_entry(shape, name, depth))
        elif kind == "string":
            options += self._broken_strings(shape, name)
        elif kind in ("integer", "long"):
            low, high = shape.metadata.get("min"), shape.metadata.get("max")
            if low is not None:
                below = st.integers(low - 10**9, low - 1)
                options.append(below.map(lambda v: Draft(v, f"{name} below its minimum", STRICT)))
            if high is not None:
                above = st.integers(high + 1, high + 10**12)
                options.append(above.map(lambda v: Draft(v, f"{name} above its maximum", STRICT)))
        return choice(*options)

    def _wrong_type(self, shape: Shape, name: str) -> st.SearchStrategy[Draft]:
        kind = shape.type_name
        others: list[st.SearchStrategy[Any]] = [st.lists(st.integers(), max_size=2)]
        if kind != "string":
            others.append(st.text(max_size=6))
        if kind not in ("integer", "long", "boolean"):
            others += [st.integers(), st.booleans()]
        if kind != "structure" and kind != "map":
            others.append(st.fixed_dictionaries({"x": st.integers()}))
        return st.one_of(others).map(lambda v: Draft(v, f"{name} of the wrong type", LOOSE))

    def _broken_strings(self, shape: Shape, name: str) -> list[st.SearchStrategy[Draft]]:
        enum = shape.metadata.get("enum")
        pattern = shape.metadata.get("pattern")
        alphabet = pattern_alphabet(pattern) or string.ascii_letters
        low, high = shape.metadata.get("min") or 0, shape.metadata.get("max")
        options: list[st.SearchStrategy[Draft]] = []
        if high is not None:
            long_text = st.text(alphabet, min_size=1, max_size=3).map(
                lambda s: _padded(s, high + 1, alphabet[0])
            )
            options.append(long_text.map(lambda v: Draft(v, f"{name} longer than {high}", STRICT)))
        if low > 0:
            short = st.text(alphabet, min_size=low - 1, max_size=low - 1)
            options.append(short.map(lambda v: Draft(v, f"{name} shorter than {low}", STRICT)))
        if enum:
            wrong = st.sampled_from([value.lower() for value in enum] + ["", "UNKNOWN", f" {enum[0]}"])
            options.append(
                wrong.filter(lambda v: v not in enum).map(
                    lambda v: Draft(v, f"{name} outside the enum", STRICT)
                )
            )
        if pattern is not None and pattern_alphabet(pattern) is not None:
            odd = [c for c in ODD_FRAGMENTS if not set(c) <= set(alphabet)]
            size = max(low, 1)

            def spoiled(parts: tuple[str, str, int]) -> Draft:
                text = _padded(parts[0], size, alphabet[0])
                at = parts[2] % (len(text) + 1)
                text = (text[:at] + parts[1] + text[at:])[: max(size, high or size)]
                return Draft(text, f"{name} against its pattern", LOOSE)

            parts = st.tuples(st.text(alphabet, max_size=4), st.sampled_from(odd), st.integers(0, 64))
            options.append(parts.map(spoiled))
        return options

    def _missing(self, shape: StructureShape, member: str, depth: int) -> st.SearchStrategy[Draft]:
        rest = self._structure(shape, depth, without=member)
        return rest.map(lambda v: Draft(v, f"required {member} missing", STRICT))

    def _broken_member(self, shape: StructureShape, member: str, depth: int) -> st.SearchStrategy[Draft]:
        rest = self._structure(shape, depth, without=member)
        bad = self.broken(shape.members[member], member, depth + 1)
        return st.tuples(rest, bad).map(
            lambda t: Draft({**t[0], member: t[1].value}, t[1].violation, t[1].severity)
        )

    def _broken_item(self, shape: ListShape, name: str, depth: int) -> st.SearchStrategy[Draft]:
        items = st.lists(self.valid(shape.member, name, depth + 1), max_size=2)
        bad = self.broken(shape.member, name, depth + 1)
        return st.tuples(items, bad, st.integers(0, 2)).map(
            lambda t: Draft(t[0][: t[2]] + [t[1].value] + t[0][t[2] :], t[1].violation, t[1].severity)
        )

    def _broken_entry(self, shape: MapShape, name: str, depth: int) -> st.SearchStrategy[Draft]:
        key = self.valid(shape.key, f"{name}.key", depth + 1)
        value = self.valid(shape.value, f"{name}.value", depth + 1)
        bad_value = st.tuples(key, self.broken(shape.value, f"{name}.value", depth + 1)).map(
            lambda t: Draft({t[0]: t[1].value}, t[1].violation, t[1].severity)
        )
        bad_key = st.tuples(self.broken(shape.key, f"{name}.key", depth + 1, key=True), value).map(
            lambda t: Draft({t[0].value: t[1]}, t[0].violation, t[0].severity)
        )
        return choice(bad_value, bad_key)

    def inputs(self, shape: StructureShape | None) -> st.SearchStrategy[Draft]:
        """Whole inputs of an operation: valid about half the time, else breaking one constraint.

        Where seeding provided complete inputs (scenarios), they are used as they are or with one member
        broken, next to inputs generated from the shape alone.
        """
        if shape is None:
            return st.just(Draft({}))
        valid = self._structure(shape, 0).map(Draft)
        broken = self.broken(shape, "input", top=True)
        if not self.scenarios:
            return choice(valid, broken)
        as_given = st.sampled_from(self.scenarios).map(Draft)
        return choice(as_given, valid, broken, self._spoiled_scenario(shape))

    def _spoiled_scenario(self, shape: StructureShape) -> st.SearchStrategy[Draft]:
        @st.composite
        def spoiled(draw: st.DrawFn) -> Draft:
            base = dict(draw(st.sampled_from(self.scenarios)))
            member = draw(st.sampled_from(sorted(shape.members)))
            if member in shape.required_members and draw(st.booleans()):
                base.pop(member, None)
                return Draft(base, f"required {member} missing", STRICT)
            bad = draw(self.broken(shape.members[member], member, 1))
            return Draft({**base, member: bad.value}, bad.violation, bad.severity)

        return spoiled()


# ---------------------------------------------------------------- state snapshots


def plain(value: Any) -> Any:
    """A structural dump of stored state into comparable plain data (order kept where it is observable)."""
    if value is None or isinstance(value, (str, bytes, bool, int, float, datetime.datetime)):
        return value
    if isinstance(value, x509.Certificate):
        return ("x509", value.public_bytes(serialization.Encoding.DER))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [(field.name, plain(getattr(value, field.name))) for field in dataclasses.fields(value)]
        return (type(value).__qualname__, fields)
    if isinstance(value, dict):
        return ("dict", [(plain(key), plain(item)) for key, item in value.items()])
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return ("set", sorted(repr(plain(item)) for item in value))
    if isinstance(value, (SortedKeys, InsertionOrder, SortedList)):  # ordered indexes: their keys, in order
        return (type(value).__qualname__, [plain(item) for item in value])
    if hasattr(value, "__dict__"):  # CreationOrder
        return (type(value).__qualname__, plain(vars(value)))
    raise TypeError(f"no snapshot for {type(value).__qualname__}")


def snapshot(mock: MockIotProvisioning) -> dict[Any, Any]:
    """Every store's tables as plain data."""
    return {
        (store.account_id, store.region): {kind: plain(table) for kind, table in store._components.items()}
        for store in mock.backend.stores()
    }


@cache
def _empty_table(kind: type[Any]) -> Any:
    return plain(kind())


def same_state(before: dict[Any, Any], after: dict[Any, Any]) -> bool:
    """Whether two snapshots agree; a table not created yet counts as an empty one."""
    if before == after:
        return True
    if set(before) != set(after):
        return False
    for key, tables in before.items():
        later = after[key]
        for kind in set(tables) | set(later):
            if tables.get(kind, _empty_table(kind)) != later.get(kind, _empty_table(kind)):
                return False
    return True


# ---------------------------------------------------------------- findings of the fuzzing, pinned


def test_create_thing_group_under_missing_parent_is_a_declared_error(fuzz_mock: MockIotProvisioning) -> None:
    """CreateThingGroup declares no ResourceNotFoundException: a missing parent is an invalid request."""
    iot = iot_client()
    with pytest.raises(ClientError) as caught:
        iot.create_thing_group(thingGroupName="child", parentGroupName="missing-parent")
    assert error_of(caught)[:2] == ("InvalidRequestException", 400)
    assert iot.list_thing_groups()["thingGroups"] == []


@pytest.mark.parametrize(
    "operation", ["get_policy_version", "delete_policy_version", "set_default_policy_version"]
)
def test_policy_version_id_with_thousands_of_digits_is_not_found(
    fuzz_mock: MockIotProvisioning, operation: str
) -> None:
    """A policy version id is any string of digits; one longer than Python converts names no version."""
    iot = iot_client()
    iot.create_policy(policyName="p", policyDocument=_policy("iot:Connect"))
    with pytest.raises(ClientError) as caught:
        getattr(iot, operation)(policyName="p", policyVersionId="1" * 4301)
    assert error_of(caught)[:2] == ("ResourceNotFoundException", 404)
    assert iot.get_policy(policyName="p")["defaultVersionId"] == "1"


# ---------------------------------------------------------------- the fuzz test


_serializer = create_serializer("rest-json", include_validation=False)


def request_build_error(operation_name: str, params: dict[str, Any]) -> type[Exception] | None:
    """The exception botocore raises building this request, as its client does before sending anything:
    the rest-json serializer, then ``prepare_request_dict`` (URL and query string). None when it builds."""
    try:
        request = _serializer.serialize_to_request(dict(params), operation_model(operation_name))
        prepare_request_dict(request, endpoint_url=f"https://iot.{REGION}.amazonaws.com")
    except Exception as exc:  # noqa: BLE001 - the type is what the caller compares
        return type(exc)
    return None


def allowed_errors(operation_name: str) -> set[str]:
    return {shape.name for shape in operation_model(operation_name).error_shapes} | GENERIC_ERRORS


class FuzzSession:
    """One operation's fuzzing against one mock: seeds the registry, sends inputs, checks every rule.

    Seeding costs two dozen calls, so an example that left the seeded state exactly as it was is followed
    by the next one on the same state; after any change the store is reset and seeded again.
    """

    def __init__(self, mock: MockIotProvisioning, operation_name: str) -> None:
        self.mock = mock
        self.operation_name = operation_name
        self.seeding, self.client = clients()
        self.seeded: dict[Any, Any] | None = None
        self.current: dict[Any, Any] | None = None
        self.inputs: st.SearchStrategy[Draft] = st.nothing()

    def prepare(self) -> st.SearchStrategy[Draft]:
        """Make sure the state is the freshly seeded one; the strategy for inputs naming its objects."""
        if self.current is None:
            self.current = snapshot(self.mock)
        if self.seeded is None or not same_state(self.seeded, self.current):
            self.mock.reset()
            seeded = seed(self.seeding)
            self.seeded = self.current = snapshot(self.mock)
            assert registry_problems(self.mock.backend.stores()[0]) == []
            strategies = ShapeStrategies(seeded.values, seeded.inputs.get(self.operation_name))
            self.inputs = strategies.inputs(operation_model(self.operation_name).input_shape)
        return self.inputs

    def check(self, draft: Draft) -> str:
        """Send one generated input and check every rule; a short outcome for statistics."""
        operation_name, params, before = self.operation_name, draft.value, self.current
        assert before is not None
        self.current = None
        client_side = request_build_error(operation_name, params)
        try:
            response = getattr(self.client, xform_name(operation_name))(**params)
        except ClientError as error:
            assert client_side is None, (
                f"botocore cannot serialize this input ({client_side}), yet it was sent"
            )
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            code = error.response["Error"]["Code"]
            assert status < 500, f"HTTP {status} {code}: {error.response['Error'].get('Message')}"
            assert code in allowed_errors(operation_name), f"{code} is not declared for {operation_name}"
            self.current = snapshot(self.mock)
            assert same_state(before, self.current), f"the failed call ({code}) changed the state"
            outcome = code
        except CLIENT_SIDE_ERRORS as error:
            assert client_side is not None and isinstance(error, client_side), (
                f"{error!r} raised, but building this request in botocore raises {client_side}"
            )
            self.current = snapshot(self.mock)
            assert same_state(before, self.current), "a request botocore could not build changed the state"
            outcome = "client-side"
        else:
            assert client_side is None, (
                f"botocore cannot serialize this input ({client_side}), yet it was sent"
            )
            assert draft.severity != STRICT, f"an input with {draft.violation} was accepted"
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
            outcome = "ok"
        for store in self.mock.backend.stores():
            assert registry_problems(store) == []
        return outcome


@pytest.fixture
def fuzz_mock() -> Iterator[MockIotProvisioning]:
    with mock_iot_provisioning() as mock:
        yield mock


@pytest.mark.parametrize("operation_name", sorted(OPERATIONS))
def test_operation_survives_generated_inputs(operation_name: str, fuzz_mock: MockIotProvisioning) -> None:
    session = FuzzSession(fuzz_mock, operation_name)
    outcomes: list[str] = []

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        draft = data.draw(session.prepare(), label="input")
        outcome = session.check(draft)
        event(outcome)
        outcomes.append(outcome)

    run()
    assert outcomes, "no input was generated"
