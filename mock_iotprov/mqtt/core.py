"""The broker's shared state on its event loop: sessions, the subscription index, retained messages,
routing, client-id takeover, keep-alive sweeping, and the calls into :class:`~.hooks.BrokerHooks`.

Hooks that may block (``admit``, ``reserved``, ``connected``, ``disconnected``) run on a thread pool so one
slow hook (a pre-provisioning Lambda has up to 5 s) never stalls other connections; ``authorize`` is called
on the loop's thread, for every publish, subscription and delivery, and must be fast. A hook that raises
is treated as refusing (``authorize`` False, ``admit`` not authorized, ``reserved`` no replies and the
request not routed).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from . import hooks as h
from .limits import BrokerLimits
from .properties import Properties
from .retained import RetainedStore
from .session import Message, Pending, SessionState
from .topics import SubscriptionIndex, topic_matches

if TYPE_CHECKING:
    from .connection import Connection

LOG = logging.getLogger("mock_iotprov.mqtt")
T = TypeVar("T")


def outbound_to_message(message: h.OutboundMessage) -> Message:
    props = Properties(user_properties=tuple(message.user_properties))
    return Message(message.topic, message.payload, min(message.qos, 1), message.retain, props)


class BrokerCore:
    def __init__(self, hooks: h.BrokerHooks, limits: BrokerLimits, loop: asyncio.AbstractEventLoop) -> None:
        self.hooks = hooks
        self.limits = limits
        self.loop = loop
        self.executor = ThreadPoolExecutor(max_workers=limits.hook_threads, thread_name_prefix="mqtt-hook")
        self.sessions: dict[str, SessionState] = {}
        self.index: SubscriptionIndex[SessionState] = SubscriptionIndex()
        self.retained = RetainedStore(limits.max_retained_messages)
        self.connections: set[Connection] = set()
        self.active: dict[str, Connection] = {}
        self.active_lock = threading.Lock()
        self.background: set[asyncio.Future[Any]] = set()
        self._presence_tail: dict[str, asyncio.Future[Any]] = {}

    # -- hooks -----------------------------------------------------------------------------------------

    async def call_hook(self, default: T, function: Callable[..., T], *args: Any) -> T:
        try:
            return await self.loop.run_in_executor(self.executor, function, *args)
        except Exception:  # a failing hook answers the refusing outcome
            LOG.exception("broker hook %s failed", getattr(function, "__name__", function))
            return default

    def authorize(self, principal: Any, client_id: str, action: str, resource: str) -> bool:
        try:
            return bool(self.hooks.authorize(principal, client_id, action, resource))
        except Exception:
            LOG.exception("broker hook authorize failed")
            return False

    def spawn_presence(
        self, client_id: str, function: Callable[..., Sequence[h.OutboundMessage]], *args: Any
    ) -> None:
        """Call a presence hook in the background and publish what it returns. The presence hooks of one
        client id run one after another, in the order the events happened (a takeover's disconnect of
        the old connection before the connect of the new one)."""
        previous = self._presence_tail.get(client_id)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            nothing: Sequence[h.OutboundMessage] = ()
            for message in await self.call_hook(nothing, function, *args):
                self.publish_server_message(outbound_to_message(message))

        task = self.loop.create_task(run())
        self._presence_tail[client_id] = task
        self.background.add(task)

        def done(finished: asyncio.Future[Any]) -> None:
            self.background.discard(finished)
            if self._presence_tail.get(client_id) is finished:
                del self._presence_tail[client_id]

        task.add_done_callback(done)

    # -- sessions --------------------------------------------------------------------------------------

    def attach(self, connection: Connection, clean_start: bool) -> tuple[SessionState, bool]:
        """Bind ``connection`` to its client id's session, taking over any connection using that id."""
        client_id = connection.client_id
        previous = self.active.get(client_id)
        if previous is not None and previous is not connection:
            previous.kick("DUPLICATE_CLIENTID", 0x8E)
            previous.end_session()
        session = self.sessions.get(client_id)
        now = time.monotonic()
        if session is not None and (clean_start or session.is_expired(now) or not session.persistent):
            self.discard_session(session)
            session = None
        present = session is not None
        if session is None:
            session = SessionState(client_id)
            self.sessions[client_id] = session
        session.connection = connection
        session.disconnected_at = None
        with self.active_lock:
            self.active[client_id] = connection
        return session, present

    def _release(self, connection: Connection) -> None:
        session = connection.session
        if session is None or session.connection is not connection:
            return
        session.connection = None
        session.disconnected_at = time.monotonic()
        with self.active_lock:
            if self.active.get(connection.client_id) is connection:
                del self.active[connection.client_id]
        if not session.persistent or session.expiry_seconds <= 0:
            self.discard_session(session)

    def detach(self, connection: Connection) -> None:
        self._release(connection)

    def discard_session(self, session: SessionState) -> None:
        self.index.remove_all(session, list(session.subscriptions))
        session.subscriptions.clear()
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]

    def connected_clients(self) -> list[str]:
        with self.active_lock:
            return sorted(self.active)

    # -- routing ---------------------------------------------------------------------------------------

    def route(self, message: Message) -> None:
        """Deliver ``message`` to every matching subscription whose client may receive it."""
        for session, qos in self.index.match(message.topic).items():
            retain = False
            if session.connection is not None and session.connection.has_subscription_options:
                options = [sub for f, sub in session.subscriptions.items() if topic_matches(f, message.topic)]
                if message.publisher == session.client_id and all(sub.no_local for sub in options):
                    continue
                retain = message.retain and any(sub.retain_as_published for sub in options)
            if not self.authorize(session.principal, session.client_id, h.RECEIVE, message.topic):
                continue
            self.deliver(session, message, min(qos, message.qos), retain)

    def deliver(self, session: SessionState, message: Message, qos: int, retain: bool) -> None:
        connection = session.connection
        if connection is not None:
            connection.send_message(message, qos, retain)
        elif session.persistent and qos == 1:
            session.enqueue(Pending(message, qos, retain), self.limits.max_queued_messages)

    def publish_server_message(self, message: Message) -> None:
        if message.retain:
            self.retained.store(message)
        self.route(message)

    # -- keep-alive and expiry -------------------------------------------------------------------------

    def sweep(self) -> None:
        now = time.monotonic()
        for connection in list(self.connections):
            connection.check_keep_alive(now)
        for session in list(self.sessions.values()):
            if session.is_expired(now):
                self.discard_session(session)
