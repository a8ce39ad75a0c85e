"""Durability with group commit: a request that changed state is answered only once its change is on disk.

The request's thread calls :meth:`Journal.changed` while it still holds the store's lock (the change is
complete) and gets a ticket; after releasing the lock it calls :meth:`Journal.wait`. One writer thread
takes every store changed since its last round, encodes each under that store's lock (a consistent view
between two requests), writes them all in one SQLite transaction and only then releases the tickets the
round covers. Many concurrent requests therefore share one fsync, and nothing is acknowledged early.

A ``kill -9`` at any moment leaves the database at the last committed round: every acknowledged change is
in it, and no request is ever half in it (a store is encoded whole, between two requests). If the disk
write fails, the waiting requests get ``InternalFailureException`` and the error is logged; the in-memory
state keeps the change (it cannot be undone), and the next round writes it again.

Work done outside a request (a bulk registration task's lines, in its background thread) is saved with
the next acknowledged change of its account and region, and at a clean shutdown.

Cost: each round re-encodes every changed (account, region) whole, so a write costs in proportion to the
size of that account and region's registry; that suits local development registries (thousands of
objects), not millions.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from mock_iotprov.persistence.codec import encode
from mock_iotprov.persistence.database import StateDatabase, StoreKey
from mock_iotprov.protocol.errors import internal_failure

if TYPE_CHECKING:
    from mock_iotprov.state import Backend, Store

log = logging.getLogger("mock_iotprov.persistence")

_RETRY_SECONDS = 0.5


class Journal:
    """The write-behind-but-acknowledge-after writer of one backend's state database."""

    def __init__(self, database: StateDatabase, backend: Backend) -> None:
        self.database = database
        self._backend = backend
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the writer waits here for changes
        self._done = threading.Condition(self._lock)  # requests wait here for their round
        self._dirty: dict[StoreKey, Store] = {}
        self._clear_pending = False
        self._issued = 0
        self._durable = 0
        self._failed_upto = 0
        self._failure = ""
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mock_iotprov-journal", daemon=True)
        self._thread.start()

    def changed(self, store: Store) -> int:
        """Note that ``store`` changed (call with its lock held); returns the ticket to :meth:`wait` on."""
        with self._lock:
            self._issued += 1
            self._dirty[(store.account_id, store.region)] = store
            self._work.notify()
            return self._issued

    def cleared(self) -> int:
        """Note that every store was dropped (a reset); returns the ticket to :meth:`wait` on."""
        with self._lock:
            self._issued += 1
            self._dirty.clear()
            self._clear_pending = True
            self._work.notify()
            return self._issued

    def wait(self, ticket: int) -> None:
        """Block until the change behind ``ticket`` is on disk; ``ServiceError`` if writing it failed."""
        with self._lock:
            while self._durable < ticket and self._failed_upto < ticket and not self._closed:
                self._done.wait()
            if self._durable >= ticket:
                return
            message = self._failure or "the mock_iotprov state database is closed"
        raise internal_failure(f"The change could not be saved to disk: {message}")

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._dirty and not self._clear_pending and not self._closed:
                    self._work.wait()
                if self._closed and not self._dirty and not self._clear_pending:
                    return
                dirty, self._dirty = self._dirty, {}
                clear_first, self._clear_pending = self._clear_pending, False
                upto = self._issued
            try:
                self.database.write(self._encoded(dirty), clear_first=clear_first)
            except Exception as exc:  # noqa: BLE001 - reported to every waiting request
                log.exception("mock_iotprov: writing the state database failed")
                with self._lock:
                    self._failed_upto, self._failure = upto, repr(exc)
                    for key, store in dirty.items():
                        self._dirty.setdefault(key, store)
                    self._clear_pending = self._clear_pending or clear_first
                    self._done.notify_all()
                    if self._closed:
                        return
                    self._work.wait(_RETRY_SECONDS)
                continue
            with self._lock:
                self._durable = max(self._durable, upto)
                self._done.notify_all()

    def _encoded(self, dirty: dict[StoreKey, Store]) -> dict[StoreKey, bytes]:
        encoded: dict[StoreKey, bytes] = {}
        for key, store in dirty.items():
            if self._backend.current_store(*key) is not store:
                continue  # dropped by a reset after it changed
            with store.lock:
                encoded[key] = encode(store.saved())
        return encoded

    def close(self) -> None:
        """Write every store once more (so work done outside requests, such as a bulk registration task,
        is kept after a clean shutdown), stop the writer, close the database."""
        tickets = [self.changed(store) for store in self._backend.stores()]
        if tickets:
            try:
                self.wait(tickets[-1])
            except Exception:  # noqa: BLE001 - logged by the writer; closing goes on
                log.warning("mock_iotprov: the last write of the state database failed")
        with self._lock:
            self._closed = True
            self._work.notify()
            self._done.notify_all()
        self._thread.join()
        self.database.close()
