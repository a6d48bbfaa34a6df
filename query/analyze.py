"""EXPLAIN ANALYZE: run a query's plan and say, per plan node, the rows it gave and its time.

Each node of a freshly made plan (never a cached one: the run changes it) has its
``rows`` and ``batches`` wrapped so that every row or batch it hands up is counted,
and the time spent getting it added to the node's total -- inclusive of the nodes
below, as a profiler's cumulative time. A node a generated pipeline runs inside the
one above it (a FILTER under a PROJECT, a SCAN under a sort that reads its input
directly) is never asked on its own and says so. The rows the query returns are
read to the end and dropped.
May import: the standard library and ``query``'s own modules.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from query.expressions import Env
from query.plan import Plan

__all__ = ["analyzed"]


class _Tally:
    __slots__ = ("rows", "seconds", "asked", "inside")

    def __init__(self) -> None:
        self.rows = 0
        self.seconds = 0.0
        self.asked = False
        self.inside = 0  # > 0 while this node's own wrapped call runs (rows() calling batches())


def analyzed(plan: Plan, env: Env) -> list[str]:
    tallies: dict[int, _Tally] = {}
    _instrument(plan, tallies)
    started = time.perf_counter()
    for _ in plan.rows(env):
        pass
    total = time.perf_counter() - started
    lines = []
    for depth, node in plan.walk():
        tally = tallies[id(node)]
        if tally.asked:
            note = f"(rows={tally.rows:,}, time={tally.seconds * 1000:.3f} ms)"
        else:
            note = "(run inside the step above)"
        lines.append("  " * depth + f"{node.label()} {note}")
    lines.append(f"TOTAL {total * 1000:.3f} ms")
    return lines


def _instrument(plan: Plan, tallies: dict[int, _Tally]) -> None:
    for _, node in plan.walk():
        tally = tallies.setdefault(id(node), _Tally())
        node.rows = _counted(node.rows, tally, lambda row: 1)  # type: ignore[method-assign]
        node.batches = _counted(node.batches, tally, len)  # type: ignore[method-assign]


def _counted(method: Callable[[Env], Any], tally: _Tally, size: Callable[[Any], int]) -> Callable[[Env], Any]:
    def run(env: Env) -> Iterator[Any]:
        outermost = tally.inside == 0
        tally.asked = True
        tally.inside += 1
        started = time.perf_counter()
        try:
            items = iter(method(env))
        finally:
            tally.inside -= 1
            if outermost:
                tally.seconds += time.perf_counter() - started
        return _timed(items, tally, size, outermost)
    return run


def _timed(items: Iterator[Any], tally: _Tally, size: Callable[[Any], int], outermost: bool) -> Iterator[Any]:
    while True:
        tally.inside += 1
        started = time.perf_counter()
        try:
            item = next(items)
        except StopIteration:
            return
        finally:
            tally.inside -= 1
            if outermost:
                tally.seconds += time.perf_counter() - started
        if outermost:
            tally.rows += size(item)
        yield item
