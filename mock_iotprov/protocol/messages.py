"""The two wire messages every door speaks: an HTTP request in, an HTTP response out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WireRequest:
    """An ``iot`` HTTP request as it reached a door.

    ``path`` is the raw, still percent-encoded path without the query string; ``query`` maps each query
    parameter to all of its (decoded) values; header names are compared case-insensitively.
    """

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True)
class WireResponse:
    """An HTTP response: status, headers (lower-case names, as botocore reports them) and body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes
