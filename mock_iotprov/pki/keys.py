"""A fast source of RSA-2048 private keys.

AWS IoT hands out a new RSA-2048 key pair with every ``CreateKeysAndCertificate`` and
``CreateProvisioningClaim`` call. Generating one costs about 45 ms (with a tail to about 90 ms),
which would dominate a test suite that provisions many devices. Key generation releases the GIL,
so :class:`KeySource` keeps a small pool of keys filled by a background daemon thread while the
caller's thread carries on.

When a key can repeat
---------------------
A key returned by :meth:`KeySource.take` is new (never handed out before by this process) except in
exactly these two cases:

* **Calls outpace the background generator.** When the pool of unused keys is empty but keys were
  handed out before, ``take()`` returns a previously handed-out key (round-robin over a bounded ring
  of the most recently handed-out keys) instead of blocking, and makes sure the generator runs.
* **Keys inherited across ``fork``.** A forked child never hands out a key that the parent still
  holds as unused: those are dropped in the child. Keys the parent had already handed out stay in
  the child's ring and may be handed out again there (they were already "used"), so no key is ever
  handed out as a new key in one process and handed out at all in another.

``take(fresh=True)`` never repeats: it always generates a brand-new key synchronously and never
puts it into the ring, so no later ``take()`` returns it either.

The mock never needs unique keys for correctness (certificate ids come from the whole certificate,
which carries a random serial number); repeats only trade key uniqueness for speed.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections import deque

from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["KeySource", "default_key_source", "generate_rsa_key"]

RSA_PUBLIC_EXPONENT = 65537
RSA_KEY_SIZE = 2048


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """Generate a brand-new RSA-2048 private key (public exponent 65537), as AWS IoT issues."""
    return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_SIZE)


class KeySource:
    """A thread-safe, fork-safe pool of RSA-2048 private keys.

    ``pool_size`` bounds how many unused keys the background generator keeps ready;
    ``reuse_ring_size`` bounds the ring of handed-out keys that may be handed out again when calls
    outpace the generator. ``background=False`` never starts the generator thread (the pool then
    only grows through :meth:`fill`), which makes the behaviour deterministic for tests.

    See the module docstring for exactly when a key can repeat.
    """

    def __init__(
        self, pool_size: int = 32, reuse_ring_size: int = 64, background: bool = True
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        if reuse_ring_size < 1:
            raise ValueError("reuse_ring_size must be at least 1")
        self._pool_size = pool_size
        self._background = background
        self._lock = threading.Lock()
        self._unused: deque[rsa.RSAPrivateKey] = deque()
        self._handed_out: deque[rsa.RSAPrivateKey] = deque(maxlen=reuse_ring_size)
        self._next_reuse = 0
        self._generator: threading.Thread | None = None
        self._closed = False
        _register_for_fork(self)

    @property
    def pool_size(self) -> int:
        """Upper bound on unused keys kept ready."""
        return self._pool_size

    @property
    def reuse_ring_size(self) -> int:
        """Upper bound on handed-out keys kept for reuse."""
        maxlen = self._handed_out.maxlen
        assert maxlen is not None
        return maxlen

    @property
    def unused_count(self) -> int:
        """How many keys in the pool have never been handed out."""
        with self._lock:
            return len(self._unused)

    @property
    def background_running(self) -> bool:
        """Whether the background generator thread is currently running."""
        with self._lock:
            return self._generator is not None

    def take(self, fresh: bool = False) -> rsa.RSAPrivateKey:
        """Return an RSA-2048 private key.

        ``fresh=True`` always generates a new key synchronously; it is never handed out again.
        Otherwise an unused pooled key is returned if there is one; else a previously handed-out
        key is reused (and the generator is started); on the very first call, with nothing to
        reuse, one key is generated synchronously and the generator is started.
        """
        if fresh:
            return generate_rsa_key()
        with self._lock:
            key = self._take_locked()
            if key is not None:
                self._ensure_generator_locked()
                return key
        # The very first call: nothing to hand out or reuse yet.
        key = generate_rsa_key()
        with self._lock:
            self._handed_out.append(key)
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

    def _take_locked(self) -> rsa.RSAPrivateKey | None:
        if self._unused:
            key = self._unused.popleft()
            self._handed_out.append(key)
            return key
        if self._handed_out:
            index = self._next_reuse % len(self._handed_out)
            self._next_reuse = index + 1
            return self._handed_out[index]
        return None

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the background generator for good and wait for the key it is making.

        Called at interpreter exit: a generator thread killed inside key generation during shutdown
        would abort the process. ``take()`` still works afterwards, generating keys synchronously.
        """
        with self._lock:
            self._closed = True
            generator = self._generator
            self._generator = None
        if generator is not None and generator is not threading.current_thread():
            generator.join(timeout)

    def _ensure_generator_locked(self) -> None:
        if not self._background or self._closed or self._generator is not None:
            return
        if len(self._unused) >= self._pool_size:
            return
        generator = threading.Thread(
            target=self._run_generator, name="mock_iotprov-keygen", daemon=True
        )
        self._generator = generator
        generator.start()

    def _run_generator(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                if self._generator is not me or len(self._unused) >= self._pool_size:
                    if self._generator is me:
                        self._generator = None
                    return
            key = generate_rsa_key()
            with self._lock:
                if self._generator is not me:
                    return
                self._unused.append(key)

    def _after_fork_in_child(self) -> None:
        # Only the forking thread survives in the child: the lock may have been held by a thread
        # that no longer exists, and the generator thread is gone.
        self._lock = threading.Lock()
        self._generator = None
        # The parent still owns its unused keys; handing them out here could give the child a key
        # the parent later hands out as new. Keys the parent already handed out may repeat.
        self._unused.clear()


_live_sources: weakref.WeakSet[KeySource] = weakref.WeakSet()


def _register_for_fork(source: KeySource) -> None:
    _live_sources.add(source)


_default_lock = threading.Lock()
_default_source: KeySource | None = None


def default_key_source() -> KeySource:
    """Return the process-wide :class:`KeySource`, creating it on first use."""
    global _default_source
    source = _default_source
    if source is not None:
        return source
    with _default_lock:
        if _default_source is None:
            _default_source = KeySource()
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
