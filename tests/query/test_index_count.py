"""COUNT(*) answered from an index alone gives the count the rows give: random conjunctions
over a table with NULLs, a composite index and a primary key, with and without NOT INDEXED;
and the index-only count really reads no row."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from docdb.models.table import Table
from tests.query.indexed import indexed_table


@pytest.fixture(scope="module")
def conn():
    conn = indexed_table([(i, None if i % 11 == 0 else i % 7, None if i % 13 == 0 else f"b{i % 3}", i / 2)
                          for i in range(80)])
    yield conn
    conn.close()


TERMS = st.sampled_from([
    "id = :x", "id > :x", "id <= :y", "id BETWEEN :x AND :y", "id IN (:x, 9, NULL)",
    "a = :x", "a >= :x", "a < :y", "a BETWEEN :x AND :y", "a > :x AND a > :y", "a IN (1, :y)",
    "b = 'b1'", "b = :s", "b = 'b2' AND c < :y", "c > :y", "b > 'b0'", "a = 2.5", "a = '3'",
    "a > 'x'", "c BETWEEN :x AND 20", "a IS NULL", "a + 0 = :x",
])
VALUES = st.one_of(st.integers(-2, 90), st.sampled_from([2.5, "3", "b1", None, 1e30]))


@settings(max_examples=500, deadline=None)
@given(terms=st.lists(TERMS, min_size=1, max_size=3), x=VALUES, y=VALUES, s=VALUES)
@example(terms=["id > :x", "id BETWEEN :x AND :y"], x=0, y=0, s=0)  # two lower bounds on one column
@example(terms=["id IN (:x, 9, NULL)", "id > :x"], x=0, y=0, s=0)  # an IN list and a bound
def test_an_index_count_is_the_count_of_the_rows(conn, terms, x, y, s):
    where = " AND ".join(terms)
    params = {"x": x, "y": y, "s": s}
    counted = conn.execute(f"SELECT count(*) FROM t WHERE {where}", params).fetchall()
    scanned = conn.execute(f"SELECT count(*) FROM t NOT INDEXED WHERE {where}", params).fetchall()
    assert counted == scanned


def test_an_index_count_decodes_no_row(conn, monkeypatch):
    questions = ["SELECT count(*) FROM t WHERE a BETWEEN 2 AND 4",
                 "SELECT count(*), count(*) FROM t WHERE b = 'b1' AND c < 20",
                 "SELECT count(*) FROM t WHERE id > 70"]
    want = [conn.execute(q).fetchall() for q in questions]

    def no_decoding(self, schema, raw):
        raise AssertionError("a row was decoded")
    monkeypatch.setattr(Table, "_decode", no_decoding)
    assert [conn.execute(q).fetchall() for q in questions] == want
