"""JSON text parsed with a bound on its nesting depth, checked in time linear in the text.

``json.loads`` recurses once per nesting level: a few thousand ``[`` raise ``RecursionError`` (and a little
less than the interpreter's limit parses, only for a later recursive walk to fail). Every JSON text the mock
parses (request bodies, pagination tokens, policy documents, provisioning templates and the JSON in their
parameters) goes through :func:`loads_bounded`, which counts the brackets outside strings first and refuses a
text that nests deeper than the caller's limit before any recursive code sees it. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["JsonTooDeep", "exceeds_nesting", "loads_bounded"]

_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JsonTooDeep(ValueError):
    """The JSON text nests deeper than allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the JSON nests more than {limit} levels deep")
        self.limit = limit


def exceeds_nesting(text: str, limit: int) -> bool:
    """Whether the arrays and objects of JSON ``text`` nest more than ``limit`` levels deep.

    Brackets inside strings do not count. Linear in ``len(text)`` whatever the text: escaped backslashes,
    then escaped quotes, are removed with ``str.replace`` (in valid JSON they occur only inside strings),
    after which strings are the odd pieces between quotes; a one-character-class expression drops what is
    not a bracket, and one pass counts, stopping at the first level beyond ``limit``. For text that is not
    JSON the count may be off, which does not matter: ``json.loads`` then refuses it (and a
    ``RecursionError`` it might meet first is caught by :func:`loads_bounded`).
    """
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    outside_strings = "".join(unescaped.split('"')[0::2])
    depth = 0
    for bracket in _NOT_BRACKET.sub("", outside_strings):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads_bounded(text: str, limit: int, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(text)``, refusing with :class:`JsonTooDeep` a text nested more than ``limit`` deep.

    Every failure is a ``ValueError`` (``JsonTooDeep`` is one), never a ``RecursionError``.
    """
    if exceeds_nesting(text, limit):
        raise JsonTooDeep(limit)
    try:
        return json.loads(text, parse_constant=parse_constant)
    except RecursionError:
        raise JsonTooDeep(limit) from None
