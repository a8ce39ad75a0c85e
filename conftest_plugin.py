"""pytest plugin of mock_iotprov, registered through the ``pytest11`` entry point.

Installing the package is enough: every test can ask for the ``iot_provisioning`` fixture, or for
``iot_provisioning_mqtt`` to also get an MQTT broker for devices (on 127.0.0.1, a free port: the handle's
``mqtt_host``/``mqtt_port``). The package itself is imported only when a test uses a fixture, so pytest
runs that never do pay nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mock_iotprov import MockIotProvisioning


@pytest.fixture
def iot_provisioning() -> Iterator[MockIotProvisioning]:
    """An active mock with fresh, empty state for one test; yields the handle."""
    from mock_iotprov import mock_iot_provisioning

    with mock_iot_provisioning() as mock:
        yield mock


@pytest.fixture
def iot_provisioning_mqtt() -> Iterator[MockIotProvisioning]:
    """Like ``iot_provisioning``, with the device side running: an MQTT broker over mutual TLS on
    ``127.0.0.1`` and a free port (``mqtt_host``/``mqtt_port``; trust ``ca_bundle_pem``)."""
    from mock_iotprov import mock_iot_provisioning

    with mock_iot_provisioning(mqtt=True) as mock:
        yield mock
