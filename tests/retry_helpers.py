"""Fast retries for tests: botocore's backoff sleeps are recorded instead of slept.

botocore sleeps between attempts in ``botocore.endpoint`` (``time.sleep(delay)``, every retry mode) and,
in ``adaptive`` mode, inside its client-side rate limiter's token bucket (``botocore.retries.bucket``,
which waits on a condition for the bucket's clock). ``fast_retries`` replaces the first with a recorder
and gives the second a clock that runs ahead by a minute at each reading, so its bucket is always full.
Clients must be created after it is applied (the adaptive limiter reads its clock class at creation).
"""

from __future__ import annotations

import time
import types
from typing import Any

import botocore.endpoint
import botocore.retries.bucket
import pytest


class _RunningClock:
    def __init__(self) -> None:
        self._now = time.time()

    def sleep(self, amount: float) -> None:
        self._now += amount

    def current_time(self) -> float:
        self._now += 60.0
        return self._now


def fast_retries(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record botocore's retry delays (returned list) instead of sleeping them."""
    delays: list[float] = []
    fake_time: Any = types.SimpleNamespace(sleep=delays.append, time=time.time, monotonic=time.monotonic)
    monkeypatch.setattr(botocore.endpoint, "time", fake_time)
    monkeypatch.setattr(botocore.retries.bucket, "Clock", _RunningClock)
    return delays
