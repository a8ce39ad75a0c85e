"""Injected faults: errors and delays a test arms on a mock, decided before any handler runs.

A :class:`Fault` names an operation of botocore's ``iot`` model (or ``"*"`` for every operation) and an
error code that the model declares for it; the error is answered with the model's HTTP status, exactly as
the service sends it. ``ThrottlingException`` (HTTP 400 in the model) is what botocore's retry handler
retries by its code in every retry mode (``legacy``, ``standard``, ``adaptive``);
``ServiceUnavailableException`` (503) and ``InternalFailureException`` (500) are retried by status.

- ``times``: how many requests the fault answers (``None``: until cleared). ``fault.fired`` counts them.
- ``probability``: the chance that a matching request is answered by the fault. Each fault draws from its
  own :class:`random.Random`; pass ``seed`` for a reproducible sequence (the same seed, the same requests
  faulted), else it is seeded from the operating system. ``probability=1.0`` never draws.
- ``latency_s``: the answer is delayed by that many seconds; with ``code=None`` the request is then
  answered normally (a slow call, not a failed one).

For ``"*"`` a fault with a code answers only the operations whose model declares that code (for example
``UpdateProvisioningTemplate`` declares no ``ThrottlingException`` and is never throttled by
``inject_fault("*")``); a ``code=None`` fault delays every operation. When several armed faults match a
request, they are considered in the order they were injected, up to the first error fault that fires,
which answers the request; the delay-only faults before it that fire add their delays (at most
:data:`MAX_LATENCY_S` in all); the faults after it are not consulted and do not count. An injected error
changes no state: the handler never runs for that request.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.protocol.model import iot_service_model

ANY_OPERATION = "*"
DEFAULT_CODE = "ThrottlingException"
MAX_LATENCY_S = 300.0
MAX_FAULTS = 100

_MESSAGES = {
    "ThrottlingException": "Rate exceeded",
    "ServiceUnavailableException": "Service Unavailable",
    "InternalFailureException": "Internal Failure",
}


@cache
def declared_codes(operation: str) -> frozenset[str]:
    """The error codes the ``iot`` model declares for ``operation`` (for ``"*"``: for any operation)."""
    model = iot_service_model()
    if operation == ANY_OPERATION:
        names = model.operation_names
    elif operation in model.operation_names:
        names = [operation]
    else:
        raise ValueError(f"{operation!r} is not an operation of the iot service model (or '*')")
    return frozenset(shape.name for name in names for shape in model.operation_model(name).error_shapes)


@dataclass
class Fault:
    """One armed fault; ``fired`` counts the requests it has answered so far."""

    operation: str
    code: str | None = DEFAULT_CODE
    times: int | None = 1
    probability: float = 1.0
    latency_s: float = 0.0
    seed: int | None = None
    fired: int = 0
    id: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    @property
    def exhausted(self) -> bool:
        """Whether the fault has answered its ``times`` requests (it then answers no more)."""
        return self.times is not None and self.fired >= self.times

    def matches(self, operation: str) -> bool:
        if self.operation == ANY_OPERATION:
            return self.code is None or self.code in declared_codes(operation)
        return self.operation == operation

    def error(self, operation: str) -> ServiceError | None:
        """The service error this fault answers with (None for a delay-only fault)."""
        if self.code is None:
            return None
        message = _MESSAGES.get(self.code, f"{self.code} (injected by mock_iotprov into {operation})")
        return ServiceError(self.code, message)

    def to_dict(self) -> dict[str, Any]:
        """The fault as JSON-ready data (the HTTP admin surface lists faults this way)."""
        return {
            "id": self.id,
            "operation": self.operation,
            "code": self.code,
            "times": self.times,
            "probability": self.probability,
            "latency_s": self.latency_s,
            "seed": self.seed,
            "fired": self.fired,
            "exhausted": self.exhausted,
        }


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return number


def new_fault(
    operation: Any,
    code: Any = DEFAULT_CODE,
    *,
    times: Any = 1,
    probability: Any = 1.0,
    latency_s: Any = 0.0,
    seed: Any = None,
) -> Fault:
    """A validated :class:`Fault`; raises ``TypeError``/``ValueError`` naming the field that is wrong."""
    if not isinstance(operation, str):
        raise TypeError(f"operation must be an operation name or '*', got {operation!r}")
    allowed = declared_codes(operation)
    if code is not None:
        if not isinstance(code, str):
            raise TypeError(f"code must be an error code or None, got {code!r}")
        if code not in allowed:
            raise ValueError(
                f"{code!r} is not an error the iot model declares for {operation}; "
                f"allowed codes: {', '.join(sorted(allowed))}"
            )
    if times is not None:
        if isinstance(times, bool) or not isinstance(times, int):
            raise TypeError(f"times must be a positive integer or None, got {times!r}")
        if times < 1:
            raise ValueError(f"times must be at least 1 (None: until cleared), got {times}")
    chance = _number("probability", probability, 0.0, 1.0)
    delay = _number("latency_s", latency_s, 0.0, MAX_LATENCY_S)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    return Fault(operation, code, times, chance, delay, seed, _random=random.Random(seed))


@dataclass(frozen=True)
class FaultDecision:
    """What the armed faults do to one request: a delay, then an error or the normal answer."""

    latency_s: float
    error: ServiceError | None


class FaultTable:
    """The faults armed on one mock (or one server). Thread-safe.

    ``sleep`` is the function that delays an answer (``time.sleep`` by default; a test may replace it).
    """

    def __init__(self, sleep: Callable[[float], None] | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._next_id = 1
        self.armed = False
        self.sleep: Callable[[float], None] = sleep if sleep is not None else time.sleep

    def add(self, fault: Fault) -> Fault:
        """Arm ``fault`` (after those already armed); raises ``ValueError`` beyond :data:`MAX_FAULTS`."""
        with self._lock:
            live = [item for item in self._faults if not item.exhausted]
            if len(live) >= MAX_FAULTS:
                raise ValueError(f"at most {MAX_FAULTS} faults can be armed at once; clear some first")
            fault.id, self._next_id = self._next_id, self._next_id + 1
            self._faults = live + [fault]
            self.armed = True
        return fault

    def clear(self) -> int:
        """Disarm every fault; returns how many there were."""
        with self._lock:
            count, self._faults = len(self._faults), []
            self.armed = False
        return count

    def faults(self) -> list[Fault]:
        """Every fault armed since the last clear (exhausted ones included, until the next ``add``)."""
        with self._lock:
            return list(self._faults)

    def decide(self, operation: str) -> FaultDecision | None:
        """Which faults fire for one request to ``operation`` (counted now); None when none does."""
        if not self.armed:
            return None
        with self._lock:
            latency, error = 0.0, None
            fired = False
            for fault in self._faults:
                if fault.exhausted or not fault.matches(operation):
                    continue
                if fault.probability < 1.0 and fault._random.random() >= fault.probability:
                    continue
                fault.fired += 1
                fired = True
                latency = min(MAX_LATENCY_S, latency + fault.latency_s)
                error = fault.error(operation)
                if error is not None:
                    break
            self.armed = any(not fault.exhausted for fault in self._faults)
        return FaultDecision(latency, error) if fired else None

    def apply(self, operation: str) -> ServiceError | None:
        """Decide for one request, wait out its delay, and return the injected error (if any)."""
        decision = self.decide(operation)
        if decision is None:
            return None
        if decision.latency_s > 0:
            self.sleep(decision.latency_s)
        return decision.error
