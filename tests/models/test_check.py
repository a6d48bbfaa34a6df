"""conn.check(), PRAGMA integrity_check and ``docdb check``: a sound database passes; damage
to a record, a block, the log or an index is found and said where."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import docdb
import shell

ROOT = Path(__file__).resolve().parents[2]


def fill(path: str, engine: str) -> docdb.Connection:
    conn = docdb.connect(path, engine=engine, autocommit=True)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER UNIQUE)")
    conn.execute("CREATE INDEX t_a ON t (a)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, str(i % 7), i) for i in range(400)])
    conn.execute("DELETE FROM t WHERE id % 5 = 0")
    docs = conn.collection("d")
    docs.insert_many([{"_id": i, "x": i % 3, "tags": [i, i + 1]} for i in range(300)])
    docs.create_index("tags")
    docs.update_many({"x": 1}, {"$push": {"tags": -1}})
    return conn


def check_cli(path: str, *options: str):
    return CliRunner().invoke(shell.main, ["check", path, *options], catch_exceptions=False)


@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_a_sound_database_passes_in_the_log_and_after_checkpoints(tmp_path, engine):
    path = str(tmp_path / "db")
    conn = fill(path, engine)
    assert conn.check() == []  # everything still in the log
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.compact()
    assert conn.check() == []  # everything in the engines
    conn.close()
    result = check_cli(path)
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert json.loads(check_cli(path, "--json").stdout) == []


def test_index_entries_missing_or_left_over_are_found(tmp_path):
    path = str(tmp_path / "db")
    conn = fill(path, "lsm")
    entry = conn._db.catalog.get("t")
    index = entry["indexes"]["t_a"]["id"]
    keys = [k for k, _ in conn._db.snapshot().scan(index)]
    with conn.writing() as txn:  # damage the index behind the models' back
        txn.delete(index, keys[0])
        txn.put(index, b"\x00bogus" + keys[1][-3:], b"nowhere")
    problems = conn.check()
    assert [(p["object"], p["problem"]) for p in problems] == [
        ("t_a", "1 entries missing for records that hold them (of table t)"),
        ("t_a", "1 entries for records that are gone or changed (of table t)"),
    ]
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    assert len(rows) == 2 and rows[0][0].startswith("t_a: 1 entries missing")
    conn.close()
    result = check_cli(path)
    assert result.exit_code == 1 and "t_a: 1 entries missing" in result.stdout


@pytest.mark.parametrize("engine, pattern", [("lsm", "*.sst"), ("hash", "*.seg")])
def test_a_damaged_engine_file_is_found_and_named(tmp_path, engine, pattern):
    path = str(tmp_path / "db")
    conn = fill(path, engine)
    conn.compact()  # the data is in the engines' files: LSM tables, hash segments
    conn.close()
    table_store = next(p for p in (Path(path) / "objects").iterdir() if p.name.startswith("1-"))
    damaged = max(table_store.glob(pattern), key=lambda p: p.stat().st_size)
    with open(damaged, "r+b") as f:
        f.seek(60)
        byte = f.read(1)
        f.seek(60)
        f.write(bytes([byte[0] ^ 0xFF]))
    result = check_cli(path)
    assert result.exit_code == 1, result.output
    assert damaged.name in result.output  # said where: the file (and the offset, when known)


def test_a_damaged_log_is_found(tmp_path):
    path = str(tmp_path / "db")
    code = (
        "import sys, os, docdb\nc = docdb.connect(sys.argv[1], autocommit=True)\n"
        "c.execute('CREATE TABLE t (a INTEGER)')\n"
        "for i in range(20):\n    c.execute('INSERT INTO t VALUES (?)', (i,))\n"
        "os._exit(0)\n"
    )  # no close: the commits stay in the log, no checkpoint
    subprocess.run([sys.executable, "-c", code, path], check=True, cwd=ROOT, timeout=60)
    log = os.path.join(path, "txlog")
    with open(log, "r+b") as f:
        f.seek(os.path.getsize(log) // 2)
        f.write(b"\xff\xff\xff\xff")
    result = check_cli(path)
    assert result.exit_code == 1 and "log: a damaged record before the end of the log" in result.stdout


# ----- docdb repair ---------------------------------------------------------------------------------


def _damage_a_block(path: str) -> None:
    """Overwrite bytes in the middle of the table's largest SSTable (a data block)."""
    table_store = next(p for p in (Path(path) / "objects").iterdir() if p.name.startswith("1-"))
    sst = max(table_store.glob("*.sst"), key=lambda p: p.stat().st_size)
    with open(sst, "r+b") as f:
        f.seek(sst.stat().st_size // 3)
        f.write(b"\xff" * 8)


def _shop(path: str) -> None:
    conn = docdb.connect(path, autocommit=True)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT)")
    conn.execute("CREATE INDEX t_a ON t (a)")
    conn.executemany("INSERT INTO t (a) VALUES (?)", [("x" * 50 + str(i),) for i in range(3000)])
    conn.collection("d").insert_many([{"_id": i, "v": "y" * 40} for i in range(2000)])
    conn.collection("d").create_index("v")
    conn.execute("CREATE VIEW ids AS SELECT id FROM t")
    conn.user_version = 7
    conn.compact()
    conn.close()


def test_repair_of_a_sound_database_copies_everything(tmp_path):
    path, new = str(tmp_path / "db"), str(tmp_path / "new")
    _shop(path)
    result = CliRunner().invoke(shell.main, ["repair", path, new, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["complete"] and [(o["name"], o["saved"], o["lost"]) for o in report["objects"]] == [
        ("d", 2000, None),
        ("t", 3000, None),
    ]
    source, copy = docdb.connect(path, readonly=True), docdb.connect(new, readonly=True)
    assert list(copy.iterdump()) == list(source.iterdump()) and copy.check() == []
    assert copy.user_version == 7 and copy.views() == ["ids"]
    source.close()
    copy.close()


def test_repair_saves_all_but_the_damaged_block_and_never_changes_the_source(tmp_path):
    path, new = str(tmp_path / "db"), str(tmp_path / "new")
    _shop(path)
    _damage_a_block(path)
    before = {p: p.read_bytes() for p in Path(path).rglob("*") if p.is_file()}
    result = CliRunner().invoke(shell.main, ["repair", path, new], catch_exceptions=False)
    assert (
        result.exit_code == 1 and "table t:" in result.stdout and "block checksum mismatch" in result.stdout
    )
    assert "collection d: 2000 saved" in result.stdout
    assert {p: p.read_bytes() for p in Path(path).rglob("*") if p.is_file()} == before
    copy = docdb.connect(new, autocommit=True)
    saved = copy.execute("SELECT count(*) FROM t").fetchone()[0]
    assert 2500 < saved < 3000  # one block's rows lost, the rest saved from both ends
    assert copy.check() == []  # its indexes were built afresh from what was saved
    copy.execute("INSERT INTO t (a) VALUES ('new')")  # AUTOINCREMENT carries on above the old ids
    assert copy.execute("SELECT max(id) FROM t").fetchone() == (3001,)
    copy.close()
    again = CliRunner().invoke(shell.main, ["repair", path, new], catch_exceptions=False)
    assert again.exit_code == 1 and "already exists" in again.output


def test_names_never_reach_the_file_system(tmp_path):
    """Objects live in directories named by number: a name with a path in it stays a name."""
    path = tmp_path / "db"
    conn = docdb.connect(str(path), autocommit=True)
    odd = ["../../escape", "a/b", "/etc/passwd", "..", "con", "ünï cødé", "x" * 250, "tab\there"]
    for i, name in enumerate(odd):
        conn.collection(name).insert_one({"_id": i})
        conn.execute(f'CREATE TABLE "{name.replace(chr(34), "")}_t" (a INTEGER)')
    conn.compact()
    assert sorted(conn.collections()) == sorted(odd)
    conn.close()
    outside = sorted(p.name for p in tmp_path.iterdir())
    assert outside == ["db"]  # nothing was written beside the database
    assert all(p.name.split("-")[0].isdigit() for p in (path / "objects").iterdir())
    assert check_cli(str(path)).stdout == "ok\n"
