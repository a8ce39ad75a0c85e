"""Wildcard patterns of IoT policies: ``*`` (any run of characters, ``/`` and ``:`` included) and ``?``
(any one character), matched in linear-times-pattern time (no regular expressions, so no backtracking
blow-up on hostile documents).

AWS IoT Core policies "can use wildcard characters and follow a similar convention to IAM policies": ``*``
matches any characters, and the MQTT wildcards ``+`` and ``#`` "are treated as literal strings in a policy"
(developer guide, "AWS IoT Core policy variables", iot-policy-variables.html; "Using wildcard characters in
MQTT and AWS IoT Core policies", pub-sub-policy.html). A pattern is a sequence of :class:`Literal`, ``STAR``
and ``ANY_ONE`` tokens, so that text substituted from a policy variable, or written with the escapes
``${*}``, ``${?}`` and ``${$}``, stays literal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Literal:
    """Characters that must appear as they are."""

    text: str


class _Wildcard:
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def __repr__(self) -> str:
        return self.symbol


STAR = _Wildcard("*")
ANY_ONE = _Wildcard("?")

Token = Union[Literal, _Wildcard]


def tokens_of(text: str) -> list[Token]:
    """The pattern a plain string (no policy variables) stands for."""
    found: list[Token] = []
    literal: list[str] = []
    for character in text:
        if character in "*?":
            if literal:
                found.append(Literal("".join(literal)))
                literal = []
            found.append(STAR if character == "*" else ANY_ONE)
        else:
            literal.append(character)
    if literal:
        found.append(Literal("".join(literal)))
    return found


def _flatten(pattern: Sequence[Token], fold_case: bool) -> list[str | _Wildcard]:
    """One entry per pattern position: a single character, ``STAR`` or ``ANY_ONE``."""
    flat: list[str | _Wildcard] = []
    for token in pattern:
        if isinstance(token, Literal):
            flat.extend(token.text.casefold() if fold_case else token.text)
        elif token is STAR and flat and flat[-1] is STAR:
            continue  # a run of stars matches what one star matches
        else:
            flat.append(token)
    return flat


def matches(pattern: Sequence[Token], text: str, *, fold_case: bool = False) -> bool:
    """Whether ``text`` matches ``pattern`` as a whole (``fold_case``: ignoring case, as for actions).

    The classic greedy matcher with one remembered star: O(len(text) * len(pattern)) at worst.
    """
    flat = _flatten(pattern, fold_case)
    subject = text.casefold() if fold_case else text
    p = s = 0
    star_at = -1
    resume = 0
    while s < len(subject):
        if p < len(flat) and flat[p] is not STAR and (flat[p] is ANY_ONE or flat[p] == subject[s]):
            p += 1
            s += 1
        elif p < len(flat) and flat[p] is STAR:
            star_at = p
            resume = s
            p += 1
        elif star_at >= 0:
            p = star_at + 1
            resume += 1
            s = resume
        else:
            return False
    while p < len(flat) and flat[p] is STAR:
        p += 1
    return p == len(flat)
