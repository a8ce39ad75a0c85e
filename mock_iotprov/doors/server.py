"""The HTTP door: a local endpoint that answers ``iot`` requests from the AWS CLI and any other SDK.

Requests go through the same protocol layer and backend as the in-process doors
(:func:`mock_iotprov.dispatch.answer`), so an operation behaves the same whichever way it arrives.

At the HTTP level:

- Signatures are never checked (SigV4-signed and unsigned requests are both accepted). The region is the
  one in the SigV4 credential scope, else ``us-east-1``; state is kept per (account, region) in one
  :class:`~mock_iotprov.state.Backend`.
- The service model is loaded and the router built at ``start()``, so a burst of first requests shares one
  copy instead of each loading its own.
- HTTP/1.1 keep-alive, a daemon thread per connection, ``Connection: close`` honoured; an idle connection
  is closed after :data:`IDLE_TIMEOUT_SECONDS`.
- Bodies are limited to :data:`MAX_BODY_BYTES` (1 MiB; the longest string the ``iot`` model allows in a
  request, a 404,600-character policy document, fits): a larger ``Content-Length`` is answered 413
  without reading the body, and the connection closed. POST, PUT and PATCH need a ``Content-Length``
  (else 411) or ``Transfer-Encoding: chunked`` (decoded, same limit); other transfer codings get 501, an
  invalid length 400.
- Such HTTP-level errors, and those :mod:`http.server` finds (malformed request line: 400; request line
  too long: 414; headers too large: 431), are answered in the service's rest-json error form so SDKs report
  them as client errors. AWS does not document these front-end errors for IoT; the codes chosen are
  ``RequestEntityTooLargeException`` for 413, ``NotImplemented`` for 501, and ``InvalidRequestException``
  for the rest. A TLS handshake (an ``https://`` endpoint URL by mistake) is closed at once, with a warning.
- Only requests to the endpoint's own names are answered, and none from a page of another site
  (:mod:`mock_iotprov.doors.request_origin`): another ``Host`` (DNS rebinding), a foreign ``Origin`` or
  ``Sec-Fetch-Site: cross-site`` get 403 ``AccessDeniedException``, on the AWS paths and the admin ones.
- A client that disconnects mid-request ends only its own connection. An unexpected exception is logged on
  the ``mock_iotprov.server`` logger, never printed, and answered ``InternalFailureException`` (500).

Outside the AWS paths, under ``/_mock_iotprov/``: ``GET health`` (``{"status": "ok"}``), ``POST reset``
(empties every account and region), ``GET ca.pem`` (the CA bundle every issued certificate chains to) and
``faults`` (``POST`` arms a fault, ``GET`` lists them with their counts, ``DELETE`` clears; see
:mod:`mock_iotprov.doors.fault_admin`). Injected faults and, with ``throttle``, the per-API rate quotas
answer a request before any handler runs (:func:`mock_iotprov.throttling.front_door_error`).
"""

from __future__ import annotations

import datetime
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from mock_iotprov.dispatch import answer
from mock_iotprov.doors import dashboard
from mock_iotprov.doors.dashboard import RequestLog, RequestRecord
from mock_iotprov.doors.fault_admin import fault_admin
from mock_iotprov.doors.request_origin import RequestOriginPolicy
from mock_iotprov.faults import DEFAULT_CODE, Fault, FaultTable, new_fault
from mock_iotprov.persistence.journal import Journal
from mock_iotprov.persistence.state_directory import open_state_directory
from mock_iotprov.protocol.endpoint import region_from_authorization
from mock_iotprov.protocol.errors import ServiceError, internal_failure
from mock_iotprov.protocol.messages import WireRequest, WireResponse
from mock_iotprov.protocol.model import router
from mock_iotprov.protocol.serialize import serialize_error
from mock_iotprov.state import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, Backend, MockOptions
from mock_iotprov.throttling import Throttle, front_door_error

log = logging.getLogger("mock_iotprov.server")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
MAX_BODY_BYTES = 1024 * 1024
IDLE_TIMEOUT_SECONDS = 60.0
ADMIN_PREFIX = "/_mock_iotprov/"

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_MAX_CHUNK_LINE = 1024
_MAX_TRAILER_LINES = 64
_LINGER_SECONDS = 1.0


def _http_error(status: int, message: str) -> WireResponse:
    codes = {413: "RequestEntityTooLargeException", 501: "NotImplemented"}
    code = codes.get(status, "InvalidRequestException")
    return serialize_error(ServiceError(code, message, status=status))


def _json_response(status: int, document: dict[str, Any]) -> WireResponse:
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    return WireResponse(status, {"content-type": "application/json"}, body)


class _ClientGone(Exception):
    """The client closed the connection (or went silent) before its request was complete."""


class _Refused(Exception):
    """A request refused at the HTTP level (answered, then the connection is closed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _too_large() -> _Refused:
    return _Refused(413, f"The request body exceeds {MAX_BODY_BYTES} bytes")


def _content_length(values: list[str]) -> int | None:
    """The one length all ``Content-Length`` values agree on, or None if they are invalid or differ."""
    found = {item.strip() for value in values for item in value.split(",")}
    text = found.pop() if len(found) == 1 else ""
    return int(text) if text.isascii() and text.isdigit() else None


class _HttpServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its backend and can close its open connections on stop."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        backend: Backend,
        options: MockOptions,
        connected_clients: Callable[[], Sequence[str]] | None = None,
        faults: FaultTable | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.backend, self.options = backend, options
        self.request_log = RequestLog()
        self.connected_clients = connected_clients
        self.origin_policy = RequestOriginPolicy(address[0])
        self.faults = faults if faults is not None else FaultTable()
        self.throttle = throttle
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection (their threads see end-of-file and finish)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log an exception that escaped a connection's thread; never print it."""
        if isinstance(sys.exc_info()[1], OSError):
            log.debug("mock_iotprov: connection from %s failed", client_address, exc_info=True)
        else:
            log.exception("mock_iotprov: error on the connection from %s", client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    """One connection: parse each request, answer it through :func:`mock_iotprov.dispatch.answer`."""

    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.1"  # so that errors about a malformed request line get a status line
    server_version = "mock_iotprov"
    sys_version = ""
    timeout = IDLE_TIMEOUT_SECONDS
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024  # a whole response leaves in one write (headers and body together)

    def _server(self) -> _HttpServer:
        return cast(_HttpServer, self.server)

    def handle_one_request(self) -> None:
        try:
            first = cast(Any, self.rfile).peek(1)[:1]
        except OSError:
            first = b""
        if first == b"\x16":
            log.warning("mock_iotprov: a TLS handshake reached the plain-HTTP endpoint; use an http:// URL")
        if first in (b"", b"\x16"):
            self.close_connection = True
            return
        super().handle_one_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors :mod:`http.server` finds (bad request line, headers too large ...) in the service's form."""
        text = message or self.responses.get(code, ("Bad request",))[0]
        self.log_error("code %d, message %s", code, text)
        self._refuse(_Refused(code, text))

    # -- one request --------------------------------------------------------------------------------------

    def _handle(self) -> None:
        self._response_started = False
        try:
            try:
                self._send(self._respond(self._read_body()))
            except _Refused as refusal:
                self._refuse(refusal)
        except (_ClientGone, OSError) as exc:
            log.debug("mock_iotprov: client %s left mid-request (%r)", self.client_address, exc)
            self.close_connection = True
        except Exception:
            log.exception("mock_iotprov: %s %s failed inside the server", self.command, self.path)
            self.close_connection = True
            if not self._response_started:
                try:
                    self._send(serialize_error(internal_failure("The mock_iotprov server failed.")))
                except OSError:
                    pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _respond(self, body: bytes) -> WireResponse:
        refused = self._refused_origin()
        if refused is not None:
            return refused
        if self.path.startswith("/"):
            path, _, query_text = self.path.partition("?")
        else:  # absolute-form request target (http://host/path?query)
            split = urlsplit(self.path)
            path, query_text = split.path or "/", split.query
        query = parse_qs(query_text, keep_blank_values=True) if query_text else {}
        if path.startswith(ADMIN_PREFIX):
            return self._admin(path[len(ADMIN_PREFIX) :], query, body)
        request = WireRequest(self.command, path, query, dict(self.headers.items()), body)
        region = region_from_authorization(self.headers.get("Authorization")) or DEFAULT_REGION
        server = self._server()
        started = time.perf_counter()
        routed = "(unknown)"

        def admit(operation_name: str) -> ServiceError | None:
            nonlocal routed
            routed = operation_name  # the router's answer, for the request log
            return front_door_error(
                server.faults, server.throttle, server.options.account_id, region, operation_name
            )

        response = answer(server.backend, server.options, region, request, admit)
        server.request_log.add(
            RequestRecord(
                at=datetime.datetime.now(datetime.timezone.utc),
                method=request.method,
                path=request.path,
                operation=routed,
                status=response.status,
                duration_ms=(time.perf_counter() - started) * 1000.0,
            )
        )
        return response

    def _refused_origin(self) -> WireResponse | None:
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            return _http_error(400, "A request has one Host header")
        reason = self._server().origin_policy.refusal(
            hosts[0] if hosts else None, self.headers.get("Origin"), self.headers.get("Sec-Fetch-Site")
        )
        if reason is None:
            return None
        log.warning("mock_iotprov: refused %s %s: %s", self.command, self.path.partition("?")[0], reason)
        return serialize_error(ServiceError("AccessDeniedException", reason, status=403))

    def _admin(self, name: str, query: dict[str, list[str]], body: bytes = b"") -> WireResponse:
        server = self._server()
        if name == "faults":
            return fault_admin(server.faults, self.command, body)
        if self.command in ("GET", "HEAD") and (name == "" or name.startswith(dashboard.VIEW)):
            if name == "":
                connected = server.connected_clients() if server.connected_clients is not None else None
                return dashboard.index(server.backend, server.request_log, connected)
            return dashboard.view(server.backend, name[len(dashboard.VIEW) :], query)
        routes = {"health": "GET", "reset": "POST", "ca.pem": "GET"}
        method = routes.get(name)
        if method is None:
            return _json_response(404, {"message": f"No mock_iotprov admin resource {ADMIN_PREFIX}{name}"})
        if self.command != method and not (method == "GET" and self.command == "HEAD"):
            response = _json_response(405, {"message": f"{ADMIN_PREFIX}{name} accepts {method} only"})
            response.headers["allow"] = method
            return response
        if name == "reset":
            server.backend.reset()
            return _json_response(200, {"status": "ok"})
        if name == "ca.pem":
            from mock_iotprov.pki import get_pki

            pem = get_pki().ca_bundle_pem().encode("ascii")
            return WireResponse(200, {"content-type": "application/x-pem-file"}, pem)
        return _json_response(200, {"status": "ok"})

    # -- reading the body ---------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        """The request body; raises :class:`_Refused` or :class:`_ClientGone` when there is none to use."""
        transfer_encoding = self.headers.get("Transfer-Encoding")
        lengths = self.headers.get_all("Content-Length") or []
        if transfer_encoding is not None:
            if lengths:
                raise _Refused(400, "Send Content-Length or Transfer-Encoding")
            if transfer_encoding.strip().lower() != "chunked":
                raise _Refused(501, f"Transfer-Encoding {transfer_encoding!r}")
            return self._read_chunked()
        if not lengths:
            if self.command in _BODY_METHODS:
                raise _Refused(411, "A Content-Length header is required")
            return b""
        length = _content_length(lengths)
        if length is None:
            raise _Refused(400, "Invalid Content-Length header")
        if length > MAX_BODY_BYTES:
            raise _too_large()
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise _ClientGone
        return body

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_text = self._read_line().split(b";", 1)[0].strip().decode("latin-1")
            if not size_text or not set(size_text) <= _HEX_DIGITS:
                raise _Refused(400, "Invalid chunk size line")
            size = int(size_text, 16)
            if size == 0:
                break
            if len(body) + size > MAX_BODY_BYTES:
                raise _too_large()
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise _ClientGone
            if self._read_line().strip():
                raise _Refused(400, "A chunk must end with CRLF")
            body += chunk
        for _ in range(_MAX_TRAILER_LINES):
            if not self._read_line().strip():
                return bytes(body)
        raise _Refused(400, "Too many trailer lines")

    def _read_line(self) -> bytes:
        line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
        if len(line) > _MAX_CHUNK_LINE:
            raise _Refused(400, "Chunk line too long")
        if not line.endswith(b"\n"):
            raise _ClientGone
        return line

    def handle_expect_100(self) -> bool:
        """Refuse an oversized body before the client sends it; otherwise ``100 Continue``."""
        length = _content_length(self.headers.get_all("Content-Length") or [])
        if length is not None and length > MAX_BODY_BYTES:
            self._refuse(_too_large())
            return False
        accepted = super().handle_expect_100()
        self.wfile.flush()  # the interim response must leave now: the client waits for it
        return accepted

    def _refuse(self, refusal: _Refused) -> None:
        """Answer an HTTP-level error and close the connection."""
        self.close_connection = True
        self._send(_http_error(refusal.status, refusal.message))
        self._linger()

    def _linger(self) -> None:
        """Half-close, then discard (briefly, boundedly) what the client still sends: closing a socket with
        unread data resets the connection, which can destroy the response before the client reads it."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(_LINGER_SECONDS)
            for _ in range(MAX_BODY_BYTES // 65536 + 1):
                if not self.connection.recv(65536):
                    break
        except OSError:
            pass

    # -- writing the response -----------------------------------------------------------------------------

    def _send(self, response: WireResponse) -> None:
        """Write the status line, headers and body in one write (``http.server``'s per-header calls
        cost more than the rest of a small request)."""
        self._response_started = True
        status = response.status
        self.log_request(status)
        body = response.body if self.command != "HEAD" else b""
        if self.request_version == "HTTP/0.9":  # no status line, no headers
            self.wfile.write(body)
            self.wfile.flush()
            return
        reason = self.responses.get(status, ("",))[0]
        lines = [f"{self.protocol_version} {status} {reason}\r\n"]
        has_date = False
        for name, value in response.headers.items():
            lowered = name.lower()
            if lowered in _HOP_BY_HOP:
                continue
            has_date = has_date or lowered == "date"
            lines.append(f"{lowered}: {value}\r\n")
        if not has_date:
            lines.append(f"date: {self.date_time_string()}\r\n")
        lines.append(f"Content-Length: {len(response.body)}\r\n")
        if self.close_connection:
            lines.append("Connection: close\r\n")
        elif self.request_version == "HTTP/1.0":  # it asked for keep-alive, which 1.0 does not assume
            lines.append("Connection: keep-alive\r\n")
        lines.append("\r\n")
        self.wfile.write("".join(lines).encode("latin-1", "strict") + body)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """Request lines and HTTP-level errors go to the ``mock_iotprov.server`` logger (INFO)."""
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s", self.address_string(), format % args)


class IotProvisioningServer:
    """A local HTTP endpoint of the mock, for the AWS CLI and any SDK (``endpoint_url=server.url``).

    ``port=0`` picks a free port. ``start()`` serves from a background thread and returns once the
    endpoint accepts connections; ``stop()`` ends it (and its open connections); ``serve_forever()`` blocks
    until ``stop()`` or ``request_stop()`` is called. Pass ``backend`` to share state with another door,
    ``data_endpoint`` for the host ``DescribeEndpoint`` answers for the data endpoints (an MQTT broker's).
    ``throttle=True`` (or a :class:`~mock_iotprov.throttling.Throttle`) applies AWS IoT Core's per-API rate
    quotas; ``inject_fault``/``clear_faults`` work as on the in-process mock (also over HTTP, under
    ``/_mock_iotprov/faults``).
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        fresh_keys: bool = False,
        backend: Backend | None = None,
        data_endpoint: str | None = None,
        state_dir: str | Path | None = None,
        connected_clients: Callable[[], Sequence[str]] | None = None,
        throttle: bool | Throttle = False,
    ) -> None:
        self.host = host
        self.options = MockOptions(
            account_id=account_id, fresh_keys=fresh_keys, data_endpoint=data_endpoint, keep_private_keys=True
        )
        self.backend = backend if backend is not None else Backend()
        self.state_dir = None if state_dir is None else Path(state_dir)
        self.connected_clients = connected_clients
        self._journal: Journal | None = None
        self.faults = FaultTable()
        self.throttle: Throttle | None = Throttle() if throttle is True else (throttle or None)
        self._requested_port = port
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._lock = threading.Lock()

    @property
    def account_id(self) -> str:
        """The AWS account every request is answered for."""
        return self.options.account_id

    @property
    def port(self) -> int:
        """The port listened on (the one picked by the system when created with ``port=0``)."""
        if self._httpd is None:
            return self._requested_port
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``, the ``endpoint_url`` for clients."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> IotProvisioningServer:
        """Bind, listen and serve from a daemon thread; returns once connections are accepted."""
        with self._lock:
            if self._httpd is not None:
                return self
            self.open_state()
            router()  # load the service model and build the router once, before the first request
            try:
                httpd = _HttpServer(
                    (self.host, self._requested_port),
                    self.backend,
                    self.options,
                    self.connected_clients,
                    self.faults,
                    self.throttle,
                )
            except BaseException:
                self._close_journal()
                raise
            thread = threading.Thread(
                target=httpd.serve_forever, args=(0.1,), name="mock_iotprov", daemon=True
            )
            thread.start()
            self._stop_requested.clear()
            self._httpd, self._thread = httpd, thread
        return self

    def open_state(self) -> None:
        """Restore the state directory, if one was given and not yet opened: its CA hierarchy becomes the
        process's, so call this before anything issues a certificate (``start()`` calls it too).
        Raises :class:`~mock_iotprov.persistence.database.IncompatibleStateError`."""
        if self.state_dir is not None and self._journal is None:
            self._journal = open_state_directory(self.backend, self.state_dir)

    def stop(self) -> None:
        """Stop accepting, close the listening socket and every open connection (idempotent)."""
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
            self._stop_requested.set()
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if thread is not None:
            thread.join()
        self._close_journal()

    def _close_journal(self) -> None:
        journal, self._journal = self._journal, None
        if journal is not None:
            self.backend.journal = None
            journal.close()

    def inject_fault(self, operation: str, code: str | None = DEFAULT_CODE, **fields: Any) -> Fault:
        """Arm a fault, as :meth:`mock_iotprov.mock.MockIotProvisioning.inject_fault` does."""
        return self.faults.add(new_fault(operation, code, **fields))

    def clear_faults(self) -> None:
        """Disarm every injected fault."""
        self.faults.clear()

    def request_stop(self) -> None:
        """Ask a blocked :meth:`serve_forever` to stop (safe to call from a signal handler)."""
        self._stop_requested.set()

    def serve_forever(self) -> None:
        """Start (if needed) and block until :meth:`stop` or :meth:`request_stop`; then stop."""
        self.start()
        try:
            while not self._stop_requested.wait(0.5):
                pass
        finally:
            self.stop()

    def __enter__(self) -> IotProvisioningServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
