"""Golden plans, in toyDB's manner: each file in ``plans/`` sets up a schema and pins the
EXPLAIN output of representative statements, so a change to the planner shows up as a
diff of plans a reviewer reads. ``DOCDB_BLESS=1`` rewrites the files with what EXPLAIN
prints now."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import docdb

PLANS = Path(__file__).with_name("plans")


def _blocks(text: str) -> list[tuple[str, str, list[str]]]:
    """(kind, statement, expected lines) per block; blocks are separated by blank lines."""
    blocks = []
    for chunk in text.split("\n\n"):
        lines = [line for line in chunk.splitlines() if not line.startswith("#")]
        if not lines:
            continue
        kind, rest = lines[0], lines[1:]
        if kind == "statement":
            blocks.append((kind, "\n".join(rest), []))
        else:
            split = rest.index("----")
            blocks.append((kind, "\n".join(rest[:split]), rest[split + 1:]))
    return blocks


def _render(text: str, blocks: list[tuple[str, str, list[str]]], plans: list[list[str]]) -> str:
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    out, explained = [], iter(plans)
    for kind, statement, _ in blocks:
        out.append(f"statement\n{statement}\n" if kind == "statement" else
                   f"explain\n{statement}\n----\n" + "".join(line + "\n" for line in next(explained)))
    return header + "\n" + "\n".join(out)


@pytest.mark.parametrize("path", sorted(PLANS.glob("*.plan")), ids=lambda p: p.stem)
def test_plans_are_as_pinned(path):
    text = path.read_text()
    blocks = _blocks(text)
    conn = docdb.connect(":memory:", autocommit=True)
    got = []
    for kind, statement, _ in blocks:
        if kind == "statement":
            conn.execute(statement)
            continue
        params = (1,) * statement.count("?")
        got.append([line for (line,) in conn.execute("EXPLAIN " + statement, params)])
    if os.environ.get("DOCDB_BLESS"):
        path.write_text(_render(text, blocks, got))
        return
    want = [expected for kind, _, expected in blocks if kind == "explain"]
    statements = [statement for kind, statement, _ in blocks if kind == "explain"]
    for statement, plan, expected in zip(statements, got, want):
        assert plan == expected, f"{path.name}: {statement}"


def test_explain_analyze_runs_the_plan_and_counts_each_steps_rows():
    conn = docdb.connect(":memory:", autocommit=True)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, g INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, i % 3) for i in range(30)])
    query = "SELECT g, count(*) FROM t WHERE id >= ? GROUP BY g"
    lines = [line for (line,) in conn.execute("EXPLAIN ANALYZE " + query, (6,))]
    assert lines[0].startswith("PROJECT 2 columns (rows=3, time=")
    assert lines[1].startswith("  HASH AGGREGATE (1 keys, 1 aggregates) (rows=3, ")
    assert lines[2].startswith("    FILTER id >= ?1 (rows=24, ")
    assert lines[3].startswith("      SEARCH TABLE t AS t USING PRIMARY KEY (rows=24, ")
    fused = [line for (line,) in conn.execute("EXPLAIN ANALYZE SELECT id FROM t WHERE g = 1")]
    assert fused[1] == "  FILTER g = 1 (run inside the step above)"  # one generated loop with the PROJECT
    assert fused[0].startswith("PROJECT 1 columns (rows=10, ") and "(rows=30, " in fused[2]
    assert lines[-1].startswith("TOTAL ") and lines[-1].endswith(" ms")
    assert sorted(conn.execute(query, (6,)).fetchall()) == [(0, 8), (1, 8), (2, 8)]  # the plan run as usual
