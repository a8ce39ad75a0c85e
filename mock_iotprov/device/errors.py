"""Rejections of the device-side fleet-provisioning API and their ``…/rejected`` payloads.

AWS answers a failed request on ``<request topic>/rejected`` with ``{statusCode, errorCode, errorMessage}``
(the SDK's ``ErrorResponse``). The one code AWS is known to send is ``InvalidCertificateOwnershipToken``
(400, "Certificate ownership token cannot be empty."). For the rest AWS publishes no list, so the mock
uses these codes:

- ``InvalidPayload`` (400): the payload is not a JSON (or CBOR) object, or a field has the wrong type.
- ``InvalidCertificateOwnershipToken`` (400): the token is empty, unknown, expired or not the caller's.
- ``AccessDenied`` (403): the pre-provisioning hook refused, failed, timed out or is not registered.
- a control-plane error keeps its status and its code without the ``Exception`` suffix, e.g.
  ``ResourceNotFound`` (404) for a missing template, ``InvalidRequest`` (400) for a bad CSR, a disabled or
  non-fleet template, ``ResourceRegistrationFailure`` (400) when the template cannot be applied.
"""

from __future__ import annotations

from typing import Any

from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.protocol.serialize import error_status

INVALID_PAYLOAD = "InvalidPayload"
INVALID_TOKEN = "InvalidCertificateOwnershipToken"
ACCESS_DENIED = "AccessDenied"
INTERNAL_FAILURE = "InternalFailure"


class DeviceRequestRejected(Exception):
    """A device-side request fails; becomes the ``…/rejected`` reply."""

    def __init__(self, status_code: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
        self.message = message

    def payload(self) -> dict[str, Any]:
        """The rejected reply's fields, named as the SDK reads them."""
        return {"statusCode": self.status_code, "errorCode": self.error_code, "errorMessage": self.message}


def invalid_payload(message: str) -> DeviceRequestRejected:
    return DeviceRequestRejected(400, INVALID_PAYLOAD, message)


def invalid_token(message: str) -> DeviceRequestRejected:
    return DeviceRequestRejected(400, INVALID_TOKEN, message)


def access_denied(message: str) -> DeviceRequestRejected:
    return DeviceRequestRejected(403, ACCESS_DENIED, message)


def from_service_error(error: ServiceError) -> DeviceRequestRejected:
    """A control-plane error as the device API reports it (same status; code without ``Exception``)."""
    code = error.code[: -len("Exception")] if error.code.endswith("Exception") else error.code
    return DeviceRequestRejected(error_status(error), code, error.message)
