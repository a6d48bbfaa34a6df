"""The storage suite's numbers and tables: raw numbers per sync level, ratios per engine.

With several docdb engines and four peers, one table holding every system and
every ratio is too wide to read, so the numbers are split: one table per sync
level with the raw numbers of every system, then one ratio table per docdb
engine whose columns are (peer, sync level). A ratio is a speedup everywhere:
> 1 means docdb is faster, for durations as for rates.
May import: the standard library and bench modules.
"""

from __future__ import annotations

from typing import Any

from bench.dataset import Dataset
from bench.report import RATE, SECONDS, fmt_ratio, fmt_value, markdown_table, speedup

__all__ = ["OPS", "REFERENCES", "render_raw", "render_ratios", "summarize"]

REFERENCES = ["sqlite3", "plyvel", "semidbm"]  # the peers docdb gets ratios against

# (operation, unit); rates are per key, per write or per range scan; durations are whole-store.
OPS = [
    ("random put", RATE),
    ("sequential put", RATE),
    ("batched put", RATE),
    ("random get", RATE),
    ("get miss", RATE),
    ("ordered scan", RATE),
    ("range scan 1%", RATE),
    ("ordered scan, batches", RATE),
    ("range scan 1%, batches", RATE),
    ("overwrite x10", RATE),
    ("merge after overwrite", SECONDS),
    ("reopen + first get", SECONDS),
]


def summarize(seconds: dict[str, dict[str, float]], ds: Dataset, docdbs: list[str],
              batch_notes: dict[str, str]) -> dict[str, Any]:
    """Turn best seconds into the reported numbers: rates or seconds, plus speedups."""
    out: dict[str, Any] = {}
    for op, unit in OPS:
        values = {s: (ds.count(op) / t[op] if unit == RATE else t[op]) for s, t in seconds.items()}
        ratios = {f"{d} / {ref}": speedup(values[d], values[ref], unit)
                  for d in docdbs for ref in REFERENCES if ref in values}
        notes = {s: n for s, n in batch_notes.items() if op == "batched put" and s in values}
        out[op] = {"unit": unit, "count": ds.count(op) if unit == RATE else None,
                   "systems": values, "speedup": ratios, "notes": notes}
    return out


def _label(op: str, unit: str) -> str:
    return f"{op} ({'ops/s' if unit == RATE else 's'})"


def render_raw(summary: dict[str, Any], sync: str, ds: Dataset) -> str:
    """Markdown for one sync level: rows are operations, columns systems, no ratios."""
    systems = list(next(iter(summary.values()))["systems"])
    rows, notes = [], {}
    for op, row in summary.items():
        cells = [_label(op, row["unit"])]
        for s in systems:
            mark = " †" if s in row["notes"] else ""
            notes.update({"†": f"{s}: {row['notes'][s]}"} if mark else {})
            cells.append(fmt_value(row["systems"][s], row["unit"]) + mark)
        rows.append(cells)
    table = markdown_table(["operation", *systems], rows)
    foot = "".join(f"\n{m} {text}" for m, text in notes.items())
    return (f"### sync={sync}\n\n{table}\n{foot}\nrange scan 1%: one op is one "
            f"scan(start, stop) returning {ds.range_keys:,} keys, over {len(ds.ranges)} "
            f"random ranges; semidbm and dict+file sort their keys in every scan.\n")


def render_ratios(by_sync: dict[str, dict[str, Any]], docdb: str) -> str:
    """One engine's speedups over each reference peer, a (peer, sync) pair per column."""
    syncs = list(by_sync)
    first = next(iter(by_sync.values()))
    refs = [r for r in REFERENCES if f"{docdb} / {r}" in next(iter(first.values()))["speedup"]]
    headers = ["operation", *(f"{r} ({s})" for r in refs for s in syncs)]
    rows = [[_label(op, unit),
             *(fmt_ratio(by_sync[s][op]["speedup"][f"{docdb} / {r}"]) for r in refs for s in syncs)]
            for op, unit in OPS]
    return (f"### {docdb}: speedup over each peer\n\n{markdown_table(headers, rows)}\n\n"
            f"speedup > 1 means {docdb} is faster (for durations too).\n")

