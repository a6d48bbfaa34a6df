"""executemany of an INSERT of one row of values runs as one batch (planned once, written in
one loop) with the results one execute per set would give: rows, ids, rowcount, lastrowid,
and all or nothing when a set is refused -- for tables and collections, against sqlite3."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import docdb

NAMES = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=3)
ROWS = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 8)), st.one_of(st.none(), NAMES),
                          st.one_of(st.none(), st.floats(-5, 5), st.integers(-5, 5))), max_size=12)
# ids collide, names collide (UNIQUE), x is a REAL given ints and floats; no NUL in names: a
# UNIQUE index takes '\x00' and '' for one value (one insert at a time too: left for its own fix)


def _both():
    conn, peer = docdb.connect(":memory:"), sqlite3.connect(":memory:")
    for c in (conn, peer):
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, x REAL)")
        c.execute("INSERT INTO t VALUES (100, 'first', 0.5)")
    return conn, peer


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, named=st.booleans())
def test_a_batch_leaves_what_sqlite3_leaves(rows, named):
    conn, peer = _both()
    sql = "INSERT INTO t (id, name, x) VALUES " + ("(:i, :n, :x)" if named else "(?, ?, ?)")
    sets = [dict(zip("inx", r)) for r in rows] if named else rows
    outcomes = []
    for c, error in ((conn, docdb.IntegrityError), (peer, sqlite3.IntegrityError)):
        try:
            cursor = c.executemany(sql, sets)
            outcomes.append(("ok", cursor.rowcount, cursor.lastrowid if c is conn else None))
        except error:
            outcomes.append(("refused", None, None))
    assert outcomes[0][:2] == outcomes[1][:2]
    got = sorted(conn.execute("SELECT id, name, x FROM t").fetchall(), key=repr)
    want = sorted(peer.execute("SELECT id, name, x FROM t").fetchall(), key=repr)
    if outcomes[0][0] == "refused":  # docdb's executemany is all or nothing; sqlite3 keeps the rows before
        assert got == [(100, "first", 0.5)]
    else:
        assert got == want
        if rows:  # the last row's id: given, or the largest so far + 1
            largest = conn.execute("SELECT max(id) FROM t").fetchone()[0]
            last = rows[-1][0] if rows[-1][0] is not None else largest
            assert outcomes[0][2] == last


def test_a_collection_batch_copies_the_documents_and_stops_at_a_duplicate():
    conn = docdb.connect(":memory:")
    conn.execute("CREATE COLLECTION docs")
    mine = [{"a": 1}, {"a": 2}]
    cursor = conn.executemany("INSERT INTO docs VALUE ?", [(d,) for d in mine])
    assert cursor.rowcount == 2 and mine == [{"a": 1}, {"a": 2}]  # the caller's dicts untouched
    assert sorted(conn.execute("SELECT VALUE d.a FROM docs d").fetchall()) == [(1,), (2,)]
    with pytest.raises(docdb.IntegrityError):
        conn.executemany("INSERT INTO docs VALUE ?", [({"_id": "x"},), ({"_id": "x"},)])
    assert conn.execute("SELECT count(*) FROM docs").fetchone() == (2,)
    with pytest.raises(docdb.ProgrammingError):
        conn.executemany("INSERT INTO docs VALUE ?", [(5,)])


def test_a_batch_counts_in_total_changes_and_checks_its_width():
    conn, _ = _both()
    before = conn.total_changes
    conn.executemany("INSERT INTO t (name) VALUES (?)", [("a",), ("b",)])
    assert conn.total_changes == before + 2
    assert conn.execute("SELECT id FROM t WHERE name = 'b'").fetchone() == (102,)
    with pytest.raises(docdb.ProgrammingError):
        conn.executemany("INSERT INTO t (name) VALUES (?, ?)", [("a", 1)])
