"""MQTT 3.1.1 and 5 packet encoding and decoding (pure, no I/O).

:func:`encode` turns a packet value into bytes for a protocol level; :class:`PacketDecoder` takes bytes as
they arrive from a stream and yields whole packets. Memory is bounded: a packet whose fixed header declares
more than ``max_packet_size`` bytes is refused (:class:`~.wire.PacketTooLarge`) as soon as its header is
read, before its body is buffered. Every refusal is a :class:`~.wire.MqttCodecError`; the decoder raises
nothing else, and once it has refused it refuses every later call (the connection is to be closed).

QoS 2 flows (PUBREC, PUBREL, PUBCOMP) and AUTH are protocol errors: AWS IoT Core supports neither.
A PUBLISH with QoS 2 decodes (so the broker can refuse it the way AWS does).
"""

from __future__ import annotations

import struct

from . import packets as p
from .properties import NO_PROPERTIES, Properties, decode_properties, encode_properties
from .wire import (
    MalformedPacket,
    MqttCodecError,
    PacketTooLarge,
    ProtocolError,
    Reader,
    UnsupportedProtocolVersion,
    encode_binary,
    encode_string,
    encode_varint,
)

_H = struct.Struct("!H")


def _frame(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + encode_varint(len(body)) + body


def _props(level: int, props: Properties) -> bytes:
    return encode_properties(props) if level == p.MQTT_5 else b""


def encode(packet: p.Packet, level: int) -> bytes:
    """The wire bytes of ``packet`` on a connection of protocol ``level`` (4: 3.1.1, 5: MQTT 5)."""
    if isinstance(packet, p.Publish):
        return encode_publish(packet, level)
    if isinstance(packet, p.PubAck):
        body = _H.pack(packet.packet_id)
        if level == p.MQTT_5 and (packet.reason_code or packet.properties != NO_PROPERTIES):
            body += bytes((packet.reason_code,)) + encode_properties(packet.properties)
        return _frame(0x40, body)
    if isinstance(packet, p.ConnAck):
        body = bytes((int(packet.session_present), packet.reason_code)) + _props(level, packet.properties)
        return _frame(0x20, body)
    if isinstance(packet, p.SubAck):
        body = _H.pack(packet.packet_id) + _props(level, packet.properties) + bytes(packet.reason_codes)
        return _frame(0x90, body)
    if isinstance(packet, p.UnsubAck):
        body = _H.pack(packet.packet_id)
        if level == p.MQTT_5:
            body += encode_properties(packet.properties) + bytes(packet.reason_codes)
        return _frame(0xB0, body)
    if isinstance(packet, p.PingReq):
        return b"\xc0\x00"
    if isinstance(packet, p.PingResp):
        return b"\xd0\x00"
    if isinstance(packet, p.Disconnect):
        if level != p.MQTT_5 or (packet.reason_code == 0 and packet.properties == NO_PROPERTIES):
            return b"\xe0\x00"
        return _frame(0xE0, bytes((packet.reason_code,)) + encode_properties(packet.properties))
    if isinstance(packet, p.Connect):
        return _encode_connect(packet)
    if isinstance(packet, p.Subscribe):
        parts = [_H.pack(packet.packet_id), _props(level, packet.properties)]
        for sub in packet.subscriptions:
            options = sub.qos
            if level == p.MQTT_5:
                options |= (sub.no_local << 2) | (sub.retain_as_published << 3) | (sub.retain_handling << 4)
            parts.append(encode_string(sub.topic_filter) + bytes((options,)))
        return _frame(0x82, b"".join(parts))
    body = _H.pack(packet.packet_id) + _props(level, packet.properties)
    body += b"".join(encode_string(topic_filter) for topic_filter in packet.topic_filters)
    return _frame(0xA2, body)


def encode_publish(packet: p.Publish, level: int) -> bytes:
    first = 0x30 | (packet.dup << 3) | (packet.qos << 1) | int(packet.retain)
    body = encode_string(packet.topic)
    if packet.qos:
        if not packet.packet_id:
            raise ValueError("a QoS 1 or 2 PUBLISH needs a packet identifier")
        body += _H.pack(packet.packet_id)
    return _frame(first, body + _props(level, packet.properties) + packet.payload)


def _encode_connect(packet: p.Connect) -> bytes:
    level = packet.protocol_level
    flags = 0x02 if packet.clean_start else 0
    will = packet.will
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (will.retain << 5)
    if packet.password is not None:
        flags |= 0x40
    if packet.username is not None:
        flags |= 0x80
    body = bytearray(encode_string("MQTT") + bytes((level, flags)) + _H.pack(packet.keep_alive))
    body += _props(level, packet.properties) + encode_string(packet.client_id)
    if will is not None:
        body += _props(level, will.properties) + encode_string(will.topic) + encode_binary(will.payload)
    if packet.username is not None:
        body += encode_string(packet.username)
    if packet.password is not None:
        body += encode_binary(packet.password)
    return _frame(0x10, bytes(body))


def _packet_id(reader: Reader) -> int:
    packet_id = reader.uint16()
    if packet_id == 0:
        raise MalformedPacket("packet identifier 0")
    return packet_id


def _decode_connect(reader: Reader) -> p.Connect:
    name = reader.string()
    level = reader.byte()
    if name == "MQIsdp" or (name == "MQTT" and level not in (p.MQTT_311, p.MQTT_5)):
        raise UnsupportedProtocolVersion(f"protocol {name} level {level} is not supported")
    if name != "MQTT":
        raise MalformedPacket(f"unknown protocol name {name!r}")
    flags = reader.byte()
    if flags & 0x01:
        raise MalformedPacket("CONNECT reserved flag is set")
    will_flag, will_qos, will_retain = bool(flags & 0x04), (flags >> 3) & 0x03, bool(flags & 0x20)
    if will_qos == 3 or (not will_flag and (will_qos or will_retain)):
        raise MalformedPacket("inconsistent will flags")
    has_password, has_username = bool(flags & 0x40), bool(flags & 0x80)
    if level == p.MQTT_311 and has_password and not has_username:
        raise MalformedPacket("password flag without user name flag")
    keep_alive = reader.uint16()
    properties = decode_properties(reader, "CONNECT") if level == p.MQTT_5 else NO_PROPERTIES
    client_id = reader.string()
    will = None
    if will_flag:
        will_props = decode_properties(reader, "WILL") if level == p.MQTT_5 else NO_PROPERTIES
        will = p.Will(reader.string(), reader.binary(), will_qos, will_retain, will_props)
    username = reader.string() if has_username else None
    password = reader.binary() if has_password else None
    if reader.remaining:
        raise MalformedPacket("bytes after the CONNECT payload")
    return p.Connect(client_id, level, bool(flags & 0x02), keep_alive, username, password, will, properties)


def _decode_publish(flags: int, reader: Reader, level: int) -> p.Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise MalformedPacket("PUBLISH QoS 3")
    dup = bool(flags & 0x08)
    if qos == 0 and dup:
        raise MalformedPacket("DUP set on a QoS 0 PUBLISH")
    topic = reader.string()
    packet_id = _packet_id(reader) if qos else None
    properties = decode_properties(reader, "PUBLISH") if level == p.MQTT_5 else NO_PROPERTIES
    return p.Publish(topic, reader.rest(), qos, bool(flags & 0x01), dup, packet_id, properties)


def _decode_subscribe(reader: Reader, level: int) -> p.Subscribe:
    packet_id = _packet_id(reader)
    properties = decode_properties(reader, "SUBSCRIBE") if level == p.MQTT_5 else NO_PROPERTIES
    subscriptions = []
    while reader.remaining:
        topic_filter = reader.string()
        options = reader.byte()
        qos = options & 0x03
        if qos == 3 or options & (0xFC if level == p.MQTT_311 else 0xC0):
            raise MalformedPacket("invalid subscription options")
        retain_handling = (options >> 4) & 0x03
        if retain_handling == 3:
            raise ProtocolError("retain handling 3")
        subscriptions.append(
            p.SubscriptionRequest(
                topic_filter, qos, bool(options & 0x04), bool(options & 0x08), retain_handling
            )
        )
    if not subscriptions:
        raise ProtocolError("SUBSCRIBE without a topic filter")
    return p.Subscribe(packet_id, tuple(subscriptions), properties)


def _decode_unsubscribe(reader: Reader, level: int) -> p.Unsubscribe:
    packet_id = _packet_id(reader)
    properties = decode_properties(reader, "UNSUBSCRIBE") if level == p.MQTT_5 else NO_PROPERTIES
    filters = []
    while reader.remaining:
        filters.append(reader.string())
    if not filters:
        raise ProtocolError("UNSUBSCRIBE without a topic filter")
    return p.Unsubscribe(packet_id, tuple(filters), properties)


def _decode_ack_tail(reader: Reader, level: int, packet: str) -> tuple[Properties, tuple[int, ...]]:
    properties = decode_properties(reader, packet) if level == p.MQTT_5 else NO_PROPERTIES
    return properties, tuple(reader.rest())


def decode_body(first_byte: int, reader: Reader, level: int) -> p.Packet:
    """Decode one packet's variable header and payload (``reader`` spans exactly its body)."""
    kind, flags = first_byte >> 4, first_byte & 0x0F
    if kind != p.PUBLISH and flags != (0x02 if kind in (p.SUBSCRIBE, p.UNSUBSCRIBE, p.PUBREL) else 0):
        raise MalformedPacket(f"invalid fixed-header flags for packet type {kind}")
    if kind == p.PUBLISH:
        return _decode_publish(flags, reader, level)
    if kind == p.PUBACK:
        packet_id = _packet_id(reader)
        reason = reader.byte() if level == p.MQTT_5 and reader.remaining else 0
        props = (
            decode_properties(reader, "PUBACK") if level == p.MQTT_5 and reader.remaining else NO_PROPERTIES
        )
        packet: p.Packet = p.PubAck(packet_id, reason, props)
    elif kind == p.SUBSCRIBE:
        packet = _decode_subscribe(reader, level)
    elif kind == p.UNSUBSCRIBE:
        packet = _decode_unsubscribe(reader, level)
    elif kind in (p.PINGREQ, p.PINGRESP):
        packet = p.PingReq() if kind == p.PINGREQ else p.PingResp()
    elif kind == p.DISCONNECT:
        reason = reader.byte() if level == p.MQTT_5 and reader.remaining else 0
        props = (
            decode_properties(reader, "DISCONNECT")
            if level == p.MQTT_5 and reader.remaining
            else NO_PROPERTIES
        )
        packet = p.Disconnect(reason, props)
    elif kind == p.CONNACK:
        ack_flags, code = reader.byte(), reader.byte()
        if ack_flags & 0xFE:
            raise MalformedPacket("CONNACK reserved flags set")
        props = decode_properties(reader, "CONNACK") if level == p.MQTT_5 else NO_PROPERTIES
        packet = p.ConnAck(code, bool(ack_flags & 1), props)
    elif kind == p.SUBACK:
        packet_id = _packet_id(reader)
        props, codes = _decode_ack_tail(reader, level, "SUBACK")
        packet = p.SubAck(packet_id, codes, props)
    elif kind == p.UNSUBACK:
        packet_id = _packet_id(reader)
        props, codes = (
            _decode_ack_tail(reader, level, "UNSUBACK") if level == p.MQTT_5 else (NO_PROPERTIES, ())
        )
        packet = p.UnsubAck(packet_id, codes, props)
    elif kind == p.CONNECT:
        raise ProtocolError("a second CONNECT")
    else:
        raise ProtocolError(f"packet type {kind} is not supported (AWS IoT Core has no QoS 2 and no AUTH)")
    if reader.remaining:
        raise MalformedPacket(f"bytes after the end of packet type {kind}")
    return packet


class PacketDecoder:
    """Turns a byte stream into packets, holding at most one incomplete packet (≤ ``max_packet_size``).

    ``protocol_level`` is ``None`` on the server side until the CONNECT arrives (which must come first and
    sets it); a client-side decoder is given the level it connected with.
    """

    def __init__(self, max_packet_size: int, protocol_level: int | None = None) -> None:
        self.max_packet_size = max_packet_size
        self.protocol_level = protocol_level
        self._buffer = bytearray()
        self._failed: MqttCodecError | None = None

    def feed(self, data: bytes) -> list[p.Packet]:
        """Add ``data`` and return every packet now complete, in order."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._feed(data)
        except MqttCodecError as error:
            self._failed = error
            self._buffer = bytearray()
            raise

    def _feed(self, data: bytes) -> list[p.Packet]:
        buffer = self._buffer
        buffer += data
        out: list[p.Packet] = []
        start = 0
        size = len(buffer)
        while size - start >= 2:
            remaining, header = 0, 1
            for shift in (0, 7, 14, 21):
                if start + header >= size:
                    remaining = -1
                    break
                byte = buffer[start + header]
                header += 1
                remaining |= (byte & 0x7F) << shift
                if not byte & 0x80:
                    break
            else:
                raise MalformedPacket("remaining length longer than four bytes")
            if remaining < 0:
                break
            total = header + remaining
            if total > self.max_packet_size:
                raise PacketTooLarge(f"packet of {total} bytes exceeds the limit of {self.max_packet_size}")
            if size - start < total:
                break
            body = bytes(buffer[start + header : start + total])
            out.append(self._decode(buffer[start], body))
            start += total
        if start:
            del buffer[:start]
        return out

    def _decode(self, first_byte: int, body: bytes) -> p.Packet:
        reader = Reader(body)
        if self.protocol_level is None:
            if first_byte >> 4 != p.CONNECT or first_byte & 0x0F:
                raise ProtocolError("the first packet must be CONNECT")
            connect = _decode_connect(reader)
            self.protocol_level = connect.protocol_level
            return connect
        return decode_body(first_byte, reader, self.protocol_level)


def decode_connect_body(body: bytes) -> p.Connect:
    """Decode a CONNECT body (for tests and tools)."""
    return _decode_connect(Reader(body))
