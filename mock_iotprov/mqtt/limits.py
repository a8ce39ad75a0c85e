"""The broker's limits: AWS IoT Core's documented message-broker quotas by default, adjustable for tests.

Where AWS IoT Core differs from the MQTT specifications, the broker does what AWS does:

* QoS 0 and 1 only. A QoS 2 PUBLISH closes the connection (MQTT 5: DISCONNECT 0x9B "QoS not supported",
  the MQTT 5 rule for a QoS above the CONNACK's Maximum QoS 1; AWS's guide says only that it sends no
  PUBACK). A QoS 2 subscription is granted QoS 1 (AWS's guide says it sends no SUBACK; a client would
  wait forever, so the mock grants the highest QoS it supports, as the MQTT specifications allow).
* Payloads of at most 128 KiB. A larger PUBLISH closes the connection (MQTT 5: DISCONNECT 0x95); the
  packet as a whole may be 16 KiB larger, for its topic and properties, and a packet declaring more is
  refused from its fixed header, before its body is read.
* Keep-alive: a requested value below 30 s is raised to 30 s, above 1,200 s lowered to 1,200 s, and 0 (no
  keep-alive) becomes 1,200 s; MQTT 5 clients are told in CONNACK's Server Keep Alive. A client silent
  for 1.5 times its keep-alive is disconnected (presence reason ``MQTT_KEEP_ALIVE_TIMEOUT``).
* Client ids of at most 128 bytes; at most 8 topic filters per SUBSCRIBE and 50 subscriptions per
  connection (beyond them, the filter gets a SUBACK failure: 3.1.1 0x80, MQTT 5 0x97 "quota exceeded").
* MQTT 5 topic aliases: up to 8 per connection from the client (the broker sends none).
* Persistent sessions are kept for 1 hour after a disconnect (AWS's default; MQTT 5 clients may ask for
  less with Session Expiry Interval, more is capped); while the client is away the broker queues its
  QoS 1 messages, at most ``max_queued_messages`` (the oldest are dropped beyond that).
"""

from __future__ import annotations

from dataclasses import dataclass

AWS_MAX_PAYLOAD = 128 * 1024


@dataclass(frozen=True)
class BrokerLimits:
    max_payload: int = AWS_MAX_PAYLOAD
    max_packet_size: int = AWS_MAX_PAYLOAD + 16 * 1024
    min_keep_alive: float = 30
    max_keep_alive: int = 1200
    keep_alive_grace: float = 1.5
    connect_timeout: float = 10.0
    """Seconds allowed for the TLS handshake and CONNECT together."""
    max_client_id_bytes: int = 128
    max_filters_per_subscribe: int = 8
    max_subscriptions_per_connection: int = 50
    topic_alias_maximum: int = 8
    receive_maximum: int = 100
    """Announced to MQTT 5 clients (the broker acknowledges each QoS 1 PUBLISH at once)."""
    session_expiry: int = 3600
    max_queued_messages: int = 1000
    max_inflight: int = 100
    """QoS 1 messages sent to one client and not yet acknowledged; later ones wait in its queue."""
    max_retained_messages: int = 100_000
    max_write_buffer: int = 8 * 1024 * 1024
    """Bytes waiting to be sent to one client; a client that lets more pile up is disconnected."""
    hook_threads: int = 32

    def effective_keep_alive(self, requested: int) -> float:
        """The keep-alive AWS IoT Core applies for a requested one (seconds)."""
        if requested == 0:
            return float(self.max_keep_alive)
        return float(min(max(requested, self.min_keep_alive), self.max_keep_alive))
