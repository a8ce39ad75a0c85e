"""The template language: sections, parameters, Mappings, intrinsic functions, DeviceConfiguration."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mock_iotprov.provisioning.engine import TemplateError, check_template, evaluate_template


def body(**sections: Any) -> str:
    return json.dumps(sections)


def configured(
    node: Any,
    parameters: dict[str, str] | None = None,
    declared: dict[str, Any] | None = None,
    mappings: dict[str, Any] | None = None,
) -> str | None:
    """Evaluate ``node`` as a DeviceConfiguration value; None when the key was omitted."""
    sections: dict[str, Any] = {"DeviceConfiguration": {"value": node}}
    if declared is not None:
        sections["Parameters"] = declared
    if mappings is not None:
        sections["Mappings"] = mappings
    plan = evaluate_template(body(**sections), parameters or {})
    return plan.device_configuration.get("value")


def thing_groups(node: Any, parameters: dict[str, str] | None = None) -> tuple[str, ...] | None:
    """Evaluate ``node`` as the ThingGroups property (a list-valued place)."""
    resources = {"thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "t", "ThingGroups": node}}}
    plan = evaluate_template(body(Resources=resources), parameters or {})
    assert plan.thing is not None
    return plan.thing.thing_groups


def error_of(template: str, parameters: dict[str, str] | None = None) -> str:
    with pytest.raises(TemplateError) as caught:
        evaluate_template(template, parameters or {})
    return caught.value.message


# --- body and sections -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "{", "not json", '{"Resources": {}} trailing', "{'a': 1}"])
def test_body_that_is_not_json_is_rejected(text: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(text)
    assert caught.value.message.startswith("templateBody is not valid JSON: ")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_rejected(constant: str) -> None:
    with pytest.raises(TemplateError, match="not valid JSON"):
        check_template('{"DeviceConfiguration": {"a": %s}}' % constant)


@pytest.mark.parametrize("text", ["[]", '"text"', "42", "null", "true"])
def test_body_must_be_an_object(text: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(text)
    assert caught.value.message == "templateBody must be a JSON object"


@pytest.mark.parametrize(
    "section", ["Outputs", "Conditions", "AWSTemplateFormatVersion", "Description", "resources"]
)
def test_unknown_section_is_named(section: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(json.dumps({"Resources": {}, section: {}}))
    assert caught.value.message == f"Unsupported template section: {section}"


@pytest.mark.parametrize("section", ["Parameters", "Mappings", "Resources", "DeviceConfiguration"])
@pytest.mark.parametrize("value", [[], "x", 1, None])
def test_each_section_must_be_an_object(section: str, value: Any) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(json.dumps({section: value}))
    assert caught.value.message == f"Template section {section} must be a JSON object"


@pytest.mark.parametrize("text", ["{}", '{"Resources": {}}', '{"Parameters": {}, "Mappings": {}}'])
def test_template_without_resources_is_a_plan_with_nothing(text: str) -> None:
    check_template(text)
    plan = evaluate_template(text, {})
    assert plan.thing is None
    assert plan.certificate is None
    assert plan.policies == ()
    assert plan.device_configuration == {}


def test_absurdly_deep_nesting_is_a_template_error() -> None:
    deep = '{"DeviceConfiguration": {"a": ' + "[" * 50_000 + "]" * 50_000 + "}}"
    with pytest.raises(TemplateError):
        check_template(deep)


def test_nesting_beyond_the_limit_is_rejected_with_a_clear_message() -> None:
    node: Any = "x"
    for _ in range(150):
        node = {"Fn::Join": ["", [node]]}
    with pytest.raises(TemplateError) as caught:
        check_template(body(DeviceConfiguration={"a": node}))
    assert "nests more than 100 levels" in caught.value.message


def test_moderate_nesting_is_evaluated() -> None:
    node: Any = {"Ref": "P"}
    for _ in range(30):
        node = {"Fn::Join": ["", ["<", node, ">"]]}
    value = configured(node, {"P": "x"}, {"P": {"Type": "String"}})
    assert value == "<" * 30 + "x" + ">" * 30


# --- parameters ---------------------------------------------------------------------------------


def test_supplied_value_wins_over_default() -> None:
    declared = {"P": {"Type": "String", "Default": "fallback"}}
    assert configured({"Ref": "P"}, {"P": "given"}, declared) == "given"
    assert configured({"Ref": "P"}, {}, declared) == "fallback"


def test_declaration_may_omit_type_and_carry_ignored_keys() -> None:
    declared = {"P": {"Default": "d", "Description": "x", "AllowedValues": ["a"]}}
    assert configured({"Ref": "P"}, {}, declared) == "d"


def test_parameter_names_may_contain_double_colons() -> None:
    declared = {"AWS::IoT::Certificate::Id": {"Type": "String"}}
    value = configured({"Ref": "AWS::IoT::Certificate::Id"}, {"AWS::IoT::Certificate::Id": "c1"}, declared)
    assert value == "c1"


def test_supplied_but_undeclared_parameter_is_usable() -> None:
    assert configured({"Ref": "SerialNumber"}, {"SerialNumber": "42"}) == "42"


def test_ref_to_undeclared_unsupplied_parameter_is_named() -> None:
    message = error_of(body(DeviceConfiguration={"a": {"Ref": "Missing"}}))
    assert message.startswith("Ref to undeclared parameter: Missing")


def test_ref_is_not_resolved_when_the_template_is_stored() -> None:
    check_template(body(DeviceConfiguration={"a": {"Ref": "SuppliedLater"}}))


def test_ref_to_a_resource_logical_id_is_rejected() -> None:
    resources = {"thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "t"}}}
    message = error_of(body(Resources=resources, DeviceConfiguration={"a": {"Ref": "thing"}}))
    assert "Ref to resource thing is not supported" in message


@pytest.mark.parametrize("declaration", ["String", [], None, 3])
def test_parameter_declaration_must_be_an_object(declaration: Any) -> None:
    with pytest.raises(TemplateError, match="Parameter P must be declared as a JSON object"):
        check_template(body(Parameters={"P": declaration}))


@pytest.mark.parametrize("type_name", ["Number", "CommaDelimitedList", "string", 1, None])
def test_parameter_type_other_than_string_is_rejected(type_name: Any) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(body(Parameters={"Serial": {"Type": type_name}}))
    assert "Parameter Serial has unsupported Type" in caught.value.message


@pytest.mark.parametrize("default", [1, None, ["a"], {"Ref": "x"}, True])
def test_parameter_default_must_be_a_string(default: Any) -> None:
    with pytest.raises(TemplateError, match="Default of parameter P must be a string"):
        check_template(body(Parameters={"P": {"Type": "String", "Default": default}}))


def test_parameter_values_must_be_strings() -> None:
    with pytest.raises(TemplateError, match="Parameter values must be strings"):
        evaluate_template("{}", {"P": 3})  # type: ignore[dict-item]


def test_unresolved_parameter_in_device_configuration_omits_the_key() -> None:
    template = body(
        Parameters={"Loc": {"Type": "String"}},
        DeviceConfiguration={"kept": "x", "dropped": {"Fn::Join": ["-", ["a", {"Ref": "Loc"}]]}},
    )
    assert evaluate_template(template, {}).device_configuration == {"kept": "x"}


def test_unresolved_parameter_in_a_resource_property_is_named() -> None:
    resources = {"thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "Name"}}}}
    template = body(Parameters={"Name": {"Type": "String"}}, Resources=resources)
    check_template(template)
    assert "Parameter Name has no value and no Default" in error_of(template)
    plan = evaluate_template(template, {"Name": "dev-1"})
    assert plan.thing is not None and plan.thing.thing_name == "dev-1"


# --- intrinsic functions ---------------------------------------------------------------------------


def test_join_with_nested_ref() -> None:
    node = {"Fn::Join": ["", ["ThingPrefix_", {"Ref": "SerialNumber"}]]}
    assert configured(node, {"SerialNumber": "123"}) == "ThingPrefix_123"


def test_join_with_delimiter_and_list_from_split() -> None:
    node = {"Fn::Join": ["+", {"Fn::Split": [",", "a,b,c"]}]}
    assert configured(node) == "a+b+c"


@pytest.mark.parametrize(
    ("node", "fragment"),
    [
        ({"Fn::Join": "abc"}, "Fn::Join in DeviceConfiguration key value takes a list of 2 arguments"),
        ({"Fn::Join": ["", ["a"], "extra"]}, "takes a list of 2 arguments, got a list of 3"),
        ({"Fn::Join": ["", "notalist"]}, "the second argument must be a list of strings"),
        ({"Fn::Join": [1, ["a"]]}, "the delimiter must be a string, got a number"),
        ({"Fn::Join": ["", ["a", ["b"]]]}, "list item 1 must be a string, got a list"),
        ({"Fn::Join": ["", ["a", None]]}, "list item 1 must be a string, got null"),
    ],
)
def test_join_argument_errors(node: Any, fragment: str) -> None:
    message = error_of(body(DeviceConfiguration={"value": node}))
    assert fragment in message


def test_select_over_split() -> None:
    node = {"Fn::Select": [1, {"Fn::Split": ["-", {"Ref": "Serial"}]}]}
    assert configured(node, {"Serial": "acme-1234-x"}) == "1234"


def test_select_accepts_numeric_string_index_and_ref_index() -> None:
    assert configured({"Fn::Select": ["2", ["a", "b", "c"]]}) == "c"
    assert configured({"Fn::Select": [{"Ref": "I"}, ["a", "b"]]}, {"I": "1"}) == "b"


def test_select_result_may_be_a_list_for_list_properties() -> None:
    node = {"Fn::Select": [0, [["g1", "g2"], ["g3"]]]}
    assert thing_groups(node) == ("g1", "g2")


@pytest.mark.parametrize(
    ("node", "fragment"),
    [
        ({"Fn::Select": [2, ["a", "b"]]}, "index 2 is out of range for a list of 2 item(s)"),
        ({"Fn::Select": [-1, ["a", "b"]]}, "index -1 is out of range"),
        ({"Fn::Select": ["-1", ["a"]]}, "index -1 is out of range"),
        ({"Fn::Select": ["9" * 40, ["a"]]}, "is out of range"),
        ({"Fn::Select": [0, []]}, "index 0 is out of range for a list of 0 item(s)"),
        ({"Fn::Select": [1.5, ["a", "b"]]}, "the index must be an integer, got a number"),
        ({"Fn::Select": [True, ["a", "b"]]}, "the index must be an integer, got a boolean"),
        ({"Fn::Select": ["one", ["a", "b"]]}, "the index must be an integer, got the string 'one'"),
        ({"Fn::Select": [" 1", ["a", "b"]]}, "the index must be an integer"),
        ({"Fn::Select": [0, [None, "b"]]}, "the selected element 0 is null"),
        ({"Fn::Select": [0, "ab"]}, "the second argument must be a list"),
        ({"Fn::Select": [0]}, "Fn::Select in DeviceConfiguration key value takes a list of 2"),
    ],
)
def test_select_errors(node: Any, fragment: str) -> None:
    message = error_of(body(DeviceConfiguration={"value": node}))
    assert fragment in message


def test_literal_select_errors_are_found_when_the_template_is_stored() -> None:
    with pytest.raises(TemplateError, match="out of range"):
        check_template(body(DeviceConfiguration={"a": {"Fn::Select": [3, ["a"]]}}))


def test_split_returns_a_list() -> None:
    assert thing_groups({"Fn::Split": [";", {"Ref": "G"}]}, {"G": "a;b;;c"}) == ("a", "b", "", "c")


@pytest.mark.parametrize(
    ("node", "fragment"),
    [
        ({"Fn::Split": ["", "abc"]}, "the delimiter must not be empty"),
        ({"Fn::Split": [",", ["a"]]}, "the source must be a string, got a list"),
        ({"Fn::Split": [[","], "a"]}, "the delimiter must be a string"),
        ({"Fn::Split": ","}, "Fn::Split in DeviceConfiguration key value takes a list of 2"),
    ],
)
def test_split_errors(node: Any, fragment: str) -> None:
    message = error_of(body(DeviceConfiguration={"value": node}))
    assert fragment in message


def test_split_used_where_a_string_is_needed_is_rejected() -> None:
    message = error_of(body(DeviceConfiguration={"value": {"Fn::Split": [",", "a,b"]}}))
    assert "DeviceConfiguration value for value must be a string, got a list" in message


def test_sub_string_form_uses_parameters() -> None:
    declared = {"Env": {"Type": "String", "Default": "prod"}}
    assert configured({"Fn::Sub": "https://${Env}.example.com/${Env}"}, {}, declared) == (
        "https://prod.example.com/prod"
    )


def test_sub_variable_map_wins_over_parameters_and_may_hold_functions() -> None:
    node = {
        "Fn::Sub": [
            "${Site}/${Serial}/${Env}",
            {"Site": {"Fn::Select": [0, {"Fn::Split": [".", "eu.west"]}]}, "Env": "dev"},
        ]
    }
    assert configured(node, {"Serial": "s1", "Env": "ignored"}) == "eu/s1/dev"


def test_sub_escape_and_policy_variables() -> None:
    node = {"Fn::Sub": "${!Literal} ${iot:Connection.Thing.ThingName} ${aws:SourceIp} ${!}"}
    assert configured(node) == "${Literal} ${iot:Connection.Thing.ThingName} ${aws:SourceIp} ${}"


def test_sub_resolves_pseudo_parameter_names_like_any_parameter() -> None:
    node = {"Fn::Sub": "cert-${AWS::IoT::Certificate::Id}"}
    assert configured(node, {"AWS::IoT::Certificate::Id": "abc"}) == "cert-abc"


def test_sub_unknown_name_is_named() -> None:
    message = error_of(body(DeviceConfiguration={"value": {"Fn::Sub": "x-${Nope}"}}))
    assert "Fn::Sub reference to undeclared parameter: Nope" in message


def test_sub_unknown_name_is_not_an_error_when_stored() -> None:
    check_template(body(DeviceConfiguration={"value": {"Fn::Sub": "x-${SuppliedLater}"}}))


def test_sub_with_unresolved_parameter_omits_device_configuration_key() -> None:
    declared = {"P": {"Type": "String"}}
    assert configured({"Fn::Sub": "a-${P}"}, {}, declared) is None


def test_sub_leaves_text_without_placeholders_and_unterminated_ones() -> None:
    assert configured({"Fn::Sub": "plain $ {x} ${unterminated"}) == "plain $ {x} ${unterminated"


@pytest.mark.parametrize(
    ("node", "fragment"),
    [
        ({"Fn::Sub": 5}, "Fn::Sub in DeviceConfiguration key value takes a string or a list"),
        ({"Fn::Sub": ["a", {}, "b"]}, "takes a string or a list"),
        ({"Fn::Sub": [{"Ref": "P"}, {}]}, "takes a string or a list"),
        ({"Fn::Sub": ["a", ["x"]]}, "the second argument must be an object of variable values"),
        ({"Fn::Sub": ["a", {"Ref": "P"}]}, "the second argument must be an object"),
        ({"Fn::Sub": ["${V}", {"V": ["x"]}]}, "variable V must be a string, got a list"),
    ],
)
def test_sub_errors(node: Any, fragment: str) -> None:
    message = error_of(body(DeviceConfiguration={"value": node}), {"P": "p"})
    assert fragment in message


MAPPINGS = {"LocationTable": {"Seattle": {"LocationUrl": "https://sea.example.com"}}}


def test_find_in_map_with_ref_key() -> None:
    node = {"Fn::FindInMap": ["LocationTable", {"Ref": "DeviceLocation"}, "LocationUrl"]}
    declared = {"DeviceLocation": {"Type": "String"}}
    value = configured(node, {"DeviceLocation": "Seattle"}, declared, MAPPINGS)
    assert value == "https://sea.example.com"


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["Nope", "Seattle", "LocationUrl"], "mapping Nope is not defined"),
        (["LocationTable", "Paris", "LocationUrl"], "key Paris not found in mapping LocationTable"),
        (["LocationTable", "Seattle", "Other"], "key Other not found in mapping LocationTable.Seattle"),
        (["LocationTable", "Seattle"], "takes a list of 3 arguments"),
        (["LocationTable", 1, "LocationUrl"], "the top-level key must be a string, got a number"),
    ],
)
def test_find_in_map_errors(arguments: Any, fragment: str) -> None:
    template = body(Mappings=MAPPINGS, DeviceConfiguration={"value": {"Fn::FindInMap": arguments}})
    message = error_of(template)
    assert fragment in message
    with pytest.raises(TemplateError):  # literal keys: detectable when stored
        check_template(template)


def test_find_in_map_with_missing_ref_key_fails_only_at_evaluation() -> None:
    node = {"Fn::FindInMap": ["LocationTable", {"Ref": "Loc"}, "LocationUrl"]}
    template = body(Mappings=MAPPINGS, DeviceConfiguration={"value": node})
    check_template(template)
    assert "key Tokyo not found in mapping LocationTable" in error_of(template, {"Loc": "Tokyo"})


def test_mappings_are_not_evaluated() -> None:
    mappings = {"M": {"K": {"Ref": "x", "Sub": "${NotAParameter}"}}}
    assert configured({"Fn::FindInMap": ["M", "K", "Ref"]}, {}, None, mappings) == "x"
    assert configured({"Fn::FindInMap": ["M", "K", "Sub"]}, {}, None, mappings) == "${NotAParameter}"


@pytest.mark.parametrize(
    ("mappings", "fragment"),
    [
        ({"M": "flat"}, "Mapping M must be an object of objects of strings"),
        ({"M": {"K": "flat"}}, "Mapping M.K must be an object of strings"),
        ({"M": {"K": {"V": 1}}}, "Mappings value M.K.V must be a literal string"),
        ({"M": {"K": {"V": {"Fn::Join": ["", ["a"]]}}}}, "Mappings value M.K.V must be a literal"),
        ({"M": {"K": {"V": ["a"]}}}, "Mappings value M.K.V must be a literal string, got a list"),
    ],
)
def test_mappings_must_be_two_levels_of_strings(mappings: Any, fragment: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(body(Mappings=mappings))
    assert fragment in caught.value.message


def test_unsupported_function_names_inside_mappings_are_just_data() -> None:
    check_template(body(Mappings={"M": {"K": {"Fn::If": "x"}}}))


@pytest.mark.parametrize(
    "name", ["Fn::If", "Fn::GetAtt", "Fn::Base64", "Fn::Equals", "Fn::ImportValue", "Fn::"]
)
def test_unsupported_functions_are_named_when_stored(name: str) -> None:
    for template in (
        body(DeviceConfiguration={"a": {name: ["x", "y"]}}),
        body(DeviceConfiguration={"a": {"Fn::Join": ["", ["a", {name: "x"}]]}}),
        body(Parameters={"P": {"Type": "String", "Description": {name: "x"}}}),
        body(
            Resources={
                "policy": {
                    "Type": "AWS::IoT::Policy",
                    "Properties": {"PolicyDocument": {"Statement": [{"Resource": {name: []}}]}},
                }
            }
        ),
    ):
        with pytest.raises(TemplateError) as caught:
            check_template(template)
        assert caught.value.message.startswith(f"Unsupported intrinsic function: {name} ")


def test_object_with_more_keys_than_a_function_is_plain_data() -> None:
    resources = {
        "thing": {
            "Type": "AWS::IoT::Thing",
            "Properties": {"ThingName": "t", "AttributePayload": {"Ref": "a", "Fn::If": "b"}},
        }
    }
    plan = evaluate_template(body(Resources=resources), {})
    assert plan.thing is not None
    assert plan.thing.attribute_payload == {"Ref": "a", "Fn::If": "b"}


@pytest.mark.parametrize("argument", [["P"], {"P": 1}, 3, None])
def test_ref_takes_a_literal_name(argument: Any) -> None:
    message = error_of(body(DeviceConfiguration={"a": {"Ref": argument}}))
    assert "Ref in DeviceConfiguration key a takes a parameter name (a string)" in message


def test_plain_strings_are_never_substituted() -> None:
    text = "${iot:Connection.Thing.ThingName} ${Serial} ${!x}"
    assert configured(text, {"Serial": "s"}) == text


# --- DeviceConfiguration --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [{"nested": "x"}, ["a"], 8883, True, None])
def test_device_configuration_values_must_be_strings(value: Any) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(body(DeviceConfiguration={"Port": value}))
    assert "DeviceConfiguration value for Port must be a string" in caught.value.message
    assert "nested JSON is not supported" in caught.value.message


def test_device_configuration_is_evaluated() -> None:
    template = body(
        Parameters={"Site": {"Type": "String", "Default": "lab"}},
        DeviceConfiguration={"Site": {"Ref": "Site"}, "Fixed": "1"},
    )
    assert evaluate_template(template, {}).device_configuration == {"Site": "lab", "Fixed": "1"}


# --- purity ------------------------------------------------------------------------------------------


def test_engine_imports_only_the_standard_library_and_itself() -> None:
    import ast
    from pathlib import Path

    import mock_iotprov.provisioning.engine as engine

    allowed = {"__future__", "collections", "dataclasses", "functools", "hashlib", "json", "re", "typing"}
    pure_helpers = {"mock_iotprov.bounded_json"}  # itself standard library only, checked below
    package = Path(engine.__file__).parent
    sources = sorted(package.glob("*.py")) + [package.parent.parent / "bounded_json.py"]
    assert {path.name for path in sources} >= {"__init__.py", "language.py", "plan.py", "resources.py"}
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level > 0 or node.module in pure_helpers:
                    continue  # relative: inside the engine package
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"
