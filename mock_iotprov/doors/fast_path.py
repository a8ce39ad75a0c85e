"""The in-process fast path: answer an ``iot`` call before botocore resolves the endpoint and serializes
the request, when doing so changes nothing a caller can observe.

botocore's own pipeline before ``before-call`` (endpoint rules, serialization, the request dict) costs more
than the mock's whole answer. When nothing but botocore's built-in handlers listens on the client for the
call's events, that pipeline has no observable effect besides client-side validation, so the fast path:

1. validates the parameters with botocore's own validator (the same ``ParamValidationError``); a client
   without client-side validation (``parameter_validation=False``, in its config or the profile) takes the
   normal path, which sends what it is given;
2. calls the operation with a copy of the parameters (the mock's own server-side validation runs as for a
   wire request);
3. returns what botocore's parser would return for the service's response (``ResponseMetadata`` with the
   status, headers and ``RetryAttempts``, datetimes as botocore makes them) or raises the modeled
   exception class of the client, as ``_make_api_call`` does.

The call takes the normal path (:func:`answer_directly` returns ``None``) whenever any of that could differ:
a handler other than botocore's built-ins is registered for ``provide-client-params``,
``before-parameter-build``, ``before-endpoint-resolution``, ``before-call`` or ``after-call`` of the call
(a user's hook, an active ``Stubber``), or the door's own ``before-call`` handler is not (someone took it
away: the call meets what the normal path meets then); the client's endpoint is a loopback address (a
local server answers it); the operation is not implemented (moto may answer it, or the door fails
closed); or the operation's input has members whose wire form is not the value itself (timestamps,
blobs, headers, a payload, a query map, idempotency tokens botocore fills in).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import botocore.handlers
from botocore.client import BaseClient
from botocore.exceptions import ParamValidationError
from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidationDecorator, ParamValidator

from mock_iotprov.dispatch import call_operation
from mock_iotprov.protocol.botocore_result import parsed_success
from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.protocol.serialize import serialize_output
from mock_iotprov.service import is_implemented

_WATCHED_EVENTS = (
    "provide-client-params",
    "before-parameter-build",
    "before-endpoint-resolution",
    "before-call",
    "after-call",
)
_BUILTIN_HANDLERS = frozenset(id(entry[1]) for entry in botocore.handlers.BUILTIN_HANDLERS)
_SIMPLE_TYPES = frozenset({"string", "integer", "long", "boolean", "float", "double"})
_validator = ParamValidator()
_MEMO = "_mock_iotprov_only_builtin_listeners"


def _own(handler: Any) -> bool:
    """A handler of botocore itself or of this project (which the fast path stands in for)."""
    if id(handler) in _BUILTIN_HANDLERS:
        return True
    module = getattr(handler, "__module__", None) or ""
    return module.startswith("mock_iotprov.")


def only_builtin_listeners(client: BaseClient, operation_name: str) -> bool:
    """Whether nothing but botocore's built-ins (and this project) listens on the call's events.

    The answer is remembered per emitter until a handler is registered or unregistered there (botocore
    then replaces the emitter's lookup cache, which is what the memo is tied to)."""
    emitter = getattr(client.meta.events, "_emitter", None)
    handlers = getattr(emitter, "_handlers", None)
    generation = getattr(emitter, "_lookup_cache", None)
    if handlers is None or generation is None:
        return False
    memo: tuple[Any, dict[str, bool]] | None = getattr(emitter, _MEMO, None)
    if memo is None or memo[0] is not generation:
        memo = (generation, {})
        setattr(emitter, _MEMO, memo)
    known = memo[1].get(operation_name)
    if known is None:
        known = memo[1][operation_name] = _decide(handlers, operation_name)
    return known


def _decide(handlers: Any, operation_name: str) -> bool:
    door_present = False
    for event in _WATCHED_EVENTS:
        for handler in handlers.prefix_search(f"{event}.iot.{operation_name}"):
            if not _own(handler):
                return False
            door_present = door_present or (event == "before-call" and id(handler) not in _BUILTIN_HANDLERS)
    return door_present  # a client whose door handler was taken away is not answered here either


def _plain_shape(shape: Shape, depth: int = 0) -> bool:
    """Whether a value of ``shape`` reaches the handler unchanged through serialization and parsing."""
    kind = shape.type_name
    if kind in _SIMPLE_TYPES:
        return not shape.metadata.get("idempotencyToken") and not shape.serialization.get("jsonvalue")
    if depth > 32:
        return False
    if kind == "list":
        return _plain_shape(shape.member, depth + 1)  # type: ignore[attr-defined]
    if kind == "map":
        return _plain_shape(shape.key, depth + 1) and _plain_shape(shape.value, depth + 1)  # type: ignore[attr-defined]
    if kind == "structure":
        return all(_plain_shape(member, depth + 1) for member in shape.members.values())  # type: ignore[attr-defined]
    return False  # timestamp, blob, document, union-like shapes


@lru_cache(maxsize=1024)
def _plain_input(operation: OperationModel) -> bool:
    """Whether every input member of an operation is passed to the handler as the caller gave it."""
    shape = operation.input_shape
    if shape is None:
        return True
    if shape.serialization.get("payload") is not None:
        return False
    for member in shape.members.values():
        location = member.serialization.get("location")
        if location in ("header", "headers") or (location == "querystring" and member.type_name == "map"):
            return False
        if not _plain_shape(member):
            return False
    return True


def _copy(value: Any) -> Any:
    """A copy of a parameter value (dicts and lists are new; the mock never keeps a caller's object)."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def answer_directly(
    client: BaseClient,
    operation_name: str,
    api_params: dict[str, Any],
    mock: Any,
    region: str,
    error_response: Callable[[OperationModel, ServiceError], dict[str, Any]],
) -> dict[str, Any] | None:
    """The call's result, or None when it must take botocore's normal path (see the module docstring).

    ``mock`` is the active mock that answers the client, ``region`` the region its endpoint names;
    ``error_response`` makes the parsed error response of a ``ServiceError`` as the normal path would.
    Raises ``ParamValidationError`` or the client's modeled ``ClientError`` subclass like the normal path.
    """
    serializer = getattr(client, "_serializer", None)
    if not isinstance(serializer, ParamValidationDecorator) or not is_implemented(operation_name):
        return None  # a client without client-side validation sends what it is given: the normal path
    operation = client.meta.service_model.operation_model(operation_name)
    if not _plain_input(operation) or not only_builtin_listeners(client, operation_name):
        return None
    if not isinstance(api_params, dict):
        return None
    if operation.input_shape is not None:
        report = _validator.validate(api_params, operation.input_shape)
        if report.has_errors():
            raise ParamValidationError(report=report.generate_report())
    failure: ServiceError | None = None
    try:
        result = call_operation(mock.backend, mock.options, region, operation_name, _copy(api_params))
    except ServiceError as error:
        failure = error
    if failure is not None:  # raised outside the handler, as botocore raises it: no chained exception
        parsed = error_response(operation, failure)
        code = parsed.get("Error", {}).get("Code")
        error_class: Any = client.exceptions.from_code(code)
        raise error_class(parsed, operation_name)
    response = serialize_output(operation, result)
    parsed = parsed_success(operation, result, response.status, response.headers)
    parsed["ResponseMetadata"]["RetryAttempts"] = 0
    return parsed
