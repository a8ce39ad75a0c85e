"""The MQTT control packets the broker reads and writes (MQTT 3.1.1 and 5), as plain values.

QoS 2 (PUBREC/PUBREL/PUBCOMP) and AUTH are not modelled: AWS IoT Core supports neither, so the decoder
reports them as protocol errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .properties import NO_PROPERTIES, Properties

MQTT_311 = 4
MQTT_5 = 5

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = 8, 9, 10, 11, 12, 13, 14, 15


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True)
class Connect:
    client_id: str
    protocol_level: int = MQTT_311
    clean_start: bool = True
    keep_alive: int = 0
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True)
class ConnAck:
    reason_code: int = 0
    """The MQTT 5 reason code, or the MQTT 3.1.1 return code on a 3.1.1 connection."""
    session_present: bool = False
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True)
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int | None = None
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True)
class PubAck:
    packet_id: int
    reason_code: int = 0
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True)
class SubscriptionRequest:
    topic_filter: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


@dataclass(frozen=True)
class Subscribe:
    packet_id: int
    subscriptions: tuple[SubscriptionRequest, ...]
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True)
class SubAck:
    packet_id: int
    reason_codes: tuple[int, ...]
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True)
class Unsubscribe:
    packet_id: int
    topic_filters: tuple[str, ...]
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True)
class UnsubAck:
    packet_id: int
    reason_codes: tuple[int, ...] = field(default=())
    """Empty on MQTT 3.1.1, whose UNSUBACK carries none."""
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True)
class PingReq:
    pass


@dataclass(frozen=True)
class PingResp:
    pass


@dataclass(frozen=True)
class Disconnect:
    reason_code: int = 0
    properties: Properties = NO_PROPERTIES


Packet = Union[
    Connect, ConnAck, Publish, PubAck, Subscribe, SubAck, Unsubscribe, UnsubAck, PingReq, PingResp, Disconnect
]
