"""EXPLAIN names the access path a run uses: the table's own choice, for the constraints'
shape, not a guess of the planner's (which once printed ``USING PRIMARY KEY`` for
``WHERE a = 1 AND id > 5`` while the read used index ``t_a``).

A hypothesis test draws conjunctions of equalities, ranges and IN lists over a table
with a primary key and two indexes, and compares what EXPLAIN prints with the index
the table actually read (recorded by wrapping ``Table._access`` and ``Table.row_at``).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docdb.models.table import PRIMARY, Table
from tests.query.indexed import indexed_table


@pytest.fixture(scope="module")
def conn():
    conn = indexed_table([(i, i % 7, f"b{i % 3}", i / 2) for i in range(60)])
    yield conn
    conn.close()


def explained(conn, sql: str, params: tuple) -> str:
    line = [r[0] for r in conn.execute("EXPLAIN " + sql, params).fetchall() if "TABLE t" in r[0]][0]
    return line.split(" USING ")[1] if " USING " in line else "SCAN"


def used(conn, sql: str, params: tuple, monkeypatch) -> str:
    seen = []
    real = Table._access

    def access(self, where):
        found = real(self, where)
        seen.append(found[3].index)
        return found

    def row_at(self, pk):  # the primary-key equality read, which weighs no index
        seen.append(PRIMARY)
        return real_row_at(self, pk)

    real_row_at = Table.row_at
    monkeypatch.setattr(Table, "_access", access)
    monkeypatch.setattr(Table, "row_at", row_at)
    conn.execute(sql, params).fetchall()
    monkeypatch.undo()
    index = seen[0]
    return "SCAN" if index is None else "PRIMARY KEY" if index == PRIMARY else f"INDEX {index}"


terms = st.sampled_from([
    ("id = ?", 5), ("id > ?", 50), ("id < ?", 3), ("id IN (?, 9)", 4),
    ("a = ?", 3), ("a >= ?", 5), ("a BETWEEN ? AND 6", 2),
    ("b = ?", "b1"), ("c > ?", 10.0), ("b = ? AND c < 20", "b2"), ("c = ?", 3.5),
])


@settings(max_examples=150, deadline=None)
@given(chosen=st.lists(terms, min_size=1, max_size=3, unique=True))
def test_explain_names_the_index_the_run_reads(conn, chosen):
    sql = "SELECT id FROM t WHERE " + " AND ".join(t for t, _ in chosen)
    params = tuple(p for _, p in chosen)
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert explained(conn, sql, params) == used(conn, sql, params, monkeypatch), sql


def test_the_case_that_disagreed(conn):
    assert explained(conn, "SELECT * FROM t WHERE a = 1 AND id > 5", ()) == "INDEX t_a"
