"""A client's session state, which outlives its connection when the session is persistent.

AWS IoT Core keeps a persistent session (3.1.1 CONNECT with clean session 0; MQTT 5 clean start 0 with a
Session Expiry Interval above 0) for 1 hour after the client disconnects by default: its subscriptions
and the QoS 1 messages that arrive meanwhile. A reconnect with clean session 0 resumes it (CONNACK
session present 1); unacknowledged QoS 1 messages are sent again with DUP set. The mock keeps the same,
bounded by :class:`~.limits.BrokerLimits`; the session's expiry is checked on reconnect and by a periodic
sweep.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .packets import Publish
from .properties import NO_PROPERTIES, Properties

if TYPE_CHECKING:
    from .connection import Connection


@dataclass(frozen=True)
class Message:
    """A message on its way through the broker."""

    topic: str
    payload: bytes
    qos: int
    retain: bool = False
    properties: Properties = NO_PROPERTIES
    """Only the message properties (format, expiry, content type, response topic, correlation, user)."""
    publisher: str | None = None
    """The publishing client's id (``None`` for server-side messages); MQTT 5 No Local uses it."""
    received_at: float = field(default_factory=time.monotonic)

    def expired(self, now: float) -> bool:
        interval = self.properties.message_expiry_interval
        return interval is not None and now - self.received_at >= interval

    def as_publish(
        self, qos: int, retain: bool, packet_id: int | None, now: float, dup: bool = False
    ) -> Publish:
        props = self.properties
        if props.message_expiry_interval is not None:
            remaining = max(1, int(props.message_expiry_interval - (now - self.received_at)))
            props = props.replace(message_expiry_interval=remaining)
        return Publish(self.topic, self.payload, qos, retain, dup, packet_id, props)


def message_properties(props: Properties) -> Properties:
    """The properties of a PUBLISH (or will) that travel with the message to its receivers (MQTT 5
    §3.3.2.3: not the topic alias or subscription identifiers, which belong to one connection)."""
    return Properties(
        payload_format_indicator=props.payload_format_indicator,
        message_expiry_interval=props.message_expiry_interval,
        content_type=props.content_type,
        response_topic=props.response_topic,
        correlation_data=props.correlation_data,
        user_properties=props.user_properties,
    )


@dataclass(frozen=True)
class Subscription:
    qos: int
    no_local: bool = False
    retain_as_published: bool = False


@dataclass(frozen=True)
class Pending:
    """A message waiting in a session's queue, with the QoS and retain flag it will be sent with."""

    message: Message
    qos: int
    retain: bool


@dataclass(eq=False)
class SessionState:
    client_id: str
    persistent: bool = False
    expiry_seconds: int = 0
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    queue: deque[Pending] = field(default_factory=deque)
    inflight: dict[int, Publish] = field(default_factory=dict)
    connection: Connection | None = None
    principal: Any = None
    disconnected_at: float | None = None
    _next_packet_id: int = 0

    def next_packet_id(self) -> int:
        """A packet identifier not in flight (1 … 65,535)."""
        for _ in range(65535):
            self._next_packet_id = self._next_packet_id % 65535 + 1
            if self._next_packet_id not in self.inflight:
                return self._next_packet_id
        raise RuntimeError("no free packet identifier")

    def enqueue(self, pending: Pending, limit: int) -> None:
        if len(self.queue) >= limit:
            self.queue.popleft()
        self.queue.append(pending)

    def is_expired(self, now: float) -> bool:
        return (
            self.connection is None
            and self.disconnected_at is not None
            and now - self.disconnected_at >= self.expiry_seconds
        )
