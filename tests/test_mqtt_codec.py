"""The MQTT codec: every packet round-trips on both protocol levels, malformed input is refused with the
codec's own errors, and the incremental decoder is bounded."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_iotprov.mqtt import codec
from mock_iotprov.mqtt import packets as p
from mock_iotprov.mqtt.properties import Properties
from mock_iotprov.mqtt.wire import (
    MalformedPacket,
    MqttCodecError,
    PacketTooLarge,
    ProtocolError,
    Reader,
    UnsupportedProtocolVersion,
    encode_varint,
)

V5_PROPS = Properties(
    payload_format_indicator=1,
    message_expiry_interval=60,
    content_type="application/json",
    response_topic="reply/here",
    correlation_data=b"\x00\x01",
    user_properties=(("a", "1"), ("a", "2")),
)

ROUND_TRIP = [
    p.Publish("a/b", b"payload", 0),
    p.Publish("a/b", b"", 1, retain=True, dup=True, packet_id=7),
    p.PubAck(7),
    p.Subscribe(3, (p.SubscriptionRequest("a/+", 1), p.SubscriptionRequest("#", 0))),
    p.SubAck(3, (1, 0x80)),
    p.Unsubscribe(4, ("a/+", "b")),
    p.PingReq(),
    p.PingResp(),
    p.Disconnect(),
    p.ConnAck(0, True),
]

ROUND_TRIP_V5 = [
    p.Publish("a/b", b"x", 1, packet_id=9, properties=V5_PROPS.replace(topic_alias=3)),
    p.PubAck(9, 0x87, Properties(reason_string="not authorized")),
    p.Subscribe(
        5,
        (p.SubscriptionRequest("a/#", 1, no_local=True, retain_as_published=True, retain_handling=2),),
        Properties(user_properties=(("k", "v"),)),
    ),
    p.SubAck(5, (0x87, 1), Properties(reason_string="x")),
    p.Unsubscribe(6, ("a/#",)),
    p.UnsubAck(6, (0x00, 0x11)),
    p.Disconnect(0x8E, Properties(reason_string="taken over")),
    p.ConnAck(
        0x87,
        False,
        Properties(
            maximum_qos=1, topic_alias_maximum=8, server_keep_alive=30, assigned_client_identifier="c"
        ),
    ),
]


def decode_one(data: bytes, level: int) -> p.Packet:
    packets = codec.PacketDecoder(1 << 20, level).feed(data)
    assert len(packets) == 1
    return packets[0]


@pytest.mark.parametrize("packet", ROUND_TRIP, ids=lambda packet: type(packet).__name__)
@pytest.mark.parametrize("level", [p.MQTT_311, p.MQTT_5])
def test_packets_round_trip(packet: p.Packet, level: int) -> None:
    assert decode_one(codec.encode(packet, level), level) == packet


@pytest.mark.parametrize("packet", ROUND_TRIP_V5, ids=lambda packet: type(packet).__name__)
def test_v5_packets_with_properties_and_reason_codes_round_trip(packet: p.Packet) -> None:
    assert decode_one(codec.encode(packet, p.MQTT_5), p.MQTT_5) == packet


def test_311_unsuback_carries_no_reason_codes() -> None:
    assert codec.encode(p.UnsubAck(6, (0x11,)), p.MQTT_311) == b"\xb0\x02\x00\x06"


@pytest.mark.parametrize("level", [p.MQTT_311, p.MQTT_5])
def test_connect_round_trips_through_a_server_decoder(level: int) -> None:
    props = Properties(session_expiry_interval=60, receive_maximum=10) if level == p.MQTT_5 else Properties()
    will_props = Properties(will_delay_interval=5, content_type="t") if level == p.MQTT_5 else Properties()
    connect = p.Connect(
        "device-1",
        level,
        clean_start=False,
        keep_alive=45,
        username="user?SDK=Python",
        password=b"secret",
        will=p.Will("last/will", b"gone", 1, True, will_props),
        properties=props,
    )
    decoder = codec.PacketDecoder(1 << 20)
    assert decoder.feed(codec.encode(connect, level)) == [connect]
    assert decoder.protocol_level == level


def test_decoder_reassembles_packets_split_at_every_byte() -> None:
    stream = b"".join(codec.encode(packet, p.MQTT_5) for packet in ROUND_TRIP_V5)
    decoder = codec.PacketDecoder(1 << 20, p.MQTT_5)
    out = []
    for index in range(len(stream)):
        out.extend(decoder.feed(stream[index : index + 1]))
    assert out == ROUND_TRIP_V5


def test_varint_boundaries() -> None:
    for value, encoded in [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (268_435_455, b"\xff\xff\xff\x7f"),
    ]:
        assert encode_varint(value) == encoded
        assert Reader(encoded).varint() == value
    with pytest.raises(ValueError):
        encode_varint(268_435_456)


def test_remaining_length_of_five_bytes_is_malformed() -> None:
    with pytest.raises(MalformedPacket):
        codec.PacketDecoder(1 << 20, p.MQTT_311).feed(b"\x30\xff\xff\xff\xff\x01")


def test_oversized_packet_refused_from_its_header_alone() -> None:
    decoder = codec.PacketDecoder(1000, p.MQTT_311)
    header = b"\x30" + encode_varint(5000)
    with pytest.raises(PacketTooLarge):
        decoder.feed(header)  # no body sent: refused before anything is buffered
    with pytest.raises(PacketTooLarge):
        decoder.feed(b"more")  # and the decoder stays refused


def test_string_with_nul_or_bad_utf8_is_malformed() -> None:
    for topic_bytes in (b"a\x00b", b"\xff\xfe", b"\xed\xa0\x80"):  # NUL, invalid, a UTF-16 surrogate
        body = len(topic_bytes).to_bytes(2, "big") + topic_bytes
        with pytest.raises(MalformedPacket):
            codec.PacketDecoder(1 << 20, p.MQTT_311).feed(b"\x30" + encode_varint(len(body)) + body)


@pytest.mark.parametrize(
    "data, error",
    [
        (b"\x82\x02\x00\x01", ProtocolError),  # SUBSCRIBE without a filter
        (b"\x80\x06\x00\x01\x00\x01a\x01", MalformedPacket),  # SUBSCRIBE with wrong fixed-header flags
        (b"\x82\x06\x00\x01\x00\x01a\x03", MalformedPacket),  # QoS 3 subscription
        (b"\x82\x06\x00\x01\x00\x01a\x04", MalformedPacket),  # 3.1.1 reserved option bits
        (b"\x36\x05\x00\x01a\x00\x01", MalformedPacket),  # PUBLISH QoS 3
        (b"\x38\x03\x00\x01a", MalformedPacket),  # DUP on QoS 0
        (b"\x32\x05\x00\x01a\x00\x00", MalformedPacket),  # packet identifier 0
        (b"\x50\x02\x00\x01", ProtocolError),  # PUBREC: no QoS 2 on AWS IoT
        (b"\x62\x02\x00\x01", ProtocolError),  # PUBREL
        (b"\xf0\x00", ProtocolError),  # AUTH
        (b"\x10\x00", ProtocolError),  # a second CONNECT
        (b"\xc0\x01\x00", MalformedPacket),  # PINGREQ with a body
        (b"\xe0\x01\x00", MalformedPacket),  # 3.1.1 DISCONNECT with a body
    ],
)
def test_malformed_and_forbidden_packets(data: bytes, error: type[MqttCodecError]) -> None:
    with pytest.raises(error):
        codec.PacketDecoder(1 << 20, p.MQTT_311).feed(data)


def test_v5_property_rules() -> None:
    decoder = codec.PacketDecoder(1 << 20, p.MQTT_5)
    # PUBLISH with a Session Expiry Interval property (not allowed in PUBLISH)
    with pytest.raises(ProtocolError):
        decoder.feed(b"\x30\x09\x00\x01a\x05\x11\x00\x00\x00\x01")
    # PUBLISH with the topic alias given twice
    with pytest.raises(ProtocolError):
        codec.PacketDecoder(1 << 20, p.MQTT_5).feed(b"\x30\x0a\x00\x01a\x06\x23\x00\x01\x23\x00\x02")
    # unknown property identifier
    with pytest.raises(MalformedPacket):
        codec.PacketDecoder(1 << 20, p.MQTT_5).feed(b"\x30\x05\x00\x01a\x01\x7f")
    # property block longer than the packet
    with pytest.raises(MalformedPacket):
        codec.PacketDecoder(1 << 20, p.MQTT_5).feed(b"\x30\x05\x00\x01a\x09\x01")


def test_connect_validation() -> None:
    def connect_bytes(name: bytes, level: int, flags: int) -> bytes:
        body = len(name).to_bytes(2, "big") + name + bytes((level, flags)) + b"\x00\x3c\x00\x01c"
        return b"\x10" + encode_varint(len(body)) + body

    with pytest.raises(UnsupportedProtocolVersion):
        codec.PacketDecoder(1 << 20).feed(connect_bytes(b"MQIsdp", 3, 2))
    with pytest.raises(UnsupportedProtocolVersion):
        codec.PacketDecoder(1 << 20).feed(connect_bytes(b"MQTT", 6, 2))
    with pytest.raises(MalformedPacket):
        codec.PacketDecoder(1 << 20).feed(connect_bytes(b"MQTT", 4, 3))  # reserved flag
    with pytest.raises(MalformedPacket):
        codec.PacketDecoder(1 << 20).feed(connect_bytes(b"MQTT", 4, 0x12))  # will QoS without will flag
    with pytest.raises(MalformedPacket):
        codec.PacketDecoder(1 << 20).feed(connect_bytes(b"MQTT", 4, 0x42))  # password without user name
    with pytest.raises(ProtocolError):
        codec.PacketDecoder(1 << 20).feed(b"\xc0\x00")  # the first packet must be CONNECT


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    level=st.sampled_from([None, p.MQTT_311, p.MQTT_5]),
    chunks=st.lists(st.binary(max_size=64), max_size=8),
)
def test_fuzz_decoder_raises_only_codec_errors_and_stays_bounded(
    level: int | None, chunks: list[bytes]
) -> None:
    decoder = codec.PacketDecoder(256, level)
    for chunk in chunks:
        try:
            decoder.feed(chunk)
        except MqttCodecError:
            return
        assert len(decoder._buffer) <= 256 + 64


@settings(max_examples=300, deadline=None)
@given(
    packet=st.sampled_from(ROUND_TRIP_V5 + ROUND_TRIP),
    position=st.integers(min_value=0, max_value=200),
    value=st.integers(min_value=0, max_value=255),
)
def test_fuzz_mutated_valid_packets(packet: p.Packet, position: int, value: int) -> None:
    data = bytearray(codec.encode(packet, p.MQTT_5))
    data[position % len(data)] = value
    try:
        codec.PacketDecoder(1 << 16, p.MQTT_5).feed(bytes(data))
    except MqttCodecError:
        pass
