"""The router's lookup (method + raw path → operation and labels) against a scan over every route of the
method, the way routing worked before it was indexed by path; both in this process, turn about."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from common import Row, Settings, interleaved

from mock_iotprov.protocol.model import router

PATHS = [
    ("GET", "/things/thing-1"),
    ("POST", "/things/thing-1"),
    ("GET", "/provisioning-templates/t1"),
    ("GET", "/things"),
]


def _scan(method: str, path: str, query: Mapping[str, list[str]]) -> tuple[str, dict[str, str]] | None:
    for route in router()._by_method.get(method, ()):
        found = route.pattern.fullmatch(path)
        if found is None:
            continue
        if any(query.get(k) != [v] and not (v == "" and k in query) for k, v in route.static_query):
            continue
        return route.operation_name, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


def run(settings: Settings) -> list[Row]:
    table = router()
    rows = []
    rounds = 3 if settings.smoke else 15
    for method, path in PATHS:
        if table.match(method, path, {}) != _scan(method, path, {}):
            raise RuntimeError(f"the router and the scan disagree on {method} {path}")
        ours, scan = interleaved(
            lambda method=method, path=path: table.match(method, path, {}),  # type: ignore[misc]
            lambda method=method, path=path: _scan(method, path, {}),  # type: ignore[misc]
            rounds,
            settings.count(3000),
        )
        rows.append(Row(f"router lookup, {method} {path}", ours, "scan over every route", scan, ""))
    return rows
