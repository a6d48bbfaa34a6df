"""CHECK and FOREIGN KEY constraints agree with sqlite3 (with PRAGMA foreign_keys = ON):
random single-row statements against a parent and a child table under every ON DELETE /
ON UPDATE action, each refused or carried out as SQLite does, leaving the same rows; random
rows against CHECKs; errors that name the constraint, table and value; a refused statement
changes nothing; the Python table API takes the same constraints."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import docdb
from tests.query.sqlite_peer import both

ACTIONS = ["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]
KEYS = st.integers(0, 4)
STATEMENTS = st.lists(st.one_of(
    st.tuples(st.just("INSERT INTO parent VALUES (?, 'p')"), st.tuples(KEYS)),
    st.tuples(st.just("INSERT INTO child VALUES (?, ?)"),
              st.tuples(st.integers(0, 9), st.one_of(KEYS, st.none()))),
    st.tuples(st.just("DELETE FROM parent WHERE id = ?"), st.tuples(KEYS)),
    st.tuples(st.just("UPDATE parent SET id = ? WHERE id = ?"), st.tuples(KEYS, KEYS)),
    st.tuples(st.just("UPDATE child SET pid = ? WHERE id = ?"), st.tuples(st.one_of(KEYS, st.none()),
                                                                      st.integers(0, 9))),
    st.tuples(st.just("DELETE FROM child WHERE id = ?"), st.tuples(st.integers(0, 9))),
), max_size=25)


def _run(conn, sql, params=()):
    try:
        conn.execute(sql, params)
        return "ok"
    except (docdb.Error, sqlite3.Error):
        return "refused"


@settings(max_examples=300, deadline=None)
@given(on_delete=st.sampled_from(ACTIONS), on_update=st.sampled_from(ACTIONS), statements=STATEMENTS)
def test_foreign_keys_agree_with_sqlite3(on_delete, on_update, statements):
    mine, peer = both("CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT)",
                      "CREATE TABLE child (id INTEGER PRIMARY KEY, "
                      "pid INTEGER DEFAULT 0 REFERENCES parent(id) "
                      f"ON DELETE {on_delete} ON UPDATE {on_update})", autocommit=True, foreign_keys=True)
    for sql, params in statements:
        got, want = _run(mine, sql, params), _run(peer, sql, params)
        assert got == want, (sql, params, on_delete, on_update)
        for table in ("parent", "child"):
            query = f"SELECT * FROM {table} ORDER BY id"
            assert mine.execute(query).fetchall() == peer.execute(query).fetchall(), (sql, params)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.one_of(st.integers(-5, 5), st.none()),
                               st.one_of(st.text("abc", max_size=4), st.none())), max_size=8))
def test_checks_agree_with_sqlite3(rows):
    mine, peer = both("CREATE TABLE t (n INTEGER CHECK (n >= 0), "
                      "s TEXT CONSTRAINT short CHECK (length(s) < 3), "
                      "CHECK (n IS NULL OR s IS NULL OR n < length(s) + 2))", autocommit=True)
    for row in rows:
        insert = "INSERT INTO t VALUES (?, ?)"
        assert _run(mine, insert, row) == _run(peer, insert, row)
        assert _run(mine, "UPDATE t SET n = n - 1") == _run(peer, "UPDATE t SET n = n - 1")
    query = "SELECT * FROM t ORDER BY n, s"
    assert mine.execute(query).fetchall() == peer.execute(query).fetchall()


def test_errors_name_the_constraint_table_and_value():
    conn = docdb.connect(":memory:")
    conn.executescript("""
        CREATE TABLE p (id INTEGER PRIMARY KEY);
        CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER,
                        n INTEGER CONSTRAINT positive CHECK (n > 0),
                        CONSTRAINT to_p FOREIGN KEY (pid) REFERENCES p (id));
        INSERT INTO p VALUES (1);
        INSERT INTO c VALUES (1, 1, 5);
    """)
    with pytest.raises(docdb.IntegrityError, match=r"CHECK constraint failed: positive \(table c: n = -2\)"):
        conn.execute("INSERT INTO c VALUES (2, 1, -2)")
    with pytest.raises(docdb.IntegrityError,
                       match=r"FOREIGN KEY constraint failed \(to_p\): table c \(pid = 7\)"):
        conn.execute("INSERT INTO c VALUES (3, 7, 1)")
    with pytest.raises(docdb.IntegrityError,
                       match="1 row\\(s\\) of c still refer to the row of p with id = 1"):
        conn.execute("DELETE FROM p")
    assert conn.execute("SELECT count(*) FROM p").fetchone() == (1,)


def test_a_refused_statement_changes_nothing_even_halfway():
    conn = docdb.connect(":memory:", autocommit=True)
    conn.executescript("""
        CREATE TABLE p (id INTEGER PRIMARY KEY);
        CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE CASCADE);
        CREATE TABLE g (id INTEGER PRIMARY KEY, cid INTEGER REFERENCES c ON DELETE RESTRICT);
        INSERT INTO p VALUES (1), (2);
        INSERT INTO c VALUES (10, 1), (20, 2);
        INSERT INTO g VALUES (100, 20);
    """)
    with pytest.raises(docdb.IntegrityError):
        conn.execute("DELETE FROM p")  # p 1 cascades to c 10; p 2 to c 20, which g keeps
    assert conn.execute("SELECT id FROM p ORDER BY id").fetchall() == [(1,), (2,)]
    assert conn.execute("SELECT id FROM c ORDER BY id").fetchall() == [(10,), (20,)]
    conn.execute("DELETE FROM p WHERE id = 1")
    assert conn.execute("SELECT id FROM c").fetchall() == [(20,)]


def test_a_parent_key_must_be_unique_and_drop_table_deletes_first():
    conn = docdb.connect(":memory:", autocommit=True)
    conn.executescript("""
        CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE, other TEXT);
        CREATE TABLE c (id INTEGER PRIMARY KEY, code TEXT REFERENCES p (code) ON DELETE CASCADE);
        CREATE TABLE bad (id INTEGER PRIMARY KEY, other TEXT REFERENCES p (other));
        INSERT INTO p VALUES (1, 'a', 'x');
        INSERT INTO c VALUES (1, 'a');
    """)
    with pytest.raises(docdb.ProgrammingError, match='foreign key mismatch - "bad" referencing "p"'):
        conn.execute("INSERT INTO bad VALUES (1, 'x')")
    conn.execute("DROP TABLE bad")
    conn.execute("DROP TABLE p")
    assert conn.execute("SELECT count(*) FROM c").fetchone() == (0,)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_a_self_referencing_tree_cascades_through_its_levels():
    conn = docdb.connect(":memory:", autocommit=True)
    conn.executescript("""
        CREATE TABLE node (id INTEGER PRIMARY KEY, up INTEGER REFERENCES node (id) ON DELETE CASCADE);
        INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2), (4, 1), (5, NULL);
    """)
    conn.execute("DELETE FROM node WHERE id = 1")
    assert conn.execute("SELECT id FROM node").fetchall() == [(5,)]


def test_the_python_table_api_takes_the_same_constraints():
    conn = docdb.connect(":memory:", autocommit=True)
    conn.create_table("owners", {"id": "INTEGER", "name": "TEXT NOT NULL CHECK (length(name) > 0)"},
                      primary_key="id")
    pets = conn.create_table("pets", {"id": "INTEGER", "owner": "INTEGER", "legs": "INTEGER"},
                             primary_key="id",
                             checks={"legs_counted": "legs BETWEEN 0 AND 8"},
                             foreign_keys=[{"columns": ["owner"], "parent": "owners",
                                            "on_delete": "SET NULL"}])
    conn.table("owners").insert({"id": 1, "name": "ann"})
    pets.insert({"id": 1, "owner": 1, "legs": 4})
    with pytest.raises(docdb.IntegrityError, match="legs_counted"):
        pets.insert({"id": 2, "owner": 1, "legs": 9})
    with pytest.raises(docdb.IntegrityError, match="FOREIGN KEY"):
        pets.update(1, {"owner": 2})
    with pytest.raises(docdb.IntegrityError, match="CHECK constraint failed: length\\(name\\) > 0"):
        conn.table("owners").insert({"id": 3, "name": ""})
    conn.table("owners").delete(1)
    assert pets.get(1) == {"id": 1, "owner": None, "legs": 4}
    described = conn.describe("pets")
    assert described["checks"] == [{"name": "legs_counted", "sql": "legs BETWEEN 0 AND 8"}]
    assert described["foreign_keys"][0]["parent"] == "owners"
    assert conn.execute("PRAGMA foreign_key_list(pets)").fetchall() == [
        (0, 0, "owners", "owner", None, "NO ACTION", "SET NULL", "NONE")]


def test_constraints_survive_reopening(tmp_path):
    path = str(tmp_path / "db")
    conn = docdb.connect(path, autocommit=True)
    conn.executescript("CREATE TABLE t (n INTEGER CHECK (n < 10)); INSERT INTO t VALUES (1);")
    conn.close()
    again = docdb.connect(path, autocommit=True)
    with pytest.raises(docdb.IntegrityError, match="n < 10"):
        again.table("t").insert({"n": 11})
    assert again.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_bad_constraints_are_refused_at_create():
    conn = docdb.connect(":memory:")
    for sql, message in [
        ("CREATE TABLE t (a INTEGER CHECK (a > (SELECT 1)))", "subqueries prohibited"),
        ("CREATE TABLE t (a INTEGER CHECK (nosuch > 1))", "no such column"),
        ("CREATE TABLE t (a INTEGER, FOREIGN KEY (b) REFERENCES p)", "unknown column"),
        ("CREATE TABLE t (a INTEGER CHECK (sum(a) > 1))", "misuse of aggregate"),
    ]:
        with pytest.raises(docdb.ProgrammingError, match=message):
            conn.execute(sql)
