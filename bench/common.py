"""Timing helpers for the benchmarks: medians of many runs, ratios against a baseline in the same process.

Benchmarks never assert on time; they print figures. ``--smoke`` runs every benchmark with tiny counts, to
prove it still works (CI does this).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Settings:
    """How hard to measure."""

    smoke: bool = False

    def count(self, full: int) -> int:
        return max(3, full // 100) if self.smoke else full


def median_seconds(action: Callable[[], object], runs: int, warmup: int = 0) -> float:
    """Median wall time of ``action`` over ``runs`` calls, after ``warmup`` unmeasured calls."""
    for _ in range(warmup):
        action()
    samples = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter()
            action()
            samples.append(time.perf_counter() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return statistics.median(samples)


def fmt_us(seconds: float) -> str:
    if seconds < 1e-5:
        return f"{seconds * 1e6:,.1f} µs"
    return f"{seconds * 1e6:,.0f} µs" if seconds < 0.01 else f"{seconds * 1e3:,.1f} ms"


@dataclass
class Row:
    """One printed figure: what, ours, baseline, ratio, goal."""

    name: str
    ours: float
    baseline_name: str
    baseline: float
    goal: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("nan")

    def line(self) -> str:
        return (
            f"| {self.name} | {fmt_us(self.ours)} | {self.baseline_name}: {fmt_us(self.baseline)} "
            f"| {self.ratio:.2f}× | {self.goal} |"
        )


HEADER = "| benchmark | mock_iotprov | baseline | ratio | goal |\n| --- | --- | --- | --- | --- |"


def interleaved(
    ours: Callable[[], object], baseline: Callable[[], object], rounds: int, per_round: int
) -> tuple[float, float]:
    """Median per-call seconds of ``ours`` and ``baseline``, measured in alternating rounds.

    On a shared, noisy machine a burst of load lands on both sides alike, so their ratio stays
    meaningful even when absolute figures move. Returns (median of ours, median of baseline), each the
    median over rounds of the round's median.
    """
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        mine.append(median_seconds(ours, per_round, warmup=2))
        theirs.append(median_seconds(baseline, per_round, warmup=2))
    return statistics.median(mine), statistics.median(theirs)
