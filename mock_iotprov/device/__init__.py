"""The device side: the reserved ``$aws/`` topics (fleet-provisioning API), authentication of devices at
CONNECT, authorization and presence events, behind the broker's ``BrokerHooks`` interface. No wire format
beyond the JSON/CBOR payloads is known here."""

from __future__ import annotations

from mock_iotprov.device.lambdas import HOOK_TIMEOUT_SECONDS, FunctionRegistry, LambdaContext
from mock_iotprov.device.principals import DevicePrincipal
from mock_iotprov.device.service import DeviceService

__all__ = ["HOOK_TIMEOUT_SECONDS", "DeviceService", "DevicePrincipal", "FunctionRegistry", "LambdaContext"]
