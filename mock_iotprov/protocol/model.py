"""botocore's ``iot`` service model, loaded once, and the router built from its HTTP bindings.

Routing follows the model: each operation's ``http.method`` and ``http.requestUri`` template. Labels match one
percent-encoded path segment (``{thingName}``) or, when greedy (``{arn+}``), the rest of the path. Where two
templates match the same path, the one with more literal text wins, as a literal segment is more specific.

The router is indexed by path: by method, first path segment and number of segments, so a lookup tries
the few templates that can match instead of every route of the method (the order among them is the
same, so every path routes as a scan over all routes would).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import unquote

import botocore.session
from botocore.model import OperationModel, ServiceModel

_LABEL = re.compile(r"\{([^}+]+)(\+?)\}")


_loaded: dict[str, ServiceModel] = {}
_load_lock = threading.Lock()


def adopt_service_model(model: ServiceModel) -> None:
    """Use a client's already loaded ``iot`` model rather than loading a second copy (~50 ms)."""
    if "iot" not in _loaded and model.service_name == "iot":
        _loaded.setdefault("iot", model)


def iot_service_model() -> ServiceModel:
    """The ``iot`` service model of the installed botocore, loaded once per process.

    Loading takes ~50 ms and ~2 MB; concurrent first callers (e.g. 200 connections reaching a fresh
    endpoint at once) wait for the one load under a lock instead of each loading a copy of their own.
    """
    found = _loaded.get("iot")
    if found is not None:
        return found
    with _load_lock:
        found = _loaded.get("iot")
        if found is None:
            found = _loaded.setdefault("iot", botocore.session.get_session().get_service_model("iot"))
        return found


def _renew_load_lock_in_child() -> None:
    global _load_lock
    _load_lock = threading.Lock()  # a thread loading the model at fork time does not exist in the child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_load_lock_in_child)


@cache
def operation_model(name: str) -> OperationModel:
    """The model of one ``iot`` operation, cached by name."""
    return iot_service_model().operation_model(name)


@dataclass(frozen=True)
class Route:
    """One operation's HTTP binding, compiled."""

    operation_name: str
    method: str
    pattern: re.Pattern[str]
    static_query: tuple[tuple[str, str], ...]
    literal_length: int
    # the template's first path segment when it is literal (None when it holds a label), its number of
    # segments, and whether a greedy label lets it match more segments than that
    first_segment: str | None = None
    segments: int = 0
    greedy: bool = False


def _compile(operation_name: str, method: str, request_uri: str) -> Route:
    path, _, query = request_uri.partition("?")
    static_query = tuple(
        (k, v) for k, _, v in (part.partition("=") for part in query.split("&") if part)
    )
    regex = ""
    position = 0
    literal = 0
    for label in _LABEL.finditer(path):
        chunk = path[position : label.start()]
        regex += re.escape(chunk)
        literal += len(chunk)
        group = "(?P<%s>%s)" % (label.group(1), ".+" if label.group(2) else "[^/]+")
        regex += group
        position = label.end()
    regex += re.escape(path[position:])
    literal += len(path) - position
    first = path.split("/", 2)[1] if path.count("/") else ""
    return Route(
        operation_name,
        method,
        re.compile(regex + "/?"),
        static_query,
        literal,
        first_segment=None if "{" in first else first,
        segments=path.count("/"),
        greedy=any(label.group(2) for label in _LABEL.finditer(path)),
    )


def _path_shape(raw_path: str) -> tuple[str, int, bool]:
    """(first segment, number of slashes, whether it ends with a slash) of a request path."""
    end = raw_path.find("/", 1)
    first = raw_path[1:end] if end > 0 else raw_path[1:]
    return first, raw_path.count("/"), raw_path[-1:] == "/"


_MAX_INDEXED_SEGMENTS = 32


class Router:
    """Finds the operation for an HTTP method and raw (still percent-encoded) path."""

    def __init__(self, model: ServiceModel) -> None:
        by_method: dict[str, list[Route]] = {}
        for name in model.operation_names:
            http = model.operation_model(name).http
            route = _compile(name, http["method"], http["requestUri"])
            by_method.setdefault(route.method, []).append(route)
        for routes in by_method.values():
            routes.sort(key=lambda r: (-r.literal_length, -len(r.static_query)))
        self._by_method = by_method
        self._candidates: dict[tuple[str, str, int, bool], tuple[Route, ...]] = {}

    def _candidates_for(self, method: str, raw_path: str) -> tuple[Route, ...]:
        """The routes of ``method`` that can match a path of this shape, in precedence order.

        A template without a greedy label matches paths with as many slashes as it has, or one more
        (the optional trailing slash); a greedy one, paths with at least as many."""
        first, segments, trailing = _path_shape(raw_path)
        key = (method, first, segments, trailing)
        found = self._candidates.get(key)
        if found is None:
            counts = (segments, segments - 1) if trailing else (segments,)
            found = tuple(
                route
                for route in self._by_method.get(method, ())
                if (route.first_segment is None or route.first_segment == first)
                and (route.segments in counts or (route.greedy and segments >= route.segments))
            )
            if segments <= _MAX_INDEXED_SEGMENTS and len(self._candidates) < 4096:
                self._candidates[key] = found
        return found

    def match(
        self, method: str, raw_path: str, query: Mapping[str, list[str]]
    ) -> tuple[str, dict[str, str]] | None:
        """Return ``(operation name, decoded uri labels)``, or None when no operation has this binding."""
        for route in self._candidates_for(method.upper(), raw_path):
            found = route.pattern.fullmatch(raw_path)
            if found is None:
                continue
            if route.static_query and any(
                query.get(k) != [v] and not (v == "" and k in query) for k, v in route.static_query
            ):
                continue
            return route.operation_name, _decoded(found.groupdict())
        return None


@lru_cache(maxsize=1)
def router() -> Router:
    """The process-wide router for the ``iot`` model."""
    return Router(iot_service_model())


@cache
def _route_pattern(operation_name: str) -> re.Pattern[str]:
    http = operation_model(operation_name).http
    return _compile(operation_name, http["method"], http["requestUri"]).pattern


def route_labels(operation_name: str, raw_path: str) -> dict[str, str]:
    """The decoded uri labels of a path already known to belong to ``operation_name``."""
    found = _route_pattern(operation_name).fullmatch(raw_path)
    if found is None:
        return {}
    return _decoded(found.groupdict())


def _decoded(labels: dict[str, str]) -> dict[str, str]:
    """Percent-decoded label values (most have nothing to decode)."""
    for key, value in labels.items():
        if "%" in value:
            labels[key] = unquote(value)
    return labels
