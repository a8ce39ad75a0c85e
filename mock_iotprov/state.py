"""Explicit state: one :class:`Store` per (account, region), owned by one mock's :class:`Backend`.

Each domain module keeps its tables in a component class of its own, created on first use in a store
(``ctx.store.component(ThingTables)``), so the store knows nothing about the domains. Every request runs
under its store's lock, which makes each operation atomic: concurrent calls from many threads never see or
leave half-made state. ``Backend.reset()`` drops every store at once (O(1)).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mock_iotprov.persistence.journal import Journal

T = TypeVar("T")
SavedStore = tuple[dict[type[Any], Any], dict[str, Callable[["RequestContext"], None]]]

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


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
        """What is saved of the store: its domain tables and its sweepers (read it under the lock)."""
        return self._components, self.sweepers

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

    def store(self, account_id: str, region: str) -> Store:
        """The store for (account, region), created on first use."""
        key = (account_id, region)
        found = self._stores.get(key)
        if found is None:
            with self._lock:
                found = self._stores.get(key)
                if found is None:
                    found = self._stores[key] = Store(account_id, region)
        return found

    def restore_store(self, account_id: str, region: str, saved: SavedStore) -> Store:
        """Create the store for (account, region) from saved state (at start-up, before any request)."""
        store = Store(account_id, region)
        store.restore(saved)
        with self._lock:
            self._stores[(account_id, region)] = store
        return store

    def current_store(self, account_id: str, region: str) -> Store | None:
        """The store for (account, region) if it exists (never creates one)."""
        return self._stores.get((account_id, region))

    def stores(self) -> list[Store]:
        """Every store created so far."""
        return list(self._stores.values())

    def reset(self) -> None:
        """Forget all state (every account and region); with a journal, durably."""
        self._stores = {}
        if self.journal is not None:
            self.journal.wait(self.journal.cleared())


@dataclass(frozen=True)
class MockOptions:
    """Options a mock was created with.

    ``fresh_keys``: every operation that hands out a private key generates a new one (slow: ~45 ms each)
    instead of drawing from the process's key pool, where a key can repeat (see ``mock_iotprov.pki.keys``).
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
