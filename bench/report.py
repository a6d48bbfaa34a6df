"""Shared helpers for every bench suite: timing, markdown tables, results JSON.

Suites compare docdb with reference systems measured in the same process run, so
these helpers keep the mechanics identical for every column: the same timer, the
same "best of N" rule, the same ratio convention (a speedup: > 1 means docdb is
faster) and one results file per suite under ``bench/results/`` so runs can be
diffed across changes. May import: the standard library only.
"""

from __future__ import annotations

import gc
import json
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "RATE",
    "RESULTS_DIR",
    "SECONDS",
    "best",
    "fmt_ratio",
    "fmt_value",
    "markdown_table",
    "speedup",
    "timed",
    "write_results",
]

RATE = "ops/s"
SECONDS = "s"
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Run ``fn(*args)`` once and return (seconds, result).

    The collector is run first and paused during the call, as ``timeit`` does:
    a generation-2 collection over a million live objects would otherwise land
    on whichever system happens to be running and dwarf the thing measured.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn(*args)
        elapsed = time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()
    return elapsed, result


def best(samples: Iterable[float]) -> float:
    """The best (smallest) of repeated timings: noise only ever adds time."""
    return min(samples)


def speedup(docdb: float, peer: float, unit: str) -> float | None:
    """docdb's speedup over a peer; > 1 means docdb is faster.

    Rates (ops/s) compare directly; durations (s) compare inverted, so every
    ratio column in every table reads the same way.
    """
    if not docdb or not peer:
        return None
    return docdb / peer if unit == RATE else peer / docdb


def fmt_value(value: float | None, unit: str) -> str:
    """Human-readable cell: thousands-separated rates, durations to the ms."""
    if value is None:
        return "n/a"
    if unit == RATE:  # a slow row (a range scan that sorts every key) keeps a decimal
        return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
    if unit == SECONDS:
        if value >= 1:
            return f"{value:.3f} s"
        return f"{value * 1e3:.2f} ms" if value >= 0.001 else f"{value * 1e6:.0f} µs"
    return f"{value:,.1f}"


def fmt_ratio(ratio: float | None) -> str:
    """Speedup cell, e.g. ``1.85x``; ``n/a`` when a side was not measured."""
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table, first column left, the rest right.

    Columns are padded so the table is readable as plain text in a terminal too.
    """
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * widths[0], *("-" * (w - 1) + ":" for w in widths[1:])]
    return "\n".join([line(headers), "|" + "|".join(f" {r} " for r in rule) + "|",
                      *(line(r) for r in rows)])


def write_results(suite: str, data: dict[str, Any], name: str | None = None) -> Path:
    """Write ``bench/results/<name or suite>.json`` with enough context to compare runs.

    The machine, Python and time are recorded beside the numbers because a
    result without them cannot be compared with anything. ``name`` lets a smoke
    run write beside the suite's reference results instead of over them.
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name or suite}.json"
    payload = {
        "suite": suite,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        **data,
    }
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


def render_targets(summary: dict[str, Any], docdbs: list[str], labels: dict[str, str],
                   title: str = "targets") -> str:
    """Each goal of ``summary["targets"]`` with each docdb engine's ratio and verdict."""
    headers = ["target", "required", *(h for d in docdbs for h in (d, f"{d} verdict"))]
    rows = []
    for t in summary["targets"]:
        cells = [f"{labels[t['operation']].split(' (')[0]} vs {t['peer']}", f"≥ {t['required']:g}x"]
        for d in docdbs:
            v = t["docdb"][d]
            verdict = "n/a" if v["met"] is None else ("met" if v["met"] else "NOT MET")
            cells += [fmt_ratio(v["ratio"]), verdict]
        rows.append(cells)
    return f"### {title}\n\n{markdown_table(headers, rows)}\n"
