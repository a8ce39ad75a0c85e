"""Topic rules, AWS IoT's topic limits, wildcard matching and the subscription index."""

from __future__ import annotations

import pytest

from mock_iotprov.mqtt.topics import (
    SubscriptionIndex,
    TopicError,
    topic_matches,
    validate_topic_filter,
    validate_topic_name,
)

MATCHES = [
    ("a/b", "a/b", True),
    ("a/b", "a/c", False),
    ("a/+", "a/b", True),
    ("a/+", "a/b/c", False),
    ("a/+", "a", False),
    ("a/+", "a/", True),
    ("+/+", "/a", True),
    ("a/#", "a", True),
    ("a/#", "a/b/c", True),
    ("a/#", "ab", False),
    ("#", "a/b", True),
    ("#", "/", True),
    ("+", "a", True),
    ("+", "a/b", False),
    ("a/+/c", "a/x/c", True),
    ("a/+/c", "a/x/d", False),
    ("#", "$aws/things/t/shadow/update", False),
    ("+/things/#", "$aws/things/t", False),
    ("$aws/#", "$aws/things/t", True),
    ("$aws/+/t", "$aws/things/t", True),
    ("A/b", "a/b", False),
]


@pytest.mark.parametrize("topic_filter, topic, expected", MATCHES)
def test_topic_matching(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add(topic_filter, "client", 1)
    assert (index.match(topic) == {"client": 1}) is expected


@pytest.mark.parametrize("name", ["a/b", "/", "a" * 256, "/".join("a" * 8), "$aws/rules/r/" + "a/" * 7 + "b"])
def test_valid_topic_names(name: str) -> None:
    validate_topic_name(name)


@pytest.mark.parametrize(
    "name",
    ["", "a/+", "a/#", "a\x00b", "a" * 257, "/".join("a" * 9), "é" * 129],
)
def test_invalid_topic_names(name: str) -> None:
    with pytest.raises(TopicError):
        validate_topic_name(name)


@pytest.mark.parametrize("topic_filter", ["#", "+", "a/+/b", "a/#", "+/+/#", "$aws/things/+/shadow/#"])
def test_valid_filters(topic_filter: str) -> None:
    validate_topic_filter(topic_filter)


@pytest.mark.parametrize(
    "topic_filter", ["", "a/#/b", "a#", "a/b#", "a+/b", "a/+b", "#/a", "a" * 257, "/".join("+" * 9)]
)
def test_invalid_filters(topic_filter: str) -> None:
    with pytest.raises(TopicError):
        validate_topic_filter(topic_filter)


def test_index_reports_each_subscriber_once_with_its_highest_qos() -> None:
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add("a/#", "one", 0)
    index.add("a/b", "one", 1)
    index.add("+/b", "two", 0)
    index.add("c", "three", 1)
    assert index.match("a/b") == {"one": 1, "two": 0}
    index.remove("a/b", "one")
    assert index.match("a/b") == {"one": 0, "two": 0}
    index.remove_all("one", ["a/#"])
    index.remove("+/b", "two")
    assert index.match("a/b") == {}
    assert index._root.children.keys() == {"c"}  # emptied branches are pruned


def test_index_keeps_the_dollar_rule_at_the_first_level_only() -> None:
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add("#", "all", 0)
    index.add("$aws/#", "aws", 0)
    index.add("$aws/+/x", "plus", 1)
    assert index.match("$aws/things/x") == {"aws": 0, "plus": 1}
    assert index.match("things/x") == {"all": 0}
