"""Placeholder credentials while a process-wide mock is active.

botocore resolves credentials when a client is created; with none configured it walks its whole provider
chain, down to the EC2 instance metadata service, a network call. While a mock is active and the environment
has no ``AWS_ACCESS_KEY_ID``, placeholder keys are put in the environment so that resolution ends at once,
locally; they are removed when the last such mock stops. Credentials already present are left alone. They
are never used for a mocked request either way: the mock answers before botocore signs anything.
``patch_session`` does the same for one session only (:func:`cover_session`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from botocore.credentials import CredentialProvider, CredentialResolver, Credentials

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


# Providers that leave the machine to find credentials: the container credentials endpoint and the EC2
# instance metadata service.
_NETWORK_PROVIDERS = frozenset({"container-role", "iam-role"})
_PLACEHOLDER_METHOD = "mock-iotprov-placeholder"


def cover_session(botocore_session: Any) -> Callable[[], None]:
    """``patch_session``'s equivalent of :func:`acquire`, for one botocore session; returns the undo.

    Unless the session already has credentials, its credential chain is replaced, while the patch lasts,
    by the same chain without the providers that ask the network (container endpoint, instance metadata)
    and ending in placeholder keys: credentials configured locally (environment, shared files, profiles,
    processes) are still found, and when there are none, resolution ends at once with the placeholders
    instead of a call to ``169.254.169.254``. The undo restores the chain and forgets placeholder
    credentials the session cached (clients created meanwhile keep what they resolved).
    """
    if getattr(botocore_session, "_credentials", None) is not None:
        return _nothing
    original = botocore_session.get_component("credential_provider")
    providers = [p for p in getattr(original, "providers", []) if p.METHOD not in _NETWORK_PROVIDERS]
    botocore_session.register_component(
        "credential_provider", CredentialResolver(providers=[*providers, _PlaceholderProvider()])
    )

    def undo() -> None:
        botocore_session.register_component("credential_provider", original)
        cached = getattr(botocore_session, "_credentials", None)
        if getattr(cached, "method", None) == _PLACEHOLDER_METHOD:
            botocore_session._credentials = None

    return undo


def _nothing() -> None:
    return None


class _PlaceholderProvider(CredentialProvider):
    """The end of a covered session's chain: placeholder keys, never sent anywhere."""

    METHOD = _PLACEHOLDER_METHOD

    def load(self) -> Credentials:
        return Credentials(
            PLACEHOLDER_KEYS["AWS_ACCESS_KEY_ID"],
            PLACEHOLDER_KEYS["AWS_SECRET_ACCESS_KEY"],
            method=_PLACEHOLDER_METHOD,
        )
