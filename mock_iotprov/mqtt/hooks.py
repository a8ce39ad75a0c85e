"""What the broker asks of the world outside MQTT: the one interface between the broker door and the
device-side domain (authentication, authorization, the reserved ``$aws/`` topics, presence).

The broker calls these from its connection handlers; they must not block for long (a pre-provisioning hook
is bounded by its own 5 s limit) and must never raise: a hook that fails answers the refusing outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

CONNECT = "iot:Connect"
PUBLISH = "iot:Publish"
SUBSCRIBE = "iot:Subscribe"
RECEIVE = "iot:Receive"
RETAIN_PUBLISH = "iot:RetainPublish"


@dataclass(frozen=True)
class ClientHello:
    """What a CONNECT tells about a client: its TLS peer certificate and its CONNECT fields."""

    client_id: str
    certificate_der: bytes
    """The peer's leaf certificate (DER) as presented in the TLS handshake."""
    chain_der: tuple[bytes, ...] = ()
    """Further certificates the peer sent after its leaf, if the transport exposes them."""
    protocol_level: int = 4
    """4 for MQTT 3.1.1, 5 for MQTT 5."""
    username: str | None = None
    clean_start: bool = True
    keep_alive: int = 0
    server_name: str | None = None
    alpn_protocol: str | None = None
    source_address: str = ""


@dataclass(frozen=True)
class Admission:
    """The answer to a CONNECT.

    ``principal`` is opaque to the broker and handed back on every later call for that connection.
    ``accepted`` false means CONNACK "not authorized" (v5 reason 0x87, 3.1.1 return code 5);
    ``close_without_connack`` means drop the connection without answering, as AWS does on a device's
    first connection under just-in-time registration and provisioning. ``events`` are published by the
    broker whatever the outcome (to subscribers allowed to receive them), e.g. the just-in-time registration
    event ``$aws/events/certificates/registered/<caCertificateId>``.
    """

    accepted: bool
    principal: Any = None
    reason: str = ""
    close_without_connack: bool = False
    events: tuple[OutboundMessage, ...] = ()


@dataclass(frozen=True)
class OutboundMessage:
    """A message the device side publishes (a reply, an event)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    user_properties: tuple[tuple[str, str], ...] = field(default=())


class BrokerHooks(Protocol):
    """Implemented by the device side (``mock_iotprov.device``); the broker depends only on this."""

    def admit(self, hello: ClientHello) -> Admission:
        """Authenticate (and authorize ``iot:Connect`` for) a CONNECT."""
        ...

    def authorize(self, principal: Any, client_id: str, action: str, resource: str) -> bool:
        """Whether ``action`` (``iot:Publish``, ``iot:Subscribe``, ``iot:Receive``, ``iot:RetainPublish``)
        on ``resource`` (the topic, or the topic filter for a subscription) is allowed."""
        ...

    def reserved(
        self, principal: Any, client_id: str, topic: str, payload: bytes
    ) -> Sequence[OutboundMessage] | None:
        """Answer a publish to a reserved ``$aws/`` topic. ``None``: not a topic the device side answers
        (the broker routes it like any other topic). Otherwise the replies, delivered to the requesting
        connection only (and only to its matching subscriptions); nobody else sees the request."""
        ...

    def connected(self, principal: Any, hello: ClientHello) -> Sequence[OutboundMessage]:
        """A connection was accepted; returns the messages to publish (e.g. presence events)."""
        ...

    def disconnected(self, principal: Any, client_id: str, reason: str) -> Sequence[OutboundMessage]:
        """A connection ended; ``reason`` as AWS's presence events name it, e.g.
        ``CLIENT_INITIATED_DISCONNECT``, ``DUPLICATE_CLIENTID``, ``MQTT_KEEP_ALIVE_TIMEOUT``,
        ``CONNECTION_LOST``."""
        ...
