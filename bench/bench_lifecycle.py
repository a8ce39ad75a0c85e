"""Entering and leaving an empty mock, against moto's ``with mock_aws(): pass``; and the per-test cost of
the ``iot_provisioning`` fixture (setup + teardown around an empty test) against botocore's ``Stubber``.

The fixture row drives the plugin's own fixture function (``conftest_plugin.iot_provisioning``, unwrapped
from pytest's decorator) through setup and teardown, as pytest does for a test that asks for it and does
nothing. The Stubber row is the least a Stubber test pays around its body: ``Stubber(client)``,
``activate()`` and ``deactivate()`` on a client that exists already (the client itself is made in the test
body in both styles). The two alternate in rounds (``common.interleaved``).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber
from common import Row, Settings, interleaved, median_seconds
from moto import mock_aws

import conftest_plugin
from mock_iotprov import mock_iot_provisioning


def _fixture_function() -> Any:
    fixture = conftest_plugin.iot_provisioning
    unwrap = getattr(fixture, "_get_wrapped_function", None)
    return unwrap() if unwrap is not None else fixture.__wrapped__


def run(settings: Settings) -> list[Row]:
    def ours() -> None:
        with mock_iot_provisioning():
            pass

    def moto() -> None:
        with mock_aws():
            pass

    fixture_function = _fixture_function()

    def fixture() -> None:
        steps = fixture_function()
        next(steps)  # setup: the test would run here
        for _ in steps:  # teardown
            pass

    client = boto3.client("iot", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")

    def stubber() -> None:
        stub = Stubber(client)
        stub.activate()
        stub.deactivate()

    runs = settings.count(500)
    rounds = 3 if settings.smoke else 15
    per_test, stubbed = interleaved(fixture, stubber, rounds, settings.count(300))
    return [
        Row(
            "enter + leave an empty mock",
            median_seconds(ours, runs, warmup=20),
            "moto mock_aws",
            median_seconds(moto, runs, warmup=5),
            "≤ 0.1×",
        ),
        Row("iot_provisioning fixture, setup + teardown of an empty test", per_test,
            "Stubber(client) activate + deactivate", stubbed, "≤ 1.0×"),
    ]
