"""The one piece of process-wide mutable state: the stack of active mocks.

Doors ask it which mock answers a request. A mock started by ``mock_iot_provisioning`` answers every
botocore client in the process; a mock from ``patch_session`` only the clients of one session (recognised
by that session's data loader, which each of its clients keeps). The most recently started matching mock
answers.

A forked child renews the lock: only the forking thread lives on there, so a lock another thread held at
the moment of the fork (while it started or stopped a mock) would stay held for ever, and the child would
hang the first time it starts or stops a mock.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_iotprov.mock import MockIotProvisioning

_lock = threading.Lock()
_stack: list[MockIotProvisioning] = []


def _renew_lock_in_child() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_lock_in_child)


def push(mock: MockIotProvisioning) -> None:
    with _lock:
        _stack.append(mock)


def remove(mock: MockIotProvisioning) -> None:
    with _lock:
        for index in range(len(_stack) - 1, -1, -1):
            if _stack[index] is mock:
                del _stack[index]
                break


def any_active() -> bool:
    """Whether any mock is active (a cheap check for the hot path)."""
    return bool(_stack)


def global_mock() -> MockIotProvisioning | None:
    """The innermost mock that answers every client, if any."""
    for mock in reversed(_stack):
        if mock.session_loader is None:
            return mock
    return None


def mock_for_loader(loader: Any) -> MockIotProvisioning | None:
    """The innermost mock that answers a client whose session data loader is ``loader``."""
    for mock in reversed(_stack):
        if mock.session_loader is None or mock.session_loader is loader:
            return mock
    return None
