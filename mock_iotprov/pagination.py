"""Pagination shared by every list operation.

Lists are ordered by a key and a ``nextToken`` names the last key returned, so a page is found by binary
search (no scan, stable under inserts and deletes between pages). Tokens are opaque base64 text; a token
the mock did not issue is an ``InvalidRequestException``, as the service rejects foreign tokens.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Iterable
from typing import Any

from mock_iotprov.bounded_json import loads_bounded
from mock_iotprov.protocol.errors import invalid_request

MAX_TOKEN_NESTING = 8
"""A pagination token decodes to a key or a short list of keys; one nested deeper is not a token."""


class SortedKeys:
    """A sorted set of string keys with O(log n) lookup of the page after a key."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._keys: list[str] = sorted(set(keys))

    def add(self, key: str) -> None:
        index = bisect.bisect_left(self._keys, key)
        if index == len(self._keys) or self._keys[index] != key:
            self._keys.insert(index, key)

    def discard(self, key: str) -> None:
        index = bisect.bisect_left(self._keys, key)
        if index < len(self._keys) and self._keys[index] == key:
            del self._keys[index]

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Any:
        return iter(self._keys)

    def after(self, key: str | None) -> int:
        """Index of the first key greater than ``key`` (0 when ``key`` is None)."""
        return 0 if key is None else bisect.bisect_right(self._keys, key)

    def slice(self, start: int, stop: int) -> list[str]:
        return self._keys[start:stop]


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
