"""Pre-provisioning hook handlers that ``serve --lambda ARN=tests.device_lambdas:NAME`` loads in tests."""

from __future__ import annotations

from typing import Any


def allow_known_serials(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Allow serial numbers starting with ``SN-``, naming the thing after the serial number."""
    serial = event["parameters"].get("SerialNumber", "")
    return {"allowProvisioning": serial.startswith("SN-"), "parameterOverrides": {"SerialNumber": serial[3:]}}
