"""The connection: persistence, PEP 249 transactions, locking, statement atomicity."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

import docdb


@pytest.fixture(params=["lsm", "hash"])
def engine(request):
    return request.param


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "db")


def test_objects_and_data_survive_reopen(path, engine):
    with docdb.connect(path, engine=engine) as conn:
        conn.collection("c").insert_many([{"_id": i, "v": i * i} for i in range(50)])
        conn.collection("c").create_index("v")
        table = conn.create_table("t", {"id": "INTEGER", "name": "TEXT"}, primary_key="id")
        table.insert({"id": 1, "name": "x"})
    conn.close()
    conn = docdb.connect(path)
    assert conn.collections() == ["c"] and conn.tables() == ["t"]
    assert conn.collection("c").find_one({"v": 49}) == {"_id": 7, "v": 49}
    assert conn.table("t").get(1) == {"id": 1, "name": "x"}
    assert [ix["name"] for ix in conn.collection("c").list_indexes()] == ["_id_", "v_1"]
    conn.close()


def test_close_without_commit_discards(path):
    conn = docdb.connect(path)
    conn.collection("c").insert_one({"_id": 1})
    conn.create_table("t", {"a": "INTEGER"})
    conn.close()
    conn = docdb.connect(path)
    assert conn.collections() == [] and conn.tables() == []
    conn.close()


def test_rollback_discards_data_and_ddl(path):
    conn = docdb.connect(path)
    conn.collection("c").insert_one({"_id": 1})
    conn.commit()
    conn.collection("c").insert_one({"_id": 2})
    conn.collection("c").create_index("x")
    conn.create_table("t", {"a": "INTEGER"})
    conn.rollback()
    assert [d["_id"] for d in conn.collection("c").find()] == [1]
    assert conn.tables() == [] and len(conn.collection("c").list_indexes()) == 1
    conn.close()


def test_with_block_commits_or_rolls_back(path):
    conn = docdb.connect(path)
    with conn:
        conn.collection("c").insert_one({"_id": 1})
    with pytest.raises(RuntimeError), conn:
        conn.collection("c").insert_one({"_id": 2})
        raise RuntimeError("boom")
    assert [d["_id"] for d in conn.collection("c").find()] == [1]
    conn.close()


def test_reads_own_writes_others_see_only_committed(path):
    writer, reader = docdb.connect(path), docdb.connect(path)
    writer.collection("c").insert_one({"_id": 1, "x": 1})
    assert writer.collection("c").find_one({"x": 1}) == {"_id": 1, "x": 1}
    assert reader.collection("c").find_one({"x": 1}) is None
    writer.commit()
    assert reader.collection("c").find_one({"x": 1}) == {"_id": 1, "x": 1}
    writer.close()
    reader.close()


def test_indexed_reads_see_own_writes_and_only_committed_ones_elsewhere(path):
    writer, reader = docdb.connect(path), docdb.connect(path)
    c = writer.collection("c")
    c.create_index("x")
    c.insert_many([{"_id": i, "x": i % 3} for i in range(30)])
    writer.commit()
    c.update_many({"x": 1}, {"$set": {"x": 2}})
    c.delete_one({"_id": 0})
    c.insert_one({"_id": 99, "x": 0})
    mine = list(c.find({"x": {"$in": [0, 2]}}))
    assert sorted(d["_id"] for d in mine) == sorted([i for i in range(1, 30)] + [99])
    assert all(d["x"] in (0, 2) for d in mine)  # the updated documents, not the committed ones
    assert [d["_id"] for d in reader.collection("c").find({"x": 1})] == list(range(1, 30, 3))
    writer.commit()
    assert list(reader.collection("c").find({"x": 1})) == []
    assert reader.collection("c").count_documents({"x": {"$in": [0, 2]}}) == 30
    writer.close()
    reader.close()


def test_a_snapshot_reads_each_key_as_of_its_commit(path):
    """Point reads, batched reads and scans of one snapshot agree, before and after later
    commits are added to the log it reads."""
    conn = docdb.connect(path, autocommit=True)
    other = docdb.connect(path, autocommit=True)
    conn.collection("c").insert_many([{"_id": i, "v": 0} for i in range(5)])
    db = conn._db
    store = db.catalog.get("c")["id"]
    before = db.snapshot()
    keys = [k for k, _ in before.scan(store)]
    old = before.get_many(store, keys)
    other.collection("c").update_many({}, {"$set": {"v": 1}})
    other.collection("c").delete_one({"_id": 0})
    after = db.snapshot()
    assert before.get_many(store, keys) == [before.get(store, k) for k in keys] == old
    assert dict(before.scan(store)) == dict(zip(keys, old))
    assert after.get(store, keys[0]) is None and len(list(after.scan(store))) == 4
    assert [v for k, v in after.scan(store, reverse=True)] == after.get_many(store, keys[1:])[::-1]
    conn.close()
    other.close()


def test_one_writer_at_a_time(path):
    first, second = docdb.connect(path), docdb.connect(path, timeout=0.2)
    first.collection("c").insert_one({"_id": 1})
    with pytest.raises(docdb.OperationalError, match="database is locked"):
        second.collection("c").insert_one({"_id": 2})
    first.commit()
    second.collection("c").insert_one({"_id": 2})
    second.commit()
    first.close()
    second.close()


def test_writer_waits_for_the_other_to_commit(path):
    first, second = docdb.connect(path), docdb.connect(path, timeout=5)
    first.collection("c").insert_one({"_id": 1})
    threading.Timer(0.2, first.commit).start()
    second.collection("c").insert_one({"_id": 2})  # blocks until the commit
    second.commit()
    assert first.collection("c").count_documents({}) == 2
    first.close()
    second.close()


def test_autocommit_commits_each_write(path):
    conn = docdb.connect(path, autocommit=True)
    conn.collection("c").insert_one({"_id": 1})
    assert not conn.in_transaction
    other = docdb.connect(path)
    assert other.collection("c").count_documents({}) == 1
    with pytest.raises(docdb.IntegrityError):
        conn.collection("c").insert_one({"_id": 1})
    conn.collection("c").insert_one({"_id": 2})  # a failed write did not leave the lock held
    conn.close()
    other.close()


def test_a_second_process_reads_and_waits_to_write(path):
    conn = docdb.connect(path)
    conn.collection("c").insert_one({"_id": 1})
    conn.commit()
    conn.collection("c").insert_one({"_id": 2})  # holds the writer lock, uncommitted
    code = ("import docdb, sys\n"
            "c = docdb.connect(sys.argv[1], timeout=0.3)\n"
            "print(c.collection('c').count_documents({}))\n"
            "try:\n    c.collection('c').insert_one({'_id': 3})\n"
            "except docdb.OperationalError as e:\n    print(e); sys.exit(3)\n")
    done = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines()[0] == "1"  # the committed state, not the open transaction
    assert f"database is locked: process {os.getpid()}" in done.stdout
    conn.commit()
    conn.close()


def test_failed_insert_many_leaves_nothing(path):
    conn = docdb.connect(path)
    c = conn.collection("c")
    c.create_index("email", unique=True)
    c.insert_one({"_id": 0, "email": "a"})
    with pytest.raises(docdb.IntegrityError, match="email_1"):
        c.insert_many([{"_id": 1, "email": "b"}, {"_id": 2, "email": "a"}])
    assert [d["_id"] for d in c.find()] == [0]
    assert c.find({"email": "b"}).explain()["keys_examined"] == 0
    with pytest.raises(docdb.DataError):
        c.insert_many([{"_id": 3}, {"_id": 4, "bad": {1, 2}}])
    assert c.count_documents({}) == 1
    conn.close()


def test_failed_update_many_leaves_nothing(path):
    conn = docdb.connect(path)
    c = conn.collection("c")
    c.insert_many([{"_id": i, "n": i} for i in range(5)])
    c.create_index("n", unique=True)
    with pytest.raises(docdb.IntegrityError):
        c.update_many({}, {"$set": {"n": 7}})
    assert sorted(d["n"] for d in c.find()) == [0, 1, 2, 3, 4]
    assert [d["_id"] for d in c.find({"n": 7})] == []
    conn.close()


def test_memory_database_is_private_and_gone_on_close():
    conn = docdb.connect()
    assert conn.path == ":memory:"
    conn.collection("c").insert_one({"a": 1})
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
    conn.execute("INSERT INTO t (x) VALUES ('a'), ('b')")
    conn.commit()
    other = docdb.connect(":memory:")
    assert other.collections() == [] and other.tables() == []
    assert conn.execute("SELECT * FROM t").fetchall() == [(1, "a"), (2, "b")]
    assert conn.stats()["disk_bytes"] == 0
    conn.close()
    other.close()
    assert docdb.connect(":memory:").tables() == []


def test_closed_connection_refuses(path):
    conn = docdb.connect(path)
    conn.close()
    conn.close()
    with pytest.raises(docdb.InterfaceError):
        conn.collection("c").insert_one({})


def test_bad_arguments():
    with pytest.raises(docdb.ProgrammingError):
        docdb.connect(engine="btree")
    with pytest.raises(ValueError):
        docdb.connect(sync="sometimes")


def test_newer_format_is_refused(path):
    docdb.connect(path).close()
    import os
    with open(os.path.join(path, "DOCDB"), "w") as f:
        f.write("docdb-storage database 99\n")
    with pytest.raises(docdb.OperationalError, match="version 99"):
        docdb.connect(path)


SMALL_LSM = {"lsm": {"block_bytes": 256, "memtable_bytes": 1024}}


def test_reads_through_the_shared_block_cache(path):
    """(That engines sharing a cache never mix blocks is proven in tests/storage/test_lsm_units.py.)"""
    conn = docdb.connect(path, cache_blocks=4096, storage_options=SMALL_LSM)
    for name in ("a", "b"):  # same _ids, different documents, flushed into SSTables
        conn.collection(name).insert_many([{"_id": i, "who": name} for i in range(200)])
    conn.commit()
    conn.close()
    conn = docdb.connect(path, cache_blocks=4096, storage_options=SMALL_LSM)
    for _ in range(2):
        for name in ("a", "b"):
            assert all(conn.collection(name).find_one({"_id": i})["who"] == name for i in range(0, 200, 7))
    conn.close()


def test_names_match_in_any_case_and_keep_the_case_they_were_made_with(tmp_path):
    """As SQLite: one object per name whatever its case, in SQL and the Python API alike."""
    conn = docdb.connect(str(tmp_path / "db"), autocommit=True)
    conn.collection("Events").insert_one({"_id": 1})
    conn.collection("events").insert_one({"_id": 2})  # the same collection
    assert conn.collections() == ["Events"]
    assert conn.collection("EVENTS").count_documents({}) == 2
    assert conn.execute("SELECT count(*) FROM events").fetchone() == (2,)
    with pytest.raises(docdb.ProgrammingError, match="collection 'Events' already exists"):
        conn.create_collection("eVENTS")
    conn.create_table("Users", {"id": "INTEGER"}, primary_key="id")
    conn.table("users").insert({"id": 1})
    assert conn.table("USERS").count() == 1 and conn.describe("users")["name"] == "Users"
    with pytest.raises(docdb.ProgrammingError, match="already exists"):
        conn.execute("CREATE TABLE USERS (x INTEGER)")
    conn.drop("uSeRs")
    assert conn.tables() == []
    conn.close()


def test_memory_database_writes_nothing_to_disk(tmp_path):
    """A process working in ":memory:" (tables, collections, indexes, a rollback, an
    exit without close()) writes no data to a file, in its temporary directory or where it runs."""
    import subprocess
    import sys

    scratch, cwd = tmp_path / "tmp", tmp_path / "cwd"
    scratch.mkdir()
    cwd.mkdir()
    code = ("import docdb\nconn = docdb.connect(':memory:')\n"
            "conn.execute('CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)')\n"
            "conn.execute('CREATE INDEX tb ON t (b)')\n"
            "conn.executemany('INSERT INTO t (b) VALUES (?)', [(str(i),) for i in range(3000)])\n"
            "conn.commit()\nconn.collection('c').insert_many([{'n': i} for i in range(3000)])\n"
            "conn.rollback()\nconn.compact()\n"
            "print(conn.execute('SELECT count(*) FROM t WHERE b > ?', ('5',)).fetchone()[0])\n")
    env = {**os.environ, "TMPDIR": str(scratch), "TEMP": str(scratch), "TMP": str(scratch)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            check=True, cwd=cwd, env=env)
    assert result.stdout.strip() == "554"
    parser_cache = [p for p in scratch.iterdir() if p.name.startswith(".lark_cache")]  # lark's, not data
    assert sorted(scratch.iterdir()) == parser_cache and list(cwd.iterdir()) == []
