"""Durability with group commit: a request that changed state is answered only once its change is on disk.

The request's thread calls :meth:`Journal.changed` while it still holds the store's lock (the change is
complete) and gets a ticket; after releasing the lock it calls :meth:`Journal.wait`. A waiting thread that
finds no write in progress leads the next round: it takes every store changed so far, encodes each under
that store's lock (a consistent view between two requests), writes them all in one SQLite transaction and
then releases every ticket the round covers. Requests that change state meanwhile wait for the round after,
which the first of them leads. Many concurrent requests therefore share one fsync, no thread hands work to
another, and nothing is acknowledged early.

A ``kill -9`` at any moment leaves the database at the last committed round: every acknowledged change is
in it, and no request is ever half in it (a store is encoded whole, between two requests). If the disk
write fails, the requests of that round get ``InternalFailureException`` and the error is logged; the
in-memory state keeps the change (it cannot be undone), and the next round writes it again.

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


class Journal:
    """The group-committing writer of one backend's state database."""

    def __init__(self, database: StateDatabase, backend: Backend) -> None:
        self.database = database
        self._backend = backend
        self._lock = threading.Lock()
        self._round_done = threading.Condition(self._lock)
        self._dirty: dict[StoreKey, Store] = {}
        self._clear_pending = False
        self._issued = 0
        self._durable = 0
        self._failed: list[tuple[int, int, str]] = []  # (first ticket, last ticket, why) of failed rounds
        self._writing = False
        self._closed = False

    def changed(self, store: Store) -> int:
        """Note that ``store`` changed (call with its lock held); returns the ticket to :meth:`wait` on."""
        with self._lock:
            self._issued += 1
            self._dirty[(store.account_id, store.region)] = store
            return self._issued

    def cleared(self) -> int:
        """Note that every store was dropped (a reset); returns the ticket to :meth:`wait` on."""
        with self._lock:
            self._issued += 1
            self._dirty.clear()
            self._clear_pending = True
            return self._issued

    def wait(self, ticket: int) -> None:
        """Block until the change behind ``ticket`` is on disk; ``ServiceError`` if writing it failed."""
        with self._lock:
            while True:
                if self._durable >= ticket:
                    return
                failure = self._failure_of(ticket)
                if failure is not None or self._closed:
                    message = failure or "the mock_iotprov state database is closed"
                    raise internal_failure(f"The change could not be saved to disk: {message}")
                if self._writing:
                    self._round_done.wait()
                else:
                    self._lead_round()

    def _failure_of(self, ticket: int) -> str | None:
        for first, last, why in self._failed:
            if first <= ticket <= last:
                return why
        return None

    def _lead_round(self) -> None:
        """Write everything changed so far (called with the lock held; releases it while writing)."""
        dirty, self._dirty = self._dirty, {}
        clear_first, self._clear_pending = self._clear_pending, False
        first, upto = self._durable + 1, self._issued
        self._writing = True
        self._lock.release()
        failure: str | None = None
        try:
            self.database.write(self._encoded(dirty), clear_first=clear_first)
        except Exception as exc:  # noqa: BLE001 - reported to every request of the round
            log.exception("mock_iotprov: writing the state database failed")
            failure = repr(exc)
        finally:
            self._lock.acquire()
            self._writing = False
        if failure is None:
            self._durable = max(self._durable, upto)
        else:
            self._failed = [*self._failed[-15:], (first, upto, failure)]
            for key, store in dirty.items():
                self._dirty.setdefault(key, store)  # written again by the next round
            self._clear_pending = self._clear_pending or clear_first
        self._round_done.notify_all()

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
        is kept after a clean shutdown), then close the database."""
        tickets = [self.changed(store) for store in self._backend.stores()]
        if tickets:
            try:
                self.wait(tickets[-1])
            except Exception:  # noqa: BLE001 - logged when the round failed; closing goes on
                log.warning("mock_iotprov: the last write of the state database failed")
        with self._lock:
            while self._writing:
                self._round_done.wait()
            self._closed = True
            self._round_done.notify_all()
        self.database.close()
