"""Topic names, topic filters and the subscription index (pure, no I/O).

MQTT rules: a topic name has no wildcard; in a filter ``+`` fills one whole level and ``#`` is the whole
last level; a filter whose first level is a wildcard never matches a topic starting with ``$`` (so ``#``
does not see ``$aws/…``).

AWS IoT Core limits reproduced (its "message broker and protocol limits" quotas), for topic names and
filters alike:

* at most 256 bytes of UTF-8;
* at most 7 forward slashes (8 levels).

Both are counted after the Basic Ingest prefix ``$aws/rules/<rule-name>/``, which AWS excludes. Shared
subscriptions (``$share/…``) are not supported by the mock (MQTT 5 CONNACK says so).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

MAX_TOPIC_BYTES = 256
MAX_TOPIC_SLASHES = 7
BASIC_INGEST_PREFIX = "$aws/rules/"


class TopicError(ValueError):
    """A topic name or filter that MQTT or AWS IoT refuses."""


def _counted_part(topic: str) -> str:
    if topic.lower().startswith(BASIC_INGEST_PREFIX.lower()):
        rest = topic[len(BASIC_INGEST_PREFIX) :]
        _, slash, tail = rest.partition("/")
        return tail if slash else ""
    return topic


def _check_common(topic: str, what: str) -> None:
    if not topic:
        raise TopicError(f"{what} is empty")
    if "\x00" in topic:
        raise TopicError(f"{what} contains U+0000")
    counted = _counted_part(topic)
    if len(counted.encode("utf-8")) > MAX_TOPIC_BYTES:
        raise TopicError(f"{what} is longer than {MAX_TOPIC_BYTES} bytes")
    if counted.count("/") > MAX_TOPIC_SLASHES:
        raise TopicError(f"{what} has more than {MAX_TOPIC_SLASHES} forward slashes")


def validate_topic_name(topic: str) -> None:
    """Raise :class:`TopicError` unless ``topic`` may be published to."""
    _check_common(topic, "topic name")
    if "+" in topic or "#" in topic:
        raise TopicError("topic name contains a wildcard")


def validate_topic_filter(topic_filter: str) -> None:
    """Raise :class:`TopicError` unless ``topic_filter`` may be subscribed to."""
    _check_common(topic_filter, "topic filter")
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise TopicError("'#' must be the whole last level of a topic filter")
        if "+" in level and level != "+":
            raise TopicError("'+' must fill a whole level of a topic filter")


def is_shared_subscription(topic_filter: str) -> bool:
    return topic_filter.startswith("$share/")


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic_filter`` (valid) matches ``topic`` (valid)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)


K = TypeVar("K", bound=Hashable)


class _Node(Generic[K]):
    __slots__ = ("children", "subscribers")

    def __init__(self) -> None:
        self.children: dict[str, _Node[K]] = {}
        self.subscribers: dict[K, int] = {}


class SubscriptionIndex(Generic[K]):
    """Which subscribers' filters match a topic: a trie on topic levels, with the QoS of each subscription.

    A subscriber with several matching filters is reported once, with the highest QoS among them (the
    MQTT 5 §3.3.4 option the mock takes; a message is delivered once per client).
    """

    def __init__(self) -> None:
        self._root: _Node[K] = _Node()

    def add(self, topic_filter: str, subscriber: K, qos: int) -> None:
        node = self._root
        for level in topic_filter.split("/"):
            node = node.children.setdefault(level, _Node())
        node.subscribers[subscriber] = qos

    def remove(self, topic_filter: str, subscriber: K) -> None:
        path: list[tuple[_Node[K], str]] = []
        node = self._root
        for level in topic_filter.split("/"):
            child = node.children.get(level)
            if child is None:
                return
            path.append((node, level))
            node = child
        node.subscribers.pop(subscriber, None)
        for parent, level in reversed(path):
            child = parent.children[level]
            if child.subscribers or child.children:
                break
            del parent.children[level]

    def remove_all(self, subscriber: K, topic_filters: Iterable[str]) -> None:
        for topic_filter in topic_filters:
            self.remove(topic_filter, subscriber)

    def match(self, topic: str) -> dict[K, int]:
        """Every subscriber with a filter matching ``topic``, with its highest QoS."""
        found: dict[K, int] = {}
        levels = topic.split("/")
        dollar = topic.startswith("$")

        def collect(subscribers: dict[K, int]) -> None:
            for subscriber, qos in subscribers.items():
                if found.get(subscriber, -1) < qos:
                    found[subscriber] = qos

        def walk(node: _Node[K], index: int) -> None:
            wild = not (dollar and index == 0)
            if wild:
                hash_node = node.children.get("#")
                if hash_node is not None:
                    collect(hash_node.subscribers)
            if index == len(levels):
                collect(node.subscribers)
                return
            exact = node.children.get(levels[index])
            if exact is not None:
                walk(exact, index + 1)
            if wild:
                plus = node.children.get("+")
                if plus is not None:
                    walk(plus, index + 1)

        walk(self._root, 0)
        return found
