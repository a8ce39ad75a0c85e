"""Property tests: whatever the template text and parameters, the engine only raises TemplateError.

When evaluation succeeds, the plan must be fully resolved, well-typed and deterministic.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_iotprov.provisioning.engine import (
    ProvisioningPlan,
    TemplateError,
    check_template,
    evaluate_template,
    generated_policy_name,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PARAMETER_NAMES = ["Serial", "Loc", "AWS::IoT::Certificate::Id", "Index", "Empty", "thing", ""]
SECTION_NAMES = ["Parameters", "Mappings", "Resources", "DeviceConfiguration", "Outputs"]
RESOURCE_TYPES = ["AWS::IoT::Thing", "AWS::IoT::Certificate", "AWS::IoT::Policy", "AWS::S3::Bucket"]
PROPERTY_NAMES = [
    "ThingName",
    "AttributePayload",
    "ThingTypeName",
    "ThingGroups",
    "BillingGroup",
    "PackageVersions",
    "CertificateId",
    "CertificateSigningRequest",
    "CertificatePem",
    "CACertificatePem",
    "Status",
    "ThingPrincipalType",
    "PolicyName",
    "PolicyDocument",
    "Unknown",
]
OVERRIDE_KEYS = ["AttributePayload", "THING_GROUPS", "ThingTypeName", "Status", "Other"]
OVERRIDE_VALUES = ["MERGE", "replace", "Do_Nothing", "FAIL", "KEEP", ""]
FUNCTION_NAMES = ["Ref", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::Sub", "Fn::FindInMap", "Fn::If"]

short_text = st.text(max_size=12)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | short_text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(short_text, children, max_size=4),
    max_leaves=25,
)

names = st.sampled_from(PARAMETER_NAMES) | short_text
sub_texts = st.lists(
    st.sampled_from(["x", "-", "${Serial}", "${!Lit}", "${iot:ClientId}", "${Loc}", "${", "}", "${Var}"]),
    max_size=5,
).map("".join)


def _function(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Function calls with mostly plausible, sometimes wrong, argument shapes."""
    index = st.integers(min_value=-2, max_value=4) | st.sampled_from(["0", "1", "x", "-1"])
    return st.one_of(
        st.builds(lambda name: {"Ref": name}, names),
        st.builds(
            lambda d, items: {"Fn::Join": [d, items]},
            st.sampled_from(["", ",", "-"]),
            st.lists(children, max_size=3),
        ),
        st.builds(
            lambda i, items: {"Fn::Select": [i, items]}, index, children | st.lists(children, max_size=3)
        ),
        st.builds(lambda d, source: {"Fn::Split": [d, source]}, st.sampled_from([",", "", "-"]), children),
        st.builds(lambda text: {"Fn::Sub": text}, sub_texts),
        st.builds(
            lambda text, variables: {"Fn::Sub": [text, variables]},
            sub_texts,
            st.dictionaries(st.sampled_from(["Var", "Serial"]), children, max_size=2),
        ),
        st.builds(
            lambda m, k1, k2: {"Fn::FindInMap": [m, k1, k2]},
            st.sampled_from(["M", "Missing"]) | children,
            st.sampled_from(["a", "b"]) | children,
            st.sampled_from(["x", "y"]) | children,
        ),
        st.builds(lambda name, args: {name: args}, st.sampled_from(FUNCTION_NAMES), children),
    )


template_values = st.recursive(
    st.sampled_from(["dev", "", "a,b", "Seattle", "${Serial}", "ACTIVE", "Active"]) | json_scalars,
    lambda children: (
        _function(children)
        | st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["Statement", "k", "Ref", "Fn::Join"]) | short_text, children, max_size=3
        )
    ),
    max_leaves=12,
)

plausible_declarations = st.dictionaries(
    st.sampled_from(PARAMETER_NAMES),
    st.fixed_dictionaries(
        {"Type": st.just("String")}, optional={"Default": st.sampled_from(["d", "0", "a,b", "Seattle"])}
    ),
    max_size=4,
)
random_declarations = st.dictionaries(
    names,
    st.fixed_dictionaries(
        {},
        optional={
            "Type": st.sampled_from(["String", "Number"]),
            "Default": st.sampled_from(["d", "0", "a,b", ""]) | json_scalars,
            "Description": json_values,
        },
    )
    | json_values,
    max_size=4,
)

random_mappings = st.dictionaries(
    st.sampled_from(["M", "N"]),
    st.dictionaries(
        st.sampled_from(["a", "b"]),
        st.dictionaries(st.sampled_from(["x", "y"]), short_text | json_scalars, max_size=2),
        max_size=2,
    )
    | json_values,
    max_size=2,
)

string_values = (
    st.sampled_from(["dev", "Seattle", "Active", "INACTIVE", "EXCLUSIVE_THING", "g1"])
    | st.builds(lambda name: {"Ref": name}, st.sampled_from(PARAMETER_NAMES))
    | st.builds(lambda text: {"Fn::Sub": text}, sub_texts)
    | st.builds(lambda name: {"Fn::Join": ["_", ["p", {"Ref": name}]]}, st.sampled_from(PARAMETER_NAMES))
    | st.builds(
        lambda key: {"Fn::FindInMap": ["M", key, "x"]},
        st.sampled_from(["a", "b"]) | st.builds(lambda name: {"Ref": name}, st.just("Loc")),
    )
)
loose_values = string_values | template_values


def _properties(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(required, optional=optional)


PLAUSIBLE_MAPPINGS = {"M": {"a": {"x": "1"}, "Seattle": {"x": "2"}}}
thing_resources = st.fixed_dictionaries(
    {
        "Type": st.just("AWS::IoT::Thing"),
        "Properties": _properties(
            {"ThingName": string_values},
            {
                "AttributePayload": st.dictionaries(short_text, string_values, max_size=2) | loose_values,
                "ThingTypeName": loose_values,
                "ThingGroups": st.lists(string_values, max_size=2)
                | st.builds(
                    lambda name: {"Fn::Split": [",", {"Ref": name}]}, st.sampled_from(PARAMETER_NAMES)
                )
                | loose_values,
                "BillingGroup": loose_values,
                "PackageVersions": st.dictionaries(short_text, string_values, max_size=2) | loose_values,
            },
        ),
    },
    optional={
        "OverrideSettings": st.dictionaries(
            st.sampled_from(OVERRIDE_KEYS), st.sampled_from(OVERRIDE_VALUES), max_size=3
        )
    },
)
certificate_resources = st.fixed_dictionaries(
    {
        "Type": st.just("AWS::IoT::Certificate"),
        "Properties": st.sampled_from(
            ["CertificateId", "CertificateSigningRequest", "CertificatePem"]
        ).flatmap(
            lambda source: _properties(
                {source: string_values},
                {
                    "Status": loose_values,
                    "ThingPrincipalType": loose_values,
                    "CACertificatePem": loose_values,
                },
            )
        ),
    },
    optional={
        "OverrideSettings": st.dictionaries(st.just("Status"), st.sampled_from(OVERRIDE_VALUES), max_size=1)
    },
)
policy_documents = st.fixed_dictionaries(
    {
        "Statement": st.lists(
            st.dictionaries(st.sampled_from(["Effect", "Resource"]), loose_values, max_size=2), max_size=2
        )
    },
    optional={"Version": st.just("2012-10-17")},
)
policy_resources = st.fixed_dictionaries(
    {
        "Type": st.just("AWS::IoT::Policy"),
        "Properties": st.one_of(
            st.builds(lambda name: {"PolicyName": name}, string_values),
            st.builds(lambda document: {"PolicyDocument": document}, policy_documents),
            st.builds(lambda document: {"PolicyDocument": json.dumps(document)}, policy_documents),
        ),
    }
)
random_resources = st.fixed_dictionaries(
    {"Type": st.sampled_from(RESOURCE_TYPES) | json_scalars},
    optional={
        "Properties": st.dictionaries(st.sampled_from(PROPERTY_NAMES), template_values, max_size=4),
        "OverrideSettings": st.dictionaries(
            st.sampled_from(OVERRIDE_KEYS), st.sampled_from(OVERRIDE_VALUES) | json_scalars, max_size=2
        ),
        "Condition": short_text,
    },
)
parameter_declarations = plausible_declarations | random_declarations
mappings = st.just(PLAUSIBLE_MAPPINGS) | random_mappings
resource_sections = st.fixed_dictionaries(
    {},
    optional={"thing": thing_resources, "certificate": certificate_resources, "policy": policy_resources},
) | st.dictionaries(
    st.sampled_from(["thing", "certificate", "policy", "p2"]),
    thing_resources | certificate_resources | policy_resources | random_resources,
    max_size=4,
)

plausible_templates = st.fixed_dictionaries(
    {},
    optional={
        "Parameters": parameter_declarations,
        "Mappings": mappings,
        "Resources": resource_sections,
        "DeviceConfiguration": st.dictionaries(short_text, loose_values, max_size=3),
    },
)
likely_valid_templates = st.fixed_dictionaries(
    {
        "Parameters": plausible_declarations,
        "Mappings": st.just(PLAUSIBLE_MAPPINGS),
        "Resources": st.fixed_dictionaries(
            {},
            optional={
                "thing": thing_resources,
                "certificate": certificate_resources,
                "policy": policy_resources,
            },
        ),
    },
    optional={"DeviceConfiguration": st.dictionaries(short_text, string_values, max_size=3)},
)
randomly_sectioned = st.dictionaries(st.sampled_from(SECTION_NAMES), json_values, max_size=3)

parameter_values = st.sampled_from(["dev", "", "0", "1", "a,b", "Seattle", "${Serial}", "a"]) | short_text
parameter_maps = st.builds(
    lambda plausible, extra: {**extra, **plausible},
    st.fixed_dictionaries({}, optional={name: parameter_values for name in PARAMETER_NAMES}),
    st.dictionaries(short_text, parameter_values, max_size=2),
)


def _try_everything(text: str, parameters: dict[str, str]) -> ProvisioningPlan | None:
    try:
        check_template(text)
    except TemplateError as error:
        assert isinstance(error.message, str) and error.message
    try:
        plan = evaluate_template(text, parameters)
    except TemplateError as error:
        assert isinstance(error.message, str) and error.message
        return None
    assert evaluate_template(text, parameters) == plan  # deterministic
    _assert_well_formed(plan)
    return plan


def _assert_strings(values: Any) -> None:
    assert all(isinstance(value, str) for value in values)


def _assert_well_formed(plan: ProvisioningPlan) -> None:
    if plan.thing is not None:
        assert isinstance(plan.thing.thing_name, str) and plan.thing.thing_name
        for mapping in (plan.thing.attribute_payload, plan.thing.package_versions):
            if mapping is not None:
                _assert_strings(mapping.values())
        if plan.thing.thing_groups is not None:
            _assert_strings(plan.thing.thing_groups)
        assert set(plan.thing.overrides) <= {"AttributePayload", "ThingTypeName", "ThingGroups"}
        assert set(plan.thing.overrides.values()) <= {"MERGE", "REPLACE", "DO_NOTHING", "FAIL"}
    if plan.certificate is not None:
        cert = plan.certificate
        sources = [cert.certificate_id, cert.certificate_signing_request, cert.certificate_pem]
        assert sum(source is not None for source in sources) == 1
        _assert_strings(source for source in sources if source is not None)
        assert cert.status in ("ACTIVE", "INACTIVE")
    for policy in plan.policies:
        if policy.policy_document is None:
            assert isinstance(policy.policy_name, str) and policy.policy_name
        else:
            assert policy.policy_name == generated_policy_name(policy.policy_document)
            assert "Statement" in json.loads(policy.policy_document)
    _assert_strings(plan.device_configuration.values())


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    _try_everything(text, {})


@FUZZ
@given(json_values | randomly_sectioned, parameter_maps)
def test_arbitrary_json(document: Any, parameters: dict[str, str]) -> None:
    _try_everything(json.dumps(document), parameters)


@FUZZ
@given(plausible_templates, parameter_maps)
def test_plausible_templates(template: dict[str, Any], parameters: dict[str, str]) -> None:
    _try_everything(json.dumps(template), parameters)


@FUZZ
@given(likely_valid_templates, parameter_maps)
def test_likely_valid_templates(template: dict[str, Any], parameters: dict[str, str]) -> None:
    _try_everything(json.dumps(template), parameters)


@FUZZ
@given(template_values, parameter_maps)
def test_functions_in_every_value_position(value: Any, parameters: dict[str, str]) -> None:
    template = {
        "Parameters": {"Serial": {"Type": "String"}, "Loc": {"Default": "Seattle"}},
        "Mappings": {"M": {"a": {"x": "1"}, "Seattle": {"x": "2"}}},
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": value, "ThingGroups": [value]}},
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": value, "Status": value},
            },
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": {"Statement": [value]}}},
        },
        "DeviceConfiguration": {"value": value},
    }
    _try_everything(json.dumps(template), parameters)


@FUZZ
@given(st.sampled_from(["[", '{"a":', '{"Fn::Join":["",[']), st.integers(min_value=90, max_value=3000))
def test_deep_nesting(opening: str, depth: int) -> None:
    text = '{"DeviceConfiguration": {"k": ' + opening * depth
    for candidate in (text, text + "1" + "]" * depth + "}}"):
        _try_everything(candidate, {})


def test_a_plausible_template_does_evaluate() -> None:
    """Guards the strategies above: the engine accepts a template built from the same parts."""
    template = {
        "Parameters": {"Serial": {"Type": "String"}},
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Fn::Sub": "${Serial}"}}}
        },
    }
    plan = _try_everything(json.dumps(template), {"Serial": "dev"})
    assert plan is not None and plan.thing is not None and plan.thing.thing_name == "dev"
