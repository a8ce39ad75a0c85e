"""Placeholder credentials while a process-wide mock is active.

botocore resolves credentials when a client is created; with none configured it walks its whole provider
chain, down to the EC2 instance metadata service, a network call. While a mock is active and the environment
has no ``AWS_ACCESS_KEY_ID``, placeholder keys are put in the environment so that resolution ends at once,
locally; they are removed when the last such mock stops. Credentials already present are left alone. They
are never used for a mocked request either way: the mock answers before botocore signs anything.
"""

from __future__ import annotations

import os
import threading

PLACEHOLDER_KEYS = {
    "AWS_ACCESS_KEY_ID": "mock_iotprov_access_key",
    "AWS_SECRET_ACCESS_KEY": "mock_iotprov_secret_key",
}

_lock = threading.Lock()
_users = 0
_set_by_us: dict[str, str] = {}


def acquire() -> None:
    """A mock started: make sure credential resolution stays local."""
    global _users
    with _lock:
        _users += 1
        if _users == 1 and "AWS_ACCESS_KEY_ID" not in os.environ:
            for name, value in PLACEHOLDER_KEYS.items():
                if name not in os.environ:
                    os.environ[name] = value
                    _set_by_us[name] = value


def release() -> None:
    """A mock stopped: remove the placeholders once no mock needs them."""
    global _users
    with _lock:
        _users = max(0, _users - 1)
        if _users == 0:
            for name, value in _set_by_us.items():
                if os.environ.get(name) == value:
                    del os.environ[name]
            _set_by_us.clear()
