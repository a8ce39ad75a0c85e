"""SUBSCRIBE and UNSUBSCRIBE on a session: which filters are granted, with which reason codes.

Per filter, in order: beyond the 8th filter of one SUBSCRIBE, or past 50 subscriptions on the connection,
"quota exceeded" (v5 0x97); a shared subscription (``$share/…``), "not supported" (v5 0x9E); an invalid
filter (MQTT syntax or AWS's topic limits), "topic filter invalid" (v5 0x8F); a filter the hooks do not let
the client ``iot:Subscribe``, "not authorized" (v5 0x87). MQTT 3.1.1 has one failure code, 0x80. A granted
QoS 2 request gets QoS 1 (AWS IoT Core has no QoS 2). UNSUBACK says, on MQTT 5, whether a subscription
existed (0x00) or not (0x11).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import packets as p
from .limits import BrokerLimits
from .session import SessionState, Subscription
from .topics import SubscriptionIndex, TopicError, is_shared_subscription, validate_topic_filter

QUOTA_EXCEEDED, SHARED_NOT_SUPPORTED, FILTER_INVALID, NOT_AUTHORIZED = 0x97, 0x9E, 0x8F, 0x87
NO_SUBSCRIPTION_EXISTED = 0x11


@dataclass(frozen=True)
class Granted:
    reason_codes: tuple[int, ...]
    retained_wanted: tuple[tuple[str, int], ...]
    """The granted filters (with their QoS) whose retained messages are to be sent now."""


def _refusal(
    request: p.SubscriptionRequest,
    position: int,
    existed: bool,
    session: SessionState,
    limits: BrokerLimits,
    may_subscribe: Callable[[str], bool],
) -> int | None:
    topic_filter = request.topic_filter
    if position >= limits.max_filters_per_subscribe:
        return QUOTA_EXCEEDED
    if is_shared_subscription(topic_filter):
        return SHARED_NOT_SUPPORTED
    try:
        validate_topic_filter(topic_filter)
    except TopicError:
        return FILTER_INVALID
    if not existed and len(session.subscriptions) >= limits.max_subscriptions_per_connection:
        return QUOTA_EXCEEDED
    if not may_subscribe(topic_filter):
        return NOT_AUTHORIZED
    return None


def subscribe(
    packet: p.Subscribe,
    session: SessionState,
    index: SubscriptionIndex[SessionState],
    limits: BrokerLimits,
    may_subscribe: Callable[[str], bool],
    v5: bool,
) -> Granted:
    """Add the subscriptions ``packet`` asks for that may be granted, to ``session`` and ``index``."""
    codes: list[int] = []
    retained: list[tuple[str, int]] = []
    for position, request in enumerate(packet.subscriptions):
        topic_filter = request.topic_filter
        existed = topic_filter in session.subscriptions
        refusal = _refusal(request, position, existed, session, limits, may_subscribe)
        if refusal is not None:
            codes.append(refusal if v5 else 0x80)
            continue
        qos = min(request.qos, 1)
        session.subscriptions[topic_filter] = Subscription(qos, request.no_local, request.retain_as_published)
        index.add(topic_filter, session, qos)
        codes.append(qos)
        if request.retain_handling == 0 or (request.retain_handling == 1 and not existed):
            retained.append((topic_filter, qos))
    return Granted(tuple(codes), tuple(retained))


def unsubscribe(
    packet: p.Unsubscribe, session: SessionState, index: SubscriptionIndex[SessionState]
) -> tuple[int, ...]:
    """Remove the subscriptions named; the MQTT 5 reason code of each."""
    codes = []
    for topic_filter in packet.topic_filters:
        existed = session.subscriptions.pop(topic_filter, None) is not None
        if existed:
            index.remove(topic_filter, session)
        codes.append(0x00 if existed else NO_SUBSCRIPTION_EXISTED)
    return tuple(codes)
