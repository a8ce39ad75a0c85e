"""Unused RSA private keys kept between processes, in the user's cache directory.

A key is generated once (~45 ms) and handed out once, by whichever process claims it first. The cache is a
directory of one PEM file per unused key:

* **Where.** ``$MOCK_IOTPROV_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/mock_iotprov`` (when that is an
  absolute path), else ``~/.cache/mock_iotprov``; the keys live in its ``keys/`` subdirectory. Setting
  ``MOCK_IOTPROV_KEY_CACHE=off`` turns the cache off (keys then live only in memory, per process).
* **Safe to share.** The directories are created ``0700`` and each file ``0600``; a ``keys/`` directory
  owned by another user, or writable by group or others, is not used at all (its keys could have been
  planted or read).
* **Written atomically.** A key is written to a hidden temporary file and renamed into place, so a reader
  only ever sees whole files.
* **Claimed atomically.** To take a key a process renames its file to a name of its own; ``rename`` succeeds
  for exactly one claimant, so two processes (or threads) never get the same key. The claimed file is read
  and deleted at once; a claim left behind by a crash is never handed out and is removed later.
* **Bounded.** At most :data:`MAX_CACHED_KEYS` files are kept.

Pure file-system work, no threads: :mod:`mock_iotprov.pki.keys` decides when to claim and when to store.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["MAX_CACHED_KEYS", "KeyCache", "default_cache_directory"]

MAX_CACHED_KEYS = 1024
STALE_CLAIM_SECONDS = 3600.0
_SUFFIX = ".pem"
_CLAIMED = ".claimed-"


def default_cache_directory() -> Path | None:
    """The cache directory the environment names, or None when the key cache is turned off."""
    if os.environ.get("MOCK_IOTPROV_KEY_CACHE", "").strip().lower() in ("off", "0", "no", "false"):
        return None
    explicit = os.environ.get("MOCK_IOTPROV_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "mock_iotprov"
    return Path.home() / ".cache" / "mock_iotprov"


class KeyCache:
    """The ``keys/`` directory under ``directory`` (None: resolved from the environment at each use)."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    def keys_directory(self) -> Path | None:
        """Where the key files are, or None when the cache is off."""
        base = self._directory if self._directory is not None else default_cache_directory()
        return None if base is None else base / "keys"

    def count(self) -> int:
        """How many unused keys the cache holds."""
        folder = self._usable_directory(create=False)
        return 0 if folder is None else len(self._key_files(folder))

    def claim(self, limit: int) -> list[rsa.RSAPrivateKey]:
        """Take up to ``limit`` keys out of the cache; each is this caller's alone."""
        folder = self._usable_directory(create=False)
        if folder is None or limit < 1:
            return []
        claimed: list[rsa.RSAPrivateKey] = []
        for name in self._key_files(folder):
            if len(claimed) >= limit:
                break
            key = self._claim_one(folder, name)
            if key is not None:
                claimed.append(key)
        return claimed

    def store(self, keys: list[rsa.RSAPrivateKey]) -> int:
        """Add never-handed-out ``keys`` to the cache (up to its bound); how many were stored."""
        if not keys:
            return 0
        folder = self._usable_directory(create=True)
        if folder is None:
            return 0
        room = MAX_CACHED_KEYS - len(self._key_files(folder))
        stored = 0
        for key in keys[: max(room, 0)]:
            if not self._write(folder, key):
                break
            stored += 1
        return stored

    # -- file system ---------------------------------------------------------------------------------

    def _usable_directory(self, create: bool) -> Path | None:
        folder = self.keys_directory()
        if folder is None:
            return None
        try:
            if create:
                folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                folder.mkdir(mode=0o700, exist_ok=True)
            status = folder.stat()
        except OSError:
            return None
        if not stat.S_ISDIR(status.st_mode) or status.st_mode & 0o022:
            return None
        if hasattr(os, "getuid") and status.st_uid != os.getuid():
            return None
        return folder

    def _key_files(self, folder: Path) -> list[str]:
        try:
            names = os.listdir(folder)
        except OSError:
            return []
        self._remove_stale_claims(folder, names)
        return [name for name in names if name.endswith(_SUFFIX) and not name.startswith(".")]

    @staticmethod
    def _remove_stale_claims(folder: Path, names: list[str]) -> None:
        cutoff = time.time() - STALE_CLAIM_SECONDS
        for name in names:
            if name.startswith((_CLAIMED, ".tmp-")):
                path = folder / name
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()

    @staticmethod
    def _claim_one(folder: Path, name: str) -> rsa.RSAPrivateKey | None:
        mine = folder / f"{_CLAIMED}{os.getpid()}-{secrets.token_hex(8)}"
        try:
            os.rename(folder / name, mine)
        except OSError:  # another process (or thread) claimed it first
            return None
        try:
            data = mine.read_bytes()
        except OSError:
            return None
        finally:
            with contextlib.suppress(OSError):
                mine.unlink()
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            return None
        return key if isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048 else None

    @staticmethod
    def _write(folder: Path, key: rsa.RSAPrivateKey) -> bool:
        token = secrets.token_hex(16)
        temporary = folder / f".tmp-{token}"
        data = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, folder / f"{token}{_SUFFIX}")
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()
            return False
        return True
