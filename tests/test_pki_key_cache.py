"""Private keys are never handed out twice: in one mock, across threads, and across processes sharing the
key cache directory; the cache is private to the user and written atomically.

Every test points the cache at its own ``tmp_path``, so none touches the user's cache directory.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mock_iotprov import MockIotProvisioning
from mock_iotprov.pki import KeyCache, KeySource, generate_rsa_key, keys
from mock_iotprov.pki.key_cache import MAX_CACHED_KEYS, default_cache_directory
from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE, iot_client


def modulus(key: rsa.RSAPrivateKey) -> int:
    return key.public_key().public_numbers().n


def pem_modulus(pem: str) -> int:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return modulus(key)


@pytest.fixture(scope="module")
def some_keys() -> list[rsa.RSAPrivateKey]:
    return [generate_rsa_key() for _ in range(12)]


def test_rapid_calls_in_one_mock_never_repeat_a_private_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls outpace the pool (4 keys, no generator): later keys are made on the spot, never repeated."""
    source = KeySource(pool_size=4, background=False)
    source.fill()
    monkeypatch.setattr(keys, "_default_source", source)
    with MockIotProvisioning():
        client = iot_client()
        client.create_provisioning_template(
            templateName="fleet", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN, enabled=True
        )
        handed_out = [client.create_keys_and_certificate()["keyPair"]["PrivateKey"] for _ in range(6)]
        handed_out += [
            client.create_provisioning_claim(templateName="fleet")["keyPair"]["PrivateKey"] for _ in range(4)
        ]
    assert len({pem_modulus(pem) for pem in handed_out}) == 10


def test_unused_keys_go_to_the_cache_at_close_and_come_back_once(tmp_path: Path) -> None:
    cache = KeyCache(tmp_path)
    first = KeySource(pool_size=3, background=False, cache=cache)
    first.fill()
    kept = {modulus(key) for key in first._unused}
    first.close()
    assert cache.count() == 3
    second = KeySource(pool_size=3, background=False, cache=cache)
    taken = [second.take() for _ in range(5)]
    assert len({modulus(key) for key in taken}) == 5
    assert {modulus(key) for key in taken[:3]} == kept  # the cached keys first, each once
    assert cache.count() == 0


def test_the_background_generator_fills_the_pool_from_the_cache_first(
    tmp_path: Path, some_keys: list[rsa.RSAPrivateKey]
) -> None:
    cache = KeyCache(tmp_path)
    cache.store(some_keys[:4])
    source = KeySource(pool_size=4, cache=cache)
    first = source.take()
    source.join_background(60)
    pooled = {modulus(key) for key in source._unused} | {modulus(first)}
    assert pooled == {modulus(key) for key in some_keys[:4]} | pooled - {
        modulus(key) for key in some_keys[:4]
    }
    assert {modulus(key) for key in some_keys[:4]} <= pooled
    assert cache.count() == 0
    source.close()


def test_threads_claiming_from_one_cache_never_share_a_key(
    tmp_path: Path, some_keys: list[rsa.RSAPrivateKey]
) -> None:
    cache = KeyCache(tmp_path)
    assert cache.store(some_keys) == len(some_keys)
    barrier = threading.Barrier(6)
    claims: list[list[int]] = []
    lock = threading.Lock()

    def claim() -> None:
        barrier.wait()
        got = [modulus(key) for key in KeyCache(tmp_path).claim(len(some_keys))]
        with lock:
            claims.append(got)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [key for got in claims for key in got]
    assert sorted(everything) == sorted(modulus(key) for key in some_keys)  # each key claimed exactly once
    assert cache.count() == 0


_CLAIMER = """
import json, sys
from pathlib import Path
from mock_iotprov.pki import KeyCache
cache = KeyCache(Path(sys.argv[1]))
print(json.dumps([str(key.public_key().public_numbers().n) for key in cache.claim(100)]))
"""


def test_processes_claiming_from_one_cache_never_share_a_key(
    tmp_path: Path, some_keys: list[rsa.RSAPrivateKey]
) -> None:
    KeyCache(tmp_path).store(some_keys)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes)
    everything = [int(n) for output in outputs for n in json.loads(output)]
    assert sorted(everything) == sorted(modulus(key) for key in some_keys)


def test_the_cache_is_private_and_holds_only_whole_files(
    tmp_path: Path, some_keys: list[rsa.RSAPrivateKey]
) -> None:
    cache = KeyCache(tmp_path / "cache")
    cache.store(some_keys[:2])
    folder = cache.keys_directory()
    assert folder is not None
    for directory in (folder, folder.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(folder.iterdir())
    assert len(files) == 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.suffix == ".pem" and not path.name.startswith(".")
        assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_a_directory_others_can_write_is_not_used(tmp_path: Path, some_keys: list[rsa.RSAPrivateKey]) -> None:
    cache = KeyCache(tmp_path)
    cache.store(some_keys[:2])
    folder = cache.keys_directory()
    assert folder is not None
    folder.chmod(0o777)
    try:
        assert cache.claim(10) == []
        assert cache.store(some_keys[2:4]) == 0
    finally:
        folder.chmod(0o700)
    assert len(cache.claim(10)) == 2


def test_a_damaged_key_file_is_skipped(tmp_path: Path, some_keys: list[rsa.RSAPrivateKey]) -> None:
    cache = KeyCache(tmp_path)
    cache.store(some_keys[:1])
    folder = cache.keys_directory()
    assert folder is not None
    (folder / "damaged.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\ntruncated")
    (folder / "damaged.pem").chmod(0o600)
    assert [modulus(key) for key in cache.claim(10)] == [modulus(some_keys[0])]
    assert list(folder.iterdir()) == []


def test_the_cache_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, some_keys: list[rsa.RSAPrivateKey]
) -> None:
    monkeypatch.setattr("mock_iotprov.pki.key_cache.MAX_CACHED_KEYS", 3)
    cache = KeyCache(tmp_path)
    assert cache.store(some_keys) == 3
    assert cache.store(some_keys) == 0
    assert MAX_CACHED_KEYS >= 256


def test_where_the_cache_lives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("MOCK_IOTPROV_CACHE_DIR", "XDG_CACHE_HOME", "MOCK_IOTPROV_KEY_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_directory() == tmp_path / "home" / ".cache" / "mock_iotprov"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert default_cache_directory() == tmp_path / "home" / ".cache" / "mock_iotprov"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_directory() == tmp_path / "xdg" / "mock_iotprov"
    monkeypatch.setenv("MOCK_IOTPROV_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_directory() == tmp_path / "explicit"
    monkeypatch.setenv("MOCK_IOTPROV_KEY_CACHE", "off")
    assert default_cache_directory() is None
    assert KeyCache().store([generate_rsa_key()]) == 0


def test_the_process_wide_source_uses_the_environment_cache_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source: Any = keys.default_key_source()
    assert isinstance(source._cache, KeyCache)
    monkeypatch.setenv("MOCK_IOTPROV_CACHE_DIR", str(tmp_path))
    assert source._cache.keys_directory() == tmp_path / "keys"
