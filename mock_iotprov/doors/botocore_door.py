"""The in-process door: answer botocore ``iot`` calls at ``before-call``, before anything is signed or sent.

botocore emits ``before-call`` after it has validated and serialized the request; a handler that returns
``(http_response, parsed)`` there ends the call, which is how botocore's own ``Stubber`` works. The response
bytes the backend produces are parsed by botocore's own rest-json parser, so callers get exactly what the
service's bytes would give them.

:func:`hook_client` registers that handler on one client's event emitter; :func:`answer` answers one call.
Every ``iot`` client in the process gets hooked, whichever way it was made (:func:`install`, once):

- at creation, by wrapping ``BaseClient.__init__`` (every session's clients, including sessions created
  before ``mock_iotprov`` was imported, and aiobotocore's ``AioBaseClient``, which inherits it);
- clients created before that, at their first call: ``BaseClient._make_api_call`` is wrapped, and so is
  ``_emit_api_params``, which botocore's own ``_make_api_call`` calls before ``before-call``: a user's patch
  that calls an original ``_make_api_call`` captured before the mock was installed still meets it (the same
  for aiobotocore's overrides of both);
- whatever still goes around all of that meets the transport guard (:mod:`.transport_guard`).

Clients whose endpoint host (as urllib3 parses the URL, which is where botocore connects) is a loopback
address (a local server such as ``mock_iotprov serve`` or moto's server) are left alone: they already talk
to a local endpoint.

No credentials are needed and none are used: the request never reaches signing. When moto's ``mock_aws``
is active too, operations this project does not implement are left to moto (which answers at
``before-send``); without moto they fail closed with a 501 ``NotImplemented`` error. While the answering
mock has faults armed or throttling on, calls are answered at ``before-send`` instead, so that botocore's
retries run (:mod:`.wire_door`).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import weakref
from typing import Any

from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.client import BaseClient
from botocore.model import OperationModel
from botocore.parsers import create_parser

from mock_iotprov import active
from mock_iotprov.dispatch import execute
from mock_iotprov.doors import transport_guard, wire_door
from mock_iotprov.doors.fast_path import answer_directly
from mock_iotprov.protocol.botocore_result import parsed_success
from mock_iotprov.protocol.endpoint import is_loopback_host, region_from_host, url_host
from mock_iotprov.protocol.errors import ServiceError, not_implemented
from mock_iotprov.protocol.messages import WireRequest, WireResponse
from mock_iotprov.protocol.model import adopt_service_model, iot_service_model, route_labels
from mock_iotprov.protocol.serialize import serialize_error, serialize_output
from mock_iotprov.service import is_implemented
from mock_iotprov.state import DEFAULT_REGION

_HOOKED = "_mock_iotprov_hooked"
_MARK = "_mock_iotprov"
_install_lock = threading.Lock()
_parser = create_parser("rest-json")


def _renew_lock_in_child() -> None:
    global _install_lock
    _install_lock = threading.Lock()  # a thread holding it at fork time does not exist in the child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_lock_in_child)


def _wrap(owner: type[Any], name: str, make: Any) -> None:
    """Replace ``owner.name`` by ``make(original)`` unless it is already our wrapper."""
    original = owner.__dict__.get(name)
    if original is None or getattr(original, _MARK, False):
        return
    wrapper = functools.wraps(original)(make(original))
    setattr(wrapper, _MARK, True)
    setattr(owner, name, wrapper)


def _sync_call_hook(original: Any) -> Any:
    def call(self: BaseClient, *args: Any, **kwargs: Any) -> Any:
        if active.any_active():
            hook_client(self)
        return original(self, *args, **kwargs)

    return call


def _sync_api_call_hook(original: Any) -> Any:
    """``_make_api_call``: hook the client, then let the fast path answer when it can (``fast_path``)."""

    def call(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        if active.any_active():
            hook_client(self)
            answered = _answer_directly(self, operation_name, api_params)
            if answered is not None:
                return answered
        return original(self, operation_name, api_params)

    return call


def _async_call_hook(original: Any) -> Any:
    async def call(self: BaseClient, *args: Any, **kwargs: Any) -> Any:
        if active.any_active():
            hook_client(self)
        return await original(self, *args, **kwargs)

    return call


def _init_hook(original: Any) -> Any:
    def init(self: BaseClient, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        hook_client(self)

    return init


def install() -> None:
    """Hook every ``iot`` client, present and future (once per process; inert while no mock is active)."""
    with _install_lock:
        _wrap(BaseClient, "__init__", _init_hook)
        _wrap(BaseClient, "_make_api_call", _sync_api_call_hook)
        _wrap(BaseClient, "_emit_api_params", _sync_call_hook)
        transport_guard.install()
        aio_client = sys.modules.get("aiobotocore.client")
        if aio_client is not None:
            _install_aio(aio_client.AioBaseClient)


def _install_aio(aio_base: type[Any]) -> None:
    _wrap(aio_base, "_make_api_call", _async_call_hook)
    _wrap(aio_base, "_emit_api_params", _async_call_hook)
    transport_guard.install_aio()


def _aio_response_class(client: BaseClient) -> type[AWSResponse] | None:
    """aiobotocore's response class when ``client`` is an aiobotocore client, else None."""
    aio_client = sys.modules.get("aiobotocore.client")
    if aio_client is None or not isinstance(client, aio_client.AioBaseClient):
        return None
    with _install_lock:
        _install_aio(aio_client.AioBaseClient)
    from aiobotocore.awsrequest import AioAWSResponse

    return AioAWSResponse  # type: ignore[no-any-return]


def hook_client(client: BaseClient) -> None:
    """Register the door's ``before-call`` handler on ``client`` if it is an ``iot`` client (idempotent)."""
    meta = getattr(client, "meta", None)
    events = getattr(meta, "events", None)
    if events is None or getattr(events, _HOOKED, False):
        return
    if meta.service_model.service_name != "iot":  # type: ignore[union-attr]
        return
    loader = client._loader  # type: ignore[attr-defined]
    loader_ref = weakref.ref(loader)
    response_class = _aio_response_class(client) or AWSResponse

    def before_call(model: OperationModel, params: dict[str, Any], context: Any, **_: Any) -> Any:
        mock = active.mock_for_loader(loader_ref())
        if mock is None or wire_door.claim(mock, context):  # faults or throttling: answered at before-send
            return None
        return answer(mock, model, params, context, response_class)

    adopt_service_model(meta.service_model)  # type: ignore[union-attr]
    events.register("before-call.iot", before_call, unique_id="mock_iotprov.before_call")
    endpoint = getattr(client, "_endpoint", None)
    transport_guard.tag_http_session(getattr(endpoint, "http_session", None), loader)
    wire_door.register(client, loader_ref, response_class)
    setattr(events, _HOOKED, True)


def _answer_directly(client: BaseClient, operation_name: str, api_params: Any) -> Any:
    """The fast path's answer for a synchronous ``iot`` client (``doors.fast_path``), or None for
    botocore's normal path (aiobotocore clients always take it)."""
    meta = getattr(client, "meta", None)
    if meta is None or meta.service_model.service_name != "iot":
        return None
    aio_client = sys.modules.get("aiobotocore.client")
    if aio_client is not None and isinstance(client, aio_client.AioBaseClient):
        return None
    mock = active.mock_for_loader(client._loader)  # type: ignore[attr-defined]
    if mock is None or wire_door.wanted(mock):  # faults or throttling: answered at before-send
        return None
    url = meta.endpoint_url or ""
    loopback, host_region = _endpoint_of(url)
    if loopback:
        return None
    region = host_region or meta.region_name or DEFAULT_REGION

    def error_response(model: OperationModel, error: ServiceError) -> Any:
        return _to_botocore(model, url, serialize_error(error))[1]

    return answer_directly(client, operation_name, api_params, mock, region, error_response)


def _moto_active() -> bool:
    models = sys.modules.get("moto.core.models")
    stubber = getattr(models, "botocore_stubber", None)
    return bool(getattr(stubber, "enabled", False))


def _endpoint_of(url: str) -> tuple[bool, str | None]:
    """(is the host loopback, the region its name gives), the host read as urllib3 reads ``url``."""
    host = url_host(url)
    if host is None or is_loopback_host(host):
        return host is not None, None
    return False, region_from_host(host)


def answer(
    mock: Any,
    model: OperationModel,
    params: dict[str, Any],
    context: Any,
    response_class: type[AWSResponse] = AWSResponse,
) -> Any:
    """``(http_response, parsed)`` for one call, as ``before-call`` handlers return it; None to let the
    call go on (a loopback endpoint, or an operation moto answers)."""
    name = model.name
    url = params.get("url", "")
    loopback, host_region = _endpoint_of(url)
    if loopback:
        return None  # a client pointed at a local endpoint (e.g. ``mock_iotprov serve``) is not an AWS call
    if not is_implemented(name):
        if _moto_active():
            return None
        return _to_botocore(model, url, serialize_error(not_implemented(name)), response_class)
    region = host_region or (context or {}).get("client_region") or DEFAULT_REGION
    path = (params.get("url_path") or _path_of(url)).partition("?")[0]
    query: dict[str, list[str]] = {}
    for key, value in (params.get("query_string") or {}).items():
        query[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    body = params.get("body") or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, (bytes, bytearray)):
        body = body.read() if hasattr(body, "read") else bytes(body)
    request = WireRequest(
        method=params.get("method", "GET"),
        path=path,
        query=query,
        headers=params.get("headers") or {},
        body=bytes(body),
    )
    labels = route_labels(name, path)
    try:
        result = execute(mock.backend, mock.options, region, name, labels, request)
    except ServiceError as error:
        return _to_botocore(model, url, serialize_error(error), response_class)
    response = serialize_output(model, result)
    parsed = parsed_success(model, result, response.status, response.headers)
    parsed["ResponseMetadata"]["RetryAttempts"] = 0
    return _http_response(url, response, response_class), parsed


def _path_of(url: str) -> str:
    return "/" + url.partition("://")[2].partition("/")[2]


def _http_response(
    url: str, response: WireResponse, response_class: type[AWSResponse] = AWSResponse
) -> AWSResponse:
    http = response_class(url, response.status, HeadersDict(response.headers), None)  # type: ignore[arg-type]
    http._content = response.body  # type: ignore[attr-defined]
    return http


def _to_botocore(
    model: OperationModel, url: str, response: WireResponse, response_class: type[AWSResponse] = AWSResponse
) -> tuple[AWSResponse, Any]:
    """Parse ``response`` with botocore's own rest-json parser, as botocore's endpoint would (aiobotocore's
    parser gives the same for these non-streaming rest-json bodies)."""
    http = _http_response(url, response, response_class)
    headers = http.headers
    response_dict = {
        "status_code": response.status,
        "headers": headers,
        "body": response.body,
        "context": {"operation_name": model.name},
    }
    parsed = _parser.parse(response_dict, model.output_shape)  # type: ignore[arg-type]
    if response.status >= 300:
        code = parsed.get("Error", {}).get("Code")
        if code:
            try:
                error_shape = iot_service_model().shape_for_error_code(code)
            except Exception:  # noqa: BLE001 - codes outside the model have no extra members
                error_shape = None
            if error_shape is not None:
                parsed.update(_parser.parse(response_dict, error_shape))
    parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = 0
    return http, parsed
