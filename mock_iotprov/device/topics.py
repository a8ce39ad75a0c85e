"""The reserved-topic table: each ``$aws/`` request topic the device side answers and its one handler,
as ``service.py`` is for the HTTP operations.

A pattern is a list of topic levels; ``{name}`` matches one level and becomes a label. The last level
``{format}`` is ``json`` or ``cbor``. Replies go to ``<request topic>/accepted`` or ``…/rejected``.
Publishes by a client to those reply topics (or to any other level under a fleet-provisioning request
topic) are swallowed: nobody may forge a reply to another device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_iotprov.device import fleet_api
from mock_iotprov.device.calls import DeviceCall
from mock_iotprov.device.payloads import FORMATS

Handler = Callable[[DeviceCall, dict[str, Any], dict[str, str]], dict[str, Any]]

RESERVED_TOPICS: list[tuple[str, Handler]] = [
    ("$aws/certificates/create/{format}", fleet_api.create_keys_and_certificate),
    ("$aws/certificates/create-from-csr/{format}", fleet_api.create_certificate_from_csr),
    ("$aws/provisioning-templates/{templateName}/provision/{format}", fleet_api.register_thing),
]


@dataclass(frozen=True)
class ReservedRequest:
    """A publish matched to a reserved topic: its handler (None: swallowed) and the topic's labels."""

    topic: str
    handler: Handler | None
    labels: dict[str, str]

    @property
    def payload_format(self) -> str:
        return self.labels.get("format", "json")


def _match(pattern: list[str], levels: list[str]) -> dict[str, str] | None:
    if len(pattern) > len(levels):
        return None
    labels: dict[str, str] = {}
    for expected, level in zip(pattern, levels):
        if expected.startswith("{"):
            if not level:
                return None
            labels[expected[1:-1]] = level
        elif expected != level:
            return None
    return labels


_PATTERNS = [(pattern.split("/"), handler) for pattern, handler in RESERVED_TOPICS]


def route(topic: str) -> ReservedRequest | None:
    """The reserved request a publish to ``topic`` is, or None when the device side does not answer it."""
    if not topic.startswith("$aws/"):
        return None
    levels = topic.split("/")
    for pattern, handler in _PATTERNS:
        labels = _match(pattern, levels)
        if labels is None:
            continue
        if len(levels) == len(pattern) and labels["format"] in FORMATS:
            return ReservedRequest(topic, handler, labels)
        return ReservedRequest(topic, None, labels)
    return None
