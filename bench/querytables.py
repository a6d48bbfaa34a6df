"""The query suite's numbers and tables: raw rates with a ratio column per engine, and targets.

The SQL layer's goals are stated as ratios to sqlite3 in the same run (point
reads at least half of sqlite3's rate, questions that read every row at least its rate
warm and 0.3x of it as the first query after reopening, bulk inserts 0.3x),
so one table shows every system's rate with each docdb engine's ratio beside
it, and a target table says "met" or "NOT MET" for each goal from the same
figures. Every figure is a rate (rows inserted or queries answered per second),
so a ratio is docdb / sqlite3 and > 1 means docdb is faster.
May import: the standard library and bench modules.
"""

from __future__ import annotations

from typing import Any

from bench import report
from bench.report import RATE, fmt_ratio, fmt_value, markdown_table, speedup

__all__ = ["COLD", "MODELS", "OPS", "PEER", "QUESTIONS", "TARGETS", "render_raw", "render_targets",
           "summarize"]

PEER = "sqlite3"  # the system every ratio is taken against
MODELS = ("table", "collection")
# question -> (row label for the table, for the collection): the same question over each model
QUESTIONS: dict[str, tuple[str, str]] = {
    "insert": ("bulk INSERT, executemany + commit (rows/s)",
               "bulk INSERT VALUE, executemany + commit (docs/s)"),
    "point": ("point SELECT by primary key id (queries/s)",
              "point SELECT by indexed key (queries/s)"),
    "range": ("range SELECT on indexed a, ~100 rows (queries/s)",
              "range SELECT on indexed m.a, ~100 docs (queries/s)"),
    "count": ("COUNT(*) of an indexed range on a, ~100 rows (queries/s)",
              "COUNT(*) of an indexed range on m.a, ~100 docs (queries/s)"),
    "scan": ("filtered full scan on b, ~1% (queries/s)",
             "filtered full scan on m.b, ~1% (queries/s)"),
    "group": ("GROUP BY cat: count, sum, avg (queries/s)",
              "GROUP BY cat: count, sum, avg (queries/s)"),
    "join": ("join shops × items, GROUP BY region (queries/s)",
             "join shops × docs, GROUP BY region (queries/s)"),
    "order": ("ORDER BY b LIMIT 10 (queries/s)",
              "ORDER BY m.b LIMIT 10 (queries/s)"),
}
# the questions that read every row, asked once more as the first query after reopening
COLD = ("scan", "group", "join", "order")
QUESTIONS |= {f"cold-{q}": (f"{QUESTIONS[q][0].split(' (')[0]}, first after reopening (queries/s)",
                            f"{QUESTIONS[q][1].split(' (')[0]}, first after reopening (queries/s)")
              for q in COLD}
# (operation key, model, question, row label); the key is "<model> <question>"
OPS = [(f"{m} {q}", m, q, f"{m}: {labels[i]}") for i, m in enumerate(MODELS)
       for q, labels in QUESTIONS.items()]
_LABELS = {op: label for op, _, _, label in OPS}
# operation key -> minimum docdb / sqlite3 ratio (issue 19): indexed reads ≥ 0.5×, the questions
# that read every row ≥ 1× warm (the second run on; the timed loop follows one untimed run) and
# ≥ 0.3× as the first query after reopening, bulk inserts ≥ 0.3×
_NEEDS = {"insert": 0.3, "point": 0.5, "range": 0.5, "count": 0.5} | {q: 1.0 for q in COLD} | {
    f"cold-{q}": 0.3 for q in COLD}
TARGETS = {op: _NEEDS[q] for op, _, q, _ in OPS}


def summarize(values: dict[str, dict[str, float]], docdbs: list[str]) -> dict[str, Any]:
    """Per operation: each system's rate and each docdb's ratio to sqlite3; then each target
    with its ratio and verdict per docdb engine (None: not measured on one side)."""
    ops: dict[str, Any] = {}
    for op, _, _, label in OPS:
        row = {s: v.get(op) for s, v in values.items()}
        ops[op] = {"unit": RATE, "label": label, "systems": row,
                   "ratio": {d: speedup(row[d] or 0, row.get(PEER) or 0, RATE) for d in docdbs}}
    targets = []
    if PEER in values:
        for op, need in TARGETS.items():
            verdicts = {}
            for d in docdbs:
                ratio = ops[op]["ratio"][d]
                verdicts[d] = {"ratio": ratio, "met": None if ratio is None else ratio >= need}
            targets.append({"operation": op, "peer": PEER, "required": need, "docdb": verdicts})
    return {"operations": ops, "targets": targets}


def _cell(value: float | None, op: str, errors: dict[str, str]) -> str:
    """A rate, "error" (the notes say why) or "n/a" (not measured)."""
    model = op.split()[0]
    fatal = ("open", "setup", f"{model} insert", f"{model} count")  # nothing after them was measured
    if op in errors or (value is None and any(f in errors for f in fatal)):
        return "error"
    return "n/a" if value is None else fmt_value(value, RATE)


def render_raw(summary: dict[str, Any], docdbs: list[str], errors: dict[str, dict[str, str]],
               notes: list[str]) -> str:
    """Rows are operations; columns every system's rate, then each engine's ratio to sqlite3."""
    systems = list(next(iter(summary["operations"].values()))["systems"])
    ratios = [d for d in docdbs if PEER in systems]
    rows = [[row["label"], *(_cell(row["systems"][s], op, errors.get(s, {})) for s in systems),
             *(fmt_ratio(row["ratio"][d]) for d in ratios)]
            for op, row in summary["operations"].items()]
    headers = ["operation", *systems, *(f"{d} / {PEER}" for d in ratios)]
    foot = "".join(f"\n- {n}" for n in notes)
    return (f"{markdown_table(headers, rows)}\n\nratio = docdb rate / {PEER} rate: > 1 means "
            f"docdb is faster; n/a: not measured on one side.\n{foot}\n")


def render_targets(summary: dict[str, Any], docdbs: list[str]) -> str:
    """Each goal with each engine's ratio and verdict."""
    return report.render_targets(summary, docdbs, _LABELS, f"targets (ratio to {PEER})")


