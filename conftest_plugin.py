"""pytest plugin of mock_iotprov, registered through the ``pytest11`` entry point.

Installing the package is enough: every test can ask for the ``iot_provisioning`` fixture. The package
itself is imported only when a test uses the fixture, so pytest runs that never do pay nothing for it.
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
