"""Throughput of the local endpoint with ``--state-dir`` against the same endpoint without it.

Both servers run as ``python -m mock_iotprov serve`` child processes. 16 keep-alive client threads each
update their own thing (``PATCH /things/<name>``, UpdateThing: a write, so every request must be on disk
before it is answered) for a few seconds; the two servers are measured in alternating rounds and the row
compares time per request (so 2× means half the throughput; the goal is at most 2×, i.e. throughput with
``--state-dir`` at least 0.5× of without).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from common import Row, Settings

CLIENTS = 16
ROOT = Path(__file__).resolve().parent.parent
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20240101/us-east-1/iot/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)


@contextlib.contextmanager
def _serve(*arguments: str) -> Iterator[int]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_iotprov", "serve", "--port", "0", "--no-mqtt", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        yield int(line.split()[3].rsplit(":", 1)[1])
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _request(connection: http.client.HTTPConnection, method: str, path: str, body: dict[str, object]) -> int:
    data = json.dumps(body).encode()
    headers = {"Authorization": AUTHORIZATION, "Content-Type": "application/json"}
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status


def _throughput(port: int, seconds: float) -> float:
    """Requests per second of ``CLIENTS`` threads updating their own things for ``seconds``."""
    counts = [0] * CLIENTS
    errors = [0] * CLIENTS
    start = threading.Barrier(CLIENTS + 1)

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        name = f"bench-{index}"
        _request(connection, "POST", f"/things/{name}", {})
        start.wait()
        deadline = time.perf_counter() + seconds
        step = 0
        while time.perf_counter() < deadline:
            step += 1
            status = _request(
                connection, "PATCH", f"/things/{name}", {"attributePayload": {"attributes": {"v": str(step)}}}
            )
            counts[index] += 1
            errors[index] += status != 200
        connection.close()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if sum(errors):
        print(f"bench_persistence: {sum(errors)} requests failed", file=sys.stderr)
    return sum(counts) / elapsed


def run(settings: Settings) -> list[Row]:
    seconds = 1.0 if settings.smoke else 4.0
    rounds = 1 if settings.smoke else 3
    durable: list[float] = []
    memory: list[float] = []
    with tempfile.TemporaryDirectory(prefix="mock_iotprov-bench-") as state_dir:
        with _serve("--state-dir", state_dir) as durable_port, _serve() as memory_port:
            for _ in range(rounds):
                durable.append(_throughput(durable_port, seconds))
                memory.append(_throughput(memory_port, seconds))
    ours, baseline = sorted(durable)[len(durable) // 2], sorted(memory)[len(memory) // 2]
    return [
        Row(
            f"HTTP update_thing, {CLIENTS} keep-alive clients, --state-dir (durable) vs in memory "
            f"({ours:,.0f} vs {baseline:,.0f} req/s)",
            1 / ours,
            "same endpoint without --state-dir",
            1 / baseline,
            "≤ 2× time per request (throughput ≥ 0.5×)",
        )
    ]
