"""The ``requests`` door: plain HTTP calls to ``https://iot.<region>.amazonaws.com/...`` are answered by the
active mock's backend through ``responses``.

A request is answered when its host, read as urllib3 reads the URL (which is where ``requests`` would
connect), is an AWS IoT control-plane host in any spelling: any partition, ``iot-fips``, dual-stack
(``iot.us-east-1.api.aws``), upper case, a trailing dot, a port or user information. Only those URLs are
answered; every other request is handed on to whatever
``requests`` would have done before the mock started (the real adapter, or a user's own ``responses``
mock that was already active), so unrelated URLs and a user's mocks are not disturbed. Start and stop
mocks in nested order, as with any patch. ``requests`` and ``responses`` are imported when the first mock
starts, not when ``mock_iotprov`` is. The mock's injected faults and throttling apply here too (``requests``
itself does not retry).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from urllib3.util import parse_url

from mock_iotprov import active
from mock_iotprov.dispatch import answer
from mock_iotprov.protocol.endpoint import (
    is_iot_host,
    region_from_authorization,
    region_from_host,
    url_host,
)
from mock_iotprov.protocol.messages import WireRequest
from mock_iotprov.state import DEFAULT_REGION
from mock_iotprov.throttling import front_door_error

if TYPE_CHECKING:
    import responses

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
_installed: dict[int, responses.RequestsMock] = {}
# (the send it hands other requests to, the mock): built once, as registering the callbacks costs more
# than starting the patch
_prepared: list[tuple[Any, responses.RequestsMock]] = []


def _callback(request: Any) -> tuple[int, dict[str, str], bytes]:
    mock = active.global_mock()
    split = parse_url(request.url)  # the path and query exactly as they would have been sent
    headers = {k: str(v) for k, v in request.headers.items()}
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    wire = WireRequest(
        method=request.method,
        path=split.path or "/",
        query=parse_qs(split.query or "", keep_blank_values=True),
        headers=headers,
        body=bytes(body),
    )
    region = (
        region_from_host(url_host(request.url) or "")
        or region_from_authorization(headers.get("Authorization"))
        or DEFAULT_REGION
    )
    if mock is None:
        import requests

        raise requests.ConnectionError("mock_iotprov: no mock is active")
    faults, throttle, account_id = mock.faults, mock.throttle, mock.account_id
    response = answer(
        mock.backend,
        mock.options,
        region,
        wire,
        lambda operation: front_door_error(faults, throttle, account_id, region, operation),
    )
    return response.status, dict(response.headers), response.body


_ANY_URL = re.compile(r".*")


def _iot_host_response_class() -> type[responses.CallbackResponse]:
    """A ``responses`` callback response that matches any URL whose host is the IoT control plane."""
    import responses

    class IotHostCallbackResponse(responses.CallbackResponse):
        def _url_matches(self, url: Any, other: str, *args: Any, **kwargs: Any) -> bool:
            return is_iot_host(url_host(other))

    return IotHostCallbackResponse


def attach(mock: Any) -> None:
    """Start answering IoT URLs for ``mock`` (the innermost active global mock answers)."""
    if _installed:
        _installed[id(mock)] = next(iter(_installed.values()))
        return
    import requests

    # unmatched requests go to whatever ``requests`` does now (a user's own responses mock, say): the
    # prepared mock is reused only while that is what it was prepared with
    current_send = requests.adapters.HTTPAdapter.send
    if _prepared and _prepared[0][0] is current_send:
        requests_mock = _prepared[0][1]
    else:
        requests_mock = _prepare(current_send)
    requests_mock.start()
    _installed[id(mock)] = requests_mock


def _prepare(real_send: Any) -> responses.RequestsMock:
    """A ``responses`` mock with the IoT callbacks registered (not started), kept for the next mocks."""
    import responses  # imported here: a mock that never meets ``requests`` should not pay for it

    requests_mock = responses.RequestsMock(assert_all_requests_are_fired=False, real_adapter_send=real_send)
    response_class = _iot_host_response_class()
    for method in _METHODS:
        requests_mock.add(response_class(method, _ANY_URL, callback=_callback))
    requests_mock.add_passthru(re.compile(r".*"))
    _prepared[:] = [(real_send, requests_mock)]
    return requests_mock


def detach(mock: Any) -> None:
    """Stop answering for ``mock``; the patch is removed when the last global mock stops."""
    requests_mock = _installed.pop(id(mock), None)
    if requests_mock is not None and not _installed:
        requests_mock.stop(allow_assert=False)
        requests_mock.calls.reset()  # keep the callbacks for the next mock, not the calls it saw
