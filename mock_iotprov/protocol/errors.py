"""Service errors, named by the error shapes of botocore's ``iot`` model.

A handler raises :class:`ServiceError` with the error shape's name (``"ResourceNotFoundException"``) and a
message; the serializer looks the shape up in the model for its HTTP status and extra members, exactly as
the service's rest-json error responses carry them (``x-amzn-ErrorType`` header, ``{"message": ...}`` body).
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An AWS error response: ``code`` is the error shape's name, ``fields`` its extra members."""

    def __init__(self, code: str, message: str, status: int | None = None, **fields: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


def invalid_request(message: str) -> ServiceError:
    """``InvalidRequestException`` (HTTP 400): the request is malformed or breaks a rule."""
    return ServiceError("InvalidRequestException", message)


def not_found(message: str) -> ServiceError:
    """``ResourceNotFoundException`` (HTTP 404)."""
    return ServiceError("ResourceNotFoundException", message)


def already_exists(message: str, resource_id: str, resource_arn: str | None = None) -> ServiceError:
    """``ResourceAlreadyExistsException`` (HTTP 409) with its ``resourceId``/``resourceArn`` members."""
    fields: dict[str, Any] = {"resourceId": resource_id}
    if resource_arn is not None:
        fields["resourceArn"] = resource_arn
    return ServiceError("ResourceAlreadyExistsException", message, **fields)


def delete_conflict(message: str) -> ServiceError:
    """``DeleteConflictException`` (HTTP 409): the resource is still in use."""
    return ServiceError("DeleteConflictException", message)


def limit_exceeded(message: str) -> ServiceError:
    """``LimitExceededException`` (HTTP 410, as the model declares it)."""
    return ServiceError("LimitExceededException", message)


def not_implemented(operation_name: str) -> ServiceError:
    """The answer for an ``iot`` operation this mock does not implement (HTTP 501, code ``NotImplemented``).

    Real AWS implements every operation, so there is no model shape for this; it exists so that a mocked
    test fails closed with a message naming the operation instead of reaching the network.
    """
    return ServiceError(
        "NotImplemented",
        f"The operation {operation_name} is not implemented by mock_iotprov; "
        "this mock does not answer it (no request was sent to AWS).",
        status=501,
    )


def internal_failure(message: str) -> ServiceError:
    """``InternalFailureException`` (HTTP 500): an unexpected error inside the mock."""
    return ServiceError("InternalFailureException", message)
