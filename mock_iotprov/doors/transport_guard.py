"""The last line of defence: no AWS IoT control-plane request leaves the process while a mock is active.

The in-process door answers ``iot`` calls long before anything is sent. Code that goes around it (a
patch that calls an original ``_make_api_call`` captured before the mock was installed, a user handler
that unregisters ours, a client this project has no hook for) reaches botocore's HTTP layer instead. There,
``URLLib3Session.send`` (and aiobotocore's ``AIOHTTPSession.send`` / ``HttpxSession.send``) is wrapped:
while a mock answers the sending client, a request whose host is an AWS IoT control-plane host, or which
is SigV4-signed for the ``iot`` service, is answered with the fail-closed ``NotImplemented`` error (HTTP
501, in the rest-json error form) and never sent. Requests to a loopback host (a local server such as
``mock_iotprov serve``) and every other service pass untouched, as does anything moto's ``mock_aws``
answers (it answers at ``before-send``, before the HTTP layer).

Which mock "answers the sending client": a process-wide mock answers every client; a ``patch_session``
mock only the clients of its session, whose HTTP sessions the botocore door tags when it hooks them.
"""

from __future__ import annotations

import functools
import threading
import weakref
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.httpsession import URLLib3Session

from mock_iotprov import active
from mock_iotprov.protocol.endpoint import is_iot_host, is_loopback_host, signed_for_iot, url_host
from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.protocol.messages import WireResponse
from mock_iotprov.protocol.model import router
from mock_iotprov.protocol.serialize import serialize_error

_MARK = "_mock_iotprov_guard"
_TAG = "_mock_iotprov_loader"
_lock = threading.Lock()


def tag_http_session(http_session: Any, loader: Any) -> None:
    """Remember that ``http_session`` sends for a client of the session whose data loader is ``loader``."""
    if http_session is not None and loader is not None and getattr(http_session, _TAG, None) is None:
        try:
            setattr(http_session, _TAG, weakref.ref(loader))
        except (AttributeError, TypeError):  # a user's HTTP session that takes no attributes
            pass


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name) if headers is not None else None
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def _answering_mock(http_session: Any) -> Any:
    tag = getattr(http_session, _TAG, None)
    loader = tag() if tag is not None else None
    if loader is not None:
        return active.mock_for_loader(loader)
    return active.global_mock()


def refusal(http_session: Any, request: Any) -> WireResponse | None:
    """The fail-closed response for ``request`` when it must not be sent; None when it may go."""
    if not active.any_active():
        return None
    url = str(getattr(request, "url", ""))
    host = url_host(url)
    if is_loopback_host(host):
        return None
    if not (is_iot_host(host) or signed_for_iot(_header(getattr(request, "headers", None), "Authorization"))):
        return None
    if _answering_mock(http_session) is None:
        return None
    split = urlsplit(url)
    found = router().match(str(request.method), split.path or "/", parse_qs(split.query))
    what = f"the operation {found[0]}" if found else f"{request.method} {split.path or '/'}"
    error = ServiceError(
        "NotImplemented",
        f"mock_iotprov did not send {what} to {host}: the request reached the HTTP layer while a mock is "
        "active, which means something went around the mock's client hooks; it was answered here instead.",
        status=501,
    )
    return serialize_error(error)


def _response(response_class: type[AWSResponse], url: str, wire: WireResponse) -> AWSResponse:
    http = response_class(url, wire.status, HeadersDict(wire.headers), None)  # type: ignore[arg-type]
    http._content = wire.body  # type: ignore[attr-defined]
    return http


def install() -> None:
    """Wrap botocore's ``URLLib3Session.send`` (once per process; inert while no mock is active)."""
    with _lock:
        original = URLLib3Session.send
        if getattr(original, _MARK, False):
            return

        @functools.wraps(original)
        def send(self: URLLib3Session, request: Any) -> Any:
            refused = refusal(self, request)
            if refused is not None:
                return _response(AWSResponse, str(request.url), refused)
            return original(self, request)

        setattr(send, _MARK, True)
        URLLib3Session.send = send  # type: ignore[method-assign]


def install_aio() -> None:
    """Wrap aiobotocore's HTTP sessions' ``send`` the same way, when aiobotocore is importable."""
    try:
        from aiobotocore.awsrequest import AioAWSResponse
        from aiobotocore.httpsession import AIOHTTPSession
    except ImportError:
        return
    classes: list[type[Any]] = [AIOHTTPSession]
    try:
        from aiobotocore.httpxsession import HttpxSession
    except ImportError:  # httpx is an optional extra of aiobotocore
        pass
    else:
        classes.append(HttpxSession)
    with _lock:
        for session_class in classes:
            original = session_class.send
            if getattr(original, _MARK, False):
                continue
            session_class.send = _async_send(original, AioAWSResponse)


def _async_send(original: Any, response_class: type[AWSResponse]) -> Any:
    @functools.wraps(original)
    async def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        refused = refusal(self, request)
        if refused is not None:
            return _response(response_class, str(request.url), refused)
        return await original(self, request, *args, **kwargs)

    setattr(send, _MARK, True)
    return send
