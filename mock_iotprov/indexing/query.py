"""The fleet-indexing query language: text → a predicate over a document (pure: no I/O, no registry).

What is reproduced (developer guide, "Query syntax" and "Example thing queries"):

- Terms ``field:value`` and bare terms (a bare term matches a value of any field); ``field:*`` matches
  documents that have the field; a bare ``*`` matches everything.
- Wildcards in a value: ``*`` (any run of characters) and ``?`` (one character); quoted phrases
  (``"a b"``) match literally; ``\\`` escapes the next character.
- Ranges ``field:[a TO b]`` (inclusive), ``{a TO b}`` (exclusive) and mixed brackets, ``*`` as an open
  bound; comparisons ``field>v``, ``field>=v``, ``field<v``, ``field<=v`` (spaces allowed around the
  operator). Values that are both numbers compare as numbers, otherwise as (case-folded) text.
- ``AND``, ``OR``, ``NOT`` and a leading ``-`` to exclude; juxtaposition means ``AND`` (the default
  operator), so ``a NOT b`` is ``a AND NOT b``; parentheses group; ``field:(a OR b*)`` applies the field
  to every term inside the group.
- Field names are case sensitive; values match case-insensitively.
- At most 12 terms per query; a leading wildcard (``*abc``) in at most one term, and then the query is at
  most 100 characters; the special characters `` ` @ # % / ' ; , `` are not supported outside quotes.
  Any of these, or a syntax error, is an ``InvalidQueryError`` (the service's ``InvalidQueryException``).

Bounded cost for hostile input (choices where AWS is silent): queries over 2048 characters and nesting
deeper than 16 are refused; a wildcard value is cut at its stars into fixed-length segments searched
left to right (``compile_glob``), O(len(value) × len(pattern)) at worst, never exponential backtracking.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

MAX_TERMS = 12
MAX_QUERY_LENGTH = 2048
MAX_LEADING_WILDCARD_QUERY_LENGTH = 100
MAX_DEPTH = 16
_UNSUPPORTED = set("`@#%/';,")
_BREAKS = set('()[]{}:"<> \t\r\n\f\v')
_KEYWORDS = {"AND", "OR", "NOT", "TO"}


class InvalidQueryError(Exception):
    """A query the service would refuse with ``InvalidQueryException``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Document(Protocol):
    """What a query reads of an indexed item: the values of a field (empty when absent)."""

    def values(self, field: str) -> Sequence[str]: ...

    def all_values(self) -> Iterable[str]: ...


Predicate = Callable[[Document], bool]


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD, QUOTED, OP (one of ()[]{}:), CMP, AND, OR, NOT, TO
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()[]{}:":
            tokens.append(_Token("OP", char, i))
            i += 1
        elif char in "<>":
            op = text[i : i + 2] if text[i + 1 : i + 2] == "=" else char
            tokens.append(_Token("CMP", op, i))
            i += len(op)
        elif char == '"':
            end = i + 1
            chunk: list[str] = []
            while end < len(text) and text[end] != '"':
                if text[end] == "\\" and end + 1 < len(text):
                    end += 1
                chunk.append(text[end])
                end += 1
            if end >= len(text):
                raise InvalidQueryError(f"Unterminated quoted value at position {i}.")
            tokens.append(_Token("QUOTED", "".join(chunk), i))
            i = end + 1
        else:
            start = i
            chunk = []
            while i < len(text) and text[i] not in _BREAKS:
                if text[i] in _UNSUPPORTED:
                    raise InvalidQueryError(f"Unsupported character {text[i]!r} at position {i}.")
                if text[i] == "\\":
                    if i + 1 >= len(text):
                        raise InvalidQueryError("The query ends with an escape character.")
                    chunk.append("\\" + text[i + 1])
                    i += 2
                    continue
                chunk.append(text[i])
                i += 1
            word = "".join(chunk)
            kind = word if word in _KEYWORDS else "WORD"
            tokens.append(_Token(kind, word, start))
    return tokens


@dataclass(frozen=True)
class _Value:
    """A term value: ``text`` unescaped, ``pattern`` the glob (None when no wildcard)."""

    text: str
    pattern: str | None


def _value_of(token: _Token) -> _Value:
    if token.kind == "QUOTED":
        return _Value(token.text.lower(), None)
    text: list[str] = []
    pattern: list[str] = []
    wild = False
    i = 0
    raw = token.text
    while i < len(raw):
        if raw[i] == "\\":
            text.append(raw[i + 1])
            pattern.append("\\" + raw[i + 1])
            i += 2
            continue
        if raw[i] in "*?":
            wild = True
        text.append(raw[i])
        pattern.append(raw[i])
        i += 1
    plain = "".join(text).lower()
    return _Value(plain, "".join(pattern).lower() if wild else None)


def compile_glob(pattern: str) -> Callable[[str], bool]:
    """A matcher for ``pattern`` (``*`` any run, ``?`` one character, ``\\x`` a literal ``x``).

    The pattern is cut at its stars into fixed-length segments: the first must match at the start, the
    last at the end, the others leftmost in between (correct because each segment has a fixed length).
    Each segment is searched by a quantifier-free regular expression, so a match costs at most
    O(len(value) × len(pattern)) and never backtracks exponentially.
    """
    segments: list[list[str]] = [[]]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            segments[-1].append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if char == "*":
            segments.append([])
        else:
            segments[-1].append("." if char == "?" else re.escape(char))
        i += 1
    compiled = [(re.compile("".join(parts), re.DOTALL), len(parts)) for parts in segments]
    if len(compiled) == 1:
        whole, _ = compiled[0]
        return lambda value: whole.fullmatch(value) is not None
    (head, head_length), (tail, tail_length) = compiled[0], compiled[-1]
    middle = compiled[1:-1]

    def matches(value: str) -> bool:
        end = len(value) - tail_length
        if end < head_length or head.match(value, 0, head_length) is None:
            return False
        if tail.fullmatch(value, end) is None:
            return False
        position = head_length
        for segment, _ in middle:
            found = segment.search(value, position, end)
            if found is None:
                return False
            position = found.end()
        return True

    return matches


def glob_match(pattern: str, value: str) -> bool:
    """Whether ``value`` matches the glob ``pattern`` (see :func:`compile_glob`)."""
    return compile_glob(pattern)(value)


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _compare(value: str, bound: str) -> int:
    """-1, 0 or 1: numbers numerically, otherwise case-folded text."""
    left, right = _number(value), _number(bound)
    if left is not None and right is not None:
        return (left > right) - (left < right)
    folded = value.lower()
    return (folded > bound) - (folded < bound)


def _term_matcher(value: _Value) -> Callable[[str], bool]:
    if value.pattern is not None:
        matcher = compile_glob(value.pattern)
        return lambda candidate: matcher(candidate.lower())
    wanted = value.text
    return lambda candidate: candidate.lower() == wanted


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0
        self.terms = 0
        self.leading_wildcards = 0
        self.depth = 0

    def peek(self, offset: int = 0) -> _Token | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise InvalidQueryError("The query ends unexpectedly.")
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.kind != "OP" or token.text != text:
            raise InvalidQueryError(f"Expected {text!r} at position {token.position}, found {token.text!r}.")

    def parse(self) -> Predicate:
        if not self.tokens:
            raise InvalidQueryError("The query is empty.")
        predicate = self.or_expr(None)
        extra = self.peek()
        if extra is not None:
            raise InvalidQueryError(f"Unexpected {extra.text!r} at position {extra.position}.")
        return predicate

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InvalidQueryError(f"The query nests deeper than {MAX_DEPTH} levels.")

    def or_expr(self, field: str | None) -> Predicate:
        parts = [self.and_expr(field)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            parts.append(self.and_expr(field))
        if len(parts) == 1:
            return parts[0]
        return lambda doc: any(part(doc) for part in parts)

    def and_expr(self, field: str | None) -> Predicate:
        parts = [self.unary(field)]
        while (token := self.peek()) is not None and not (
            token.kind == "OR" or (token.kind == "OP" and token.text == ")")
        ):
            if token.kind == "AND":
                self.take()
            parts.append(self.unary(field))
        if len(parts) == 1:
            return parts[0]
        return lambda doc: all(part(doc) for part in parts)

    def unary(self, field: str | None) -> Predicate:
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.take()
            self.nested()
            inner = self.unary(field)
            self.depth -= 1
            return lambda doc: not inner(doc)
        if token is not None and token.kind == "WORD" and token.text == "-":
            following = self.peek(1)
            if following is not None and following.kind == "OP" and following.text == "(":
                self.take()
                excluded_group = self.primary(field)
                return lambda doc: not excluded_group(doc)
        if token is not None and token.kind == "WORD" and token.text.startswith("-") and len(token.text) > 1:
            self.tokens[self.index] = _Token("WORD", token.text[1:], token.position + 1)
            excluded = self.primary(field)
            return lambda doc: not excluded(doc)
        return self.primary(field)

    def primary(self, field: str | None) -> Predicate:
        token = self.take()
        if token.kind == "OP" and token.text == "(":
            self.nested()
            inner = self.or_expr(field)
            self.expect(")")
            self.depth -= 1
            return inner
        if token.kind not in ("WORD", "QUOTED"):
            raise InvalidQueryError(f"Unexpected {token.text!r} at position {token.position}.")
        following = self.peek()
        if token.kind == "WORD" and field is None and following is not None:
            if following.kind == "OP" and following.text == ":":
                self.take()
                return self.field_value(token.text)
            if following.kind == "CMP":
                self.take()
                return self.comparison(token.text, following.text)
        return self.term(field, token)

    def count_term(self, value: _Value | None) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise InvalidQueryError(f"A query can have at most {MAX_TERMS} terms.")
        if value is not None and value.pattern is not None and value.pattern[:1] in ("*", "?"):
            if value.pattern != "*":
                self.leading_wildcards += 1
                if self.leading_wildcards > 1:
                    raise InvalidQueryError("Only one term of a query can start with a wildcard.")
                if len(self.text) > MAX_LEADING_WILDCARD_QUERY_LENGTH:
                    raise InvalidQueryError(
                        "A query with a leading wildcard can be at most "
                        f"{MAX_LEADING_WILDCARD_QUERY_LENGTH} characters long."
                    )

    def term(self, field: str | None, token: _Token) -> Predicate:
        value = _value_of(token)
        self.count_term(value)
        if field is None and value.pattern == "*":
            return lambda doc: True
        if field is not None and value.pattern == "*":
            return lambda doc: len(doc.values(field)) > 0
        matches = _term_matcher(value)
        if field is None:
            return lambda doc: any(matches(candidate) for candidate in doc.all_values())
        name = field
        return lambda doc: any(matches(candidate) for candidate in doc.values(name))

    def field_value(self, field: str) -> Predicate:
        token = self.peek()
        if token is not None and token.kind == "OP" and token.text == "(":
            self.take()
            self.nested()
            inner = self.or_expr(field)
            self.expect(")")
            self.depth -= 1
            return inner
        if token is not None and token.kind == "OP" and token.text in "[{":
            return self.range(field)
        if token is None or token.kind not in ("WORD", "QUOTED"):
            raise InvalidQueryError(f"A value must follow {field}:.")
        return self.term(field, self.take())

    def bound(self) -> str | None:
        token = self.take()
        if token.kind not in ("WORD", "QUOTED"):
            raise InvalidQueryError(f"Expected a range bound at position {token.position}.")
        value = _value_of(token)
        if token.kind == "WORD" and value.text == "*":
            return None
        if value.pattern is not None:
            raise InvalidQueryError(f"A range bound cannot contain wildcards: {token.text!r}.")
        return value.text

    def range(self, field: str) -> Predicate:
        opening = self.take().text
        low = self.bound()
        to = self.take()
        if to.kind != "TO":
            raise InvalidQueryError(f"Expected TO in the range at position {to.position}.")
        high = self.bound()
        closing = self.take()
        if closing.kind != "OP" or closing.text not in "]}":
            raise InvalidQueryError(f"Expected ] or }} to close the range at position {closing.position}.")
        self.count_term(None)
        low_inclusive, high_inclusive = opening == "[", closing.text == "]"

        def in_range(candidate: str) -> bool:
            if low is not None:
                order = _compare(candidate, low)
                if order < 0 or (order == 0 and not low_inclusive):
                    return False
            if high is not None:
                order = _compare(candidate, high)
                if order > 0 or (order == 0 and not high_inclusive):
                    return False
            return True

        return lambda doc: any(in_range(candidate) for candidate in doc.values(field))

    def comparison(self, field: str, operator: str) -> Predicate:
        token = self.take()
        if token.kind not in ("WORD", "QUOTED"):
            raise InvalidQueryError(f"A value must follow {field}{operator}.")
        value = _value_of(token)
        if value.pattern is not None:
            raise InvalidQueryError(f"A comparison value cannot contain wildcards: {token.text!r}.")
        self.count_term(None)
        bound = value.text
        accept: Callable[[int], bool] = {
            ">": lambda order: order > 0,
            ">=": lambda order: order >= 0,
            "<": lambda order: order < 0,
            "<=": lambda order: order <= 0,
        }[operator]
        return lambda doc: any(accept(_compare(candidate, bound)) for candidate in doc.values(field))


def parse_query(text: str) -> Predicate:
    """The predicate a query string stands for; ``InvalidQueryError`` when the service would refuse it."""
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidQueryError(f"A query can be at most {MAX_QUERY_LENGTH} characters long.")
    if not text.strip():
        raise InvalidQueryError("The query is empty.")
    return _Parser(text).parse()
