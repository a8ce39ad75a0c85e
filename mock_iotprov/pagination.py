"""Pagination shared by every list operation.

Lists are ordered by a key and a ``nextToken`` names the last key returned, so a page is found by binary
search (no scan, stable under inserts and deletes between pages). Lists kept in insertion order (policy
targets) page by offset, found in O(log n) by :class:`InsertionOrder`. Tokens are opaque base64 text; a
token the mock did not issue is an ``InvalidRequestException``, as the service rejects foreign tokens.

The sorted indexes use ``sortedcontainers`` (O(log n) inserts and deletes that do not shift the whole
index in memory, as an insert into a plain sorted list does).
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from sortedcontainers import SortedList

from mock_iotprov.bounded_json import loads_bounded
from mock_iotprov.protocol.errors import invalid_request

MAX_TOKEN_NESTING = 8
"""A pagination token decodes to a key or a short list of keys; one nested deeper is not a token."""

_SCAN_CHUNK = 256


class KeyIndex(Protocol):
    """What a page walk needs of a sorted set of keys (:class:`SortedKeys` or a view on a part of one)."""

    def __len__(self) -> int: ...

    def after(self, key: str | None) -> int: ...

    def slice(self, start: int, stop: int) -> list[str]: ...

    def keys_after(self, key: str | None) -> Iterator[str]: ...


class SortedKeys:
    """A sorted set of string keys with O(log n) insert, delete and lookup of the page after a key."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._keys: SortedList = SortedList(set(keys))

    def add(self, key: str) -> None:
        if key not in self._keys:
            self._keys.add(key)

    def discard(self, key: str) -> None:
        self._keys.discard(key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def after(self, key: str | None) -> int:
        """Index of the first key greater than ``key`` (0 when ``key`` is None)."""
        return 0 if key is None else int(self._keys.bisect_right(key))

    def slice(self, start: int, stop: int) -> list[str]:
        return list(self._keys.islice(start, stop))

    def keys_after(self, key: str | None) -> Iterator[str]:
        """The keys greater than ``key`` (all keys when ``key`` is None), in order, lazily."""
        if key is None:
            return iter(self._keys)
        return iter(self._keys.irange(minimum=key, inclusive=(False, True)))


class InsertionOrder:
    """A set of string keys in the order they were added, with O(log n) slicing by position."""

    __slots__ = ("_next_sequence", "_sequence_of", "_key_at", "_sequences")

    def __init__(self) -> None:
        self._next_sequence = 0
        self._sequence_of: dict[str, int] = {}
        self._key_at: dict[int, str] = {}
        self._sequences: SortedList = SortedList()

    def add(self, key: str) -> None:
        if key not in self._sequence_of:
            sequence = self._next_sequence
            self._next_sequence += 1
            self._sequence_of[key] = sequence
            self._key_at[sequence] = key
            self._sequences.add(sequence)

    def discard(self, key: str) -> None:
        sequence = self._sequence_of.pop(key, None)
        if sequence is not None:
            del self._key_at[sequence]
            self._sequences.remove(sequence)

    def __len__(self) -> int:
        return len(self._sequence_of)

    def __bool__(self) -> bool:
        return bool(self._sequence_of)

    def __contains__(self, key: object) -> bool:
        return key in self._sequence_of

    def __iter__(self) -> Iterator[str]:
        return iter(self._sequence_of)  # dicts keep insertion order

    def slice(self, start: int, stop: int, ascending: bool = True) -> list[str]:
        """The keys at positions ``start`` to ``stop`` of the list (reversed when not ``ascending``)."""
        count = len(self._sequence_of)
        start, stop = max(0, start), min(stop, count)
        if start >= stop:
            return []
        key_at = self._key_at
        if ascending:
            return [key_at[sequence] for sequence in self._sequences.islice(start, stop)]
        found = self._sequences.islice(count - stop, count - start, reverse=True)
        return [key_at[sequence] for sequence in found]


def encode_token(position: Any) -> str:
    """An opaque token for ``position`` (the last key returned, or any JSON value)."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_token(token: str | None) -> Any:
    """The position a token stands for, or None for no token."""
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode("utf-8")
        return loads_bounded(text, MAX_TOKEN_NESTING)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_request(f"Invalid pagination token: {token}") from None


def page_of_keys(
    keys: SortedKeys, token: str | None, limit: int | None, default_limit: int
) -> tuple[list[str], str | None]:
    """The keys of one page and the token for the next page (None on the last page)."""
    after = decode_token(token)
    if after is not None and not isinstance(after, str):
        raise invalid_request(f"Invalid pagination token: {token}")
    size = limit if limit is not None else default_limit
    start = keys.after(after)
    page = keys.slice(start, start + size)
    more = start + size < len(keys)
    return page, (encode_token(page[-1]) if more and page else None)


def page_of_list(
    items: list[Any], token: str | None, limit: int | None, default_limit: int
) -> tuple[list[Any], str | None]:
    """One page of an already ordered, filtered list (token = offset into it)."""
    start = decode_token(token)
    if start is None:
        start = 0
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise invalid_request(f"Invalid pagination token: {token}")
    size = limit if limit is not None else default_limit
    page = items[start : start + size]
    following = start + size
    return page, (encode_token(following) if following < len(items) else None)


def page_of_insertion_order(
    keys: InsertionOrder, token: str | None, limit: int | None, default_limit: int, ascending: bool = True
) -> tuple[list[str], str | None]:
    """One page of keys in insertion order (reversed when not ``ascending``); the token is an offset, as
    :func:`page_of_list` makes, so both give the same pages and tokens for the same list."""
    start = decode_token(token)
    if start is None:
        start = 0
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise invalid_request(f"Invalid pagination token: {token}")
    size = limit if limit is not None else default_limit
    page = keys.slice(start, start + size, ascending)
    following = start + size
    return page, (encode_token(following) if following < len(keys) else None)


def filtered_key_page(
    keys: KeyIndex,
    token: str | None,
    limit: int | None,
    keep: Callable[[str], bool] | None = None,
    floor: str | None = None,
    stop: Callable[[str], bool] | None = None,
    default_limit: int = 250,
) -> tuple[list[str], str | None]:
    """One page of the keys that ``keep`` accepts, in order, and the token of the next page.

    The token is the last key returned; ``floor`` starts the walk at the first key >= it and ``stop`` ends
    it at the first key it accepts (for prefix filters), so an unfiltered page costs O(page).
    """
    after = _key_token(token)
    size = limit if limit is not None else default_limit
    index = keys.after(after)
    if floor is not None:
        at_floor = keys.after(floor)
        if at_floor > 0 and keys.slice(at_floor - 1, at_floor) == [floor]:
            at_floor -= 1
        index = max(index, at_floor)
    page: list[str] = []
    more = False
    while index < len(keys) and not more:
        chunk = keys.slice(index, index + _SCAN_CHUNK)
        index += len(chunk)
        for key in chunk:
            if stop is not None and stop(key):
                index = len(keys)
                break
            if keep is not None and not keep(key):
                continue
            if len(page) == size:
                more = True
                break
            page.append(key)
    return page, (encode_token(page[-1]) if more and page else None)


def merged_key_page(
    indexes: Iterable[KeyIndex],
    token: str | None,
    limit: int | None,
    default_limit: int = 250,
    keep: Callable[[str], bool] | None = None,
) -> tuple[list[str], str | None]:
    """One page of the union of several sorted key sets (the keys ``keep`` accepts), in order, each key
    once; the same page and token as :func:`filtered_key_page` over the union. Costs
    O(k log n + page log k) for k sets when ``keep`` accepts every key."""
    after = _key_token(token)
    size = limit if limit is not None else default_limit
    merged = heapq.merge(*(index.keys_after(after) for index in indexes))
    page: list[str] = []
    more = False
    previous: str | None = None
    for key in merged:
        if key == previous:
            continue
        previous = key
        if keep is not None and not keep(key):
            continue
        if len(page) == size:
            more = True
            break
        page.append(key)
    return page, (encode_token(page[-1]) if more and page else None)


def _key_token(token: str | None) -> str | None:
    after = decode_token(token)
    if after is not None and not isinstance(after, str):
        raise invalid_request(f"Invalid pagination token: {token}")
    return after
