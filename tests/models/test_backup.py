"""conn.backup(target): the target becomes a copy of the source, as with sqlite3's backup."""

import sqlite3

import pytest

import docdb

SCRIPT = """
    CREATE TABLE u (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, score REAL);
    INSERT INTO u (name, score) VALUES ('a', 1), ('b', 2);
    CREATE INDEX u_score ON u (score);
    CREATE TABLE log (line TEXT);
    INSERT INTO log VALUES ('hello');
    CREATE VIEW names AS SELECT name FROM u;
    PRAGMA user_version = 5;
"""


@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_backup_replaces_the_target_with_a_copy(tmp_path, engine):
    source = docdb.connect(str(tmp_path / "a"), engine=engine, autocommit=True)
    source.executescript(SCRIPT)
    source.collection("c").insert_many([{"_id": i, "x": {"y": i % 3}} for i in range(2500)])
    source.collection("c").create_index("x.y", name="c_xy")
    target = docdb.connect(str(tmp_path / "b"), autocommit=True)
    target.execute("CREATE TABLE junk (a INTEGER)")
    calls = []
    source.backup(target, progress=lambda status, remaining, total: calls.append((remaining, total)))
    assert calls == [(3, 4), (2, 4), (1, 4), (0, 4)]
    assert list(target.iterdump()) == list(source.iterdump())
    assert target.user_version == 5 and target.tables() == ["log", "u"]
    assert target.collection("c").find({"x.y": 1}).explain()["index"] == "c_xy"
    sqlite_source, sqlite_target = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    sqlite_source.executescript(SCRIPT)
    sqlite_target.execute("CREATE TABLE junk (a INTEGER)")
    sqlite_source.backup(sqlite_target)
    for query in ("SELECT * FROM u ORDER BY id", "SELECT * FROM names ORDER BY name", "PRAGMA user_version"):
        assert target.execute(query).fetchall() == sqlite_target.execute(query).fetchall()
    source.close()
    target.close()


def test_a_failed_backup_leaves_the_target_as_it_was(tmp_path):
    source = docdb.connect(str(tmp_path / "a"), autocommit=True)
    source.executescript(SCRIPT)
    target = docdb.connect(str(tmp_path / "b"), autocommit=True)
    target.execute("CREATE TABLE keep (a INTEGER)")

    def fail(status, remaining, total):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        source.backup(target, progress=fail)
    assert target.tables() == ["keep"] and not target.in_transaction
    with pytest.raises(docdb.ProgrammingError):
        source.backup(source)
    source.close()
    target.close()


def test_a_copy_keeps_the_autoincrement_mark_as_sqlite3s_backup_does():
    script = """
        CREATE TABLE u (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
        INSERT INTO u (name) VALUES ('a'), ('b'), ('c');
        DELETE FROM u WHERE id > 1;
    """
    answers = []
    for module in (docdb, sqlite3):
        source, target = module.connect(":memory:"), module.connect(":memory:")
        source.executescript(script)
        source.commit()
        source.backup(target)
        target.execute("INSERT INTO u (name) VALUES ('d')")
        answers.append(target.execute("SELECT * FROM u ORDER BY id").fetchall())
    assert answers[0] == answers[1] == [(1, "a"), (4, "d")]


def test_the_sequence_mark_of_a_table():
    conn = docdb.connect(autocommit=True)
    conn.execute("CREATE TABLE u (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER)")
    conn.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY)")
    assert conn.table("u").sequence is None and conn.table("plain").sequence is None
    conn.execute("INSERT INTO u (n) VALUES (1), (2)")
    assert conn.table("u").sequence == 2
    conn.table("u").raise_sequence(10)
    conn.table("u").raise_sequence(5)  # never lowered
    assert conn.table("u").sequence == 10
    with pytest.raises(docdb.ProgrammingError, match="no AUTOINCREMENT"):
        conn.table("plain").raise_sequence(3)
    with pytest.raises(docdb.ProgrammingError, match="integer"):
        conn.table("u").raise_sequence("11")
