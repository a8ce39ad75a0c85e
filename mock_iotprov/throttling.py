"""AWS IoT Core's per-API request-rate quotas, enforced with token buckets per account and region.

AWS IoT Core throttles each control-plane API per account and per Region; a request beyond the rate gets
``ThrottlingException`` ("Rate exceeded"). The rates below (requests per second) are the defaults of the
table "AWS IoT Core API throttling limits" on the AWS IoT Core quotas page,
https://docs.aws.amazon.com/general/latest/gr/iot-core.html#throttling-limits (in Service Quotas each is
"<Operation> API TPS", e.g. "RegisterThing API TPS" L-C0B2EF8B, "CreateKeysAndCertificate API TPS"
L-40B55430). ``RegisterThing`` 10, ``CreateKeysAndCertificate`` 10, ``CreateThing`` 100, ``DescribeThing``
350. Where the page raised a default over the years, the current value is used (``CreateThing``,
``AttachThingPrincipal``: 15 then 100; ``AddThingToThingGroup``: 60 then 100; ``DescribeThingType``: 10
then 100). An operation not in :data:`API_RATES` gets :data:`DEFAULT_RATE` (10, the table's most common
value; role aliases, provisioning templates and claims, bulk registration tasks and event configurations
among them). Quotas are adjustable per account: pass ``rates`` to model a raised one.

Choices where AWS documents nothing:

- A bucket holds at most one second's worth of requests (capacity = rate) and refills continuously; a
  fresh bucket is full, so a burst of ``rate`` requests passes at once and the next one is throttled.
- Each operation has its own bucket per (account, region); ``RegisterThing`` consumes only its own token
  (the service's internal calls to other APIs, which AWS warns may also throttle, are not modelled).
- Operations whose model declares no ``ThrottlingException`` (``UpdateProvisioningTemplate``) are never
  throttled. At most :data:`MAX_BUCKETS` buckets are kept (the oldest is forgotten, i.e. refilled), so
  requests for ever new regions cost bounded memory.

Time comes from ``clock`` (``time.monotonic`` read at each call, so freezegun and time-machine move it);
pass any zero-argument function returning seconds to control it in a test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from mock_iotprov.faults import FaultTable, declared_codes
from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.state import is_region_name

DEFAULT_RATE = 10.0
MAX_BUCKETS = 4096
_EPSILON = 1e-6  # a token refilled over exactly 1/rate seconds counts, despite float rounding

API_RATES: Mapping[str, float] = {
    "AddThingToBillingGroup": 60,
    "AddThingToThingGroup": 100,
    "AttachPolicy": 15,
    "AttachPrincipalPolicy": 15,
    "AttachThingPrincipal": 100,
    "CreateBillingGroup": 25,
    "CreateCertificateFromCsr": 15,
    "CreateKeysAndCertificate": 10,
    "CreatePolicy": 10,
    "CreatePolicyVersion": 10,
    "CreateThing": 100,
    "CreateThingGroup": 25,
    "CreateThingType": 15,
    "DeleteBillingGroup": 15,
    "DeleteCACertificate": 10,
    "DeleteCertificate": 10,
    "DeletePolicy": 10,
    "DeletePolicyVersion": 10,
    "DeleteThing": 15,
    "DeleteThingGroup": 15,
    "DeleteThingType": 15,
    "DeprecateThingType": 15,
    "DescribeBillingGroup": 100,
    "DescribeCACertificate": 10,
    "DescribeCertificate": 10,
    "DescribeThing": 350,
    "DescribeThingGroup": 100,
    "DescribeThingType": 100,
    "DetachPolicy": 15,
    "DetachPrincipalPolicy": 15,
    "DetachThingPrincipal": 15,
    "GetPolicy": 10,
    "GetPolicyVersion": 15,
    "GetRegistrationCode": 10,
    "ListAttachedPolicies": 15,
    "ListCACertificates": 10,
    "ListCertificates": 10,
    "ListCertificatesByCA": 10,
    "ListPolicies": 10,
    "ListPolicyPrincipals": 10,
    "ListPolicyVersions": 10,
    "ListPrincipalPolicies": 15,
    "ListPrincipalThings": 10,
    "ListTargetsForPolicy": 10,
    "ListThingGroups": 10,
    "ListThingGroupsForThing": 10,
    "ListThingPrincipals": 10,
    "ListThings": 10,
    "ListThingsInBillingGroup": 25,
    "ListThingsInThingGroup": 25,
    "ListThingTypes": 10,
    "RegisterCACertificate": 10,
    "RegisterCertificate": 10,
    "RegisterCertificateWithoutCA": 10,
    "RegisterThing": 10,
    "RemoveThingFromBillingGroup": 15,
    "RemoveThingFromThingGroup": 15,
    "SetDefaultPolicyVersion": 10,
    "TagResource": 10,
    "UntagResource": 10,
    "UpdateBillingGroup": 15,
    "UpdateCACertificate": 10,
    "UpdateCertificate": 10,
    "UpdateThing": 10,
    "UpdateThingGroup": 15,
    # fleet indexing (the same page's "Fleet indexing" throttling table)
    "DescribeIndex": 10,
    "GetIndexingConfiguration": 20,
    "ListIndices": 5,
    "SearchIndex": 15,
    "UpdateIndexingConfiguration": 1,
}


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity``; starts full."""

    __slots__ = ("rate", "capacity", "tokens", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens, self.updated = capacity, now

    def take(self, now: float) -> bool:
        """Take one token if there is one (after refilling up to ``now``)."""
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        if self.tokens >= 1.0 - _EPSILON:
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        return False


class Throttle:
    """Per-API token buckets for every (account, region); thread-safe.

    ``rates`` overrides or extends :data:`API_RATES` (requests per second, by operation name);
    ``default_rate`` applies to operations in neither.
    """

    def __init__(
        self,
        clock: Callable[[], float] | None = None,
        *,
        rates: Mapping[str, float] | None = None,
        default_rate: float = DEFAULT_RATE,
    ) -> None:
        self.clock: Callable[[], float] = clock if clock is not None else (lambda: time.monotonic())
        self.rates = {**API_RATES, **(rates or {})}
        for name, rate in [*self.rates.items(), ("default_rate", default_rate)]:
            if not rate > 0:
                raise ValueError(f"rate for {name} must be positive, got {rate!r}")
        self.default_rate = float(default_rate)
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def fresh(self) -> Throttle:
        """A throttle with the same clock and rates and full buckets."""
        return Throttle(self.clock, rates=self.rates, default_rate=self.default_rate)

    def rate_of(self, operation: str) -> float:
        """Requests per second allowed for ``operation``."""
        return float(self.rates.get(operation, self.default_rate))

    def admit(self, account_id: str, region: str, operation: str) -> bool:
        """Whether one request to ``operation`` fits the rate now (and count it if so)."""
        if "ThrottlingException" not in declared_codes(operation) or not is_region_name(region):
            return True  # a request for a malformed region is refused later, by its region check
        now = self.clock()
        key = (account_id, region, operation)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:  # bounded memory: forget the oldest bucket
                    del self._buckets[next(iter(self._buckets))]
                rate = self.rate_of(operation)
                bucket = self._buckets[key] = TokenBucket(rate, rate, now)
            return bucket.take(now)

    def check(self, account_id: str, region: str, operation: str) -> ServiceError | None:
        """``ThrottlingException`` when the request exceeds the rate, else None."""
        if self.admit(account_id, region, operation):
            return None
        return ServiceError("ThrottlingException", "Rate exceeded")


def front_door_error(
    faults: FaultTable, throttle: Throttle | None, account_id: str, region: str, operation: str
) -> ServiceError | None:
    """The error the service's front door answers before any handler runs, if any.

    Injected faults are decided first (their delay waited out here); a request an injected error answers
    takes no throttling token. Then the rate quota, when ``throttle`` is set.
    """
    error = faults.apply(operation)
    if error is None and throttle is not None:
        error = throttle.check(account_id, region, operation)
    return error
