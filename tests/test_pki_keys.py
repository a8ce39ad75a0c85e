"""Behaviour of the RSA key source: first call, fresh keys, never a repeat, threads, and fork safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import traceback
from typing import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mock_iotprov.pki import KeySource, default_key_source, generate_rsa_key

BACKGROUND_WAIT_SECONDS = 60.0


def modulus(key: rsa.RSAPrivateKey) -> int:
    return key.public_key().public_numbers().n


def assert_usable_rsa_2048(key: rsa.RSAPrivateKey) -> None:
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert key.public_key().public_numbers().e == 65537
    signature = key.sign(b"payload", padding.PKCS1v15(), hashes.SHA256())
    key.public_key().verify(signature, b"payload", padding.PKCS1v15(), hashes.SHA256())


def run_in_child(work: Callable[[], list[int]]) -> list[int]:
    """Fork; run ``work`` in the child and return what it produced (moduli) to the parent."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        exit_code = 1
        try:
            os.close(read_fd)
            signal.alarm(30)  # a deadlock in the child fails the test instead of hanging it
            payload = json.dumps(work()).encode("ascii")
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
            exit_code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(exit_code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    result: list[int] = json.loads(payload)
    return result


def test_generate_rsa_key_is_rsa_2048_with_exponent_65537() -> None:
    assert_usable_rsa_2048(generate_rsa_key())


def test_constructor_starts_no_thread_and_rejects_empty_bounds() -> None:
    source = KeySource(pool_size=2)
    assert not source.background_running
    assert source.unused_count == 0
    assert source.pool_size == 2
    with pytest.raises(ValueError):
        KeySource(pool_size=0)


def test_importing_the_package_starts_no_background_thread() -> None:
    code = (
        "import threading, mock_iotprov.pki as pki\n"
        "pki.default_key_source()\n"
        "print([t.name for t in threading.enumerate() if t.name.startswith('mock_iotprov')])\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_takes_from_an_empty_pool_generate_new_keys_rather_than_repeat() -> None:
    source = KeySource(pool_size=2, background=False)
    keys = [source.take() for _ in range(3)]
    for key in keys:
        assert_usable_rsa_2048(key)
    assert len({modulus(key) for key in keys}) == 3
    assert source.unused_count == 0


def test_pooled_keys_are_handed_out_once_then_new_ones_are_made() -> None:
    source = KeySource(pool_size=2, background=False)
    source.fill()
    assert source.unused_count == 2
    keys = [source.take() for _ in range(4)]
    assert len({modulus(key) for key in keys}) == 4
    assert source.unused_count == 0


def test_fill_never_grows_the_pool_beyond_its_bound() -> None:
    source = KeySource(pool_size=1, background=False)
    source.fill(3)
    assert source.unused_count == 1


def test_fresh_keys_are_distinct_and_never_handed_out_again() -> None:
    source = KeySource(pool_size=2, background=False)
    fresh = [source.take(fresh=True) for _ in range(3)]
    for key in fresh:
        assert_usable_rsa_2048(key)
    assert len({modulus(key) for key in fresh}) == 3
    # Fresh keys never enter the pool: the next plain take is another new key.
    plain = source.take()
    assert modulus(plain) not in {modulus(key) for key in fresh}


def test_first_take_starts_the_background_generator_which_fills_the_pool() -> None:
    source = KeySource(pool_size=2)
    first = source.take()
    source.join_background(BACKGROUND_WAIT_SECONDS)
    assert not source.background_running
    assert source.unused_count == 2
    later = [source.take(), source.take()]
    assert len({modulus(key) for key in [first, *later]}) == 3
    source.join_background(BACKGROUND_WAIT_SECONDS)
    assert source.unused_count == 2  # restarted on demand, refilled, stopped


def test_concurrent_takes_never_hand_out_an_unused_key_twice() -> None:
    source = KeySource(pool_size=8, background=False)
    source.fill()
    barrier = threading.Barrier(8)
    taken: list[rsa.RSAPrivateKey] = []
    taken_lock = threading.Lock()

    def take_one() -> None:
        barrier.wait()
        key = source.take()
        with taken_lock:
            taken.append(key)

    threads = [threading.Thread(target=take_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({modulus(key) for key in taken}) == 8
    assert source.unused_count == 0


def test_concurrent_takes_from_an_empty_source_all_succeed() -> None:
    source = KeySource(pool_size=4)
    barrier = threading.Barrier(8)
    taken: list[rsa.RSAPrivateKey] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def take_some() -> None:
        try:
            barrier.wait()
            keys = [source.take() for _ in range(3)]
        except BaseException as error:
            with lock:
                errors.append(error)
            return
        with lock:
            taken.extend(keys)

    threads = [threading.Thread(target=take_some) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    source.join_background(BACKGROUND_WAIT_SECONDS)
    assert errors == []
    assert len(taken) == 24
    assert len({modulus(key) for key in taken}) == 24  # never a repeat, however fast the calls
    for key in {modulus(key): key for key in taken}.values():
        assert_usable_rsa_2048(key)


def test_forked_child_never_hands_out_the_parents_unused_keys() -> None:
    parent = KeySource(pool_size=2, background=False)
    parent.fill()
    child_keys = run_in_child(lambda: [modulus(parent.take()) for _ in range(2)])
    assert len(child_keys) == 2
    parent_unused = [modulus(parent.take()) for _ in range(2)]
    assert len(set(parent_unused)) == 2
    assert not set(child_keys) & set(parent_unused)


def test_forked_child_never_repeats_a_key_the_parent_handed_out() -> None:
    parent = KeySource(pool_size=2, background=False)
    handed_out = parent.take()
    parent.fill()
    child_keys = run_in_child(lambda: [modulus(parent.take()) for _ in range(3)])
    assert len(set(child_keys)) == 3
    assert modulus(handed_out) not in child_keys
    parent_unused = {modulus(parent.take()) for _ in range(2)}
    assert not set(child_keys) & parent_unused


def test_forked_child_restarts_its_own_generator_and_fills_its_own_pool() -> None:
    parent = KeySource(pool_size=2)
    handed_out = parent.take()

    def child_work() -> list[int]:
        assert parent.unused_count == 0  # inherited unused keys are not the child's
        assert not parent.background_running  # the parent's generator thread is not here
        first = parent.take()
        parent.join_background(BACKGROUND_WAIT_SECONDS)
        assert parent.unused_count == 2
        return [modulus(first), modulus(parent.take()), modulus(parent.take())]

    # Holding the lock keeps the parent's generator from finishing, so it is still running
    # (or waiting to store a key) at the moment of the fork.
    parent._lock.acquire()
    try:
        assert parent._generator is not None
        child_first, *child_unused = run_in_child(child_work)
    finally:
        parent._lock.release()
    assert child_first != modulus(handed_out)
    parent.join_background(BACKGROUND_WAIT_SECONDS)
    parent_unused = {modulus(parent.take()) for _ in range(2)}
    assert len(set(child_unused)) == 2
    assert not set(child_unused) & parent_unused


def test_forked_child_does_not_inherit_a_held_lock() -> None:
    source = KeySource(pool_size=1, background=False)
    source.take()
    source._lock.acquire()  # as if another parent thread held it at fork time
    try:
        child_keys = run_in_child(lambda: [modulus(source.take())])
    finally:
        source._lock.release()
    assert len(child_keys) == 1


def test_default_key_source_is_one_lazily_created_instance() -> None:
    source = default_key_source()
    assert isinstance(source, KeySource)
    assert default_key_source() is source
