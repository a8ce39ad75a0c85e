"""``os.fork`` while another thread is inside a mocked call: the child does not inherit a held lock.

The child runs mocked calls on the very store the other thread was using and exits with a status the parent
checks. The parent waits for it with a deadline and kills it on expiry, so a hang fails the test instead of
hanging the suite.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning
from mock_iotprov.service import OPERATIONS
from tests.helpers import iot_client

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")

CHILD_DEADLINE_SECONDS = 20.0
CHILD_OK, CHILD_FAILED = 0, 3


def _wait_for(pid: int) -> int:
    """The child's exit status; kills it and fails the test if it has not exited by the deadline."""
    deadline = time.monotonic() + CHILD_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"the forked child hung for {CHILD_DEADLINE_SECONDS} s (a lock inherited held?)")


def _fork_and_run(child_body: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = CHILD_FAILED
        try:
            child_body()
            status = CHILD_OK
        finally:
            os._exit(status)
    return _wait_for(pid)


def test_a_child_forked_during_a_call_in_another_thread_can_use_the_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inside, release = threading.Event(), threading.Event()
    describe = OPERATIONS["DescribeThing"]

    def blocking_describe(ctx: Any, **params: Any) -> Any:
        inside.set()
        release.wait(CHILD_DEADLINE_SECONDS)
        return describe(ctx, **params)

    with MockIotProvisioning():
        client = iot_client()
        client.create_thing(thingName="before-fork")
        monkeypatch.setitem(OPERATIONS, "DescribeThing", blocking_describe)
        worker = threading.Thread(target=client.describe_thing, kwargs={"thingName": "before-fork"})
        worker.start()
        try:
            assert inside.wait(CHILD_DEADLINE_SECONDS), "the worker never entered the mocked call"

            def child() -> None:
                client.create_thing(thingName="in-child")
                names = sorted(t["thingName"] for t in client.list_things()["things"])
                if names != ["before-fork", "in-child"]:
                    raise AssertionError(names)

            assert _fork_and_run(child) == CHILD_OK
        finally:
            release.set()
            worker.join(CHILD_DEADLINE_SECONDS)
        # The parent's state is its own: the child's thing is not in it, and its lock still works.
        assert [t["thingName"] for t in client.list_things()["things"]] == ["before-fork"]


def test_a_child_forked_while_a_new_store_is_being_made_can_make_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backend's own lock (held while a store for a new region is created) is renewed in the child."""
    with MockIotProvisioning() as mock:
        backend_lock = mock.backend._lock
        backend_lock.acquire()  # as if another thread were creating a store at the moment of the fork
        try:

            def child() -> None:
                iot_client("eu-north-1").create_thing(thingName="in-a-new-region")

            assert _fork_and_run(child) == CHILD_OK
        finally:
            backend_lock.release()
