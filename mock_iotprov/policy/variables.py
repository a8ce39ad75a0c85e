"""Policy variables: their values for one request, and ``${...}`` substitution into policy text.

Behaviour reproduced (AWS IoT developer guide, "AWS IoT Core policy variables" iot-policy-variables.html,
"Basic AWS IoT Core policy variables" basic-policy-variables.html, "Thing policy variables"
thing-policy-variables.html, "X.509 Certificate AWS IoT Core policy variables" cert-policy-variables.html and
"Using X.509 certificate policy variables" use-policy-variables.html):

- Variables appear as ``${name}`` in ``Resource``/``NotResource`` entries and in ``Condition`` values, and are
  replaced by the request's value. ``${*}``, ``${?}`` and ``${$}`` stand for a literal ``*``, ``?`` and ``$``
  (so ``${*}`` is not a wildcard). Substituted values are literal text too: a client id ``a*`` does not
  become a wildcard.
- Certificate attributes can hold several values: ``iot:Certificate.Subject.Country`` is the first,
  ``...Country.1`` the second (an index past the end resolves to nothing), and ``...Country.List`` all of them
  (for conditions such as ``ForAllValues:StringEquals``). At most five values of an attribute are kept.
- A certificate value containing a wildcard character (``*``, ``$``, ``+``, ``?``, ``#``) or longer than 1024
  characters is not substituted: AWS leaves the ``${...}`` text in place.
- A variable that cannot be resolved leaves the entry unresolved. AWS leaves the ``${...}`` text in the
  document, "which might cause authorization failure", and documents e.g. for a thing attribute of a
  certificate not attached to the thing that the variable "won't be resolved and will result in an access
  denied error". The mock's reading: an entry with an unresolved variable matches nothing, so it grants
  nothing in an ``Allow`` and denies nothing in a ``Deny`` (other entries of the same statement still count).
  Under ``NotResource`` such an entry excludes nothing, so a ``Deny`` with ``NotResource`` on an unresolved
  entry denies every resource, as the literal text AWS leaves in place would.

Variable names are matched case-insensitively (as IAM condition keys are), except the attribute name inside
``iot:Connection.Thing.Attributes[...]``, which is case-sensitive like thing attribute names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from mock_iotprov.policy.patterns import ANY_ONE, STAR, Literal, Token, tokens_of

CERTIFICATE_PREFIX = "iot:certificate."
AVAILABLE_KEYS = "iot:certificate.availablekeys"
MAX_CERTIFICATE_VALUES = 5
MAX_CERTIFICATE_VALUE_LENGTH = 1024
CERTIFICATE_WILDCARDS = frozenset("*$+?#")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_INDEXED = re.compile(r"^(.*)\.(\d{1,3})$")
_LIST_SUFFIX = ".list"


def canonical_name(name: str) -> str:
    """The form variable names are compared in: case-folded, except a bracketed attribute name."""
    name = name.strip()
    bracket = name.find("[")
    if bracket < 0:
        return name.lower()
    return name[:bracket].lower() + name[bracket:]


class PolicyVariables:
    """The values of the policy variables for one request: each name has one or more string values."""

    def __init__(self, values: Mapping[str, str | Sequence[str]] | None = None) -> None:
        self._values: dict[str, tuple[str, ...]] = {}
        for name, value in (values or {}).items():
            key = canonical_name(name)
            found = (value,) if isinstance(value, str) else tuple(value)
            if key.startswith(CERTIFICATE_PREFIX) and key != AVAILABLE_KEYS:
                found = found[:MAX_CERTIFICATE_VALUES]
            self._values[key] = found

    def names(self) -> Iterator[str]:
        """The (canonical) names that have values."""
        return iter(self._values)

    def values(self, name: str) -> tuple[str, ...] | None:
        """All values a condition sees for ``name`` (``.List`` for every value of an attribute), or None
        when the request has no such key."""
        key = canonical_name(name)
        if key.endswith(_LIST_SUFFIX) and key[: -len(_LIST_SUFFIX)] in self._values:
            return self._values[key[: -len(_LIST_SUFFIX)]]
        single = self.value(key)
        return None if single is None else (single,)

    def value(self, name: str) -> str | None:
        """The single value ``${name}`` is replaced by, or None when it cannot be resolved."""
        key = canonical_name(name)
        found = self._values.get(key)
        index = 0
        if found is None:
            indexed = _INDEXED.match(key)
            if indexed is None or indexed.group(1) not in self._values:
                return None
            found, index = self._values[indexed.group(1)], int(indexed.group(2))
        if index >= len(found):
            return None
        chosen = found[index]
        if key.startswith(CERTIFICATE_PREFIX) and (
            len(chosen) > MAX_CERTIFICATE_VALUE_LENGTH or CERTIFICATE_WILDCARDS.intersection(chosen)
        ):
            return None
        return chosen


@dataclass(frozen=True)
class Substituted:
    """Policy text after substitution: its pattern, or None when a variable in it was unresolved."""

    pattern: tuple[Token, ...] | None
    unresolved: tuple[str, ...] = ()

    @property
    def text(self) -> str | None:
        """The substituted text with wildcards written out (for operators that compare exactly)."""
        if self.pattern is None:
            return None
        return "".join(token.text if isinstance(token, Literal) else repr(token) for token in self.pattern)


def substitute(text: str, variables: PolicyVariables) -> Substituted:
    """Replace every ``${...}`` in ``text``; ``*`` and ``?`` outside them stay wildcards."""
    tokens: list[Token] = []
    unresolved: list[str] = []
    position = 0
    while True:
        start = text.find("${", position)
        end = text.find("}", start + 2) if start >= 0 else -1
        if start < 0 or end < 0:
            tokens.extend(tokens_of(text[position:]))
            break
        tokens.extend(tokens_of(text[position:start]))
        name = text[start + 2 : end]
        if name in _ESCAPES:
            tokens.append(Literal(_ESCAPES[name]))
        else:
            value = variables.value(name)
            if value is None:
                unresolved.append(name.strip())
            else:
                tokens.append(Literal(value))
        position = end + 1
    if unresolved:
        return Substituted(None, tuple(unresolved))
    return Substituted(tuple(tokens))


__all__ = ["ANY_ONE", "STAR", "PolicyVariables", "Substituted", "canonical_name", "substitute"]
