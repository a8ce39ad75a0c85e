"""The router's path index routes every path exactly as a scan over every route of the method would."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mock_iotprov.protocol.model import Router, iot_service_model, router


def _scan(table: Router, method: str, path: str, query: Mapping[str, list[str]]) -> str | None:
    """The first route in precedence order whose template and static query match (no index)."""
    for route in table._by_method.get(method, ()):
        if route.pattern.fullmatch(path) is None:
            continue
        if any(query.get(k) != [v] and not (v == "" and k in query) for k, v in route.static_query):
            continue
        return route.operation_name
    return None


def _sample_paths(request_uri: str) -> list[str]:
    path = request_uri.partition("?")[0]
    filled = re.sub(r"\{[^}+]+\}", "x", path)
    greedy = re.sub(r"\{[^}]+\+\}", "a/b/c", filled)
    single = re.sub(r"\{[^}]+\+\}", "a", filled)
    return sorted(
        {greedy, single, greedy + "/", single + "/", single + "/extra", "/" + single.strip("/") + "//"}
    )


def test_every_operation_routes_as_a_full_scan_would() -> None:
    model = iot_service_model()
    table = router()
    checked = 0
    for name in model.operation_names:
        http = model.operation_model(name).http
        query_part = http["requestUri"].partition("?")[2]
        static = {k: [v] for k, _, v in (p.partition("=") for p in query_part.split("&") if p)}
        for path in _sample_paths(http["requestUri"]):
            for query in ({}, static):
                for method in {http["method"], "GET"}:
                    found = table.match(method, path, query)
                    assert (found[0] if found else None) == _scan(table, method, path, query), (method, path)
                    checked += 1
    assert checked > 1000


def test_labels_are_decoded() -> None:
    assert router().match("GET", "/things/a%2Fb", {}) == ("DescribeThing", {"thingName": "a/b"})
    assert router().match("GET", "/things/plain", {}) == ("DescribeThing", {"thingName": "plain"})
    assert router().match("GET", "/no-such-route", {}) is None
