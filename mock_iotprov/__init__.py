"""mock_iotprov: a local, high-fidelity mock of the AWS IoT Core provisioning control plane.

Public names: :func:`mock_iot_provisioning` (decorator / context manager / handle factory),
:class:`MockIotProvisioning` (the handle), and :func:`patch_session` (per-session mocking).
"""

from __future__ import annotations

from mock_iotprov.mock import MockIotProvisioning, mock_iot_provisioning, patch_session

__all__ = ["MockIotProvisioning", "mock_iot_provisioning", "patch_session"]
__version__ = "0.1.0"
