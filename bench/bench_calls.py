"""Per-call cost of common operations, against botocore's ``Stubber`` answering the same call with the same
response, and against moto's ``mock_aws`` for the operations moto has.

How the ``Stubber`` baseline is made fair (each point is checked by the benchmark, not assumed):

- It is a **plain** Stubber: every response it will give is queued with ``add_response`` *before* any
  timing (``add_response`` validates the response, which would add ~25 % to each baseline call), on a client
  from its own ``botocore`` session, created before the mock starts, on which no handler of
  ``mock_iotprov`` is registered (``_assert_untouched``). Its rounds run while the mock is paused, so no
  hook of the mock is on its path either.
- Each case does the same work per call on both sides: the same parameters (a new thing name per call for
  the creating cases, on both sides) and, for the Stubber, the response the mock gave to the same call.
- ``register_thing (new thing each call)`` creates a thing and attaches a fresh certificate on every
  call; ``register_thing (same thing again)`` re-registers one thing with one certificate (after the first
  call nothing changes).

Ours and the baseline alternate in rounds (``common.interleaved``); each figure is the median over rounds
of the round's median.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.stub import Stubber
from common import Row, Settings, median_seconds
from moto import mock_aws

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning

ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
)
REGISTER_TEMPLATE = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}, "AWS::IoT::Certificate::Id": {"Type": "String"}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Ref": "ThingName"},
                    "AttributePayload": {"model": "m1", "rev": "2"},
                },
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"},
            },
            "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "device-policy"}},
        },
    }
)
# the events a user (or another library) can hook on a client; none may carry a handler of the mock
_USER_EVENTS = ("provide-client-params", "before-parameter-build", "before-call", "after-call",
                "choose-signer", "before-send", "request-created", "needs-retry")


# the handlers the in-process door registers on every iot client (event, unique id)
_DOOR_HANDLERS = (
    ("before-call.iot", "mock_iotprov.before_call"),
    ("before-send.iot", "mock_iotprov.before_send"),
    ("choose-signer.iot", "mock_iotprov.choose_signer"),
)


def _client() -> Any:
    return boto3.client("iot", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")


@dataclass
class Case:
    """One benchmarked call: how to prepare state, and the call's parameters (fresh per call if needed).

    ``params(state, calls)`` gives the parameters of each of ``calls`` calls in turn (an iterator, so
    creating cases can name a new thing every time); ``setup`` prepares the mock's state for ``calls``
    calls."""

    name: str
    operation: str
    setup: Callable[[Any, int], dict[str, Any]]
    params: Callable[[dict[str, Any], int], Iterator[dict[str, Any]]]
    goal: str
    moto: bool = False


def _same(params: dict[str, Any]) -> Callable[[dict[str, Any], int], Iterator[dict[str, Any]]]:
    return lambda state, calls: itertools.repeat(params, calls)


def _template(client: Any, calls: int) -> dict[str, Any]:
    client.create_provisioning_template(templateName="t1", templateBody="{}", provisioningRoleArn=ROLE_ARN)
    return {}


def _thing(client: Any, calls: int) -> dict[str, Any]:
    client.create_thing(thingName="thing-1", attributePayload={"attributes": {"model": "m1", "rev": "2"}})
    return {}


def _nothing(client: Any, calls: int) -> dict[str, Any]:
    return {}


def _hundred_things(client: Any, calls: int) -> dict[str, Any]:
    for index in range(100):
        client.create_thing(thingName=f"thing-{index:03d}")
    return {}


def _policy(client: Any) -> None:
    client.create_policy(policyName="device-policy", policyDocument=POLICY)


def _fresh_certificates(client: Any, calls: int) -> dict[str, Any]:
    _policy(client)
    ids = [client.create_keys_and_certificate(setAsActive=True)["certificateId"] for _ in range(calls)]
    return {"certificateIds": ids}


def _one_certificate(client: Any, calls: int) -> dict[str, Any]:
    _policy(client)
    return {"certificateIds": [client.create_keys_and_certificate(setAsActive=True)["certificateId"]]}


_names = itertools.count()


def _new_things(state: dict[str, Any], calls: int) -> Iterator[dict[str, Any]]:
    return ({"thingName": f"new-{next(_names)}"} for _ in range(calls))


def _register_new(state: dict[str, Any], calls: int) -> Iterator[dict[str, Any]]:
    return (
        {"templateBody": REGISTER_TEMPLATE,
         "parameters": {"ThingName": f"device-{next(_names)}", "AWS::IoT::Certificate::Id": certificate}}
        for certificate in state["certificateIds"][:calls]
    )


def _register_again(state: dict[str, Any], calls: int) -> Iterator[dict[str, Any]]:
    certificate = state["certificateIds"][0]
    params = {"templateBody": REGISTER_TEMPLATE,
              "parameters": {"ThingName": "device-again", "AWS::IoT::Certificate::Id": certificate}}
    return itertools.repeat(params, calls)


CASES = [
    Case("describe_provisioning_template", "describe_provisioning_template", _template,
         _same({"templateName": "t1"}), "≤ 0.8×"),
    Case("describe_thing", "describe_thing", _thing, _same({"thingName": "thing-1"}), "≤ 0.8×", moto=True),
    Case("create_thing (new thing each call)", "create_thing", _nothing, _new_things, "≤ 0.8×", moto=True),
    Case("list_things (page of 100)", "list_things", _hundred_things, _same({"maxResults": 100}), "",
         moto=True),
    Case("register_thing (new thing each call)", "register_thing", _fresh_certificates, _register_new,
         "≤ 1.3×"),
    Case("register_thing (same thing again)", "register_thing", _one_certificate, _register_again, ""),
]


def _assert_untouched(client: Any, operation_name: str) -> None:
    """Fail when any handler of ``mock_iotprov`` is registered on ``client`` for ``operation_name``."""
    emitter = client.meta.events._emitter
    for event in _USER_EVENTS:
        for handler in emitter._handlers.prefix_search(f"{event}.iot.{operation_name}"):
            module = getattr(handler, "__module__", "") or ""
            if module.startswith("mock_iotprov"):
                raise RuntimeError(f"the baseline client has the mock's handler {handler!r} on {event}")


def _stubbed_client() -> Any:
    """A client of its own botocore session: nothing but the Stubber will be registered on it.

    The in-process door hooks every ``iot`` client at creation (its handlers are inert while no mock is
    active); they are taken off this client, so botocore's own handlers are all it has.
    What stays is the door's wrapper of ``BaseClient._make_api_call``, one "is a mock active?" test per call
    while the mock is paused."""
    session = botocore.session.Session()
    client = session.create_client(
        "iot", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    for event, unique_id in _DOOR_HANDLERS:
        client.meta.events.unregister(event, unique_id=unique_id)
    return client


@contextmanager
def _paused(mock: MockIotProvisioning) -> Iterator[None]:
    """The mock stopped for a while, then started again with the same state."""
    backend = mock.backend
    mock.stop()
    try:
        yield
    finally:
        mock.start()
        mock.backend = backend


def _measure_against_stubber(case: Case, rounds: int, per_round: int) -> tuple[float, float]:
    """(ours, Stubber) per-call medians, measured in alternating rounds in one process."""
    warmup = 2
    calls = rounds * (per_round + warmup) + 1
    baseline_client = _stubbed_client()
    _assert_untouched(baseline_client, "".join(p.title() for p in case.operation.split("_")))
    with mock_iot_provisioning() as mock:
        client = _client()
        state = case.setup(client, calls)
        call = getattr(client, case.operation)
        ours_params = case.params(state, calls)
        response = call(**next(ours_params))
        response.pop("ResponseMetadata", None)
        stubber = Stubber(baseline_client)
        baseline_params = list(case.params(state, calls))
        for _ in range(calls):
            stubber.add_response(case.operation, response)  # queued before any timing
        stubber.activate()
        stubbed_call = getattr(baseline_client, case.operation)
        baseline_iter = iter(baseline_params)
        mine: list[float] = []
        theirs: list[float] = []
        for _ in range(rounds):
            mine.append(median_seconds(lambda: call(**next(ours_params)), per_round, warmup=warmup))
            with _paused(mock):
                theirs.append(
                    median_seconds(lambda: stubbed_call(**next(baseline_iter)), per_round, warmup=warmup)
                )
        stubber.deactivate()
    return _median(mine), _median(theirs)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _measure_moto(case: Case, runs: int) -> float:
    with mock_aws():
        client = _client()
        state = case.setup(client, runs + 20)
        call = getattr(client, case.operation)
        params = case.params(state, runs + 20)
        return median_seconds(lambda: call(**next(params)), runs, warmup=min(20, runs))


def run(settings: Settings) -> list[Row]:
    rows = []
    rounds = 3 if settings.smoke else 21
    per_round = settings.count(200)
    for case in CASES:
        ours, stubber = _measure_against_stubber(case, rounds, per_round)
        rows.append(Row(case.name, ours, "Stubber", stubber, case.goal))
        if case.moto:
            rows.append(Row(case.name, ours, "moto mock_aws", _measure_moto(case, settings.count(500)), ""))
    return rows
