"""The MQTT broker's public face: start, stop, publish from the server side, list connected clients.

Usage (every method is thread-safe)::

    broker = MqttBroker("127.0.0.1", 0, certificate_chain_pem=chain, private_key_pem=key, hooks=hooks)
    port = broker.start()                 # binds (0 = a free port), returns the bound port
    broker.publish(OutboundMessage("a/b", b"{}", qos=1))   # routed like any publish (iot:Receive applies)
    broker.connected_clients()            # client ids of the connections CONNACKed and still open
    broker.stop()                         # disconnects everyone (v5: DISCONNECT 0x8B); idempotent

The broker runs its own asyncio event loop on a daemon thread and holds thousands of connections;
``certificate_chain_pem`` is the server certificate followed by its intermediates, ``private_key_pem`` its
key (the broker creates no PKI). Clients must present a certificate, which the TLS layer accepts whatever
it is: :meth:`~.hooks.BrokerHooks.admit` decides at CONNECT (see :mod:`.tls`). AWS IoT Core's limits and
its differences from the MQTT specifications are in :mod:`.limits`; protocol details in :mod:`.connection`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

from .connection import Connection
from .core import BrokerCore, outbound_to_message
from .hooks import BrokerHooks, OutboundMessage
from .limits import BrokerLimits
from .tls import TlsStream, server_context
from .topics import validate_topic_name

__all__ = ["BrokerLimits", "MqttBroker"]


class MqttBroker:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        certificate_chain_pem: str,
        private_key_pem: str,
        hooks: BrokerHooks,
        limits: BrokerLimits | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.hooks = hooks
        self.limits = limits or BrokerLimits()
        self._context = server_context(certificate_chain_pem, private_key_pem)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._core: BrokerCore | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> int:
        """Bind and serve; returns the bound port. Starting a running broker returns its port."""
        with self._lock:
            if self._thread is not None:
                return self.port
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            failure: list[BaseException] = []

            def serve() -> None:
                asyncio.set_event_loop(loop)
                try:
                    loop.run_until_complete(self._open())
                except BaseException as error:  # reported to start()'s caller
                    failure.append(error)
                    ready.set()
                    return
                ready.set()
                loop.run_forever()
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

            self._loop = loop
            thread = threading.Thread(target=serve, name=f"mqtt-broker-{self.host}", daemon=True)
            thread.start()
            ready.wait()
            if failure:
                thread.join()
                loop.close()
                self._loop = None
                raise failure[0]
            self._thread = thread
            return self.port

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self._core = BrokerCore(self.hooks, self.limits, loop)
        self._server = await asyncio.start_server(self._on_client, self.host, self.port, backlog=2048)
        sockets = self._server.sockets
        self.port = sockets[0].getsockname()[1]
        self._tasks.add(loop.create_task(self._sweep_forever()))

    def stop(self, timeout: float = 10.0) -> None:
        """Disconnect every client and stop serving. Safe to call more than once, from any thread."""
        with self._lock:
            thread, loop = self._thread, self._loop
            if thread is None or loop is None:
                return
            future = asyncio.run_coroutine_threadsafe(self._close(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._thread = self._loop = None
            if self._core is not None:
                self._core.executor.shutdown(wait=False, cancel_futures=True)

    async def _close(self) -> None:
        core = self._core
        if self._server is not None:
            self._server.close()
        if core is not None:
            for connection in list(core.connections):
                connection.kick("SERVER_INITIATED_DISCONNECT", 0x8B)
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            if task.get_name() == "mqtt-sweep":
                task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for task in tasks:
            task.cancel()
        if core is not None and core.background:
            await asyncio.wait(list(core.background), timeout=5)

    def __enter__(self) -> MqttBroker:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- connections -----------------------------------------------------------------------------------

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        core = self._core
        assert core is not None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer: Any = writer.get_extra_info("peername")
        source = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "")
        connection = Connection(core, TlsStream(self._context, reader, writer), source)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await connection.run()
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _sweep_forever(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.set_name("mqtt-sweep")
        interval = min(1.0, self.limits.min_keep_alive / 4)
        while True:
            await asyncio.sleep(interval)
            if self._core is not None:
                self._core.sweep()

    # -- server-side API -------------------------------------------------------------------------------

    def publish(self, message: OutboundMessage) -> None:
        """Publish ``message`` as the server (presence events, registry events): delivered to every
        matching subscription whose client may ``iot:Receive`` it; a retained message is kept."""
        validate_topic_name(message.topic)
        loop, core = self._loop, self._core
        if loop is None or core is None:
            raise RuntimeError("the MQTT broker is not running")
        loop.call_soon_threadsafe(core.publish_server_message, outbound_to_message(message))

    def connected_clients(self) -> list[str]:
        """The client ids connected now (CONNACK sent, connection open), sorted."""
        core = self._core
        return core.connected_clients() if core is not None and self._thread is not None else []
