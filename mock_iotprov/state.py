"""Explicit state: one :class:`Store` per (account, region), owned by one mock's :class:`Backend`.

Each domain module keeps its tables in a component class of its own, created on first use in a store
(``ctx.store.component(ThingTables)``), so the store knows nothing about the domains. Every request runs
under its store's lock, which makes each operation atomic: concurrent calls from many threads never see or
leave half-made state. ``Backend.reset()`` drops every store at once (O(1)).

``os.fork`` while another thread is inside a mocked call: only the forking thread lives on in the child, so
a lock held by any other thread would stay held there for ever. Before a fork the forking thread waits (at
most :data:`FORK_WAIT_SECONDS` in all) for calls in flight to finish, so the child usually starts from
whole operations; the child then replaces every backend's and store's lock with a new one, so it never
hangs on a lock held by a thread it does not have, even when the wait ran out.
"""

from __future__ import annotations

import datetime
import os
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mock_iotprov.persistence.journal import Journal

T = TypeVar("T")
SavedStore = tuple[dict[type[Any], Any], dict[str, Callable[["RequestContext"], None]]]

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
MAX_REGION_LENGTH = 32
_REGION_NAME = re.compile(r"[a-z]{2,4}(?:-[a-z]+){1,3}-[0-9]{1,2}")


def is_region_name(region: str) -> bool:
    """Whether ``region`` has the form of an AWS region name.

    Every AWS region is a two-to-four-letter area code, one to three lower-case words and a number,
    joined by hyphens: ``us-east-1``, ``us-gov-west-1``, ``cn-northwest-1``, ``us-isob-east-1``,
    ``eusc-de-east-1``; none is longer than 20 characters (the bound here is 32).
    """
    return len(region) <= MAX_REGION_LENGTH and _REGION_NAME.fullmatch(region) is not None


class Store:
    """All the state of one AWS account in one region."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self.lock = threading.RLock()
        self._components: dict[type[Any], Any] = {}
        self.sweepers: dict[str, Callable[[RequestContext], None]] = {}
        """Lazy-expiry work (keyed by name) run under the lock before every operation on this store."""

    def sweep(self, ctx: RequestContext) -> None:
        """Run the store's sweepers (the caller holds the lock): expired things go before anyone looks."""
        for sweeper in list(self.sweepers.values()):
            sweeper(ctx)

    def component(self, kind: type[T]) -> T:
        """The store's instance of ``kind`` (a domain's tables), created empty on first use."""
        found = self._components.get(kind)
        if found is None:
            found = self._components[kind] = kind()
        return found

    def saved(self) -> SavedStore:
        """What is saved of the store: its domain tables and its sweepers (read it under the lock).

        A component class whose ``persistent`` attribute is false holds wiring to the running process (a
        broker's publisher, say), not state, and is left out.
        """
        kept = {kind: table for kind, table in self._components.items() if getattr(kind, "persistent", True)}
        return kept, self.sweepers

    def restore(self, saved: SavedStore) -> None:
        """Replace the store's tables and sweepers with saved ones (before it serves any request)."""
        components, sweepers = saved
        self._components, self.sweepers = dict(components), dict(sweepers)


class Backend:
    """The stores of one mock, keyed by (account, region).

    ``journal``, when set (``serve --state-dir``), makes every change durable before it is acknowledged
    (see :mod:`mock_iotprov.persistence.journal`).
    """

    def __init__(self) -> None:
        self._stores: dict[tuple[str, str], Store] = {}
        self._lock = threading.Lock()
        self.journal: Journal | None = None
        self._store_setups: list[Callable[[Store], None]] = []
        _live_backends.add(self)

    def view(self, account_id: str, region: str) -> Store:
        """The store for (account, region) if it exists, else an empty one that is not kept.

        For operations that only read: a read of an (account, region) nothing was ever written to answers
        from empty state without creating a store, so reads cannot grow the backend.
        """
        found = self._stores.get((account_id, region))
        return found if found is not None else Store(account_id, region)

    def store(self, account_id: str, region: str) -> Store:
        """The store for (account, region), created on first use."""
        key = (account_id, region)
        found = self._stores.get(key)
        if found is None:
            with self._lock:
                found = self._stores.get(key)
                if found is None:
                    found = Store(account_id, region)
                    for setup in self._store_setups:
                        setup(found)
                    self._stores[key] = found
        return found

    def restore_store(self, account_id: str, region: str, saved: SavedStore) -> Store:
        """Create the store for (account, region) from saved state (at start-up, before any request)."""
        store = Store(account_id, region)
        store.restore(saved)
        with self._lock:
            for setup in self._store_setups:
                setup(store)
            self._stores[(account_id, region)] = store
        return store

    def current_store(self, account_id: str, region: str) -> Store | None:
        """The store for (account, region) if it exists (never creates one)."""
        return self._stores.get((account_id, region))

    def on_new_store(self, setup: Callable[[Store], None]) -> None:
        """Run ``setup`` on every store, existing and future (also after ``reset``), e.g. to connect it
        to a running broker."""
        with self._lock:
            self._store_setups.append(setup)
            existing = list(self._stores.values())
        for store in existing:
            setup(store)

    def stores(self) -> list[Store]:
        """Every store created so far."""
        return list(self._stores.values())

    def reset(self) -> None:
        """Forget all state (every account and region); with a journal, durably."""
        self._stores = {}
        if self.journal is not None:
            self.journal.wait(self.journal.cleared())

    def _locks(self) -> list[Any]:
        return [self._lock, *(store.lock for store in list(self._stores.values()))]

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        for store in list(self._stores.values()):
            store.lock = threading.RLock()


FORK_WAIT_SECONDS = 1.0
"""How long, in all, a fork waits for mocked calls in flight in other threads to finish."""

_live_backends: weakref.WeakSet[Backend] = weakref.WeakSet()
_held_across_fork: list[Any] = []


def _before_fork() -> None:
    deadline = time.monotonic() + FORK_WAIT_SECONDS
    for backend in list(_live_backends):
        for lock in backend._locks():
            if lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                _held_across_fork.append(lock)


def _after_fork_in_parent() -> None:
    while _held_across_fork:
        _held_across_fork.pop().release()


def _after_fork_in_child() -> None:
    _held_across_fork.clear()
    for backend in list(_live_backends):
        backend._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )


@dataclass(frozen=True)
class MockOptions:
    """Options a mock was created with.

    ``fresh_keys``: every operation that hands out a private key generates it on the spot (slow: ~45 ms
    each) instead of drawing from the key pool. Either way no key is handed out twice
    (see ``mock_iotprov.pki.keys``).
    ``keep_private_keys``: remember the private key of every certificate and claim the mock issues (the
    local endpoint does, for its dashboard and its state directory; AWS keeps none, and in-process mocks
    don't, to save memory).
    ``data_endpoint``: the host of the mock's MQTT broker, when one runs; ``DescribeEndpoint`` answers it
    for the data endpoints.
    """

    account_id: str = DEFAULT_ACCOUNT_ID
    fresh_keys: bool = False
    keep_private_keys: bool = False
    data_endpoint: str | None = None


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class RequestContext:
    """What a handler knows about the request it answers: whose state, which options."""

    store: Store
    options: MockOptions

    @property
    def account_id(self) -> str:
        return self.store.account_id

    @property
    def region(self) -> str:
        return self.store.region

    def arn(self, resource: str) -> str:
        """``arn:{partition}:iot:{region}:{account}:{resource}``."""
        return f"arn:{partition_of(self.region)}:iot:{self.region}:{self.account_id}:{resource}"

    @staticmethod
    def now() -> datetime.datetime:
        """The current time, read at call time (so freezegun and time-machine move it)."""
        return datetime.datetime.now(datetime.timezone.utc)
