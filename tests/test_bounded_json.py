"""The bounded JSON parser: nesting counted outside strings, deep text refused as a ValueError."""

from __future__ import annotations

import json

import pytest

from mock_iotprov.bounded_json import JsonTooDeep, exceeds_nesting, loads_bounded


def nested(depth: int, inner: str = "") -> str:
    return "[" * depth + inner + "]" * depth


def test_nesting_is_counted_outside_strings_only() -> None:
    assert not exceeds_nesting(json.dumps({"a": "[[[[[[[[[[", "b": '\\"[[[[[[['}), 2)
    assert exceeds_nesting('{"a": [[1]]}', 2)
    assert not exceeds_nesting('{"a": [[1]]}', 3)
    assert loads_bounded('{"a": "[[[[["}', 1) == {"a": "[[[[["}


@pytest.mark.parametrize("depth", [950, 5_000, 100_000])
def test_loads_bounded_refuses_deep_text_with_a_value_error(depth: int) -> None:
    with pytest.raises(JsonTooDeep) as caught:
        loads_bounded(nested(depth), 64)
    assert isinstance(caught.value, ValueError)


def test_escapes_inside_strings_are_understood() -> None:
    text = json.dumps({"a": 'x\\"[[[', "b": "\\", "c": [["\\\\[", '"']]})
    assert json.loads(text)["a"] == 'x\\"[[['
    assert not exceeds_nesting(text, 3)
    assert exceeds_nesting(text, 2)


@pytest.mark.parametrize(
    "text",
    ['"\\"' * 200_000, '"' + "\\" * 400_000, '"[' * 200_000, '{"' * 200_000, "[" * 10 + '"' + "]" * 400_000],
    ids=["escaped-quotes", "backslashes", "quote-bracket", "open-objects", "unterminated"],
)
def test_hostile_strings_are_scanned_without_backtracking(text: str) -> None:
    """Each of these made a backtracking string pattern quadratic; the result is still correct."""
    with pytest.raises(ValueError):
        loads_bounded(text, 64)
