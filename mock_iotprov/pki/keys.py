"""A fast source of RSA-2048 private keys, none of them ever handed out twice.

AWS IoT hands out a new RSA-2048 key pair with every ``CreateKeysAndCertificate`` and
``CreateProvisioningClaim`` call, and never the same one twice. Generating one costs about 45 ms (with a tail
to about 90 ms), which would dominate a test suite that provisions many devices. So :class:`KeySource`
keeps a pool of keys generated ahead of time, filled by a background daemon thread (key generation releases
the GIL, so the caller's thread carries on), and the process-wide source keeps the keys it did not use in the
user's cache directory for the next process (:mod:`mock_iotprov.pki.key_cache`).

What is unique
--------------
Every key :meth:`KeySource.take` returns is handed out exactly once: a pooled key leaves the pool when it is
taken, a cached key is claimed from the cache directory by exactly one process, and when both are empty the
key is generated on the spot (one slow call rather than a repeat). So within a mock, within a process, and
across processes sharing a cache directory, no private key is ever handed out twice. A forked child starts
with an empty pool (the parent keeps its unused keys), so parent and child never share a key either.
``take(fresh=True)`` always generates a new key synchronously.

What is not: keys are not secret beyond the user's own account (the cache is a ``0700`` directory of
``0600`` files), and a key's generation time says nothing about when it was handed out.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections import deque

from cryptography.hazmat.primitives.asymmetric import rsa

from .key_cache import KeyCache

__all__ = ["KeySource", "default_key_source", "generate_rsa_key"]

RSA_PUBLIC_EXPONENT = 65537
RSA_KEY_SIZE = 2048
CLAIM_BATCH = 16
"""How many keys one visit to the cache directory claims at most."""


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """Generate a brand-new RSA-2048 private key (public exponent 65537), as AWS IoT issues."""
    return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_SIZE)


class KeySource:
    """A thread-safe, fork-safe pool of RSA-2048 private keys, each handed out once.

    ``pool_size`` bounds how many unused keys the background generator keeps ready in memory.
    ``background=False`` never starts the generator thread (the pool then only grows through :meth:`fill`),
    which makes the behaviour deterministic for tests. ``cache`` is where unused keys come from first and go
    to at :meth:`close` (None: memory only).
    """

    def __init__(self, pool_size: int = 64, background: bool = True, cache: KeyCache | None = None) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self._pool_size = pool_size
        self._background = background
        self._cache = cache
        self._lock = threading.Lock()
        self._unused: deque[rsa.RSAPrivateKey] = deque()
        self._generator: threading.Thread | None = None
        self._closed = False
        _live_sources.add(self)

    @property
    def pool_size(self) -> int:
        """Upper bound on unused keys the generator keeps ready."""
        return self._pool_size

    @property
    def unused_count(self) -> int:
        """How many keys in the pool are ready to be handed out."""
        with self._lock:
            return len(self._unused)

    @property
    def background_running(self) -> bool:
        """Whether the background generator thread is currently running."""
        with self._lock:
            return self._generator is not None

    def take(self, fresh: bool = False) -> rsa.RSAPrivateKey:
        """Return an RSA-2048 private key that was never handed out before.

        ``fresh=True`` always generates a new key synchronously. Otherwise: a pooled key if there is one,
        else one claimed from the cache directory, else a key generated now; the generator is (re)started
        whenever the pool is below its bound.
        """
        if fresh:
            return generate_rsa_key()
        with self._lock:
            if self._unused:
                key = self._unused.popleft()
                self._ensure_generator_locked()
                return key
        claimed = self._cache.claim(CLAIM_BATCH) if self._cache is not None else []
        key = claimed.pop() if claimed else generate_rsa_key()
        with self._lock:
            self._unused.extend(claimed)
            self._ensure_generator_locked()
        return key

    def fill(self, count: int | None = None) -> None:
        """Synchronously add up to ``count`` new keys to the pool (default: until it is full).

        The pool never grows beyond ``pool_size``.
        """
        with self._lock:
            room = self._pool_size - len(self._unused)
        wanted = room if count is None else min(count, room)
        for _ in range(max(wanted, 0)):
            key = generate_rsa_key()
            with self._lock:
                if len(self._unused) >= self._pool_size:
                    return
                self._unused.append(key)

    def join_background(self, timeout: float | None = None) -> None:
        """Wait until the background generator (if running) has filled the pool and stopped."""
        with self._lock:
            generator = self._generator
        if generator is not None:
            generator.join(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the background generator for good, wait for it, and keep the unused keys in the cache.

        Called at interpreter exit: a generator thread killed inside key generation during shutdown would
        abort the process. ``take()`` still works afterwards, generating keys synchronously.
        """
        with self._lock:
            self._closed = True
            generator = self._generator
            self._generator = None
        if generator is not None and generator is not threading.current_thread():
            generator.join(timeout)
        with self._lock:
            unused = list(self._unused)
            self._unused.clear()
        if self._cache is not None and unused:
            self._cache.store(unused)

    def _ensure_generator_locked(self) -> None:
        if not self._background or self._closed or self._generator is not None:
            return
        if len(self._unused) >= self._pool_size:
            return
        generator = threading.Thread(target=self._run_generator, name="mock_iotprov-keygen", daemon=True)
        self._generator = generator
        generator.start()

    def _run_generator(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                room = self._pool_size - len(self._unused)
                if self._generator is not me or room <= 0:
                    if self._generator is me:
                        self._generator = None
                    return
            claimed = self._cache.claim(min(room, CLAIM_BATCH)) if self._cache is not None else []
            keys = claimed or [generate_rsa_key()]
            with self._lock:
                if self._generator is not me:
                    spare = keys
                else:
                    self._unused.extend(keys)
                    spare = []
            if spare and self._cache is not None:  # closed meanwhile: the keys are still unused
                self._cache.store(spare)
            if spare:
                return

    def _after_fork_in_child(self) -> None:
        # Only the forking thread survives in the child: the lock may have been held by a thread
        # that no longer exists, and the generator thread is gone. The parent still owns its unused
        # keys; handing them out here too would give the same key to two processes.
        self._lock = threading.Lock()
        self._generator = None
        self._unused.clear()


_live_sources: weakref.WeakSet[KeySource] = weakref.WeakSet()

_default_lock = threading.Lock()
_default_source: KeySource | None = None


def default_key_source() -> KeySource:
    """Return the process-wide :class:`KeySource` (with the user's key cache), creating it on first use."""
    global _default_source
    source = _default_source
    if source is not None:
        return source
    with _default_lock:
        if _default_source is None:
            _default_source = KeySource(cache=KeyCache())
        return _default_source


def _reset_after_fork_in_child() -> None:
    global _default_lock
    _default_lock = threading.Lock()
    for source in list(_live_sources):
        source._after_fork_in_child()


@atexit.register
def _close_all_at_exit() -> None:
    for source in list(_live_sources):
        source.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork_in_child)
