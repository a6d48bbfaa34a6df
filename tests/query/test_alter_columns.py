"""ALTER TABLE ... DROP COLUMN and RENAME COLUMN agree with sqlite3 on random tables; what
SQLite refuses (a key, an indexed column, one a CHECK or a view reads) docdb refuses with a
clear error and leaves the table as it was."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import docdb
from tests.query.sqlite_peer import both

COLUMNS = ["a", "b", "c", "d"]
ROWS = st.lists(st.tuples(st.integers(-9, 9), st.one_of(st.none(), st.text("xyz", max_size=3)),
                          st.floats(-5, 5, allow_nan=False), st.integers(0, 3)), max_size=8)
CHANGES = st.lists(st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(COLUMNS)),
    st.tuples(st.just("rename"), st.sampled_from(COLUMNS), st.sampled_from(["e", "f", "a", "b"]))),
    max_size=4)


def _apply(conn, change):
    sql = (f"ALTER TABLE t DROP COLUMN {change[1]}" if change[0] == "drop"
           else f"ALTER TABLE t RENAME COLUMN {change[1]} TO {change[2]}")
    try:
        conn.execute(sql)
        return "ok"
    except (docdb.Error, sqlite3.Error):
        return "refused"


@settings(max_examples=200, deadline=None)
@given(rows=ROWS, changes=CHANGES)
def test_dropping_and_renaming_columns_agree_with_sqlite3(rows, changes):
    mine, peer = both("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL, d INTEGER)",
                      "CREATE INDEX t_d ON t (d)",
                      rows=("INSERT INTO t (a, b, c, d) VALUES (?, ?, ?, ?)", rows), autocommit=True)
    for change in changes:
        assert _apply(mine, change) == _apply(peer, change), change
        got = mine.execute("SELECT * FROM t ORDER BY id")
        want = peer.execute("SELECT * FROM t ORDER BY id")
        assert [d[0] for d in got.description] == [d[0] for d in want.description]
        assert got.fetchall() == want.fetchall()
    mine.execute("INSERT INTO t DEFAULT VALUES")  # the narrower table still takes rows


def test_what_a_drop_would_break_is_refused_and_nothing_changes():
    conn = docdb.connect(":memory:", autocommit=True)
    conn.executescript("""
        CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE, n INTEGER CHECK (n > 0), v INTEGER,
                        w INTEGER);
        CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p);
        CREATE VIEW vv AS SELECT v FROM p;
        INSERT INTO p VALUES (1, 'a', 1, 2, 3);
    """)
    for column, message in [("id", "PRIMARY KEY"), ("code", "UNIQUE"), ("n", "CHECK \\(n > 0\\) reads it"),
                            ("v", "error in view vv: no such column: v"),
                            ("nosuch", "no such column|nosuch")]:
        with pytest.raises(docdb.ProgrammingError, match=message):
            conn.execute(f"ALTER TABLE p DROP COLUMN {column}")
    assert conn.execute("SELECT * FROM p").fetchall() == [(1, "a", 1, 2, 3)]
    conn.execute("ALTER TABLE p DROP COLUMN w")
    assert conn.execute("SELECT * FROM p").fetchall() == [(1, "a", 1, 2)]


def test_a_renamed_column_carries_its_index_checks_and_foreign_keys():
    conn = docdb.connect(":memory:", autocommit=True)
    conn.executescript("""
        CREATE TABLE p (id INTEGER PRIMARY KEY, n INTEGER CHECK (n < 10));
        CREATE INDEX p_n ON p (n);
        CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p (id) ON DELETE CASCADE);
        INSERT INTO p VALUES (1, 5);
        INSERT INTO c VALUES (1, 1);
        ALTER TABLE p RENAME COLUMN n TO size;
        ALTER TABLE p RENAME COLUMN id TO pk;
        ALTER TABLE c RENAME pid TO parent;
    """)
    with pytest.raises(docdb.IntegrityError, match="size < 10"):
        conn.execute("INSERT INTO p VALUES (2, 11)")
    plan = " ".join(line for (line,) in conn.execute("EXPLAIN SELECT * FROM p WHERE size = 5"))
    assert "p_n" in plan
    conn.execute("DELETE FROM p WHERE pk = 1")
    assert conn.execute("SELECT count(*) FROM c").fetchone() == (0,)
    assert conn.describe("c")["foreign_keys"][0]["columns"] == ["parent"]


def test_an_added_column_may_carry_a_check_or_a_reference():
    conn = docdb.connect(":memory:", autocommit=True)
    conn.executescript("""
        CREATE TABLE p (id INTEGER PRIMARY KEY);
        INSERT INTO p VALUES (1);
        CREATE TABLE t (a INTEGER);
        INSERT INTO t VALUES (5);
    """)
    with pytest.raises(docdb.IntegrityError, match="CHECK constraint failed: b > 0"):
        conn.execute("ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 0 CHECK (b > 0)")  # the row there fails it
    assert conn.describe("t")["columns"] == {"a": "INTEGER"}
    conn.execute("ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 2 CHECK (b > 0)")
    with pytest.raises(docdb.ProgrammingError, match="non-NULL default"):
        conn.execute("ALTER TABLE t ADD COLUMN q INTEGER DEFAULT 3 REFERENCES p")
    conn.execute("ALTER TABLE t ADD COLUMN pid INTEGER REFERENCES p ON DELETE SET NULL")
    with pytest.raises(docdb.IntegrityError, match="FOREIGN KEY"):
        conn.execute("INSERT INTO t VALUES (1, 1, 7)")
    conn.execute("INSERT INTO t VALUES (1, 1, 1)")
    conn.execute("DELETE FROM p")
    assert conn.execute("SELECT * FROM t ORDER BY a").fetchall() == [(1, 1, None), (5, 2, None)]
