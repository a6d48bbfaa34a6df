"""ORDER BY one key LIMIT n (a generated loop that skips rows which cannot enter) keeps what a
full sort then a slice keeps -- ties in input order, NULLs first, mixed types -- over a
projection, over an expression, ascending and descending, with OFFSET."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import docdb

VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, -1.5, 2.0, 3.0]),
                   st.sampled_from(["", "a", "b"]))


@pytest.fixture(scope="module")
def conn():
    conn = docdb.connect(":memory:", autocommit=True)
    yield conn
    conn.close()


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(VALUES, VALUES), max_size=40), limit=st.integers(0, 12),
       offset=st.integers(0, 3), descending=st.booleans(),
       key=st.sampled_from(["x", "y", "x + 1", "y IS NULL"]))
def test_top_rows_are_the_first_rows_of_the_full_sort(conn, rows, limit, offset, descending, key):
    conn.execute("DROP TABLE IF EXISTS t")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x, y)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, x, y) for i, (x, y) in enumerate(rows)])
    order = f"ORDER BY {key}{' DESC' if descending else ''}"
    whole = conn.execute(f"SELECT id, x FROM t {order}").fetchall()
    assert conn.execute(f"SELECT id, x FROM t {order} LIMIT {limit} OFFSET {offset}").fetchall() == \
        whole[offset:offset + limit]
    assert conn.execute(f"SELECT id FROM t WHERE id >= 0 {order} LIMIT {limit}").fetchall() == \
        [(i,) for i, _ in whole[:limit]]


@settings(max_examples=300, deadline=None)
@given(batches=st.lists(st.lists(VALUES, max_size=6), max_size=8), wanted=st.integers(0, 5),
       descending=st.booleans())
def test_the_generated_top_keeps_sorteds_first_rows_across_batches(batches, wanted, descending):
    from query import values as v
    from query.inline import top

    def value(row, env):
        return row[1]
    rows = [(i, x) for i, x in enumerate(x for batch in batches for x in batch)]
    chunks, start = [], 0
    for batch in batches:
        chunks.append(rows[start:start + len(batch)])
        start += len(batch)
    kept = [row for _, row in top(value, descending)(iter(chunks), None, wanted)]
    assert kept == sorted(rows, key=lambda r: v.sort_key(r[1]), reverse=descending)[:wanted]
