"""SQL ranges on an indexed document path read the index and lose no row: the same
statement over an indexed and an unindexed copy of random documents (numbers, booleans,
text, NULL, arrays, objects, absent fields) gives the same rows; EXPLAIN names the index."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import docdb

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 6), st.sampled_from([0.5, 1.0, 2.5, -0.5]),
                    st.sampled_from(["", "a", "b", "m", "z", "1"]))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.fixed_dictionaries({"x": SCALARS}))
DOCS = st.lists(st.one_of(st.fixed_dictionaries({"m": st.fixed_dictionaries({"a": VALUES})}),
                          st.fixed_dictionaries({"m": VALUES}), st.just({})), max_size=25)
BOUNDS = st.one_of(st.integers(-2, 6), st.sampled_from([0.5, 1.5, "a", "n", True]))
CONDITIONS = ["d.m.a BETWEEN :lo AND :hi", "d.m.a >= :lo AND d.m.a <= :hi", "d.m.a > :lo AND d.m.a < :hi",
              ":lo < d.m.a AND :hi >= d.m.a", "d.m.a BETWEEN :lo AND :hi AND d.m.a > 0",
              "d.m.a = :lo", "d.m.a > :lo", "d.m.a < :hi"]


@pytest.fixture(scope="module")
def conn():
    conn = docdb.connect(":memory:")
    yield conn
    conn.close()


@settings(max_examples=150, deadline=None)
@given(docs=DOCS, condition=st.sampled_from(CONDITIONS), lo=BOUNDS, hi=BOUNDS)
@example(docs=[{"m": {"a": True}}], condition="d.m.a = :lo", lo=1, hi=0)  # SQL: TRUE = 1
def test_an_indexed_range_keeps_the_rows_a_scan_keeps(conn, docs, condition, lo, hi):
    for name in ("indexed", "plain"):
        conn.execute(f"DROP COLLECTION IF EXISTS {name}")
        conn.execute(f"CREATE COLLECTION {name}")
        for i, doc in enumerate(docs):
            conn.execute(f"INSERT INTO {name} VALUE ?", ({"_id": i, **doc},))
    conn.execute("CREATE INDEX indexed_a ON indexed (m.a)")
    params = {"lo": lo, "hi": hi}
    results = [sorted(conn.execute(f"SELECT d._id FROM {name} d WHERE {condition}", params).fetchall())
               for name in ("indexed", "plain")]
    assert results[0] == results[1]
    conn.rollback()


def test_explain_names_the_collection_index_a_range_reads(conn):
    conn.execute("CREATE COLLECTION IF NOT EXISTS e")
    conn.execute("CREATE INDEX e_a ON e (m.a)")
    plan = [line for (line,) in conn.execute("EXPLAIN SELECT * FROM e d WHERE d.m.a BETWEEN 1 AND 5")]
    assert plan[-1].strip() == "SEARCH COLLECTION e AS d USING INDEX e_a"
    plan = [line for (line,) in conn.execute("EXPLAIN SELECT * FROM e d WHERE d.m.a > 1")]
    assert plan[-1].strip() == "SCAN COLLECTION e AS d"  # one bound: SQL puts text above numbers
    conn.rollback()
