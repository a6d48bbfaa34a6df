"""CREATE TEMP TABLE: a table of one connection, beside sqlite3 where sqlite3 answers too."""

import sqlite3

import pytest

import docdb

SCRIPT = [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)",
    "INSERT INTO t (name) VALUES ('main one'), ('main two')",
    "COMMIT",
    "CREATE TEMP TABLE scratch (id INTEGER PRIMARY KEY, n INTEGER)",
    "INSERT INTO scratch (n) SELECT id * 10 FROM t",
    "CREATE INDEX scratch_n ON scratch (n)",
    "UPDATE scratch SET n = n + 1 WHERE n > 10",
    "SELECT t.name, scratch.n FROM t JOIN scratch ON scratch.id = t.id ORDER BY t.id",
    "CREATE TEMPORARY TABLE t (x TEXT)",  # hides the database's t
    "INSERT INTO t VALUES ('temp')",
    "SELECT * FROM t",
    "COMMIT",
    "DROP TABLE t",  # the temporary one
    "SELECT * FROM t ORDER BY id",  # the database's again
    "CREATE TEMP TABLE copied AS SELECT name FROM t WHERE id = 2",
    "SELECT * FROM copied",
    "DELETE FROM scratch WHERE n = 10",
    "SELECT id, n FROM scratch",
    "COMMIT",
]


def _run(conn, statements):
    answers = []
    for sql in statements:
        if sql == "COMMIT":
            conn.commit()
            continue
        answers.append([tuple(row) for row in conn.execute(sql).fetchall()])
    return answers


def test_temp_tables_answer_as_sqlite3(tmp_path):
    mine = docdb.connect(str(tmp_path / "db"))
    theirs = sqlite3.connect(str(tmp_path / "db.sqlite"))
    assert _run(mine, SCRIPT) == _run(theirs, SCRIPT)
    assert mine.tables() == ["t"]  # the database's objects only, as sqlite_master
    assert mine.execute("PRAGMA table_list").fetchall() == [
        ("main", "t", "table", 2, 0, 1), ("temp", "copied", "table", 1, 0, 1),
        ("temp", "scratch", "table", 2, 0, 1)]
    assert [row[1] for row in mine.execute("PRAGMA table_info(scratch)")] == ["id", "n"]
    mine.close()
    theirs.close()


def test_other_connections_never_see_them_and_closing_ends_them(tmp_path):
    path = str(tmp_path / "db")
    first, second = docdb.connect(path, autocommit=True), docdb.connect(path, autocommit=True)
    first.execute("CREATE TEMP TABLE mine (a INTEGER)")
    first.execute("INSERT INTO mine VALUES (1)")
    with pytest.raises(docdb.ProgrammingError, match="no such table: mine"):
        second.execute("SELECT * FROM mine")
    second.execute("CREATE TEMP TABLE mine (b TEXT)")  # its own, of the same name
    second.execute("INSERT INTO mine VALUES ('two')")
    assert first.execute("SELECT * FROM mine").fetchall() == [(1,)]
    assert second.execute("SELECT * FROM mine").fetchall() == [("two",)]
    first.close()
    reopened = docdb.connect(path)
    with pytest.raises(docdb.ProgrammingError, match="no such table: mine"):
        reopened.execute("SELECT * FROM mine")
    assert reopened.tables() == [] and reopened.stats()["objects"] == []
    reopened.close()
    second.close()


def test_they_commit_and_roll_back_with_the_connection():
    conn = docdb.connect()
    conn.execute("CREATE TEMP TABLE t (a INTEGER)")
    conn.commit()
    conn.execute("INSERT INTO t VALUES (1)")
    assert conn.in_transaction
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    conn.execute("INSERT INTO t VALUES (2)")
    conn.commit()
    conn.rollback()
    assert conn.execute("SELECT a FROM t").fetchall() == [(2,)]
    conn.execute("CREATE TEMP TABLE gone (a INTEGER)")
    conn.rollback()  # the CREATE too, as in SQLite
    with pytest.raises(docdb.ProgrammingError, match="no such table: gone"):
        conn.execute("SELECT * FROM gone")
    conn.close()


def test_autocommit_commits_each_statement_and_begin_holds_them():
    conn = docdb.connect(autocommit=True)
    conn.execute("CREATE TEMP TABLE t (a INTEGER)")
    conn.execute("INSERT INTO t VALUES (1)")
    assert not conn.in_transaction
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO t VALUES (2)")
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    conn.close()


def test_a_failed_statement_on_a_temp_table_leaves_it_as_it_was():
    conn = docdb.connect(autocommit=True)
    conn.execute("CREATE TEMP TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    conn.execute("INSERT INTO t VALUES (1, 1)")
    with pytest.raises(docdb.IntegrityError, match="n"):
        conn.execute("INSERT INTO t VALUES (2, 2), (3, NULL)")
    assert conn.execute("SELECT * FROM t").fetchall() == [(1, 1)]
    conn.close()


def test_a_plan_cached_before_a_temp_table_hides_a_name_is_not_reused():
    conn = docdb.connect(autocommit=True)
    conn.execute("CREATE TABLE t (a TEXT)")
    conn.execute("INSERT INTO t VALUES ('main')")
    query = "SELECT * FROM t"
    assert conn.execute(query).fetchall() == [("main",)]
    conn.execute("CREATE TEMP TABLE t (a TEXT)")
    conn.execute("INSERT INTO t VALUES ('temp')")
    assert conn.execute(query).fetchall() == [("temp",)]
    conn.execute("DROP TABLE t")
    assert conn.execute(query).fetchall() == [("main",)]
    conn.close()
