"""Lifecycle (presence) events on ``$aws/events/presence/connected/<clientId>`` and
``$aws/events/presence/disconnected/<clientId>``.

Payload fields as the developer guide's "Connect/Disconnect events" lists them: ``clientId``,
``timestamp`` (epoch milliseconds), ``eventType`` (``connected``/``disconnected``),
``sessionIdentifier`` (one per connection), ``principalIdentifier`` (the certificate id), ``ipAddress``
(connect events only), ``versionNumber`` (increasing per client id, the same for a connection's connect
and disconnect events), and in disconnect events ``clientInitiatedDisconnect`` and ``disconnectReason``.
Client ids containing ``#`` or ``+`` get no lifecycle events, as in AWS. ``thingName`` (exclusive-thing
connections) is not sent.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.device.principals import DevicePrincipal
from mock_iotprov.mqtt.hooks import OutboundMessage
from mock_iotprov.state import RequestContext

CONNECTED_TOPIC = "$aws/events/presence/connected/"
DISCONNECTED_TOPIC = "$aws/events/presence/disconnected/"
CLIENT_INITIATED = "CLIENT_INITIATED_DISCONNECT"


@dataclass
class PresenceTables:
    """The last lifecycle version number of every client id seen in one account and region."""

    versions: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    """The version number of each live session (by session identifier)."""


def ip_address_of(source_address: str) -> str:
    """The IP address of a ``host:port`` peer address (AWS's ``ipAddress`` carries no port)."""
    host, separator, port = source_address.rpartition(":")
    if separator and port.isdigit():
        try:
            return str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            pass
    return source_address


def _timestamp(ctx: RequestContext) -> int:
    return int(ctx.now().timestamp() * 1000)


def _publishes_events(client_id: str) -> bool:
    return "#" not in client_id and "+" not in client_id


def _message(topic: str, event: dict[str, Any]) -> OutboundMessage:
    return OutboundMessage(topic=topic, payload=json.dumps(event).encode("utf-8"), qos=1)


def connected_event(ctx: RequestContext, principal: DevicePrincipal) -> list[OutboundMessage]:
    """The connect event of a new connection (caller holds the store's lock)."""
    if not _publishes_events(principal.client_id):
        return []
    tables = ctx.store.component(PresenceTables)
    version = tables.versions.get(principal.client_id, -1) + 1
    tables.versions[principal.client_id] = version
    tables.sessions[principal.session_identifier] = version
    event = {
        "clientId": principal.client_id,
        "timestamp": _timestamp(ctx),
        "eventType": "connected",
        "sessionIdentifier": principal.session_identifier,
        "principalIdentifier": principal.certificate_id,
        "ipAddress": ip_address_of(principal.source_address),
        "versionNumber": version,
    }
    return [_message(CONNECTED_TOPIC + principal.client_id, event)]


def disconnected_event(ctx: RequestContext, principal: DevicePrincipal, reason: str) -> list[OutboundMessage]:
    """The disconnect event of an ended connection (caller holds the store's lock)."""
    if not _publishes_events(principal.client_id):
        return []
    tables = ctx.store.component(PresenceTables)
    version = tables.sessions.pop(principal.session_identifier, tables.versions.get(principal.client_id, 0))
    event = {
        "clientId": principal.client_id,
        "timestamp": _timestamp(ctx),
        "eventType": "disconnected",
        "sessionIdentifier": principal.session_identifier,
        "principalIdentifier": principal.certificate_id,
        "clientInitiatedDisconnect": reason == CLIENT_INITIATED,
        "disconnectReason": reason,
        "versionNumber": version,
    }
    return [_message(DISCONNECTED_TOPIC + principal.client_id, event)]
