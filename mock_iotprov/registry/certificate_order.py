"""Creation-date order of certificates and CA certificates, paged with AWS's ``marker`` tokens.

ListCertificates, ListCertificatesByCA and ListCACertificates return their items ordered by creation date,
newest first unless ``ascendingOrder`` is true, 25 per page unless ``pageSize`` says otherwise, with a
``nextMarker`` to pass back as ``marker``. The model constrains markers to standard base64
(``[A-Za-z0-9+/]+={0,2}``), so a marker here is the base64 of the last key returned.

Where AWS is silent: items created at the same instant (a frozen clock) keep the order in which they were
created, through a per-index sequence number in the key; a marker this mock did not issue is an
``InvalidRequestException``. Each page costs a binary search plus the page itself, never a scan.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re

from mock_iotprov.pagination import SortedKeys
from mock_iotprov.protocol.errors import invalid_request

DEFAULT_PAGE_SIZE = 25

_KEY = re.compile(r"\d{8}T\d{12}:\d{12}:[0-9a-f]{64}")


class CreationOrder:
    """Ids ordered by (creation time, creation sequence); pages in either direction."""

    def __init__(self) -> None:
        self._keys = SortedKeys()
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._keys)

    def new_key(self, created: datetime.datetime, item_id: str) -> str:
        """The sort key of an item created now (call once per item, then :meth:`add` it)."""
        self._sequence += 1
        return key_of(created, self._sequence, item_id)

    def add(self, key: str) -> None:
        self._keys.add(key)

    def discard(self, key: str) -> None:
        self._keys.discard(key)

    def page(
        self, marker: str | None, page_size: int | None, ascending: bool
    ) -> tuple[list[str], str | None]:
        """The ids of one page and the marker of the next page (None on the last page)."""
        size = page_size if page_size is not None else DEFAULT_PAGE_SIZE
        after = _decoded(marker)
        if ascending:
            start = self._keys.after(after)
            keys = self._keys.slice(start, start + size)
            more = start + size < len(self._keys)
        else:
            end = len(self._keys) if after is None else self._index_before(after)
            start = max(end - size, 0)
            keys = self._keys.slice(start, end)[::-1]
            more = start > 0
        next_marker = _encoded(keys[-1]) if more and keys else None
        return [id_of(key) for key in keys], next_marker

    def _index_before(self, key: str) -> int:
        """Index of the first stored key not less than ``key`` (keys before it come next, descending)."""
        index = self._keys.after(key)
        if index > 0 and self._keys.slice(index - 1, index) == [key]:
            return index - 1
        return index


def key_of(created: datetime.datetime, sequence: int, item_id: str) -> str:
    """``YYYYmmddTHHMMSSffffff:sequence:id``: sorts by creation time, then creation order."""
    moment = created.astimezone(datetime.timezone.utc) if created.tzinfo else created
    return f"{moment:%Y%m%dT%H%M%S%f}:{sequence:012d}:{item_id}"


def id_of(key: str) -> str:
    """The item id a sort key ends with."""
    return key.rpartition(":")[2]


def _encoded(key: str) -> str:
    return base64.b64encode(key.encode("ascii")).decode("ascii")


def _decoded(marker: str | None) -> str | None:
    if marker is None:
        return None
    try:
        key = base64.b64decode(marker.encode("ascii"), validate=True).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        raise invalid_request(f"Invalid marker: {marker}") from None
    if not _KEY.fullmatch(key):
        raise invalid_request(f"Invalid marker: {marker}")
    return key
