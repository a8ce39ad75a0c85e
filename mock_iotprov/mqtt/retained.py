"""Retained messages: the last retained message of each topic, delivered to each new matching subscription.

AWS IoT Core keeps retained messages (publishing one needs ``iot:RetainPublish`` besides ``iot:Publish``);
a retained publish with an empty payload deletes the topic's retained message. The store holds at most
``limit`` topics; past that, new topics are not retained (the message is still delivered).
"""

from __future__ import annotations

from .session import Message
from .topics import topic_matches


class RetainedStore:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._messages: dict[str, Message] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def store(self, message: Message) -> bool:
        """Keep (or, for an empty payload, delete) the topic's retained message; False when full."""
        if not message.payload:
            self._messages.pop(message.topic, None)
            return True
        if message.topic not in self._messages and len(self._messages) >= self._limit:
            return False
        self._messages[message.topic] = message
        return True

    def matching(self, topic_filter: str, now: float) -> list[Message]:
        """The unexpired retained messages whose topics ``topic_filter`` matches."""
        found = []
        for topic, message in list(self._messages.items()):
            if message.expired(now):
                del self._messages[topic]
            elif topic_matches(topic_filter, topic):
                found.append(message)
        return found
