"""MQTT wire primitives (pure, no I/O): the codec's errors, the variable byte integer, UTF-8 strings and
binary data, and a bounds-checked reader over one packet's bytes.

UTF-8 strings follow MQTT 3.1.1 §1.5.3 / MQTT 5 §1.5.4: at most 65,535 bytes, well-formed UTF-8 (no
surrogates), and never U+0000; anything else is a malformed packet.
"""

from __future__ import annotations

import struct

MAX_VARINT = 268_435_455
"""The largest value a variable byte integer holds (four bytes)."""


class MqttCodecError(Exception):
    """A packet the codec refuses. ``reason_code`` is the MQTT 5 reason code the broker answers with."""

    reason_code = 0x81

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedPacket(MqttCodecError):
    """The bytes are not a well-formed packet (MQTT 5 reason 0x81)."""

    reason_code = 0x81


class ProtocolError(MqttCodecError):
    """A well-formed packet that breaks the protocol's rules (MQTT 5 reason 0x82)."""

    reason_code = 0x82


class UnsupportedProtocolVersion(MqttCodecError):
    """A CONNECT naming a protocol other than MQTT 3.1.1 or 5 (v5 reason 0x84, 3.1.1 return code 1)."""

    reason_code = 0x84


class PacketTooLarge(MqttCodecError):
    """A packet larger than the broker accepts (MQTT 5 reason 0x95); refused before it is buffered."""

    reason_code = 0x95


def encode_varint(value: int) -> bytes:
    """The variable byte integer encoding of ``value`` (0 … 268,435,455)."""
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"variable byte integer out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def check_utf8_text(text: str) -> None:
    """Raise :class:`MalformedPacket` if ``text`` may not travel as an MQTT UTF-8 string."""
    if "\x00" in text:
        raise MalformedPacket("UTF-8 string contains U+0000")


def encode_string(text: str) -> bytes:
    """A two-byte length followed by the UTF-8 bytes of ``text``."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise MalformedPacket("string is not valid UTF-8") from error
    if len(data) > 0xFFFF:
        raise MalformedPacket("string longer than 65,535 bytes")
    return struct.pack("!H", len(data)) + data


def encode_binary(data: bytes) -> bytes:
    """A two-byte length followed by ``data``."""
    if len(data) > 0xFFFF:
        raise MalformedPacket("binary data longer than 65,535 bytes")
    return struct.pack("!H", len(data)) + data


class Reader:
    """Reads MQTT primitives from one packet's bytes; running past the end is a malformed packet."""

    __slots__ = ("_data", "_pos", "_end")

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self._data = data
        self._pos = start
        self._end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    @property
    def position(self) -> int:
        return self._pos

    def _take(self, count: int) -> bytes:
        if count > self._end - self._pos:
            raise MalformedPacket("packet ends before its declared fields")
        chunk = self._data[self._pos : self._pos + count]
        self._pos += count
        return chunk

    def byte(self) -> int:
        if self._pos >= self._end:
            raise MalformedPacket("packet ends before its declared fields")
        value = self._data[self._pos]
        self._pos += 1
        return value

    def uint16(self) -> int:
        value: int = struct.unpack("!H", self._take(2))[0]
        return value

    def uint32(self) -> int:
        value: int = struct.unpack("!I", self._take(4))[0]
        return value

    def varint(self) -> int:
        value = 0
        for shift in (0, 7, 14, 21):
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
        raise MalformedPacket("variable byte integer longer than four bytes")

    def binary(self) -> bytes:
        return self._take(self.uint16())

    def string(self) -> str:
        raw = self._take(self.uint16())
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MalformedPacket("string is not valid UTF-8") from error
        check_utf8_text(text)
        return text

    def rest(self) -> bytes:
        return self._take(self._end - self._pos)

    def sub_reader(self, length: int) -> Reader:
        """A reader over the next ``length`` bytes (a property block), advancing past them."""
        if length > self._end - self._pos:
            raise MalformedPacket("property length runs past the packet")
        reader = Reader(self._data, self._pos, self._pos + length)
        self._pos += length
        return reader
