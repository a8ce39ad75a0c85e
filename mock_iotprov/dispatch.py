"""From a wire request to a wire response: route, parse, validate, call the handler, serialize.

Every door (botocore hook, ``responses`` callback, HTTP server) ends here, so the behaviour is the same
whichever way a request arrives. A handler runs under its store's lock, so each call is atomic; a handler
checks everything before it changes anything, so a failed call leaves the state as it was. An unexpected
Python exception inside the mock (in parsing, a handler or serializing) becomes an
``InternalFailureException`` (HTTP 500), never a traceback in the caller. Its message names only the
operation: the exception itself, which may quote the request or internal state, is logged on the
``mock_iotprov`` logger and never sent to the caller (AWS's own 500s say nothing of their cause).

The region (from the endpoint host or the SigV4 credential scope) must have the form of an AWS region name,
else the request gets 403 ``InvalidSignatureException`` before anything else is looked at. Operations that
only read run on the existing store or an empty one that is not kept, so no number of reads in junk regions
or accounts grows the backend; only a write creates a store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mock_iotprov.protocol.errors import ServiceError, internal_failure, not_implemented
from mock_iotprov.protocol.messages import WireRequest, WireResponse
from mock_iotprov.protocol.model import operation_model, router
from mock_iotprov.protocol.parse import parse_input
from mock_iotprov.protocol.serialize import serialize_error, serialize_output
from mock_iotprov.protocol.validate import validate_input
from mock_iotprov.service import OPERATIONS
from mock_iotprov.state import Backend, MockOptions, RequestContext, is_region_name

log = logging.getLogger("mock_iotprov")

_READ_PREFIXES = ("Describe", "Get", "List")
_READS_THAT_WRITE = frozenset({"GetRegistrationCode"})  # creates the account's code on its first call


def reads_only(operation_name: str) -> bool:
    """Whether the operation never changes state (it then runs on :meth:`Backend.view`)."""
    return operation_name.startswith(_READ_PREFIXES) and operation_name not in _READS_THAT_WRITE


def invalid_region(region: str) -> ServiceError:
    """The error for a request whose region is not a region name (HTTP 403, as AWS answers a signature
    scoped to an unknown region; chosen, since the mock checks no signature)."""
    shown = region if len(region) <= 40 else region[:40] + "..."
    message = f"Credential should be scoped to a valid region, not {shown!r}."
    return ServiceError("InvalidSignatureException", message, status=403)


@contextmanager
def _internal_failures(operation_name: str) -> Iterator[None]:
    """Let ``ServiceError`` through; turn any other exception into a logged ``InternalFailureException``."""
    try:
        yield
    except ServiceError:
        raise
    except Exception as exc:
        log.exception("mock_iotprov: %s failed unexpectedly", operation_name)
        message = f"{operation_name} failed inside mock_iotprov (the cause is on the mock_iotprov logger)."
        raise internal_failure(message) from exc


def call_operation(
    backend: Backend, options: MockOptions, region: str, operation_name: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Validate ``params`` and run the operation's handler; raises ``ServiceError`` on failure."""
    handler = OPERATIONS.get(operation_name)
    if handler is None:
        raise not_implemented(operation_name)
    if not is_region_name(region):
        raise invalid_region(region)
    with _internal_failures(operation_name):
        validate_input(operation_model(operation_name), params)
    writes = not reads_only(operation_name)
    store = backend.store(options.account_id, region) if writes else backend.view(options.account_id, region)
    context = RequestContext(store, options)
    journal = backend.journal if writes else None
    with store.lock, _internal_failures(operation_name):
        if store.sweepers:
            store.sweep(context)
        result = handler(context, **params)
        ticket = journal.changed(store) if journal is not None else 0
    if journal is not None and ticket:
        journal.wait(ticket)  # a change is on disk before it is acknowledged (``serve --state-dir``)
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
    if not is_region_name(region):
        raise invalid_region(region)
    with _internal_failures(operation_name):
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
        with _internal_failures(operation_name):
            return serialize_output(operation_model(operation_name), result)
    except ServiceError as error:
        return serialize_error(error)


def unknown_operation(request: WireRequest) -> ServiceError:
    """The error for a request that matches no ``iot`` operation (HTTP 404)."""
    return ServiceError(
        "UnknownOperationException",
        f"No AWS IoT operation matches {request.method} {request.path}",
        status=404,
    )


def answer(
    backend: Backend,
    options: MockOptions,
    region: str,
    request: WireRequest,
    admit: Callable[[str], ServiceError | None] | None = None,
) -> WireResponse:
    """Route a raw request by the model's HTTP bindings and answer it.

    ``admit``, given the operation name, may refuse the request with an error before anything is parsed
    or any handler runs (injected faults, throttling).
    """
    found = router().match(request.method, request.path, request.query)
    if found is None:
        return serialize_error(unknown_operation(request))
    operation_name, labels = found
    if admit is not None:
        refusal = admit(operation_name)
        if refusal is not None:
            return serialize_error(refusal)
    return answer_operation(backend, options, region, operation_name, labels, request)
