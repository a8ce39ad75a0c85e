"""``Condition`` blocks of IoT policy statements, evaluated as IAM evaluates them.

AWS IoT Core policies use IAM's condition language (developer guide, "AWS IoT Core policies" and the thing
and certificate policy examples, e.g. ``"Bool": {"iot:Connection.Thing.IsAttached": ["true"]}``,
``"ForAllValues:StringEquals": {"iot:Certificate.Subject.Organization.List": [...]}``, ``"Null":
{"iot:Certificate.SerialNumber": "false"}``, ``"IpAddress": {"aws:SourceIp": ...}``). The rules reproduced
(IAM User Guide, "IAM JSON policy elements: Condition operators"):

- Every operator of a block must hold, and every key of an operator; a key holds when the request value
  matches any of the listed values (for a negated operator: matches none of them).
- A key absent from the request makes a positive operator false and a negated one (``StringNotEquals``,
  ``StringNotLike``, ``NumericNotEquals``, ``DateNotEquals``, ``NotIpAddress``, ``ArnNotEquals``,
  ``ArnNotLike``) true; the ``...IfExists`` form is true when the key is absent; ``Null`` tests presence.
- ``ForAnyValue:`` holds when any request value matches (false when the key is absent); ``ForAllValues:``
  when every request value matches (true when the key is absent).
- Condition values may contain policy variables; a value whose variable is unresolved matches nothing.

Operators: ``String(Not)Equals``, ``String(Not)EqualsIgnoreCase``, ``String(Not)Like``, ``Numeric*``,
``Date*`` (ISO 8601 or epoch seconds), ``Bool``, ``(Not)IpAddress``, ``Arn(Not)Equals``, ``Arn(Not)Like``,
``Null``. An operator the mock does not know makes the condition false, so the statement does not apply
(IAM would have rejected such a policy when it was written; the registry stores IoT policies as sent).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mock_iotprov.policy.patterns import matches
from mock_iotprov.policy.variables import PolicyVariables, substitute

Comparison = Callable[[str, str], bool]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _moment(text: str) -> datetime.datetime | None:
    number = _number(text)
    if number is not None:
        try:
            return datetime.datetime.fromtimestamp(number, tz=datetime.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def _numeric(test: Callable[[float, float], bool]) -> Comparison:
    def compare(actual: str, wanted: str) -> bool:
        a, w = _number(actual), _number(wanted)
        return a is not None and w is not None and test(a, w)

    return compare


def _dated(test: Callable[[datetime.datetime, datetime.datetime], bool]) -> Comparison:
    def compare(actual: str, wanted: str) -> bool:
        a, w = _moment(actual), _moment(wanted)
        return a is not None and w is not None and test(a, w)

    return compare


def _in_network(actual: str, wanted: str) -> bool:
    try:
        return ipaddress.ip_address(actual) in ipaddress.ip_network(wanted, strict=False)
    except ValueError:
        return False


def _equal(actual: str, wanted: str) -> bool:
    return actual == wanted


def _equal_ignoring_case(actual: str, wanted: str) -> bool:
    return actual.casefold() == wanted.casefold()


def _boolean(actual: str, wanted: str) -> bool:
    return actual.lower() == wanted.lower()


# operator -> (comparison, negated, compares against a wildcard pattern)
_OPERATORS: dict[str, tuple[Comparison, bool, bool]] = {
    "StringEquals": (_equal, False, False),
    "StringNotEquals": (_equal, True, False),
    "StringEqualsIgnoreCase": (_equal_ignoring_case, False, False),
    "StringNotEqualsIgnoreCase": (_equal_ignoring_case, True, False),
    "StringLike": (_equal, False, True),
    "StringNotLike": (_equal, True, True),
    "ArnEquals": (_equal, False, True),
    "ArnLike": (_equal, False, True),
    "ArnNotEquals": (_equal, True, True),
    "ArnNotLike": (_equal, True, True),
    "NumericEquals": (_numeric(lambda a, w: a == w), False, False),
    "NumericNotEquals": (_numeric(lambda a, w: a == w), True, False),
    "NumericLessThan": (_numeric(lambda a, w: a < w), False, False),
    "NumericLessThanEquals": (_numeric(lambda a, w: a <= w), False, False),
    "NumericGreaterThan": (_numeric(lambda a, w: a > w), False, False),
    "NumericGreaterThanEquals": (_numeric(lambda a, w: a >= w), False, False),
    "DateEquals": (_dated(lambda a, w: a == w), False, False),
    "DateNotEquals": (_dated(lambda a, w: a == w), True, False),
    "DateLessThan": (_dated(lambda a, w: a < w), False, False),
    "DateLessThanEquals": (_dated(lambda a, w: a <= w), False, False),
    "DateGreaterThan": (_dated(lambda a, w: a > w), False, False),
    "DateGreaterThanEquals": (_dated(lambda a, w: a >= w), False, False),
    "Bool": (_boolean, False, False),
    "IpAddress": (_in_network, False, False),
    "NotIpAddress": (_in_network, True, False),
}


def _as_strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    strings: list[str] = []
    for item in items:
        if isinstance(item, bool):
            strings.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            strings.append(str(item))
    return strings


def _matches_any(
    actual: str, wanted: Sequence[str], compare: Comparison, as_pattern: bool, variables: PolicyVariables
) -> bool:
    for text in wanted:
        substituted = substitute(text, variables)
        if substituted.pattern is None:
            continue
        if as_pattern:
            if matches(substituted.pattern, actual):
                return True
        elif compare(actual, substituted.text or ""):
            return True
    return False


def _operator_holds(operator: str, keys: Any, variables: PolicyVariables) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues") or not isinstance(keys, Mapping):
        return False
    if_exists = name.endswith("IfExists") and name != "IfExists"
    if if_exists:
        name = name[: -len("IfExists")]
    for key, wanted_value in keys.items():
        actual = variables.values(str(key))
        wanted = _as_strings(wanted_value)
        if name == "Null":
            if not any((actual is None) == (w.lower() == "true") for w in wanted):
                return False
            continue
        known = _OPERATORS.get(name)
        if known is None:
            return False
        compare, negated, as_pattern = known
        if actual is None:
            if if_exists or qualifier == "ForAllValues":
                continue
            if qualifier == "ForAnyValue" or not negated:
                return False
            continue
        hits = [_matches_any(value, wanted, compare, as_pattern, variables) for value in actual]
        if negated:
            hits = [not hit for hit in hits]
        holds = all(hits) if qualifier == "ForAllValues" or negated and not qualifier else any(hits)
        if not holds:
            return False
    return True


def condition_holds(condition: Mapping[str, Any] | None, variables: PolicyVariables) -> bool:
    """Whether a statement's ``Condition`` block holds for the request (an absent block always does)."""
    if not condition:
        return True
    return all(_operator_holds(str(operator), keys, variables) for operator, keys in condition.items())
