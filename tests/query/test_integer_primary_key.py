"""INTEGER PRIMARY KEY as SQLite's rowid alias: an id left out (or NULL) is the largest + 1;
with AUTOINCREMENT never one the table ever held, across reopening too -- random sequences
beside sqlite3 (hypothesis), on both engines."""

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import docdb

STEP = st.one_of(
    st.tuples(st.just("insert"), st.none() | st.integers(1, 30)),
    st.tuples(st.just("delete"), st.integers(1, 30)),
    st.tuples(st.just("delete_max"), st.none()),
    st.tuples(st.just("reopen"), st.none()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(STEP, max_size=30), autoincrement=st.booleans(), engine=st.sampled_from(["lsm", "hash"])
)
def test_ids_match_sqlite3(tmp_path_factory, steps, autoincrement, engine):
    directory = tmp_path_factory.mktemp("ipk")
    path = str(directory / "db")
    declaration = "INTEGER PRIMARY KEY" + (" AUTOINCREMENT" if autoincrement else "")
    theirs = sqlite3.connect(str(directory / "db.sqlite"), isolation_level=None)
    mine = docdb.connect(path, engine=engine, autocommit=True)
    try:
        for conn in (mine, theirs):
            conn.execute(f"CREATE TABLE t (id {declaration}, v TEXT)")
        for n, (op, arg) in enumerate(steps):
            if op == "reopen":
                mine.close()
                mine = docdb.connect(path, engine=engine, autocommit=True)
                continue
            outcomes = []
            for conn in (mine, theirs):
                try:
                    if op == "insert":
                        cursor = conn.execute("INSERT INTO t (id, v) VALUES (?, ?)", (arg, f"v{n}"))
                        outcomes.append(cursor.lastrowid)
                    elif op == "delete":
                        outcomes.append(conn.execute("DELETE FROM t WHERE id = ?", (arg,)).rowcount)
                    else:
                        outcomes.append(
                            conn.execute("DELETE FROM t WHERE id = (SELECT max(id) FROM t)").rowcount
                        )
                except (docdb.IntegrityError, sqlite3.IntegrityError):
                    outcomes.append("duplicate")
            assert outcomes[0] == outcomes[1], (op, arg)
        assert (
            mine.execute("SELECT * FROM t ORDER BY id").fetchall()
            == theirs.execute("SELECT * FROM t ORDER BY id").fetchall()
        )
    finally:
        mine.close()
        theirs.close()


def test_first_day_snippet():
    conn = docdb.connect(autocommit=True)
    conn.execute("CREATE TABLE u (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)")
    assert conn.execute("INSERT INTO u (name) VALUES ('ann')").lastrowid == 1
    assert conn.execute("INSERT INTO u (name) VALUES ('bob')").lastrowid == 2
    assert conn.describe("u")["autoincrement"] is True
    assert "id INTEGER PRIMARY KEY AUTOINCREMENT" in "\n".join(conn.iterdump())
    assert conn.table("u").insert({"name": "cy"}) == 3  # the Python API too


def test_autoincrement_needs_an_integer_primary_key():
    with pytest.raises(docdb.ProgrammingError, match="only allowed on an INTEGER PRIMARY KEY"):
        docdb.connect().execute("CREATE TABLE t (id TEXT PRIMARY KEY AUTOINCREMENT)")


def _same_as_sqlite3(setup: list[str], sql: str) -> tuple:
    """docdb and sqlite3 connections after ``setup``, having given the same rows and column
    names for ``sql``."""
    mine, theirs = docdb.connect(autocommit=True), sqlite3.connect(":memory:", isolation_level=None)
    for conn in (mine, theirs):
        for statement in setup:
            conn.execute(statement)
    got, expected = mine.execute(sql), theirs.execute(sql)
    assert got.fetchall() == expected.fetchall()
    assert [d[0] for d in got.description] == [d[0] for d in expected.description]
    return mine, theirs


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT rowid, oid, _rowid_, v FROM t ORDER BY rowid DESC",
        "SELECT t.rowid FROM t WHERE rowid = 2",
        "SELECT v FROM t WHERE _ROWID_ > 1 ORDER BY ROWID",
        "SELECT a.rowid, b.v FROM t a JOIN t b ON b.rowid = a.rowid + 1 ORDER BY 1",
    ],
)
def test_rowid_names_the_integer_primary_key(sql):
    mine, theirs = _same_as_sqlite3(
        ["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"],
        sql,
    )
    plan = [line for (line,) in mine.execute("EXPLAIN SELECT v FROM t WHERE rowid = 2")]
    assert any("USING PRIMARY KEY" in line for line in plan)
    for conn in (mine, theirs):
        conn.execute("UPDATE t SET v = 'x' WHERE rowid = 1")
        conn.execute("DELETE FROM t WHERE oid = 2")
    assert mine.execute("SELECT * FROM t").fetchall() == theirs.execute("SELECT * FROM t").fetchall()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT rowid, * FROM log ORDER BY rowid",
        "SELECT * FROM log ORDER BY n",
        "SELECT msg FROM log WHERE rowid = 2",
        "SELECT oid, _rowid_ FROM log WHERE rowid > 1 ORDER BY 1",
        "SELECT a.rowid, b.msg FROM log a JOIN log b ON b.rowid = a.rowid + 1 ORDER BY 1",
        "SELECT count(*) FROM log WHERE rowid IN (1, 3)",
        "SELECT r, msg FROM (SELECT rowid AS r, msg FROM log) ORDER BY r DESC",
    ],
)
def test_a_table_without_a_primary_key_shows_its_hidden_row_id(sql):
    mine, theirs = _same_as_sqlite3(
        [
            "CREATE TABLE log (msg TEXT, n INTEGER)",
            "INSERT INTO log VALUES ('a', 1)",
            "INSERT INTO log VALUES ('b', 2), ('c', 3)",
        ],
        sql,
    )
    for conn in (mine, theirs):
        assert conn.execute("UPDATE log SET n = 20 WHERE rowid = 2").rowcount == 1
        assert conn.execute("DELETE FROM log WHERE oid = 3").rowcount == 1
    assert (
        mine.execute("SELECT rowid, * FROM log").fetchall()
        == theirs.execute("SELECT rowid, * FROM log").fetchall()
    )
    assert mine.execute("SELECT * FROM log").fetchall() == [("a", 1), ("b", 20)]  # * leaves the row id out


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE t SET a = 5 WHERE rowid = 2 RETURNING rowid, a, *",
        "UPDATE t SET b = rowid * 100 RETURNING oid, b",
        "DELETE FROM t WHERE a = 1 RETURNING _rowid_, *",
        "INSERT INTO t VALUES (9, 90) RETURNING rowid, *",
        "INSERT INTO t VALUES (8, 80) RETURNING *",
    ],
)
def test_the_hidden_row_id_in_set_and_returning_as_sqlite3(sql):
    answers = []
    for conn in (docdb.connect(), sqlite3.connect(":memory:")):
        conn.execute("CREATE TABLE t (a INTEGER, b INTEGER)")
        conn.execute("INSERT INTO t VALUES (1, 10), (2, 20)")
        answers.append((conn.execute(sql).fetchall(), conn.execute("SELECT rowid, * FROM t").fetchall()))
    assert answers[0] == answers[1]
