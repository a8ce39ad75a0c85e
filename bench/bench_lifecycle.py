"""Entering and leaving an empty mock, against moto's ``with mock_aws(): pass``."""

from __future__ import annotations

from common import Row, Settings, median_seconds
from moto import mock_aws

from mock_iotprov import mock_iot_provisioning


def run(settings: Settings) -> list[Row]:
    def ours() -> None:
        with mock_iot_provisioning():
            pass

    def moto() -> None:
        with mock_aws():
            pass

    runs = settings.count(500)
    return [
        Row(
            "enter + leave an empty mock",
            median_seconds(ours, runs, warmup=20),
            "moto mock_aws",
            median_seconds(moto, runs, warmup=5),
            "≤ 0.1×",
        )
    ]
