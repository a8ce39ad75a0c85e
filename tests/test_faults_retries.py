"""Injected faults reach botocore's own retry handling, in every retry mode, in-process."""

from __future__ import annotations

import types
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mock_iotprov import mock_iot_provisioning, patch_session
from mock_iotprov.faults import MAX_LATENCY_S
from mock_iotprov.mock import MockIotProvisioning
from tests.helpers import SIMPLE_TEMPLATE, error_of
from tests.retry_helpers import fast_retries

MODES = ("legacy", "standard", "adaptive")


def client(mode: str | None = None, max_attempts: int | None = None, session: Any = boto3) -> Any:
    retries: dict[str, Any] = {}
    if mode is not None:
        retries["mode"] = mode
    if max_attempts is not None:
        retries["total_max_attempts"] = max_attempts
    config = Config(retries=retries) if retries else None
    return session.client("iot", region_name="us-east-1", config=config)


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return fast_retries(monkeypatch)


@pytest.fixture
def mock() -> Any:
    with mock_iot_provisioning() as handle:
        yield handle


def register(iot: Any, name: str = "thing-1") -> Any:
    return iot.register_thing(templateBody=SIMPLE_TEMPLATE, parameters={"ThingName": name})


def thing_names(iot: Any) -> list[str]:
    return sorted(thing["thingName"] for thing in iot.list_things()["things"])


@pytest.mark.parametrize("mode", MODES)
def test_two_throttles_then_success_is_retried_by_the_client(
    mode: str, mock: MockIotProvisioning, delays: list[float]
) -> None:
    iot = client(mode)
    fault = mock.inject_fault("RegisterThing", times=2)

    response = register(iot)

    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert response["resourceArns"]["thing"].endswith(":thing/thing-1")
    assert fault.fired == 2
    assert len(delays) == 2 and all(delay > 0 for delay in delays)  # botocore's own backoff ran
    assert thing_names(iot) == ["thing-1"]  # the effect applied exactly once


@pytest.mark.parametrize("mode", MODES)
def test_with_one_attempt_the_throttling_error_surfaces(
    mode: str, mock: MockIotProvisioning, delays: list[float]
) -> None:
    iot = client(mode, max_attempts=1)
    fault = mock.inject_fault("RegisterThing", times=2)

    with pytest.raises(ClientError) as excinfo:
        register(iot)

    assert error_of(excinfo)[:2] == ("ThrottlingException", 400)
    assert excinfo.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert fault.fired == 1 and delays == []
    assert thing_names(iot) == []  # the injected failure changed nothing


@pytest.mark.parametrize("mode", MODES)
def test_config_max_attempts_1_means_one_retry_so_two_throttles_surface(
    mode: str, mock: MockIotProvisioning, delays: list[float]
) -> None:
    """In a ``Config``, ``max_attempts`` counts retries in every mode (botocore adds the first attempt)."""
    iot = boto3.client(
        "iot", region_name="us-east-1", config=Config(retries={"mode": mode, "max_attempts": 1})
    )
    fault = mock.inject_fault("RegisterThing", times=2)

    with pytest.raises(ClientError) as excinfo:
        register(iot)

    assert error_of(excinfo)[0] == "ThrottlingException"
    assert excinfo.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert fault.fired == 2 and len(delays) == 1
    assert thing_names(iot) == []


@pytest.mark.parametrize("mode", MODES)
def test_aws_max_attempts_1_in_the_environment_is_one_attempt(
    mode: str, mock: MockIotProvisioning, delays: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", mode)
    iot = boto3.Session().client("iot", region_name="us-east-1")
    fault = mock.inject_fault("RegisterThing", times=2)

    with pytest.raises(ClientError) as excinfo:
        register(iot)

    assert excinfo.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert fault.fired == 1 and delays == []


def test_legacy_max_attempts_counts_retries_and_gives_up(
    mock: MockIotProvisioning, delays: list[float]
) -> None:
    """Legacy ``max_attempts`` is the number of retries: 2 means three attempts, then the error."""
    iot = boto3.client("iot", region_name="us-east-1", config=Config(retries={"max_attempts": 2}))
    fault = mock.inject_fault("CreateThing", times=None)

    with pytest.raises(ClientError) as excinfo:
        iot.create_thing(thingName="never")

    assert excinfo.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert "reached max retries: 2" in str(excinfo.value)
    assert fault.fired == 3 and len(delays) == 2
    mock.clear_faults()
    assert thing_names(iot) == []


@pytest.mark.parametrize(
    ("code", "status"), [("ServiceUnavailableException", 503), ("InternalFailureException", 500)]
)
def test_server_side_errors_are_retried_by_status(
    code: str, status: int, mock: MockIotProvisioning, delays: list[float]
) -> None:
    iot = client("standard")
    fault = mock.inject_fault("CreateKeysAndCertificate", code, times=1)

    response = iot.create_keys_and_certificate(setAsActive=True)

    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert fault.fired == 1
    assert [c["certificateId"] for c in iot.list_certificates()["certificates"]] == [
        response["certificateId"]
    ]
    with pytest.raises(ClientError) as excinfo:
        mock.inject_fault("DescribeThing", code)
        client("standard", max_attempts=1).describe_thing(thingName="x")
    assert error_of(excinfo)[:2] == (code, status)


def test_a_non_retryable_declared_error_is_not_retried(
    mock: MockIotProvisioning, delays: list[float]
) -> None:
    iot = client("standard")
    fault = mock.inject_fault("CreateThing", "InvalidRequestException", times=None)

    with pytest.raises(ClientError) as excinfo:
        iot.create_thing(thingName="t")

    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    assert fault.fired == 1 and delays == []


def test_times_none_lasts_until_cleared(mock: MockIotProvisioning, delays: list[float]) -> None:
    iot = client("standard", max_attempts=1)
    fault = mock.inject_fault("DescribeEndpoint", times=None)
    for _ in range(5):
        with pytest.raises(ClientError):
            iot.describe_endpoint(endpointType="iot:Data-ATS")
    assert fault.fired == 5

    mock.clear_faults()

    assert iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    assert fault.fired == 5


def test_times_limits_the_fault_and_other_operations_are_untouched(mock: MockIotProvisioning) -> None:
    iot = client("standard", max_attempts=1)
    fault = mock.inject_fault("CreateThing", times=1)

    assert iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    with pytest.raises(ClientError):
        iot.create_thing(thingName="a")
    iot.create_thing(thingName="b")

    assert fault.fired == 1 and fault.exhausted
    assert thing_names(iot) == ["b"]


def test_probability_with_a_seed_is_reproducible(mock: MockIotProvisioning) -> None:
    iot = client("standard", max_attempts=1)

    def outcomes(seed: int) -> list[bool]:
        mock.clear_faults()
        fault = mock.inject_fault("DescribeEndpoint", times=None, probability=0.5, seed=seed)
        seen = []
        for _ in range(40):
            try:
                iot.describe_endpoint(endpointType="iot:Data-ATS")
                seen.append(False)
            except ClientError:
                seen.append(True)
        assert fault.fired == sum(seen)
        return seen

    first, again, other = outcomes(7), outcomes(7), outcomes(8)
    assert first == again
    assert first != other
    assert 5 < sum(first) < 35  # about half, not all or none


def test_probability_zero_never_fires(mock: MockIotProvisioning) -> None:
    iot = client("standard", max_attempts=1)
    fault = mock.inject_fault("CreateThing", times=None, probability=0.0)
    for index in range(5):
        iot.create_thing(thingName=f"t{index}")
    assert fault.fired == 0


def test_latency_without_error_delays_and_then_answers(mock: MockIotProvisioning) -> None:
    waited: list[float] = []
    mock.faults.sleep = waited.append
    iot = client("standard", max_attempts=1)
    fault = mock.inject_fault("CreateThing", None, latency_s=0.25, times=2)

    iot.create_thing(thingName="slow-1")
    iot.create_thing(thingName="slow-2")
    iot.create_thing(thingName="fast")

    assert waited == [0.25, 0.25]
    assert fault.fired == 2
    assert thing_names(iot) == ["fast", "slow-1", "slow-2"]


def test_latency_with_an_error_delays_the_error(mock: MockIotProvisioning, delays: list[float]) -> None:
    waited: list[float] = []
    mock.faults.sleep = waited.append
    iot = client("legacy")
    mock.inject_fault("RegisterThing", latency_s=0.5, times=1)

    assert register(iot)["ResponseMetadata"]["RetryAttempts"] == 1
    assert waited == [0.5]


def test_star_applies_to_every_operation_that_declares_the_code(mock: MockIotProvisioning) -> None:
    iot = client("standard", max_attempts=1)
    iot.create_provisioning_template(
        templateName="tpl",
        templateBody=SIMPLE_TEMPLATE,
        provisioningRoleArn="arn:aws:iam::123456789012:role/r",
    )
    fault = mock.inject_fault("*", times=None)

    for call in (lambda: iot.create_thing(thingName="x"), lambda: iot.list_things(), lambda: register(iot)):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo)[0] == "ThrottlingException"
    # UpdateProvisioningTemplate declares no ThrottlingException in the model: never throttled
    iot.update_provisioning_template(templateName="tpl", description="still answered")

    assert fault.fired == 3


def test_faults_are_considered_in_order(mock: MockIotProvisioning) -> None:
    waited: list[float] = []
    mock.faults.sleep = waited.append
    iot = client("standard", max_attempts=1)
    slow = mock.inject_fault("CreateThing", None, latency_s=0.1, times=None)
    first = mock.inject_fault("CreateThing", "ServiceUnavailableException", times=1)
    second = mock.inject_fault("CreateThing", "ThrottlingException", times=1)

    codes = []
    for _ in range(3):
        try:
            iot.create_thing(thingName="x")
            codes.append("ok")
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])

    assert codes == ["ServiceUnavailableException", "ThrottlingException", "ok"]
    assert (slow.fired, first.fired, second.fired) == (3, 1, 1)
    assert waited == [0.1, 0.1, 0.1]


def test_an_undeclared_code_is_refused_naming_the_allowed_ones(mock: MockIotProvisioning) -> None:
    with pytest.raises(ValueError, match="allowed codes: .*ServiceUnavailableException.*ThrottlingException"):
        mock.inject_fault("RegisterThing", "ResourceNotFoundException")
    with pytest.raises(ValueError, match="allowed codes"):
        mock.inject_fault("UpdateProvisioningTemplate", "ThrottlingException")
    with pytest.raises(ValueError, match="not an operation of the iot service model"):
        mock.inject_fault("RegisterThings")
    assert not mock.faults.armed


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"times": 0}, ValueError),
        ({"times": True}, TypeError),
        ({"times": 1.5}, TypeError),
        ({"probability": 1.5}, ValueError),
        ({"probability": float("nan")}, ValueError),
        ({"probability": "1"}, TypeError),
        ({"latency_s": -1}, ValueError),
        ({"latency_s": 10_000}, ValueError),
        ({"seed": "x"}, TypeError),
    ],
)
def test_invalid_fields_are_refused(mock: MockIotProvisioning, fields: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        mock.inject_fault("CreateThing", **fields)
    assert not mock.faults.armed


def test_no_fault_armed_answers_before_send_is_reached(mock: MockIotProvisioning) -> None:
    """The fast path (answered at before-call) is kept while nothing is armed, and again once cleared."""
    iot = client("standard", max_attempts=1)
    sent: list[str] = []
    iot.meta.events.register("before-send.iot", lambda **kwargs: sent.append(kwargs["event_name"]))

    iot.create_thing(thingName="fast")
    assert sent == []

    mock.inject_fault("DescribeThing", times=1)
    iot.create_thing(thingName="wired")
    assert sent == ["before-send.iot.CreateThing"]
    with pytest.raises(ClientError):
        iot.describe_thing(thingName="wired")

    sent.clear()
    iot.describe_thing(thingName="wired")  # the fault is spent: the fast path again
    assert sent == []


def test_the_wire_path_answers_like_the_fast_path(mock: MockIotProvisioning) -> None:
    iot = client("standard")
    iot.create_thing(thingName="t", attributePayload={"attributes": {"a": "1"}})
    fast = iot.describe_thing(thingName="t")
    with pytest.raises(ClientError) as fast_error:
        iot.describe_thing(thingName="missing")

    mock.inject_fault("DeleteThing", times=None)  # arms the wire path for every operation of this mock
    wired = iot.describe_thing(thingName="t")
    with pytest.raises(ClientError) as wired_error:
        iot.describe_thing(thingName="missing")

    def without_ids(response: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    assert without_ids(wired) == without_ids(fast)
    assert wired["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert error_of(wired_error) == error_of(fast_error)
    listed = iot.list_things(attributeName="a", attributeValue="1", maxResults=5)
    assert [thing["thingName"] for thing in listed["things"]] == ["t"]


def test_patch_session_without_credentials_retries_unsigned(
    monkeypatch: pytest.MonkeyPatch, delays: list[float]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.Session(region_name="us-east-1")
    handle = patch_session(session)
    try:
        handle.inject_fault("CreateThing", times=1)
        iot = client("standard", session=session)
        assert iot.create_thing(thingName="t")["ResponseMetadata"]["RetryAttempts"] == 1
    finally:
        handle.stop()


def test_faults_belong_to_their_mock() -> None:
    with mock_iot_provisioning() as outer:
        outer.inject_fault("CreateThing", times=None)
        with mock_iot_provisioning() as inner:
            client("standard", max_attempts=1).create_thing(thingName="inner")  # inner answers, unfaulted
            assert [t["thingName"] for t in client().list_things()["things"]] == ["inner"]
            assert inner.faults.faults() == []
        with pytest.raises(ClientError):
            client("standard", max_attempts=1).create_thing(thingName="outer")


def test_plain_requests_calls_meet_the_same_faults(mock: MockIotProvisioning) -> None:
    import requests

    base = "https://iot.eu-west-1.amazonaws.com"
    mock.inject_fault("CreateThing", "ServiceUnavailableException", times=1)

    refused = requests.post(f"{base}/things/plain", json={}, timeout=5)
    created = requests.post(f"{base}/things/plain", json={}, timeout=5)

    assert (refused.status_code, refused.headers["x-amzn-ErrorType"]) == (503, "ServiceUnavailableException")
    assert created.status_code == 200 and created.json()["thingName"] == "plain"


def test_a_fault_fires_exactly_times_under_concurrency(mock: MockIotProvisioning) -> None:
    fault = mock.inject_fault("CreateThing", times=25)
    iot = client("standard", max_attempts=1)
    refused: list[int] = []

    def create(index: int) -> None:
        try:
            iot.create_thing(thingName=f"t{index}")
        except ClientError:
            refused.append(index)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(80)))

    assert fault.fired == 25 == len(refused)
    assert thing_names(iot) == sorted(f"t{index}" for index in range(80) if index not in refused)


def test_delays_add_up_to_a_bound(mock: MockIotProvisioning) -> None:
    waited: list[float] = []
    mock.faults.sleep = waited.append
    for _ in range(3):
        mock.inject_fault("*", None, times=None, latency_s=200)
    client().describe_endpoint(endpointType="iot:Data-ATS")
    assert waited == [MAX_LATENCY_S]


@pytest.mark.parametrize("mode", MODES)
def test_aiobotocore_clients_retry_injected_throttles(
    mode: str, mock: MockIotProvisioning, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import aiobotocore.endpoint
    import aiobotocore.session

    delays: list[float] = []

    async def no_sleep(seconds: float) -> None:
        delays.append(seconds)

    fast_retries(monkeypatch)  # adaptive mode's client-side bucket
    monkeypatch.setattr(aiobotocore.endpoint, "asyncio", types.SimpleNamespace(sleep=no_sleep))
    fault = mock.inject_fault("RegisterThing", times=2)

    async def scenario() -> Any:
        session = aiobotocore.session.get_session()
        config = Config(retries={"mode": mode, "total_max_attempts": 3})
        async with session.create_client("iot", region_name="us-east-1", config=config) as iot:
            response = await iot.register_thing(templateBody=SIMPLE_TEMPLATE, parameters={"ThingName": "aio"})
            listed = await iot.list_things()
            return response, [thing["thingName"] for thing in listed["things"]]

    response, names = asyncio.run(scenario())

    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert fault.fired == 2 and len(delays) == 2
    assert names == ["aio"]


def test_a_client_without_our_before_call_handler_is_not_answered_by_the_wire_path(
    mock: MockIotProvisioning,
) -> None:
    """The wire path is chosen at before-call; a request that arrives at before-send without that choice
    (a user removed the handler) still meets the transport guard, faults or not."""
    fault = mock.inject_fault("DescribeThing", times=None)
    iot = client("standard", max_attempts=1)
    iot.meta.events.unregister("before-call.iot", unique_id="mock_iotprov.before_call")

    with pytest.raises(ClientError) as excinfo:
        iot.describe_thing(thingName="x")

    assert error_of(excinfo)[:2] == ("NotImplemented", 501)
    assert fault.fired == 0
