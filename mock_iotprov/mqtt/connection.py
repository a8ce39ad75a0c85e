"""One client connection: TLS handshake, CONNECT and admission, then its packets in order.

A malformed packet, a protocol violation, an oversized packet or a client that stops reading closes this
connection only (MQTT 5 clients first get a DISCONNECT with the reason code). Reason codes and AWS's
presence-event disconnect reasons used here:

* client DISCONNECT → ``CLIENT_INITIATED_DISCONNECT``; lost connection → ``CONNECTION_LOST``;
* keep-alive expiry → ``MQTT_KEEP_ALIVE_TIMEOUT`` (v5 0x8D); takeover → ``DUPLICATE_CLIENTID`` (v5 0x8E);
* protocol errors → ``CLIENT_ERROR``; a 3.1.1 publish that is not authorized → ``FORBIDDEN_ACCESS``
  (AWS closes a 3.1.1 connection that publishes where its policy does not allow);
* broker shutdown → ``SERVER_INITIATED_DISCONNECT`` (v5 0x8B).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

from . import codec, subscribing
from . import hooks as h
from . import packets as p
from .core import BrokerCore, outbound_to_message
from .properties import Properties
from .session import Message, Pending, SessionState, message_properties
from .tls import TlsStream
from .topics import TopicError, topic_matches, validate_topic_name
from .wire import MqttCodecError, UnsupportedProtocolVersion

NOT_AUTHORIZED = 0x87
RESERVED_PREFIX = "$aws/"


class _Close(Exception):
    """Close the connection: MQTT 5 clients get DISCONNECT ``code``; ``reason`` is the presence reason."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Connection:
    def __init__(self, core: BrokerCore, tls: TlsStream, source_address: str) -> None:
        self.core = core
        self.limits = core.limits
        self.tls = tls
        self.source_address = source_address
        self.level = p.MQTT_311
        self.client_id = ""
        self.principal: Any = None
        self.session: SessionState | None = None
        self.connected = False
        self.keep_alive = 0.0
        self.last_received = time.monotonic()
        self.will: p.Will | None = None
        self.has_subscription_options = False
        self._aliases: dict[int, str] = {}
        self._inflight_limit = self.limits.max_inflight
        self._client_max_packet: int | None = None
        self._decoder = codec.PacketDecoder(self.limits.max_packet_size)
        self._packets: deque[p.Packet] = deque()
        self._close_reason: str | None = None
        self._hello: h.ClientHello | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    async def run(self) -> None:
        self.core.connections.add(self)
        try:
            try:
                admitted = await asyncio.wait_for(self._open(), self.limits.connect_timeout)
                if admitted:
                    while self._close_reason is None:
                        await self._handle(await self._next_packet())
            except _Close as close:
                self._abort(close.reason, close.code)
            except MqttCodecError as error:
                self._abort("CLIENT_ERROR", error.reason_code)
            except (ConnectionError, OSError, asyncio.TimeoutError):
                self._abort("CONNECTION_LOST", None)
        finally:
            self._finish()

    def kick(self, reason: str, code: int | None) -> None:
        """Close from outside the connection's task (takeover, keep-alive, shutdown)."""
        self._abort(reason, code)

    def _abort(self, reason: str, code: int | None) -> None:
        if self._close_reason is not None:
            return
        self._close_reason = reason
        if code is not None and self.level == p.MQTT_5 and self.connected:
            self._write(codec.encode(p.Disconnect(code), self.level))
        self.tls.close()

    def _finish(self) -> None:
        self._abort(self._close_reason or "CONNECTION_LOST", None)
        self.core.connections.discard(self)
        self.end_session()

    def end_session(self) -> None:
        """Leave the session (kept if persistent), publish the will, report the disconnect. Once."""
        if not self.connected:
            return
        self.connected = False
        self.core.detach(self)
        if self.will is not None:
            self._publish_will(self.will)
        reason = self._close_reason or "CONNECTION_LOST"
        self.core.spawn_presence(
            self.client_id, self.core.hooks.disconnected, self.principal, self.client_id, reason
        )

    def check_keep_alive(self, now: float) -> None:
        if self.connected and now - self.last_received > self.keep_alive * self.limits.keep_alive_grace:
            self.kick("MQTT_KEEP_ALIVE_TIMEOUT", 0x8D)

    async def _next_packet(self) -> p.Packet:
        while not self._packets:
            data = await self.tls.read()
            if not data:
                raise _Close("CONNECTION_LOST")
            self.last_received = time.monotonic()
            self._packets.extend(self._decoder.feed(data))
        return self._packets.popleft()

    def _write(self, data: bytes) -> None:
        """Queue ``data`` for this client. A failure closes this connection only (the write may come from
        another client's publish), as does a client that lets ``max_write_buffer`` bytes pile up."""
        if self.tls.closed:
            return
        try:
            self.tls.write(data)
        except ConnectionError:
            self.kick("CONNECTION_LOST", None)
            return
        if self.tls.pending_write_bytes() > self.limits.max_write_buffer and self._close_reason is None:
            self._close_reason = "SERVER_INITIATED_DISCONNECT"
            self.tls.abort()  # a client that does not read would keep a graceful close pending forever

    def _send(self, packet: p.Packet) -> None:
        self._write(codec.encode(packet, self.level))

    # -- CONNECT ---------------------------------------------------------------------------------------

    async def _open(self) -> bool:
        await self.tls.handshake()
        try:
            connect = await self._next_packet()
        except UnsupportedProtocolVersion:
            self.tls.write(codec.encode(p.ConnAck(0x01), p.MQTT_311))
            raise _Close("CLIENT_ERROR") from None
        assert isinstance(connect, p.Connect)
        self.level = connect.protocol_level
        v5 = self.level == p.MQTT_5
        client_id = connect.client_id
        assigned = None
        if not client_id:
            if not v5 and not connect.clean_start:
                return self._refuse(0x02)
            client_id = assigned = f"mock-{uuid.uuid4().hex}"
        if len(client_id.encode("utf-8")) > self.limits.max_client_id_bytes:
            return self._refuse(0x85 if v5 else 0x02)
        if v5 and connect.will is not None and connect.will.qos == 2:
            return self._refuse(0x9B)
        self.client_id = client_id
        leaf, chain = self.tls.peer_certificates()
        hello = h.ClientHello(
            client_id=client_id,
            certificate_der=leaf,
            chain_der=chain,
            protocol_level=self.level,
            username=connect.username,
            clean_start=connect.clean_start,
            keep_alive=connect.keep_alive,
            server_name=self.tls.server_name(),
            alpn_protocol=self.tls.alpn_protocol(),
            source_address=self.source_address,
        )
        refused = h.Admission(accepted=False, reason="admission hook failed")
        admission = await self.core.call_hook(refused, self.core.hooks.admit, hello)
        for event in admission.events:
            self.core.publish_server_message(outbound_to_message(event))
        if admission.close_without_connack:
            raise _Close("AUTH_ERROR")
        if not admission.accepted:
            return self._refuse(NOT_AUTHORIZED if v5 else 0x05)
        if self._close_reason is not None:
            return False
        self.principal = admission.principal
        self._hello = hello
        self._accept(connect, assigned)
        return True

    def _refuse(self, code: int) -> bool:
        self._send(p.ConnAck(code))
        self._abort("AUTH_ERROR", None)
        return False

    def _accept(self, connect: p.Connect, assigned: str | None) -> None:
        v5 = self.level == p.MQTT_5
        requested_expiry = connect.properties.session_expiry_interval or 0
        if v5:
            expiry = min(requested_expiry, self.limits.session_expiry)
            persistent = expiry > 0
        else:
            expiry = self.limits.session_expiry
            persistent = not connect.clean_start
        session, present = self.core.attach(self, connect.clean_start)
        session.persistent, session.expiry_seconds, session.principal = persistent, expiry, self.principal
        self.session = session
        self.keep_alive = self.limits.effective_keep_alive(connect.keep_alive)
        self.will = connect.will
        self.last_received = time.monotonic()
        props = Properties()
        if v5:
            client_props = connect.properties
            if client_props.receive_maximum:
                self._inflight_limit = min(self._inflight_limit, client_props.receive_maximum)
            self._client_max_packet = client_props.maximum_packet_size
            props = Properties(
                assigned_client_identifier=assigned,
                session_expiry_interval=expiry if expiry != requested_expiry else None,
                server_keep_alive=int(self.keep_alive) if self.keep_alive != connect.keep_alive else None,
                receive_maximum=self.limits.receive_maximum,
                maximum_qos=1,
                retain_available=1,
                maximum_packet_size=self.limits.max_packet_size,
                topic_alias_maximum=self.limits.topic_alias_maximum,
                wildcard_subscription_available=1,
                subscription_identifier_available=0,
                shared_subscription_available=0,
            )
        self._send(p.ConnAck(0, present, props))
        self.connected = True
        self.has_subscription_options = any(
            sub.no_local or sub.retain_as_published for sub in session.subscriptions.values()
        )
        assert self._hello is not None
        self.core.spawn_presence(self.client_id, self.core.hooks.connected, self.principal, self._hello)
        if present:
            for packet_id, publish in list(session.inflight.items()):
                self._write_publish(
                    p.Publish(
                        publish.topic, publish.payload, 1, publish.retain, True, packet_id, publish.properties
                    )
                )
            self._drain()

    # -- packets ---------------------------------------------------------------------------------------

    async def _handle(self, packet: p.Packet) -> None:
        if isinstance(packet, p.Publish):
            await self._on_publish(packet)
        elif isinstance(packet, p.PubAck):
            assert self.session is not None
            self.session.inflight.pop(packet.packet_id, None)
            self._drain()
        elif isinstance(packet, p.Subscribe):
            self._on_subscribe(packet)
        elif isinstance(packet, p.Unsubscribe):
            self._on_unsubscribe(packet)
        elif isinstance(packet, p.PingReq):
            self._send(p.PingResp())
        elif isinstance(packet, p.Disconnect):
            self._on_disconnect(packet)
        else:
            raise _Close("CLIENT_ERROR", 0x82)

    def _on_disconnect(self, packet: p.Disconnect) -> None:
        if packet.reason_code != 0x04:
            self.will = None
        expiry = packet.properties.session_expiry_interval
        if expiry is not None and self.session is not None:
            if self.session.expiry_seconds == 0 and expiry > 0:
                raise _Close("CLIENT_ERROR", 0x82)
            self.session.expiry_seconds = min(expiry, self.limits.session_expiry)
            self.session.persistent = self.session.expiry_seconds > 0
        self._abort("CLIENT_INITIATED_DISCONNECT", None)

    def _resolve_topic(self, packet: p.Publish) -> str:
        topic = packet.topic
        alias = packet.properties.topic_alias if self.level == p.MQTT_5 else None
        if alias is not None:
            if alias > self.limits.topic_alias_maximum:
                raise _Close("CLIENT_ERROR", 0x94)
            if topic:
                self._aliases[alias] = topic
            elif alias in self._aliases:
                topic = self._aliases[alias]
            else:
                raise _Close("CLIENT_ERROR", 0x82)
        try:
            validate_topic_name(topic)
        except TopicError:
            raise _Close("CLIENT_ERROR", 0x90) from None
        return topic

    def _deny_publish(self, packet: p.Publish, code: int) -> None:
        if self.level != p.MQTT_5:
            raise _Close("FORBIDDEN_ACCESS")
        if packet.qos == 1 and packet.packet_id is not None:
            self._send(p.PubAck(packet.packet_id, code))

    async def _on_publish(self, packet: p.Publish) -> None:
        if packet.qos == 2:
            raise _Close("CLIENT_ERROR", 0x9B)
        if len(packet.payload) > self.limits.max_payload:
            raise _Close("CLIENT_ERROR", 0x95)
        topic = self._resolve_topic(packet)
        props = packet.properties
        if props.payload_format_indicator == 1:
            try:
                packet.payload.decode("utf-8")
            except UnicodeDecodeError:
                return self._deny_publish(packet, 0x99)
        authorize = self.core.authorize
        if not authorize(self.principal, self.client_id, h.PUBLISH, topic) or (
            packet.retain and not authorize(self.principal, self.client_id, h.RETAIN_PUBLISH, topic)
        ):
            return self._deny_publish(packet, NOT_AUTHORIZED)
        if packet.qos == 1 and packet.packet_id is not None:
            self._send(p.PubAck(packet.packet_id))
        message_props = message_properties(props)
        message = Message(topic, packet.payload, packet.qos, packet.retain, message_props, self.client_id)
        if topic.startswith(RESERVED_PREFIX):
            no_replies: Sequence[h.OutboundMessage] | None = ()
            replies = await self.core.call_hook(
                no_replies, self.core.hooks.reserved, self.principal, self.client_id, topic, packet.payload
            )
            if replies is not None:
                for reply in replies:
                    self._deliver_reply(reply)
                return
        if packet.retain:
            self.core.retained.store(message)
        self.core.route(message)

    def _deliver_reply(self, reply: h.OutboundMessage) -> None:
        """A reserved-topic reply: only to this connection, once, if one of its filters matches."""
        session = self.session
        if session is None or self._close_reason is not None:
            return
        matching = [sub.qos for f, sub in session.subscriptions.items() if topic_matches(f, reply.topic)]
        if not matching:
            return
        if not self.core.authorize(self.principal, self.client_id, h.RECEIVE, reply.topic):
            return
        message = outbound_to_message(reply)
        self.send_message(message, min(max(matching), message.qos), False)

    def _on_subscribe(self, packet: p.Subscribe) -> None:
        v5 = self.level == p.MQTT_5
        if v5 and packet.properties.subscription_identifier is not None:
            raise _Close("CLIENT_ERROR", 0xA1)  # AWS IoT Core has no subscription identifiers
        session = self.session
        assert session is not None

        def may_subscribe(topic_filter: str) -> bool:
            return self.core.authorize(self.principal, self.client_id, h.SUBSCRIBE, topic_filter)

        granted = subscribing.subscribe(packet, session, self.core.index, self.limits, may_subscribe, v5)
        self.has_subscription_options = any(
            sub.no_local or sub.retain_as_published for sub in session.subscriptions.values()
        )
        self._send(p.SubAck(packet.packet_id, granted.reason_codes))
        now = time.monotonic()
        for topic_filter, qos in granted.retained_wanted:
            for message in self.core.retained.matching(topic_filter, now):
                if self.core.authorize(self.principal, self.client_id, h.RECEIVE, message.topic):
                    self.send_message(message, min(qos, message.qos), True)

    def _on_unsubscribe(self, packet: p.Unsubscribe) -> None:
        assert self.session is not None
        codes = subscribing.unsubscribe(packet, self.session, self.core.index)
        self._send(p.UnsubAck(packet.packet_id, codes if self.level == p.MQTT_5 else ()))

    # -- outbound --------------------------------------------------------------------------------------

    def send_message(self, message: Message, qos: int, retain: bool) -> None:
        """Send ``message`` to this client, or queue it while its QoS 1 window is full."""
        session = self.session
        if session is None or self._close_reason is not None:
            return
        now = time.monotonic()
        if message.expired(now):
            return
        if qos == 0:
            self._write_publish(message.as_publish(0, retain, None, now))
        elif len(session.inflight) >= self._inflight_limit or session.queue:
            session.enqueue(Pending(message, qos, retain), self.limits.max_queued_messages)
        else:
            packet_id = session.next_packet_id()
            publish = message.as_publish(1, retain, packet_id, now)
            session.inflight[packet_id] = publish
            self._write_publish(publish)

    def _drain(self) -> None:
        session = self.session
        if session is None:
            return
        now = time.monotonic()
        while session.queue and len(session.inflight) < self._inflight_limit and self._close_reason is None:
            pending = session.queue.popleft()
            if pending.message.expired(now):
                continue
            packet_id = session.next_packet_id()
            publish = pending.message.as_publish(1, pending.retain, packet_id, now)
            session.inflight[packet_id] = publish
            self._write_publish(publish)

    def _write_publish(self, publish: p.Publish) -> None:
        data = codec.encode_publish(publish, self.level)
        if self._client_max_packet is not None and len(data) > self._client_max_packet:
            if publish.packet_id is not None and self.session is not None:
                self.session.inflight.pop(publish.packet_id, None)
            return  # MQTT 5: never send a client more than its Maximum Packet Size
        self._write(data)

    def _publish_will(self, will: p.Will) -> None:
        authorize = self.core.authorize
        if not authorize(self.principal, self.client_id, h.PUBLISH, will.topic):
            return
        if will.retain and not authorize(self.principal, self.client_id, h.RETAIN_PUBLISH, will.topic):
            return
        try:
            validate_topic_name(will.topic)
        except TopicError:
            return
        message_props = message_properties(will.properties)
        message = Message(
            will.topic, will.payload, min(will.qos, 1), will.retain, message_props, self.client_id
        )
        self.core.publish_server_message(message)
