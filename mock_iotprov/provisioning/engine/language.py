"""The provisioning-template language: sections, parameters, Mappings and intrinsic functions.

AWS behaviour reproduced (developer guide, "Provisioning templates"):

* Sections: ``Parameters``, ``Mappings``, ``Resources``, ``DeviceConfiguration``. AWS documents no
  other; any other top-level key (``Outputs``, ``Conditions`` ...) is rejected so that a template
  relying on CloudFormation-only features fails loudly instead of silently doing less.
* Parameters: ``{"Type": "String", "Default": "..."}``; ``String`` is the only type AWS mentions,
  other declaration keys are ignored. A supplied value wins over ``Default``.
* Functions: ``Ref``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::Sub``, ``Fn::FindInMap``,
  everywhere except in ``Mappings``. Any other ``Fn::...`` (``Fn::If``, ``Fn::GetAtt`` ...) is
  rejected: AWS documents none of them for IoT templates.
* Plain strings are never substituted: ``${iot:Connection.Thing.ThingName}`` in a policy document
  reaches the policy untouched.

Evaluation has two modes sharing one code path. When a template is stored, no parameter values
are known and every parameter evaluates to :class:`Pending`, which flows through the functions, so
everything that does not depend on a value (function names, argument shapes, literal indexes,
look-ups with literal keys) is still checked. With parameters supplied, only a declared parameter
with neither value nor ``Default`` is :class:`Pending`; the caller decides what that means.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from mock_iotprov.bounded_json import JsonTooDeep, loads_bounded

#: The top-level sections AWS documents for provisioning templates.
SECTION_NAMES: tuple[str, ...] = ("Parameters", "Mappings", "Resources", "DeviceConfiguration")

#: The intrinsic functions AWS documents for provisioning templates.
SUPPORTED_FUNCTIONS = ("Ref", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::Sub", "Fn::FindInMap")

#: Deepest JSON nesting accepted in a template. AWS states no limit (templates are at most 10,240
#: characters); real templates nest about ten levels. The bound keeps evaluation iterative-safe.
MAX_NESTING_DEPTH = 100

# IoT policy variables (``${iot:ClientId}``) and global condition keys (``${aws:SourceIp}``) are
# left for the policy engine; ``AWS::...`` pseudo-parameter names are not policy variables.
_POLICY_VARIABLE = re.compile(r"(?:iot|aws):(?!:)")
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
_MAX_INDEX_DIGITS = 18


def sub_placeholders(text: str) -> Iterator[tuple[int, int]]:
    r"""The ``(start, end)`` of each ``${...}`` placeholder of an ``Fn::Sub`` string, left to right.

    A placeholder runs from ``${`` to the first ``}`` after it (``${a${b}`` is one placeholder named
    ``a${b``). The scan is linear in ``len(text)``: once no ``}`` follows a ``${``, none follows any later
    ``${`` either, so the scan stops instead of trying each remaining ``${`` in turn (the quadratic cost of
    ``re.finditer(r"\$\{([^}]*)\}")`` on a string of unterminated ``${``).
    """
    position = 0
    while True:
        start = text.find("${", position)
        if start < 0:
            return
        close = text.find("}", start + 2)
        if close < 0:
            return
        yield start, close + 1
        position = close + 1


class TemplateError(Exception):
    """A template (or its parameters) is invalid; ``message`` is meant for the API caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Pending:
    """A value that depends on a parameter whose value is not known."""

    parameter: str


@dataclass(frozen=True)
class TemplateSections:
    """A parsed template whose sections have been checked for shape.

    ``parameter_defaults`` maps each declared parameter to its ``Default`` (``None`` if it has
    none). ``resources`` and ``device_configuration`` are the raw, unevaluated JSON.
    """

    parameter_defaults: dict[str, str | None]
    mappings: dict[str, dict[str, dict[str, str]]]
    resources: dict[str, Any]
    device_configuration: dict[str, Any]


def describe_value(value: Any) -> str:
    """A short phrase naming the JSON type of ``value`` for error messages."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, Pending):
        return f"the value of parameter {value.parameter}"
    return type(value).__name__


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json(text: str) -> Any:
    """Strict ``json.loads``: NaN/Infinity are refused, nesting beyond ``MAX_NESTING_DEPTH`` too.

    Every failure is a ``ValueError``, never a ``RecursionError``.
    """
    return loads_bounded(text, MAX_NESTING_DEPTH, parse_constant=_reject_constant)


def function_name(node: Any) -> str | None:
    """The function a node calls: a one-key object whose key is ``Ref`` or starts with ``Fn::``."""
    if isinstance(node, dict) and len(node) == 1:
        (key,) = node
        if isinstance(key, str) and (key == "Ref" or key.startswith("Fn::")):
            return key
    return None


def find_pending(value: Any) -> Pending | None:
    """The first :class:`Pending` anywhere inside an evaluated value, if any."""
    if isinstance(value, Pending):
        return value
    children: Any = ()
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list):
        children = value
    for child in children:
        found = find_pending(child)
        if found is not None:
            return found
    return None


def _exceeds_depth(document: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _reject_unsupported_functions(node: Any, path: str) -> None:
    name = function_name(node)
    if name is not None and name not in SUPPORTED_FUNCTIONS:
        raise TemplateError(f"Unsupported intrinsic function: {name} (at {path})")
    if isinstance(node, dict):
        for key, child in node.items():
            _reject_unsupported_functions(child, f"{path}.{key}")
    elif isinstance(node, list):
        for position, child in enumerate(node):
            _reject_unsupported_functions(child, f"{path}[{position}]")


def _parameter_defaults(section: dict[str, Any]) -> dict[str, str | None]:
    defaults: dict[str, str | None] = {}
    for name, declaration in section.items():
        if not isinstance(declaration, dict):
            raise TemplateError(f"Parameter {name} must be declared as a JSON object")
        if "Type" in declaration and declaration["Type"] != "String":
            raise TemplateError(
                f"Parameter {name} has unsupported Type ({describe_value(declaration['Type'])});"
                " only String is supported"
            )
        default = declaration.get("Default")
        if "Default" in declaration and not isinstance(default, str):
            raise TemplateError(
                f"Default of parameter {name} must be a string, got {describe_value(default)}"
            )
        defaults[name] = default
    return defaults


def _mappings(section: dict[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
    for map_name, top_level in section.items():
        if not isinstance(top_level, dict):
            raise TemplateError(f"Mapping {map_name} must be an object of objects of strings")
        for top_key, second_level in top_level.items():
            if not isinstance(second_level, dict):
                raise TemplateError(f"Mapping {map_name}.{top_key} must be an object of strings")
            for second_key, value in second_level.items():
                if not isinstance(value, str):
                    raise TemplateError(
                        f"Mappings value {map_name}.{top_key}.{second_key} must be a literal"
                        f" string, got {describe_value(value)} (functions are not evaluated in"
                        " Mappings)"
                    )
    return section


def parse_template(body: str) -> TemplateSections:
    """Parse ``body`` and check its sections, parameter declarations and Mappings.

    A missing or empty ``Resources`` section is accepted (AWS does not say; such a template simply
    provisions nothing). Unsupported ``Fn::`` functions are rejected anywhere outside ``Mappings``.
    """
    if not isinstance(body, str):
        raise TemplateError("templateBody must be a string")
    try:
        document = parse_json(body)
    except JsonTooDeep:
        raise TemplateError(f"templateBody nests more than {MAX_NESTING_DEPTH} levels deep") from None
    except ValueError as error:
        raise TemplateError(f"templateBody is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise TemplateError("templateBody must be a JSON object")
    if _exceeds_depth(document, MAX_NESTING_DEPTH):
        raise TemplateError(f"templateBody nests more than {MAX_NESTING_DEPTH} levels deep")
    for section_name, section in document.items():
        if section_name not in SECTION_NAMES:
            raise TemplateError(f"Unsupported template section: {section_name}")
        if not isinstance(section, dict):
            raise TemplateError(f"Template section {section_name} must be a JSON object")
    for section_name in ("Parameters", "Resources", "DeviceConfiguration"):
        _reject_unsupported_functions(document.get(section_name, {}), section_name)
    return TemplateSections(
        parameter_defaults=_parameter_defaults(document.get("Parameters", {})),
        mappings=_mappings(document.get("Mappings", {})),
        resources=document.get("Resources", {}),
        device_configuration=document.get("DeviceConfiguration", {}),
    )


class ParameterScope:
    """Resolves parameter names: the supplied value, else the declared ``Default``.

    ``supplied=None`` means no values are known yet (a template being stored): every name is
    :class:`Pending` and nothing is reported as undeclared, because AWS's own examples reference
    names that are supplied at call time without being declared.
    """

    def __init__(
        self,
        defaults: Mapping[str, str | None],
        supplied: Mapping[str, str] | None,
        resource_ids: Sequence[str] = (),
    ) -> None:
        self._defaults = defaults
        self._supplied = supplied
        self._resource_ids = frozenset(resource_ids)

    def lookup(self, name: str, referrer: str, where: str) -> str | Pending:
        if self._supplied is None:
            return Pending(name)
        if name in self._supplied:
            return self._supplied[name]
        if name in self._defaults:
            default = self._defaults[name]
            return Pending(name) if default is None else default
        if name in self._resource_ids:
            raise TemplateError(
                f"{referrer} to resource {name} is not supported: only parameters can be"
                f" referenced (in {where})"
            )
        raise TemplateError(f"{referrer} to undeclared parameter: {name} (in {where})")


def _all_strings(values: Sequence[str | Pending]) -> list[str] | Pending:
    strings: list[str] = []
    for value in values:
        if isinstance(value, Pending):
            return value
        strings.append(value)
    return strings


class Evaluator:
    """Evaluates template nodes: plain JSON is copied, function calls are applied.

    ``where`` names the place being evaluated (e.g. "property ThingName of resource thing") and
    is used in error messages only.
    """

    def __init__(
        self, scope: ParameterScope, mappings: Mapping[str, Mapping[str, Mapping[str, str]]]
    ) -> None:
        self._scope = scope
        self._mappings = mappings
        self._functions: dict[str, Callable[[Any, str], Any]] = {
            "Ref": self._ref,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::Sub": self._sub,
            "Fn::FindInMap": self._find_in_map,
        }

    def evaluate(self, node: Any, where: str) -> Any:
        name = function_name(node)
        if name is not None:
            function = self._functions.get(name)
            if function is None:
                raise TemplateError(f"Unsupported intrinsic function: {name} (in {where})")
            return function(node[name], where)
        if isinstance(node, dict):
            return {key: self.evaluate(child, where) for key, child in node.items()}
        if isinstance(node, list):
            return [self.evaluate(child, where) for child in node]
        return node

    @staticmethod
    def _arguments(function: str, arguments: Any, count: int, where: str) -> list[Any]:
        if not isinstance(arguments, list) or len(arguments) != count:
            raise TemplateError(
                f"{function} in {where} takes a list of {count} arguments, got {describe_value(arguments)}"
            )
        return arguments

    @staticmethod
    def _string(function: str, role: str, value: Any, where: str) -> str | Pending:
        if isinstance(value, (str, Pending)):
            return value
        raise TemplateError(f"{function} in {where}: {role} must be a string, got {describe_value(value)}")

    def _ref(self, argument: Any, where: str) -> str | Pending:
        if not isinstance(argument, str):
            raise TemplateError(
                f"Ref in {where} takes a parameter name (a string), got {describe_value(argument)}"
            )
        return self._scope.lookup(argument, "Ref", where)

    def _join(self, arguments: Any, where: str) -> str | Pending:
        delimiter_node, items_node = self._arguments("Fn::Join", arguments, 2, where)
        delimiter = self._string("Fn::Join", "the delimiter", self.evaluate(delimiter_node, where), where)
        items = self.evaluate(items_node, where)
        if isinstance(items, Pending):
            return items
        if not isinstance(items, list):
            raise TemplateError(
                f"Fn::Join in {where}: the second argument must be a list of strings, got"
                f" {describe_value(items)}"
            )
        parts = [
            self._string("Fn::Join", f"list item {position}", item, where)
            for position, item in enumerate(items)
        ]
        strings = _all_strings([delimiter, *parts])
        if isinstance(strings, Pending):
            return strings
        return strings[0].join(strings[1:])

    def _select(self, arguments: Any, where: str) -> Any:
        index_node, list_node = self._arguments("Fn::Select", arguments, 2, where)
        index = self._index(self.evaluate(index_node, where), where)
        items = self.evaluate(list_node, where)
        if not isinstance(items, (list, Pending)):
            raise TemplateError(
                f"Fn::Select in {where}: the second argument must be a list, got {describe_value(items)}"
            )
        if isinstance(index, Pending):
            return index
        if isinstance(items, Pending):
            return items
        if not 0 <= index < len(items):
            raise TemplateError(
                f"Fn::Select in {where}: index {index} is out of range for a list of {len(items)} item(s)"
            )
        element = items[index]
        if element is None:
            raise TemplateError(f"Fn::Select in {where}: the selected element {index} is null")
        return element

    @staticmethod
    def _index(value: Any, where: str) -> int | Pending:
        if isinstance(value, Pending):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
            if len(value.lstrip("-")) > _MAX_INDEX_DIGITS:
                raise TemplateError(f"Fn::Select in {where}: index {value} is out of range")
            return int(value)
        raise TemplateError(
            f"Fn::Select in {where}: the index must be an integer, got {describe_value(value)}"
        )

    def _split(self, arguments: Any, where: str) -> list[str] | Pending:
        delimiter_node, source_node = self._arguments("Fn::Split", arguments, 2, where)
        delimiter = self._string("Fn::Split", "the delimiter", self.evaluate(delimiter_node, where), where)
        source = self._string("Fn::Split", "the source", self.evaluate(source_node, where), where)
        if delimiter == "":
            raise TemplateError(f"Fn::Split in {where}: the delimiter must not be empty")
        strings = _all_strings([delimiter, source])
        if isinstance(strings, Pending):
            return strings
        return strings[1].split(strings[0])

    def _sub(self, arguments: Any, where: str) -> str | Pending:
        if isinstance(arguments, str):
            return self._substitute(arguments, {}, where)
        if not (isinstance(arguments, list) and len(arguments) == 2 and isinstance(arguments[0], str)):
            raise TemplateError(
                f"Fn::Sub in {where} takes a string or a list [string, {{variables}}], got"
                f" {describe_value(arguments)}"
            )
        text, variable_nodes = arguments
        if not isinstance(variable_nodes, dict) or function_name(variable_nodes) is not None:
            raise TemplateError(
                f"Fn::Sub in {where}: the second argument must be an object of variable values,"
                f" got {describe_value(variable_nodes)}"
            )
        variables = {
            name: self._string("Fn::Sub", f"variable {name}", self.evaluate(node, where), where)
            for name, node in variable_nodes.items()
        }
        return self._substitute(text, variables, where)

    def _substitute(self, text: str, variables: Mapping[str, str | Pending], where: str) -> str | Pending:
        """``${Name}`` → variable, else parameter; ``${!Name}`` → literal ``${Name}``."""
        pieces: list[str] = []
        pending: Pending | None = None
        position = 0
        for start, end in sub_placeholders(text):
            pieces.append(text[position:start])
            position = end
            name = text[start + 2 : end - 1]
            if name.startswith("!"):
                pieces.append("${" + name[1:] + "}")
                continue
            if _POLICY_VARIABLE.match(name):
                pieces.append(text[start:end])
                continue
            if name in variables:
                value = variables[name]
            else:
                value = self._scope.lookup(name, "Fn::Sub reference", where)
            if isinstance(value, Pending):
                pending = pending or value
            else:
                pieces.append(value)
        pieces.append(text[position:])
        return pending if pending is not None else "".join(pieces)

    def _find_in_map(self, arguments: Any, where: str) -> str | Pending:
        nodes = self._arguments("Fn::FindInMap", arguments, 3, where)
        roles = ("the map name", "the top-level key", "the second-level key")
        keys = _all_strings(
            [
                self._string("Fn::FindInMap", role, self.evaluate(node, where), where)
                for role, node in zip(roles, nodes)
            ]
        )
        if isinstance(keys, Pending):
            return keys
        map_name, top_key, second_key = keys
        mapping = self._mappings.get(map_name)
        if mapping is None:
            raise TemplateError(f"Fn::FindInMap in {where}: mapping {map_name} is not defined")
        second_level = mapping.get(top_key)
        if second_level is None:
            raise TemplateError(f"Fn::FindInMap in {where}: key {top_key} not found in mapping {map_name}")
        value = second_level.get(second_key)
        if value is None:
            raise TemplateError(
                f"Fn::FindInMap in {where}: key {second_key} not found in mapping {map_name}.{top_key}"
            )
        return value


def evaluate_device_configuration(section: Mapping[str, Any], evaluator: Evaluator) -> dict[str, str]:
    """Evaluate the flat ``DeviceConfiguration`` map.

    AWS does not support nested JSON there, so every value must evaluate to a string. A value that
    depends on a parameter with no value is left out (the key is omitted) rather than failing the
    request: the section is only data handed back to the device.
    """
    configuration: dict[str, str] = {}
    for key, node in section.items():
        value = evaluator.evaluate(node, f"DeviceConfiguration key {key}")
        if isinstance(value, Pending):
            continue
        if not isinstance(value, str):
            raise TemplateError(
                f"DeviceConfiguration value for {key} must be a string, got"
                f" {describe_value(value)} (nested JSON is not supported)"
            )
        configuration[key] = value
    return configuration
