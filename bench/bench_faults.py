"""The cost of the wire path: ``describe_thing`` while a fault is armed (on another operation, so it never
fires) or throttling is on, against the same call on the fast path (nothing armed), in the same process.

The two mocks run side by side: a process-wide one with nothing armed, and a ``patch_session`` one (for a
second session) with the fault or the throttle; calls alternate between their clients.
"""

from __future__ import annotations

from typing import Any

import boto3
from common import Row, Settings, interleaved

from mock_iotprov import mock_iot_provisioning, patch_session
from mock_iotprov.throttling import Throttle


def _describe(client: Any) -> Any:
    client.create_thing(thingName="bench")
    return lambda: client.describe_thing(thingName="bench")


def run(settings: Settings) -> list[Row]:
    rounds = 3 if settings.smoke else 21
    per_round = settings.count(200)
    rows = []
    with mock_iot_provisioning():
        fast = _describe(boto3.client("iot", region_name="us-east-1"))
        for label in ("a fault armed on another operation", "throttle on (rates never reached)"):
            session = boto3.Session(region_name="us-east-1")
            wired_mock = patch_session(session)
            try:
                if label.startswith("a fault"):
                    wired_mock.inject_fault("DeleteThing", times=None)
                else:
                    wired_mock.throttle = Throttle(rates={"DescribeThing": 1e12, "CreateThing": 1e12})
                wired = _describe(session.client("iot"))
                ours, baseline = interleaved(wired, fast, rounds, per_round)
            finally:
                wired_mock.stop()
            rows.append(Row(f"describe_thing, {label}", ours, "fast path", baseline))
    return rows
