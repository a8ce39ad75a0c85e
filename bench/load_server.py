"""Load on the HTTP endpoint: concurrent keep-alive clients, side by side with moto's server mode.

Each of ``--clients`` threads keeps one ``http.client.HTTPConnection`` open and sends the same request
(``GET /things/<name>`` for ``describe_thing``, ``GET /provisioning-templates/<name>`` for
``describe_provisioning_template``) with a SigV4-shaped ``Authorization`` header that neither server checks,
for ``--seconds`` seconds or ``--max-requests`` requests per client, whichever ends first. Reports
throughput, p50/p99 latency and errors (any status other than 200, or a connection failure).

Loopback only; every server is started and stopped by the run. By default the servers run in this process
(the clients then share its interpreter lock with them); ``--subprocess`` runs each server in its own
process. moto is measured when it is installed (``pip install "moto[server]"``) and ``--no-moto`` is not
given; moto does not implement provisioning templates, so ``describe_provisioning_template`` errors there.

    python bench/load_server.py [--seconds 10] [--clients 16] [--operation describe_thing] [--subprocess]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import logging
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3

ACCOUNT_ROLE = "arn:aws:iam::123456789012:role/Provision_role"
TEMPLATE_BODY = '{"Resources":{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"bench"}}}}'
RESOURCE_NAME = "bench-resource"
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20240101/us-east-1/iot/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
PATHS = {
    "describe_thing": f"/things/{RESOURCE_NAME}",
    "describe_provisioning_template": f"/provisioning-templates/{RESOURCE_NAME}",
}
STARTUP_TIMEOUT_SECONDS = 60.0
# The floor of any server built on http.server: a minimal HTTP/1.1 keep-alive handler that parses each
# request as http.server does and writes one prebuilt response (a describe_thing answer, as mock_iotprov
# gives it), doing nothing else.
PREBUILT_BODY = (
    '{"attributes":{"model":"bench"},"defaultClientId":"bench-resource","thingArn":'
    '"arn:aws:iot:us-east-1:123456789012:thing/bench-resource","thingId":"6febb896-d16d-4806-9ef6-68e0e19969b4",'
    '"thingName":"bench-resource","version":1}'
)
_STDLIB_CHILD = (
    "import sys\n"
    "from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer\n"
    "BODY = sys.argv[1].encode()\n"
    "RESPONSE = (b'HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\n'\n"
    "            b'x-amzn-requestid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\\r\\n'\n"
    "            b'content-length: ' + str(len(BODY)).encode() + b'\\r\\n\\r\\n' + BODY)\n"
    "class Handler(BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def do_GET(self):\n"
    "        self.wfile.write(RESPONSE)\n"
    "    do_POST = do_GET\n"
    "    def log_message(self, *args):\n"
    "        pass\n"
    "class Server(ThreadingHTTPServer):\n"
    "    daemon_threads = True\n"
    "    request_queue_size = 128\n"
    "server = Server(('127.0.0.1', 0), Handler)\n"
    "print('stdlib listening on http://127.0.0.1:%d' % server.server_address[1], flush=True)\n"
    "server.serve_forever()\n"
)
_MOTO_CHILD = (
    "import logging, sys\n"
    "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
    "from moto.server import ThreadedMotoServer\n"
    "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
    "server.start()\n"
    "print('moto listening on http://127.0.0.1:%d' % server.get_host_and_port()[1], flush=True)\n"
    "sys.stdin.read()\n"
)


@dataclass
class ClientResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""


@dataclass
class Measurement:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    first_error: str


def seed(endpoint_url: str, operation: str) -> None:
    """Create the one resource every request describes."""
    iot = boto3.client(
        "iot",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    try:
        if operation == "describe_thing":
            iot.create_thing(thingName=RESOURCE_NAME, attributePayload={"attributes": {"model": "bench"}})
        else:
            iot.create_provisioning_template(
                templateName=RESOURCE_NAME, templateBody=TEMPLATE_BODY, provisioningRoleArn=ACCOUNT_ROLE
            )
    except Exception as exc:  # noqa: BLE001 - reported; the run then shows the server's errors
        print(f"  seeding {endpoint_url} failed: {exc}", file=sys.stderr)


def run_client(port: int, path: str, deadline: float, max_requests: int, result: ClientResult) -> None:
    headers = {
        "Authorization": AUTHORIZATION,
        "X-Amz-Date": "20240101T000000Z",
        "Accept-Encoding": "identity",
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for _ in range(max_requests):
            started = time.perf_counter()
            if started >= deadline:
                break
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                connection.close()  # reconnects on the next request
                status, body = 0, repr(exc).encode()
            result.latencies.append(time.perf_counter() - started)
            if status != 200:
                result.errors += 1
                result.first_error = result.first_error or f"{status} {body[:160]!r}"
    finally:
        connection.close()


def measure(name: str, port: int, args: argparse.Namespace) -> Measurement:
    path = PATHS[args.operation]
    warm = ClientResult()
    run_client(port, path, time.perf_counter() + 5.0, 20, warm)
    results = [ClientResult() for _ in range(args.clients)]
    deadline = time.perf_counter() + args.seconds
    threads = [
        threading.Thread(target=run_client, args=(port, path, deadline, args.max_requests, result))
        for result in results
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for result in results for latency in result.latencies)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Measurement(
        name=name,
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        errors=sum(result.errors for result in results),
        first_error=next((result.first_error for result in results if result.first_error), ""),
    )


@contextlib.contextmanager
def child_server(command: list[str]) -> Iterator[int]:
    """A server in a child process that prints ``... listening on http://127.0.0.1:PORT ...``."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "listening on http://127.0.0.1:" not in line:
            raise RuntimeError(f"{command[:3]} did not start: {line!r}")
        yield int(line.split("http://127.0.0.1:", 1)[1].split()[0])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def mock_iotprov_server(in_subprocess: bool) -> Iterator[int]:
    if in_subprocess:
        command = [sys.executable, "-m", "mock_iotprov", "serve", "--port", "0", "--no-mqtt"]
        with child_server(command) as port:
            yield port
        return
    from mock_iotprov.doors.server import IotProvisioningServer

    with IotProvisioningServer(port=0) as server:
        yield server.port


@contextlib.contextmanager
def stdlib_server(in_subprocess: bool) -> Iterator[int]:
    """The minimal ``http.server`` that writes one prebuilt response (always in its own process)."""
    with child_server([sys.executable, "-c", _STDLIB_CHILD, PREBUILT_BODY]) as port:
        yield port


@contextlib.contextmanager
def moto_server(in_subprocess: bool) -> Iterator[int]:
    if in_subprocess:
        with child_server([sys.executable, "-c", _MOTO_CHILD]) as port:
            yield port
        return
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line on stderr per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield int(server.get_host_and_port()[1])
    finally:
        server.stop()


def moto_version() -> str | None:
    try:
        import flask  # noqa: F401 - moto's server mode needs it
        import moto
    except ImportError:
        return None
    return str(moto.__version__)


def print_table(measurements: list[Measurement], args: argparse.Namespace) -> None:
    where = "each in its own process" if args.subprocess else "in the benchmark's process"
    print(
        f"\n{args.operation}: {args.clients} keep-alive clients, {args.seconds:g} s per server "
        f"(at most {args.max_requests} requests per client), servers {where}\n"
    )
    print(f"{'server':<22}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>10}")
    for m in measurements:
        rate = m.requests / m.seconds if m.seconds else 0.0
        print(f"{m.name:<22}{m.requests:>10}{rate:>10.0f}{m.p50_ms:>10.2f}{m.p99_ms:>10.2f}{m.errors:>10}")
    for m in measurements:
        if m.first_error:
            print(f"  first error from {m.name}: {m.first_error}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="duration per server (default 10)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent keep-alive clients (default 16)")
    parser.add_argument("--operation", choices=sorted(PATHS), default="describe_thing")
    parser.add_argument("--max-requests", type=int, default=100_000, help="per client (default 100000)")
    parser.add_argument("--subprocess", action="store_true", help="run each server in its own process")
    parser.add_argument("--no-moto", action="store_true", help="measure mock_iotprov only")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 600 or not 0 < args.clients <= 256 or args.max_requests < 1:
        parser.error("--seconds must be in (0, 600], --clients in [1, 256], --max-requests at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    targets: list[tuple[str, Any]] = [("mock_iotprov", mock_iotprov_server)]
    version = None if args.no_moto else moto_version()
    if version is not None:
        targets.append((f"moto {version}", moto_server))
    elif not args.no_moto:
        print(
            'moto\'s server mode is not installed (pip install "moto[server]"); measuring mock_iotprov only'
        )
    measurements = []
    for name, start in targets:
        with start(args.subprocess) as port:
            seed(f"http://127.0.0.1:{port}", args.operation)
            measurements.append(measure(name, port, args))
    print_table(measurements, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
