"""The wire path of the in-process door: answer at ``before-send``, so botocore's retry handler runs.

An answer at ``before-call`` (the fast path of :mod:`mock_iotprov.doors.botocore_door`) ends the call
before botocore's retry machinery; an error returned there is never retried. While a mock has faults armed
or throttling on, its clients take this path instead: botocore validates, serializes, signs and "sends" the
request as usual; the ``before-send`` handler answers with an :class:`~botocore.awsrequest.AWSResponse`
carrying the bytes the service would send; botocore parses them and its ``needs-retry`` handler (legacy,
standard or adaptive mode alike) sees a throttled or failed answer exactly as it sees a real one, sleeps
its backoff and sends again. Each attempt is decided afresh, before any handler runs, so an injected error
changes no state and a retried call that finally succeeds takes effect once.

Whether a call takes this path is decided once, at ``before-call`` (:func:`claim`), and marked in the
call's request context, so all its attempts take it even when the fault is spent meanwhile. A request that
reaches ``before-send`` unmarked (a client whose ``before-call`` handler was removed) is not answered here:
it is left to moto or to the transport guard, as before.

Requests of this path from clients without credentials (possible under ``patch_session``) are not signed (a
``choose-signer`` answer of ``UNSIGNED``), since the mock checks no signature. Clients of a loopback
``endpoint_url`` are left to that endpoint, and with moto's ``mock_aws`` active operations this project
does not implement are left to moto, as on the fast path. botocore calls every ``before-send`` handler,
so with ``mock_aws`` active moto's handler also sees each request of this path; this handler is
registered first, so its answer is the one the client gets (moto may still record the request in its own,
unused, backend).
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HeadersDict
from botocore.client import BaseClient

from mock_iotprov import active
from mock_iotprov.dispatch import execute
from mock_iotprov.protocol.endpoint import (
    is_loopback_host,
    region_from_authorization,
    region_from_host,
    url_host,
)
from mock_iotprov.protocol.errors import ServiceError, not_implemented
from mock_iotprov.protocol.messages import WireRequest, WireResponse
from mock_iotprov.protocol.model import operation_model, route_labels
from mock_iotprov.protocol.serialize import serialize_error, serialize_output
from mock_iotprov.service import is_implemented
from mock_iotprov.state import DEFAULT_REGION
from mock_iotprov.throttling import front_door_error

_CLAIMED = "mock_iotprov_wire_path"


def wanted(mock: Any) -> bool:
    """Whether ``mock``'s clients must take the wire path (faults armed or throttling on)."""
    return bool(mock.faults.armed or mock.throttle is not None)


def claim(mock: Any, context: Any) -> bool:
    """At ``before-call``: whether this call takes the wire path; if so, mark its request context so
    that every attempt of the call (retries included) is answered at ``before-send``."""
    if not wanted(mock) or not isinstance(context, dict):
        return False
    context[_CLAIMED] = True
    return True


def register(
    client: BaseClient, loader_ref: Callable[[], Any], response_class: type[AWSResponse] = AWSResponse
) -> None:
    """Register the ``before-send`` answer and the ``choose-signer`` fallback on one ``iot`` client.

    ``response_class`` is the HTTP response type the client's endpoint expects (aiobotocore's own for its
    clients).
    """
    events = client.meta.events
    signer_ref = weakref.ref(client._request_signer)  # type: ignore[attr-defined]

    def before_send(request: AWSPreparedRequest, event_name: str = "", **_: Any) -> AWSResponse | None:
        context = getattr(request, "context", None)
        if not (isinstance(context, dict) and context.get(_CLAIMED)):
            return None  # answered at before-call, or not by this door (see transport_guard, moto)
        mock = active.mock_for_loader(loader_ref())
        if mock is None:
            return None
        return answer(mock, event_name.rpartition(".")[2], request, response_class)

    local_endpoint = is_loopback_host(url_host(client.meta.endpoint_url or ""))

    def choose_signer(context: Any = None, **_: Any) -> Any:
        signer = signer_ref()
        if local_endpoint or not (isinstance(context, dict) and context.get(_CLAIMED)):
            return None
        if signer is None or getattr(signer, "_credentials", None) is not None:
            return None
        return botocore.UNSIGNED

    events.register_first(
        "before-send.iot",
        before_send,  # type: ignore[arg-type]
        unique_id="mock_iotprov.before_send",
    )
    events.register_first("choose-signer.iot", choose_signer, unique_id="mock_iotprov.choose_signer")


def _moto_active() -> bool:
    models = sys.modules.get("moto.core.models")
    stubber = getattr(models, "botocore_stubber", None)
    return bool(getattr(stubber, "enabled", False))


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        if hasattr(body, "seek"):
            body.seek(0)
        return data if isinstance(data, bytes) else str(data).encode("utf-8")
    return bytes(body)


def answer(
    mock: Any,
    operation_name: str,
    request: AWSPreparedRequest,
    response_class: type[AWSResponse] = AWSResponse,
) -> AWSResponse | None:
    """The response to one attempt of ``operation_name``, or None to let the request go on its way."""
    split = urlsplit(request.url)
    host = url_host(request.url)
    if is_loopback_host(host):
        return None
    if not is_implemented(operation_name) and _moto_active():
        return None
    headers = {
        str(k): v.decode("latin-1") if isinstance(v, bytes) else str(v) for k, v in request.headers.items()
    }
    context = getattr(request, "context", None) or {}
    region = (
        (region_from_host(host) if host else None)
        or context.get("client_region")
        or region_from_authorization(headers.get("Authorization"))
        or DEFAULT_REGION
    )
    wire = _respond(mock, region, operation_name, request, split, headers)
    return _http_response(request.url, wire, response_class)


def _respond(
    mock: Any,
    region: str,
    operation_name: str,
    request: AWSPreparedRequest,
    split: Any,
    headers: dict[str, str],
) -> WireResponse:
    refusal = front_door_error(mock.faults, mock.throttle, mock.account_id, region, operation_name)
    if refusal is not None:
        return serialize_error(refusal)
    if not is_implemented(operation_name):
        return serialize_error(not_implemented(operation_name))
    path = split.path or "/"
    wire = WireRequest(
        method=request.method or "GET",
        path=path,
        query=parse_qs(split.query, keep_blank_values=True),
        headers=headers,
        body=_body_bytes(request.body),
    )
    try:
        result = execute(
            mock.backend, mock.options, region, operation_name, route_labels(operation_name, path), wire
        )
    except ServiceError as error:
        return serialize_error(error)
    return serialize_output(operation_model(operation_name), result)


def _http_response(url: str, response: WireResponse, response_class: type[AWSResponse]) -> AWSResponse:
    http = response_class(url, response.status, HeadersDict(response.headers), None)  # type: ignore[arg-type]
    http._content = response.body  # type: ignore[attr-defined]
    return http
