"""From a wire request to a wire response: route, parse, validate, call the handler, serialize.

Every door (botocore hook, ``responses`` callback, HTTP server) ends here, so the behaviour is the same
whichever way a request arrives. A handler runs under its store's lock, so each call is atomic; a handler
checks everything before it changes anything, so a failed call leaves the state as it was. An unexpected
Python exception inside the mock becomes an ``InternalFailureException`` (HTTP 500), never a traceback in
the caller.
"""

from __future__ import annotations

import logging
from typing import Any

from mock_iotprov.protocol.errors import ServiceError, internal_failure, not_implemented
from mock_iotprov.protocol.messages import WireRequest, WireResponse
from mock_iotprov.protocol.model import operation_model, router
from mock_iotprov.protocol.parse import parse_input
from mock_iotprov.protocol.serialize import serialize_error, serialize_output
from mock_iotprov.protocol.validate import validate_input
from mock_iotprov.service import OPERATIONS
from mock_iotprov.state import Backend, MockOptions, RequestContext

log = logging.getLogger("mock_iotprov")


def call_operation(
    backend: Backend, options: MockOptions, region: str, operation_name: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Validate ``params`` and run the operation's handler; raises ``ServiceError`` on failure."""
    handler = OPERATIONS.get(operation_name)
    if handler is None:
        raise not_implemented(operation_name)
    model = operation_model(operation_name)
    validate_input(model, params)
    store = backend.store(options.account_id, region)
    context = RequestContext(store, options)
    journal = backend.journal
    with store.lock:
        try:
            if store.sweepers:
                store.sweep(context)
            result = handler(context, **params)
        except ServiceError:
            raise
        except Exception as exc:
            log.exception("mock_iotprov: %s failed unexpectedly", operation_name)
            raise internal_failure(f"{operation_name} failed inside mock_iotprov: {exc!r}") from exc
        ticket = journal.changed(store) if journal is not None and model.http["method"] != "GET" else 0
    if journal is not None and ticket:
        journal.wait(ticket)
    return result


def execute(
    backend: Backend,
    options: MockOptions,
    region: str,
    operation_name: str,
    labels: dict[str, str],
    request: WireRequest,
) -> dict[str, Any]:
    """Parse a request already known to be ``operation_name`` and run it; raises ``ServiceError``."""
    params = parse_input(operation_model(operation_name), labels, request)
    return call_operation(backend, options, region, operation_name, params)


def answer_operation(
    backend: Backend,
    options: MockOptions,
    region: str,
    operation_name: str,
    labels: dict[str, str],
    request: WireRequest,
) -> WireResponse:
    """The response to a request already known to be ``operation_name`` (uri labels extracted)."""
    try:
        result = execute(backend, options, region, operation_name, labels, request)
    except ServiceError as error:
        return serialize_error(error)
    return serialize_output(operation_model(operation_name), result)


def unknown_operation(request: WireRequest) -> ServiceError:
    """The error for a request that matches no ``iot`` operation (HTTP 404)."""
    return ServiceError(
        "UnknownOperationException",
        f"No AWS IoT operation matches {request.method} {request.path}",
        status=404,
    )


def answer(backend: Backend, options: MockOptions, region: str, request: WireRequest) -> WireResponse:
    """Route a raw request by the model's HTTP bindings and answer it."""
    found = router().match(request.method, request.path, request.query)
    if found is None:
        return serialize_error(unknown_operation(request))
    operation_name, labels = found
    return answer_operation(backend, options, region, operation_name, labels, request)
