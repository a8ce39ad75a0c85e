"""Input validation driven by the shapes of botocore's ``iot`` model.

The service validates every constraint of the input shape; botocore's client only checks required members,
types and ``min``, and other SDKs or ``Config(parameter_validation=False)`` check nothing. So the mock checks
them all on the server side: required, type, min/max length, min/max value, pattern, enum. A failure is an
``InvalidRequestException`` (HTTP 400) whose message follows the service's validation wording, naming the
member and the constraint.

Patterns are Java regular expressions matched against the whole value (the service's own matching), with the
Java POSIX classes (``\\p{Graph}``, ``\\p{Upper}``, ``\\p{Digit}``, ``\\p{Cntrl}``) translated to their ASCII
meaning and the Unicode categories (``\\p{C}``, ``\\p{L}``...) handled by the ``regex`` package.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import regex
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from mock_iotprov.protocol.errors import ServiceError, invalid_request

Check = Callable[[Any, str], None]

_JAVA_POSIX = {
    "Graph": "!-~",
    "Upper": "A-Z",
    "Lower": "a-z",
    "Digit": "0-9",
    "Alpha": "A-Za-z",
    "Alnum": "A-Za-z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "Space": " \\t\\n\\x0b\\f\\r",
}
_POSIX_REF = re.compile(r"\\p\{(%s)\}" % "|".join(_JAVA_POSIX))


def _translate_java_pattern(pattern: str) -> str:
    """Rewrite Java POSIX classes to ASCII ranges (inside a character class) or bracketed ranges."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        found = _POSIX_REF.match(pattern, i)
        if found:
            ranges = _JAVA_POSIX[found.group(1)]
            out.append(ranges if in_class else f"[{ranges}]")
            i = found.end()
            continue
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@cache
def compiled_pattern(pattern: str) -> Callable[[str], Any]:
    """A full-match function for a model pattern."""
    translated = _translate_java_pattern(pattern)
    if "\\p{" in translated:
        return regex.compile(translated, regex.V0).fullmatch
    return re.compile(translated, re.ASCII).fullmatch


def _fail(path: str, value: Any, constraint: str) -> ServiceError:
    shown = value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
    value_text = f"Value '{shown}'" if shown is not None else "Value"
    return invalid_request(
        f"1 validation error detected: {value_text} at '{path}' failed to satisfy constraint: "
        f"{constraint}"
    )


def _type_error(path: str, expected: str) -> ServiceError:
    return invalid_request(
        f"1 validation error detected: Value at '{path}' failed to satisfy constraint: "
        f"Member must be of type {expected}"
    )


def _length_checks(shape: Shape, noun: str) -> list[Callable[[Any, str], None]]:
    checks: list[Callable[[Any, str], None]] = []
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None:

        def check_min(value: Any, path: str, low: int = low) -> None:
            if len(value) < low:
                raise _fail(path, value, f"Member must have {noun} greater than or equal to {low}")

        checks.append(check_min)
    if high is not None:

        def check_max(value: Any, path: str, high: int = high) -> None:
            if len(value) > high:
                raise _fail(path, value, f"Member must have {noun} less than or equal to {high}")

        checks.append(check_max)
    return checks


def _string_check(shape: Shape) -> Check:
    extra = _length_checks(shape, "length")
    enum = shape.metadata.get("enum")
    pattern = shape.metadata.get("pattern")
    matcher = compiled_pattern(pattern) if pattern is not None else None
    allowed = frozenset(enum) if enum else None
    allowed_list: list[str] = list(enum or ())

    def check(value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise _type_error(path, "String")
        for sub in extra:
            sub(value, path)
        if allowed is not None and value not in allowed:
            raise _fail(path, value, f"Member must satisfy enum value set: [{', '.join(allowed_list)}]")
        if matcher is not None and matcher(value) is None:
            raise _fail(path, value, f"Member must satisfy regular expression pattern: {pattern}")

    return check


def _number_check(shape: Shape, integral: bool) -> Check:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")

    def check(value: Any, path: str) -> None:
        ok = isinstance(value, int) if integral else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            raise _type_error(path, "Integer" if integral else "Number")
        if low is not None and value < low:
            raise _fail(path, value, f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            raise _fail(path, value, f"Member must have value less than or equal to {high}")

    return check


def _simple_check(kind: type | tuple[type, ...], name: str) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, kind):
            raise _type_error(path, name)

    return check


def _list_check(shape: ListShape, building: dict[str, Check]) -> Check:
    extra = _length_checks(shape, "length")
    member = shape_check(shape.member, building)

    def check(value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise _type_error(path, "List")
        for sub in extra:
            sub(value, path)
        for index, item in enumerate(value):
            member(item, f"{path}.{index + 1}.member")

    return check


def _map_check(shape: MapShape, building: dict[str, Check]) -> Check:
    extra = _length_checks(shape, "length")
    key_check = shape_check(shape.key, building)
    value_check = shape_check(shape.value, building)

    def check(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _type_error(path, "Map")
        for sub in extra:
            sub(value, path)
        for key, item in value.items():
            key_check(key, f"{path}.key")
            value_check(item, f"{path}.{key}.value" if isinstance(key, str) else path)

    return check


def _structure_check(shape: StructureShape, building: dict[str, Check]) -> Check:
    required = tuple(shape.required_members)
    members = {name: shape_check(member, building) for name, member in shape.members.items()}

    def check(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _type_error(path, "Structure")
        prefix = f"{path}." if path else ""
        for name in required:
            if value.get(name) is None:
                raise invalid_request(
                    f"1 validation error detected: Value null at '{prefix}{name}' failed to satisfy "
                    "constraint: Member must not be null"
                )
        for name, item in value.items():
            member_check = members.get(name)
            if member_check is not None and item is not None:
                member_check(item, prefix + name)

    return check


def shape_check(shape: Shape, building: dict[str, Check] | None = None) -> Check:
    """A validator closure for ``shape``; ``building`` resolves recursive structures lazily."""
    building = {} if building is None else building
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if shape.name in building:
            return _deferred(building, shape.name)
        building[shape.name] = _simple_check(dict, "Structure")
        check = _structure_check(shape, building)
        building[shape.name] = check
        return check
    if kind == "string":
        return _string_check(shape)
    if kind in ("integer", "long"):
        return _number_check(shape, integral=True)
    if kind in ("double", "float"):
        return _number_check(shape, integral=False)
    if kind == "boolean":
        return _simple_check(bool, "Boolean")
    if kind == "timestamp":
        return _simple_check(datetime.datetime, "Timestamp")
    if kind == "blob":
        return _simple_check((bytes, bytearray), "Blob")
    if kind == "list":
        assert isinstance(shape, ListShape)
        return _list_check(shape, building)
    if kind == "map":
        assert isinstance(shape, MapShape)
        return _map_check(shape, building)
    return _simple_check(object, kind)


def _deferred(building: dict[str, Check], name: str) -> Check:
    def check(value: Any, path: str) -> None:
        building[name](value, path)

    return check


@cache
def _operation_check(operation: OperationModel) -> Check | None:
    shape = operation.input_shape
    return None if shape is None else shape_check(shape)


def validate_input(operation: OperationModel, params: dict[str, Any]) -> None:
    """Raise ``InvalidRequestException`` unless ``params`` satisfies the operation's input shape."""
    check = _operation_check(operation)
    if check is not None:
        check(params, "")
