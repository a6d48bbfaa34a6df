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
