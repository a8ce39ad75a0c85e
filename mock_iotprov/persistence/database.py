"""The state file: an SQLite database (the standard library's ``sqlite3``) under the state directory.

One row per (account, region) holds that store's tables (see :mod:`~mock_iotprov.persistence.codec`); one
row holds the mock's CA hierarchy, so certificates issued before a restart still chain to the CA bundle
served after it. The database runs in WAL mode with ``synchronous=FULL``: a committed transaction is on
disk (fsynced) before :meth:`StateDatabase.write` returns.

``meta.schema_version`` records the layout. A database whose version is newer than this code's
:data:`SCHEMA_VERSION` is refused with :class:`IncompatibleStateError` rather than misread; so is a file
that is not such a database.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path

SCHEMA_VERSION = 1
FILE_NAME = "mock_iotprov.sqlite3"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stores (account TEXT NOT NULL, region TEXT NOT NULL, data BLOB NOT NULL, "
    "PRIMARY KEY (account, region))",
    "CREATE TABLE IF NOT EXISTS pki (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL)",
)

StoreKey = tuple[str, str]


class IncompatibleStateError(Exception):
    """The state directory holds something this version cannot use (the message says what)."""


class StateDatabase:
    """The state file of one state directory; every method is thread-safe."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILE_NAME
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise IncompatibleStateError(f"cannot open the state database {self.path}: {exc}") from exc
        self._lock = threading.Lock()
        try:
            self._prepare()
        except sqlite3.DatabaseError as exc:
            self._connection.close()
            raise IncompatibleStateError(f"{self.path} is not a mock_iotprov state database: {exc}") from exc

    def _prepare(self) -> None:
        connection = self._connection
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                connection.execute(statement)
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                connection.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            else:
                found = row[0]
                if not str(found).isdigit() or int(found) > SCHEMA_VERSION:
                    raise IncompatibleStateError(
                        f"{self.path} was written by an incompatible (newer) mock_iotprov: state schema "
                        f"version {found}, this version reads up to {SCHEMA_VERSION}. Use another "
                        "--state-dir or upgrade mock_iotprov."
                    )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def load_pki(self) -> bytes | None:
        """The stored CA hierarchy, if one was saved."""
        with self._lock:
            row = self._connection.execute("SELECT data FROM pki WHERE id = 1").fetchone()
        return None if row is None else bytes(row[0])

    def save_pki(self, data: bytes) -> None:
        """Store the CA hierarchy (durably)."""
        with self._lock:
            self._connection.execute("INSERT OR REPLACE INTO pki (id, data) VALUES (1, ?)", (data,))

    def load_stores(self) -> dict[StoreKey, bytes]:
        """Every stored (account, region) and its encoded tables."""
        with self._lock:
            rows = self._connection.execute("SELECT account, region, data FROM stores").fetchall()
        return {(account, region): bytes(data) for account, region, data in rows}

    def write(self, stores: Mapping[StoreKey, bytes], *, clear_first: bool = False) -> None:
        """One durable transaction: optionally forget every store, then write ``stores``."""
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                if clear_first:
                    connection.execute("DELETE FROM stores")
                connection.executemany(
                    "INSERT OR REPLACE INTO stores (account, region, data) VALUES (?, ?, ?)",
                    [(account, region, data) for (account, region), data in stores.items()],
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock:
            self._connection.close()
