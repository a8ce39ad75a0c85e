"""The in-process door: answer botocore ``iot`` calls at ``before-call``, before anything is signed or sent.

botocore emits ``before-call`` after it has validated and serialized the request; a handler that returns
``(http_response, parsed)`` there ends the call, which is how botocore's own ``Stubber`` works. To reach
every client in the process, including clients created before this module was imported, the door wraps
``BaseClient._make_api_call`` once: while a mock is active, the first ``iot`` call of a client registers the
handler on that client's event emitter. The response bytes the backend produces are parsed by botocore's
own rest-json parser, so callers get exactly what the service's bytes would give them.

Clients whose ``endpoint_url`` is a loopback address (a local server such as ``mock_iotprov serve`` or
moto's server) are left alone: they already talk to a local endpoint.

No credentials are needed and none are used: the request never reaches signing. When moto's ``mock_aws``
is active too, operations this project does not implement are left to moto (which answers at
``before-send``); without moto they fail closed with a 501 ``NotImplemented`` error.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
import weakref
from functools import lru_cache
from typing import Any

from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.client import BaseClient
from botocore.model import OperationModel
from botocore.parsers import create_parser

from mock_iotprov import active
from mock_iotprov.dispatch import execute
from mock_iotprov.doors.fast_path import answer_directly
from mock_iotprov.protocol.botocore_result import parsed_success
from mock_iotprov.protocol.endpoint import region_from_host
from mock_iotprov.protocol.errors import ServiceError, not_implemented
from mock_iotprov.protocol.messages import WireRequest, WireResponse
from mock_iotprov.protocol.model import adopt_service_model, iot_service_model, route_labels
from mock_iotprov.protocol.serialize import serialize_error, serialize_output
from mock_iotprov.service import is_implemented
from mock_iotprov.state import DEFAULT_REGION

_HOOKED = "_mock_iotprov_hooked"
_install_lock = threading.Lock()
_parser = create_parser("rest-json")


def install() -> None:
    """Wrap ``BaseClient._make_api_call`` (once per process; inert while no mock is active)."""
    with _install_lock:
        current = BaseClient._make_api_call  # type: ignore[attr-defined]
        if getattr(current, "_mock_iotprov", False):
            return
        original = current

        def _make_api_call(self: BaseClient, operation_name: str, api_params: Any) -> Any:
            if active.any_active():
                _hook_client(self)
                answered = _answer_directly(self, operation_name, api_params)
                if answered is not None:
                    return answered
            return original(self, operation_name, api_params)

        _make_api_call._mock_iotprov = True  # type: ignore[attr-defined]
        BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]


def _hook_client(client: BaseClient) -> None:
    events = client.meta.events
    if getattr(events, _HOOKED, False) or client.meta.service_model.service_name != "iot":
        return
    loader_ref = weakref.ref(client._loader)  # type: ignore[attr-defined]

    def before_call(model: OperationModel, params: dict[str, Any], context: Any, **_: Any) -> Any:
        mock = active.mock_for_loader(loader_ref())
        if mock is None:
            return None
        return _answer(mock, model, params, context)

    adopt_service_model(client.meta.service_model)
    events.register("before-call.iot", before_call, unique_id="mock_iotprov.before_call")
    setattr(events, _HOOKED, True)


def _answer_directly(client: BaseClient, operation_name: str, api_params: Any) -> Any:
    """The fast path's answer (``doors.fast_path``), or None for botocore's normal path."""
    if client.meta.service_model.service_name != "iot":
        return None
    mock = active.mock_for_loader(client._loader)  # type: ignore[attr-defined]
    if mock is None:
        return None
    url = client.meta.endpoint_url or ""
    loopback, host_region = _endpoint_of(url.partition("://")[2].partition("/")[0])
    if loopback:
        return None
    region = host_region or client.meta.region_name or DEFAULT_REGION

    def error_response(model: OperationModel, error: ServiceError) -> Any:
        return _to_botocore(model, url, serialize_error(error))[1]

    return answer_directly(client, operation_name, api_params, mock, region, error_response)


def _moto_active() -> bool:
    models = sys.modules.get("moto.core.models")
    stubber = getattr(models, "botocore_stubber", None)
    return bool(getattr(stubber, "enabled", False))


@lru_cache(maxsize=1024)
def _endpoint_of(netloc: str) -> tuple[bool, str | None]:
    """(is the host loopback, the region its name gives) for an endpoint's ``host[:port]``."""
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        host = host[1 : host.find("]")]
    else:
        host = host.partition(":")[0]
    if host == "localhost":
        return True, None
    try:
        return ipaddress.ip_address(host).is_loopback, None
    except ValueError:
        return False, region_from_host(host)


def _answer(mock: Any, model: OperationModel, params: dict[str, Any], context: Any) -> Any:
    name = model.name
    url = params.get("url", "")
    scheme_and_rest = url.partition("://")[2]
    netloc, _, rest = scheme_and_rest.partition("/")
    loopback, host_region = _endpoint_of(netloc)
    if loopback:
        return None  # a client pointed at a local endpoint (e.g. ``mock_iotprov serve``) is not an AWS call
    if not is_implemented(name):
        if _moto_active():
            return None
        return _to_botocore(model, url, serialize_error(not_implemented(name)))
    region = host_region or (context or {}).get("client_region") or DEFAULT_REGION
    path = (params.get("url_path") or "/" + rest).partition("?")[0]
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
        return _to_botocore(model, url, serialize_error(error))
    response = serialize_output(model, result)
    parsed = parsed_success(model, result, response.status, response.headers)
    parsed["ResponseMetadata"]["RetryAttempts"] = 0
    return _http_response(url, response), parsed


def _http_response(url: str, response: WireResponse) -> AWSResponse:
    http = AWSResponse(url, response.status, HeadersDict(response.headers), None)  # type: ignore[arg-type]
    http._content = response.body  # type: ignore[attr-defined]
    return http


def _to_botocore(model: OperationModel, url: str, response: WireResponse) -> tuple[AWSResponse, Any]:
    """Parse ``response`` with botocore's own rest-json parser, as botocore's endpoint would."""
    http = _http_response(url, response)
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
