"""PRAGMA and CREATE TABLE ... AS SELECT, beside sqlite3."""

import sqlite3

import pytest

import docdb

SETUP = """
    CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x', score REAL, u TEXT UNIQUE);
    CREATE INDEX t_score ON t (score, name);
    INSERT INTO t VALUES (1, 'a', 1.5, 'q'), (2, 'b', 2, 'r');
"""


@pytest.fixture
def both(tmp_path):
    mine = docdb.connect(str(tmp_path / "db"), autocommit=True)
    theirs = sqlite3.connect(str(tmp_path / "db.sqlite"), isolation_level=None)
    for conn in (mine, theirs):
        conn.executescript(SETUP)
    yield mine, theirs
    mine.close()
    theirs.close()


@pytest.mark.parametrize(
    "sql",
    [
        "PRAGMA table_info(t)",
        "PRAGMA main.table_info('t')",
        "PRAGMA index_info(t_score)",
        "PRAGMA user_version",
        "PRAGMA foreign_key_list(t)",
        "PRAGMA table_info(nope)",
        "PRAGMA no_such_pragma",
        "PRAGMA foreign_keys = ON",
    ],
)
def test_same_answers_as_sqlite3(both, sql):
    mine, theirs = both
    got, expected = mine.execute(sql), theirs.execute(sql)
    assert got.fetchall() == expected.fetchall()
    assert (got.description is None) == (expected.description is None)
    if got.description:
        assert [d[0] for d in got.description] == [d[0] for d in expected.description]


def test_foreign_keys_read_as_sqlite3_with_them_on(both):
    mine, theirs = both
    theirs.execute("PRAGMA foreign_keys = ON")
    assert mine.execute("PRAGMA foreign_keys").fetchall() == theirs.execute("PRAGMA foreign_keys").fetchall()
    for conn in both:
        conn.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t ON DELETE CASCADE, "
                     "u TEXT, FOREIGN KEY (u) REFERENCES t (u) ON UPDATE SET NULL)")
    got = mine.execute("PRAGMA foreign_key_list(c)")
    want = theirs.execute("PRAGMA foreign_key_list(c)")
    assert sorted(got.fetchall()) == sorted(want.fetchall())
    assert [d[0] for d in got.description] == [d[0] for d in want.description]


def test_index_list_names_docdb_indexes(both):
    mine, theirs = both
    got = mine.execute("PRAGMA index_list(t)").fetchall()
    expected = theirs.execute("PRAGMA index_list(t)").fetchall()
    assert [row[:1] + row[2:] for row in got] == [row[:1] + row[2:] for row in expected]
    assert [row[1] for row in got] == ["t_score", "u_unique"]  # sqlite3 says sqlite_autoindex_t_1


def test_user_version_is_kept_in_the_database(tmp_path):
    path = str(tmp_path / "db")
    conn = docdb.connect(path, autocommit=True)
    conn.execute("PRAGMA user_version = 42")
    conn.close()
    conn = docdb.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (42,) and conn.user_version == 42
    with pytest.raises(docdb.ProgrammingError):
        conn.execute("PRAGMA user_version = 'x'")
    conn.close()


def test_create_table_as_select(both):
    mine, theirs = both
    sql = "CREATE TABLE t2 AS SELECT id, name, score * 2 AS s2, upper(u) AS big FROM t WHERE id > 0"
    for conn in both:
        conn.execute(sql)
    assert (
        mine.execute("SELECT * FROM t2 ORDER BY id").fetchall()
        == theirs.execute("SELECT * FROM t2 ORDER BY id").fetchall()
    )
    assert mine.describe("t2")["columns"] == {"id": "INTEGER", "name": "TEXT", "s2": "REAL", "big": "TEXT"}
    mine.execute("CREATE TABLE IF NOT EXISTS t2 AS SELECT 1")
    with pytest.raises(docdb.ProgrammingError, match="already exists"):
        mine.execute("CREATE TABLE t2 AS SELECT 1")
    with pytest.raises(docdb.ProgrammingError, match="same name"):
        mine.execute("CREATE TABLE t3 AS SELECT id, id FROM t")
    mine.execute("CREATE TABLE empty AS SELECT * FROM t WHERE 0")
    assert list(mine.describe("empty")["columns"]) == ["id", "name", "score", "u"]
