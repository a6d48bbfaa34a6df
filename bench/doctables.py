"""The documents suite's numbers and tables: raw figures, speedups per engine, targets.

The document API has explicit goals (insert, find and index speed against
TinyDB, sqlite3 and montydb), so besides the raw table and one speedup table
per docdb engine, the suite prints a target table that says "met" or "not met"
for each goal: a goal is checked against the same figures the other tables
show, in the same run. A ratio is a speedup everywhere: > 1 means docdb is
faster, for durations as for rates.
May import: the standard library and bench modules.
"""

from __future__ import annotations

from typing import Any

from bench import report
from bench.report import RATE, SECONDS, fmt_ratio, fmt_value, markdown_table, speedup

__all__ = ["OPS", "PEERS", "TARGETS", "render_raw", "render_speedups", "render_targets",
           "summarize"]

PEERS = ["sqlite3", "tinydb", "tinydb-caching", "montydb", "mongita"]

# (operation, unit, row label): rates are documents inserted or queries answered per second.
OPS = [
    ("insert_one", RATE, "insert_one, one at a time (docs/s)"),
    ("find, no index", RATE, "find address.city, no index (queries/s)"),
    ("create_index", SECONDS, "create_index address.city (s)"),
    ("find, indexed", RATE, "find address.city, indexed (queries/s)"),
    ("update_many", SECONDS, "update_many $inc, ~10% (s)"),
    ("delete_many", SECONDS, "delete_many, ~10% (s)"),
]
_LABELS = {op: label for op, _, label in OPS}

# (operation, peer, minimum speedup): the document API's goals (issue 19's, then the earlier ones)
TARGETS = [
    ("insert_one", "sqlite3", 0.5),
    ("find, no index", "tinydb-caching", 5.0),
    ("find, indexed", "sqlite3", 1.0),
    ("find, indexed", "tinydb", 500.0),
    ("update_many", "sqlite3", 1.0),
    ("delete_many", "sqlite3", 1.0),
    ("insert_one", "tinydb", 30.0),
    ("find, no index", "tinydb", 3.0),
    # "every figure ahead of montydb"; montydb's create_index is a no-op, so there is none to beat
    *((op, "montydb", 1.0) for op, _, _ in OPS if op != "create_index"),
]


def summarize(values: dict[str, dict[str, float | None]], docdbs: list[str]) -> dict[str, Any]:
    """Per operation: each system's figure and each docdb's speedup over each peer;
    then each target with its ratio and verdict per docdb engine (None: not measured)."""
    ops: dict[str, Any] = {}
    for op, unit, label in OPS:
        row = {s: v.get(op) for s, v in values.items()}
        ops[op] = {"unit": unit, "label": label, "systems": row,
                   "speedup": {f"{d} / {p}": speedup(row[d] or 0, row[p] or 0, unit)
                               for d in docdbs for p in values if p not in docdbs}}
    targets = []
    for op, peer, need in TARGETS:
        if peer not in values:
            continue
        verdicts = {}
        for d in docdbs:
            ratio = ops[op]["speedup"].get(f"{d} / {peer}")
            verdicts[d] = {"ratio": ratio, "met": None if ratio is None else ratio >= need}
        targets.append({"operation": op, "peer": peer, "required": need, "docdb": verdicts})
    return {"operations": ops, "targets": targets}


_FATAL = ("open", "insert_one", "load", "count")  # after these fail, nothing later was measured


def _cell(value: float | None, unit: str, op: str, errors: dict[str, str]) -> str:
    """A figure, "error" (the footnotes say why) or "n/a" (the system has no such operation)."""
    if op in errors or (value is None and any(f in errors for f in _FATAL)):
        return "error"
    return "n/a" if value is None else fmt_value(value, unit)


def render_raw(summary: dict[str, Any], errors: dict[str, dict[str, str]],
               footnotes: list[str]) -> str:
    """Rows are operations, columns systems; "n/a" where a system has no such operation."""
    systems = list(next(iter(summary["operations"].values()))["systems"])
    rows = []
    for op, row in summary["operations"].items():
        rows.append([row["label"], *(_cell(row["systems"][s], row["unit"], op, errors.get(s, {}))
                                     for s in systems)])
    foot = "".join(f"\n- {n}" for n in footnotes)
    return f"{markdown_table(['operation', *systems], rows)}\n{foot}\n"


def render_speedups(summary: dict[str, Any], docdb: str) -> str:
    """One engine's speedup over each peer: > 1 means docdb is faster."""
    first = next(iter(summary["operations"].values()))
    peers = [p for p in first["systems"] if f"{docdb} / {p}" in first["speedup"]]
    rows = [[row["label"], *(fmt_ratio(row["speedup"][f"{docdb} / {p}"]) for p in peers)]
            for row in summary["operations"].values()]
    return (f"### {docdb}: speedup over each peer\n\n"
            f"{markdown_table(['operation', *peers], rows)}\n\n"
            f"speedup > 1 means {docdb} is faster (for durations too); n/a: not measured "
            f"on one side.\n")


def render_targets(summary: dict[str, Any], docdbs: list[str]) -> str:
    """Each goal with each engine's ratio and verdict."""
    return report.render_targets(summary, docdbs, _LABELS)


