"""sqlite3's connection and cursor conveniences, each beside sqlite3 itself: row_factory and Row,
total_changes, isolation_level, set_trace_callback, iterdump."""

import sqlite3

import pytest

import docdb

SETUP = [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, Name TEXT, n INTEGER)",
    "INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30)",
    "UPDATE t SET n = n + 1 WHERE id > 1",
    "DELETE FROM t WHERE id = 3",
    "INSERT INTO t VALUES (4, 'd', 40)",
    "SELECT * FROM t",
]


@pytest.fixture
def both():
    mine, theirs = docdb.connect(), sqlite3.connect(":memory:")
    for sql in SETUP:
        mine.execute(sql)
        theirs.execute(sql)
    yield mine, theirs
    mine.close()
    theirs.close()


def test_total_changes(both):
    mine, theirs = both
    assert mine.total_changes == theirs.total_changes == 7
    mine.executemany("UPDATE t SET n = ? WHERE id = ?", [(0, 1), (0, 2), (0, 99)])
    theirs.executemany("UPDATE t SET n = ? WHERE id = ?", [(0, 1), (0, 2), (0, 99)])
    assert mine.total_changes == theirs.total_changes == 9


def test_row_factory_row(both):
    mine, theirs = both
    mine.row_factory, theirs.row_factory = docdb.Row, sqlite3.Row
    got = mine.execute("SELECT id, Name FROM t ORDER BY id").fetchall()
    expected = theirs.execute("SELECT id, Name FROM t ORDER BY id").fetchall()
    for row, reference in zip(got, expected, strict=True):
        assert row.keys() == reference.keys()
        assert tuple(row) == tuple(reference) and len(row) == len(reference)
        assert row["name"] == reference["name"] == row["NAME"] and row[1] == reference[1]
        assert row[-1] == reference[-1] and row[0:1] == reference[0:1]
    with pytest.raises(IndexError):
        got[0]["nope"]
    assert got[0] == mine.execute("SELECT id, Name FROM t WHERE id = 1").fetchone()
    assert len({got[0], mine.execute("SELECT id, Name FROM t WHERE id = 1").fetchone()}) == 1


def test_cursor_row_factory_overrides_the_connection(both):
    mine, theirs = both
    mine.row_factory = docdb.Row
    for conn in (mine, theirs):
        cursor = conn.cursor()
        cursor.row_factory = lambda cursor, row: {d[0]: v for d, v in zip(cursor.description, row)}
        assert cursor.execute("SELECT id, Name FROM t WHERE id = 2").fetchall() == [{"id": 2, "Name": "b"}]
        assert next(iter(cursor.execute("SELECT n FROM t WHERE id = 4"))) == {"n": 40}
        assert cursor.execute("SELECT n FROM t WHERE id = 4").fetchmany(5) == [{"n": 40}]


def test_isolation_level(tmp_path):
    mine = docdb.connect(str(tmp_path / "db"))
    theirs = sqlite3.connect(str(tmp_path / "db.sqlite"))
    for conn in (mine, theirs):
        assert conn.isolation_level == ""
        conn.execute("CREATE TABLE t (a INTEGER)")
        conn.commit()
        conn.execute("INSERT INTO t VALUES (1)")
        assert conn.in_transaction
        conn.isolation_level = None  # commits what is pending, then autocommit
        assert not conn.in_transaction and conn.isolation_level is None
        conn.execute("INSERT INTO t VALUES (2)")
        assert not conn.in_transaction
        conn.isolation_level = "IMMEDIATE"
        conn.execute("INSERT INTO t VALUES (3)")
        conn.rollback()
        assert conn.execute("SELECT a FROM t ORDER BY a").fetchall() == [(1,), (2,)]
    with pytest.raises(ValueError):
        mine.isolation_level = "SOMETIMES"
    mine.close()
    theirs.close()


def test_trace_callback(both):
    mine, _ = both
    seen = []
    mine.set_trace_callback(seen.append)
    mine.execute("SELECT 1")
    mine.executemany("INSERT INTO t (id) VALUES (?)", [(7,), (8,)])
    mine.executescript("SELECT 3; SELECT 4")
    mine.set_trace_callback(None)
    mine.execute("SELECT 2")
    assert seen == ["SELECT 1", "INSERT INTO t (id) VALUES (?)", "SELECT 3; SELECT 4"]


def test_iterdump_loads_back(both):
    mine, _ = both
    mine.execute("CREATE INDEX t_n ON t (n)")
    copy = docdb.connect()
    copy.executescript("\n".join(mine.iterdump()))
    assert (
        copy.execute("SELECT * FROM t ORDER BY id").fetchall()
        == mine.execute("SELECT * FROM t ORDER BY id").fetchall()
    )
    assert list(copy.iterdump()) == list(mine.iterdump())
    copy.close()
