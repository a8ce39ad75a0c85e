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
