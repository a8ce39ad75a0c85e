"""``throttle=True``: AWS IoT Core's published per-API rates, per account and region, with a test clock."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from freezegun import freeze_time

from mock_iotprov import mock_iot_provisioning
from mock_iotprov.throttling import API_RATES, DEFAULT_RATE, MAX_BUCKETS, Throttle
from tests.helpers import SIMPLE_TEMPLATE, error_of
from tests.retry_helpers import fast_retries

# The documented defaults (AWS IoT Core endpoints and quotas, "AWS IoT Core API throttling limits").
DOCUMENTED = {"RegisterThing": 10, "CreateKeysAndCertificate": 10, "CreateThing": 100, "DescribeThing": 350}


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def one_attempt(region: str = "us-east-1", session: Any = boto3) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return session.client("iot", region_name=region, config=config)


def calls(client: Any, operation: str) -> Any:
    """A function making one request of ``operation`` through ``client``, for each of the four."""
    counter = iter(range(10**6))
    if operation == "RegisterThing":
        return lambda: client.register_thing(
            templateBody=SIMPLE_TEMPLATE, parameters={"ThingName": f"r{next(counter)}"}
        )
    if operation == "CreateKeysAndCertificate":
        return lambda: client.create_keys_and_certificate(setAsActive=False)
    if operation == "CreateThing":
        return lambda: client.create_thing(thingName=f"c{next(counter)}")
    client.create_thing(thingName="described")
    return lambda: client.describe_thing(thingName="described")


def burst(call: Any, count: int) -> list[str]:
    outcomes = []
    for _ in range(count):
        try:
            call()
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
    return outcomes


def test_the_table_holds_the_documented_rates() -> None:
    for operation, rate in DOCUMENTED.items():
        assert API_RATES[operation] == rate
    assert Throttle().rate_of("ListThingRegistrationTasks") == DEFAULT_RATE == 10


@pytest.mark.parametrize("operation", sorted(DOCUMENTED))
def test_a_burst_beyond_the_documented_rate_is_throttled(operation: str) -> None:
    rate = DOCUMENTED[operation]
    clock = ManualClock()
    with mock_iot_provisioning(throttle=Throttle(clock)):
        call = calls(one_attempt(), operation)
        outcomes = burst(call, rate + 1)
        assert outcomes == ["ok"] * rate + ["ThrottlingException"]
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("ThrottlingException", 400, "Rate exceeded")

        clock.now += 1.0 / rate  # one token refilled
        assert burst(call, 2) == ["ok", "ThrottlingException"]
        clock.now += 10.0  # a full bucket: one second's worth, no more
        assert burst(call, rate + 1) == ["ok"] * rate + ["ThrottlingException"]


def test_a_throttled_request_changes_no_state() -> None:
    clock = ManualClock()
    with mock_iot_provisioning(throttle=Throttle(clock)):
        iot = one_attempt()
        outcomes = burst(calls(iot, "CreateThing"), 105)
        clock.now += 100
        things = [t["thingName"] for t in iot.list_things(maxResults=250)["things"]]
    assert outcomes.count("ok") == 100
    assert sorted(things) == sorted(f"c{index}" for index in range(105) if outcomes[index] == "ok")


def test_rates_are_per_operation_account_and_region() -> None:
    clock = ManualClock()
    with mock_iot_provisioning(throttle=Throttle(clock)):
        east, west = one_attempt("us-east-1"), one_attempt("us-west-2")
        assert burst(calls(east, "RegisterThing"), 11)[-1] == "ThrottlingException"
        assert burst(calls(west, "RegisterThing"), 10) == ["ok"] * 10  # its own region's bucket
        assert burst(calls(east, "CreateKeysAndCertificate"), 10) == ["ok"] * 10  # its own API's bucket
    throttle = Throttle(clock)
    assert all(throttle.admit("111111111111", "us-east-1", "RegisterThing") for _ in range(10))
    assert not throttle.admit("111111111111", "us-east-1", "RegisterThing")
    assert throttle.admit("222222222222", "us-east-1", "RegisterThing")  # another account


def test_an_operation_without_a_declared_throttling_error_is_never_throttled() -> None:
    throttle = Throttle(ManualClock())
    assert all(throttle.admit("123456789012", "us-east-1", "UpdateProvisioningTemplate") for _ in range(100))


def test_rates_can_be_overridden_and_must_be_positive() -> None:
    throttle = Throttle(ManualClock(), rates={"RegisterThing": 2})
    assert [throttle.admit("a", "us-east-1", "RegisterThing") for _ in range(3)] == [True, True, False]
    with pytest.raises(ValueError, match="RegisterThing"):
        Throttle(rates={"RegisterThing": 0})


def test_the_clients_retries_ride_out_the_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """With retries, botocore's backoff (here advancing the test clock) lets a throttled call through."""
    clock = ManualClock()
    delays = fast_retries(monkeypatch)
    monkeypatch.setattr(
        "botocore.endpoint.time.sleep",
        lambda seconds: (delays.append(seconds), setattr(clock, "now", clock.now + 1)),
    )
    with mock_iot_provisioning(throttle=Throttle(clock)):
        iot = boto3.client("iot", region_name="us-east-1", config=Config(retries={"mode": "standard"}))
        call = calls(iot, "RegisterThing")
        responses = [call() for _ in range(11)]
    assert [r["ResponseMetadata"]["RetryAttempts"] for r in responses] == [0] * 10 + [1]
    assert len(delays) == 1


def test_throttle_true_reads_time_monotonic_which_freezegun_controls() -> None:
    with freeze_time("2026-01-01 00:00:00") as frozen, mock_iot_provisioning(throttle=True):
        call = calls(one_attempt(), "RegisterThing")
        assert burst(call, 11) == ["ok"] * 10 + ["ThrottlingException"]
        frozen.tick(0.1)
        assert burst(call, 2) == ["ok", "ThrottlingException"]


def test_the_decorator_keeps_the_throttle_for_each_fresh_mock() -> None:
    clock = ManualClock()

    @mock_iot_provisioning(throttle=Throttle(clock, rates={"CreateThing": 1}))
    def create_two() -> list[str]:
        return burst(calls(one_attempt(), "CreateThing"), 2)

    assert create_two() == ["ok", "ThrottlingException"]
    assert create_two() == ["ok", "ThrottlingException"]  # a fresh mock: full buckets again


def test_buckets_are_bounded_and_junk_regions_take_none() -> None:
    throttle = Throttle(ManualClock())
    letters = "abcdefghijklmnopqrstuvwxyz"
    for index in range(MAX_BUCKETS + 50):
        word = letters[index % 26] + letters[index // 26 % 26] + letters[index // 676 % 26]
        assert throttle.admit("123456789012", f"xx-{word}-1", "DescribeThing")
    assert len(throttle._buckets) == MAX_BUCKETS
    assert all(throttle.admit("123456789012", "not a region", "RegisterThing") for _ in range(20))
    assert len(throttle._buckets) == MAX_BUCKETS
