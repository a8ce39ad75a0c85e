"""Throughput of the HTTP endpoint under concurrent keep-alive clients, next to moto's server mode: the
measurement of ``bench/load_server.py`` (see its docstring), printed as rows of the benchmark table.

``describe_thing`` (``GET /things/<name>``, an operation both servers implement), 16 keep-alive client
threads, for 5 s per server (1 s with ``--smoke``), loopback only; every server is started and stopped by
the run. Two placements: servers in this process (clients and server share one interpreter lock), and
each server in its own child process (full mode only). A row shows requests per second with p50/p99
latency and errors; the ratio compares time per request (1 / throughput), so below 1× means more requests
per second than moto. moto is measured only when its server mode (flask) is installed.

The floor row: against a minimal stdlib ``http.server`` (``load_server.stdlib_server``: HTTP/1.1
keep-alive, parses each request as ``http.server`` does, writes one prebuilt ``describe_thing`` response),
both servers in their own processes, measured in alternating rounds (7 rounds of 2 s each; 1 round of 1 s
with ``--smoke``), so a burst of load on this shared machine hits both alike. The row gives the median
over rounds of each server's throughput and the median of the per-round throughput ratios (ours / the
floor; the goal is at least 0.5).
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from typing import Any

from common import Row, Settings

OPERATION = "describe_thing"
CLIENTS = 16


@dataclass
class Throughput:
    """One server's figures, as ``load_server.Measurement`` reports them."""

    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def text(self) -> str:
        return (
            f"{self.per_second:,.0f} req/s (p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, "
            f"{self.errors} errors)"
        )


class ThroughputRow(Row):
    """A throughput figure: ``ours``/``baseline`` are seconds per request, printed as requests per second."""

    def __init__(self, name: str, ours: Throughput, baseline: Throughput | None) -> None:
        super().__init__(
            name,
            1 / ours.per_second if ours.per_second else float("nan"),
            baseline.name if baseline else "",
            1 / baseline.per_second if baseline and baseline.per_second else 0.0,
            "",
        )
        self.ours_figures = ours
        self.baseline_figures = baseline

    def line(self) -> str:
        if self.baseline_figures is None:
            return f"| {self.name} | {self.ours_figures.text()} | (moto server mode not installed) | | |"
        return (
            f"| {self.name} | {self.ours_figures.text()} | {self.baseline_name}: "
            f"{self.baseline_figures.text()} | {self.ratio:.2f}× time per request | |"
        )


def _measure(load_server: Any, start: Any, name: str, args: Any) -> Throughput:
    with start(args.subprocess) as port:
        load_server.seed(f"http://127.0.0.1:{port}", args.operation)
        found = load_server.measure(name, port, args)
    return Throughput(found.name, found.requests, found.seconds, found.p50_ms, found.p99_ms, found.errors)


class FloorRow(Row):
    """Throughput against the stdlib floor: median figures over rounds and the median per-round ratio."""

    def __init__(self, name: str, ours: list[Throughput], floor: list[Throughput]) -> None:
        super().__init__(name, 0.0, "stdlib http.server, one prebuilt response", 0.0, "≥ 0.5× throughput")
        self.ours, self.floor = ours, floor

    def line(self) -> str:
        ours = statistics.median(item.per_second for item in self.ours)
        floor = statistics.median(item.per_second for item in self.floor)
        ratios = [mine.per_second / theirs.per_second for mine, theirs in zip(self.ours, self.floor)]
        errors = sum(item.errors for item in self.ours) + sum(item.errors for item in self.floor)
        return (
            f"| {self.name} | {ours:,.0f} req/s | {self.baseline_name}: {floor:,.0f} req/s "
            f"| {statistics.median(ratios):.2f}× throughput (rounds: "
            f"{', '.join(f'{ratio:.2f}' for ratio in ratios)}; {errors} errors) | {self.goal} |"
        )


def _floor_row(load_server: Any, settings: Settings) -> Row:
    rounds = 1 if settings.smoke else 7
    seconds = 1.0 if settings.smoke else 2.0
    argv = ["--seconds", str(seconds), "--clients", str(CLIENTS), "--operation", OPERATION, "--subprocess"]
    args = load_server.parse_args(argv)
    ours: list[Throughput] = []
    floor: list[Throughput] = []
    for _ in range(rounds):
        floor.append(_measure(load_server, load_server.stdlib_server, "stdlib", args))
        ours.append(_measure(load_server, load_server.mock_iotprov_server, "mock_iotprov", args))
    name = f"HTTP {OPERATION}, {CLIENTS} keep-alive clients, each server in its own process, {rounds} rounds"
    return FloorRow(name, ours, floor)


def run(settings: Settings) -> list[Row]:
    import load_server

    seconds = 1.0 if settings.smoke else 5.0
    placements = [False] if settings.smoke else [False, True]
    version = load_server.moto_version()
    rows: list[Row] = []
    for in_subprocess in placements:
        argv = ["--seconds", str(seconds), "--clients", str(CLIENTS), "--operation", OPERATION]
        args = load_server.parse_args(argv + (["--subprocess"] if in_subprocess else []))
        ours = _measure(load_server, load_server.mock_iotprov_server, "mock_iotprov", args)
        moto = None
        if version is not None:
            moto = _measure(load_server, load_server.moto_server, f"moto {version}", args)
        else:
            print("bench_server: moto's server mode is not installed; mock_iotprov only", file=sys.stderr)
        where = "servers in their own processes" if in_subprocess else "servers in the benchmark's process"
        rows.append(ThroughputRow(f"HTTP {OPERATION}, {CLIENTS} keep-alive clients, {where}", ours, moto))
    rows.append(_floor_row(load_server, settings))
    return rows
