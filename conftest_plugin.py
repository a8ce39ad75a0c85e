"""pytest plugin of mock_iotprov, registered through the ``pytest11`` entry point.

Installing the package is enough: every test can ask for the ``iot_provisioning`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning


@pytest.fixture
def iot_provisioning() -> Iterator[MockIotProvisioning]:
    """An active mock with fresh, empty state for one test; yields the handle."""
    with mock_iot_provisioning() as mock:
        yield mock
