"""MQTT 5 properties (pure, no I/O): the property table, their encoding, and which packet may carry which.

A property a packet may not carry, or one given twice (other than user properties), is a protocol error
(MQTT 5 §2.2.2.2). MQTT 3.1.1 packets carry no properties.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass, field
from typing import Any

from .wire import MalformedPacket, ProtocolError, Reader, encode_binary, encode_string, encode_varint

BYTE, UINT16, UINT32, VARINT, STRING, BINARY, PAIR = "byte", "u16", "u32", "varint", "str", "bin", "pair"

# id -> (field name, type)
PROPERTY_TABLE: dict[int, tuple[str, str]] = {
    0x01: ("payload_format_indicator", BYTE),
    0x02: ("message_expiry_interval", UINT32),
    0x03: ("content_type", STRING),
    0x08: ("response_topic", STRING),
    0x09: ("correlation_data", BINARY),
    0x0B: ("subscription_identifier", VARINT),
    0x11: ("session_expiry_interval", UINT32),
    0x12: ("assigned_client_identifier", STRING),
    0x13: ("server_keep_alive", UINT16),
    0x15: ("authentication_method", STRING),
    0x16: ("authentication_data", BINARY),
    0x17: ("request_problem_information", BYTE),
    0x18: ("will_delay_interval", UINT32),
    0x19: ("request_response_information", BYTE),
    0x1A: ("response_information", STRING),
    0x1C: ("server_reference", STRING),
    0x1F: ("reason_string", STRING),
    0x21: ("receive_maximum", UINT16),
    0x22: ("topic_alias_maximum", UINT16),
    0x23: ("topic_alias", UINT16),
    0x24: ("maximum_qos", BYTE),
    0x25: ("retain_available", BYTE),
    0x26: ("user_properties", PAIR),
    0x27: ("maximum_packet_size", UINT32),
    0x28: ("wildcard_subscription_available", BYTE),
    0x29: ("subscription_identifier_available", BYTE),
    0x2A: ("shared_subscription_available", BYTE),
}
_ID_BY_NAME = {name: pid for pid, (name, _) in PROPERTY_TABLE.items()}

_MESSAGE = {0x01, 0x02, 0x03, 0x08, 0x09, 0x26}
ALLOWED: dict[str, frozenset[int]] = {
    "CONNECT": frozenset({0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27}),
    "WILL": frozenset(_MESSAGE | {0x18}),
    "CONNACK": frozenset(
        {0x11, 0x12, 0x13, 0x15, 0x16, 0x1A, 0x1C, 0x1F, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A}
    ),
    "PUBLISH": frozenset(_MESSAGE | {0x0B, 0x23}),
    "PUBACK": frozenset({0x1F, 0x26}),
    "SUBSCRIBE": frozenset({0x0B, 0x26}),
    "SUBACK": frozenset({0x1F, 0x26}),
    "UNSUBSCRIBE": frozenset({0x26}),
    "UNSUBACK": frozenset({0x1F, 0x26}),
    "DISCONNECT": frozenset({0x11, 0x1C, 0x1F, 0x26}),
}


@dataclass(frozen=True)
class Properties:
    """The MQTT 5 properties of one packet; ``None`` means absent."""

    payload_format_indicator: int | None = None
    message_expiry_interval: int | None = None
    content_type: str | None = None
    response_topic: str | None = None
    correlation_data: bytes | None = None
    subscription_identifier: int | None = None
    session_expiry_interval: int | None = None
    assigned_client_identifier: str | None = None
    server_keep_alive: int | None = None
    authentication_method: str | None = None
    authentication_data: bytes | None = None
    request_problem_information: int | None = None
    will_delay_interval: int | None = None
    request_response_information: int | None = None
    response_information: str | None = None
    server_reference: str | None = None
    reason_string: str | None = None
    receive_maximum: int | None = None
    topic_alias_maximum: int | None = None
    topic_alias: int | None = None
    maximum_qos: int | None = None
    retain_available: int | None = None
    user_properties: tuple[tuple[str, str], ...] = field(default=())
    maximum_packet_size: int | None = None
    wildcard_subscription_available: int | None = None
    subscription_identifier_available: int | None = None
    shared_subscription_available: int | None = None

    def __repr__(self) -> str:
        present = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if getattr(self, f.name) not in (None, ())
        )
        return f"Properties({present})"

    def replace(self, **changes: Any) -> Properties:
        return dataclasses.replace(self, **changes)


NO_PROPERTIES = Properties()


def encode_properties(props: Properties) -> bytes:
    """The property block (length varint + properties) of ``props``."""
    out = bytearray()
    for pid, (name, kind) in PROPERTY_TABLE.items():
        value = getattr(props, name)
        if kind == PAIR:
            for key, val in value:
                out.append(pid)
                out += encode_string(key) + encode_string(val)
            continue
        if value is None:
            continue
        out.append(pid)
        if kind == BYTE:
            out.append(value)
        elif kind == UINT16:
            out += struct.pack("!H", value)
        elif kind == UINT32:
            out += struct.pack("!I", value)
        elif kind == VARINT:
            out += encode_varint(value)
        elif kind == STRING:
            out += encode_string(value)
        else:
            out += encode_binary(value)
    return encode_varint(len(out)) + bytes(out)


def decode_properties(reader: Reader, packet: str) -> Properties:
    """Read a property block for a ``packet`` (a key of :data:`ALLOWED`) from ``reader``."""
    block = reader.sub_reader(reader.varint())
    allowed = ALLOWED[packet]
    values: dict[str, Any] = {}
    pairs: list[tuple[str, str]] = []
    while block.remaining:
        pid = block.varint()
        entry = PROPERTY_TABLE.get(pid)
        if entry is None:
            raise MalformedPacket(f"unknown property identifier 0x{pid:02X}")
        name, kind = entry
        if pid not in allowed:
            raise ProtocolError(f"property {name} is not allowed in {packet}")
        if kind == PAIR:
            pairs.append((block.string(), block.string()))
            continue
        if name in values:
            raise ProtocolError(f"property {name} given more than once")
        if kind == BYTE:
            values[name] = block.byte()
        elif kind == UINT16:
            values[name] = block.uint16()
        elif kind == UINT32:
            values[name] = block.uint32()
        elif kind == VARINT:
            values[name] = block.varint()
        elif kind == STRING:
            values[name] = block.string()
        else:
            values[name] = block.binary()
    if pairs:
        values["user_properties"] = tuple(pairs)
    if not values:
        return NO_PROPERTIES
    _check_values(values)
    return Properties(**values)


def _check_values(values: dict[str, Any]) -> None:
    for name in ("payload_format_indicator", "request_problem_information", "request_response_information"):
        if values.get(name, 0) not in (0, 1):
            raise ProtocolError(f"property {name} must be 0 or 1")
    for name in ("receive_maximum", "topic_alias", "maximum_packet_size", "subscription_identifier"):
        if values.get(name) == 0:
            raise ProtocolError(f"property {name} must not be 0")


def property_id(name: str) -> int:
    """The identifier of the property called ``name``."""
    return _ID_BY_NAME[name]
