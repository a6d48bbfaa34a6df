"""The decoded-row cache: full scans read rows again without decoding them, and never read
a wrong version -- after commits from this or another connection or process, under a
transaction's own writes, after a rollback, an added column, or with a cache smaller
than the table (checked against a dict model with hypothesis)."""

from __future__ import annotations

import subprocess
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import docdb
from docdb.models.rowcache import RowCache


def _scan(conn, table="t"):
    return sorted(conn.execute(f"SELECT * FROM {table}").fetchall())


def _cache(conn):
    return conn.stats()["row_cache"]


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "db")


def _filled(path, rows=10, **options):
    conn = docdb.connect(path, **options)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"v{i}") for i in range(rows)])
    conn.commit()
    return conn


# ----- the cache itself ------------------------------------------------------------------


def test_a_scan_read_to_the_end_is_kept_and_given_back_for_the_same_version_and_shape():
    cache, shape = RowCache(100), object()
    reads = []

    def read():
        reads.append(1)
        return iter([[1, 2], [3]])
    assert [x for b in cache.batches(7, ("v", 1), shape, read) for x in b] == [1, 2, 3]
    assert [x for b in cache.batches(7, ("v", 1), shape, read) for x in b] == [1, 2, 3]
    assert len(reads) == 1
    cache.batches(7, ("v", 2), shape, read)  # another version: read again
    cache.batches(7, ("v", 1), object(), read)  # another shape: read again
    assert len(reads) == 3
    assert cache.stats()["hits"] == 1


def test_a_scan_stopped_early_bigger_than_the_cache_or_refused_is_not_kept():
    cache, shape = RowCache(3), object()
    next(cache.batches(1, 1, shape, lambda: iter([[1], [2]])))  # stopped after one list
    list(cache.batches(2, 1, shape, lambda: iter([[1, 2], [3, 4]])))  # 4 rows > 3
    list(cache.batches(3, 1, shape, lambda: iter([[1]]), keep=lambda rows: False))
    assert cache.stats()["rows"] == 0


def test_the_least_recently_used_stores_make_room():
    cache, shape = RowCache(4), object()
    for store in (1, 2):
        list(cache.batches(store, 1, shape, lambda: iter([[0, 0]])))
    list(cache.batches(1, 1, shape, lambda: iter([])))  # a hit: store 1 is now the newest
    list(cache.batches(3, 1, shape, lambda: iter([[0, 0]])))
    assert cache.stats() == {"capacity_rows": 4, "rows": 4, "stores": 2, "hits": 1, "misses": 3}
    assert cache._entries.keys() == {1, 3}


def test_cache_size_must_be_a_count_of_rows(path):
    with pytest.raises(docdb.ProgrammingError, match="cache_size"):
        docdb.connect(path, cache_size=-1)


# ----- through the database ---------------------------------------------------------------


def test_the_second_full_scan_is_answered_from_the_cache(path):
    conn = _filled(path)
    first = _scan(conn)
    before = _cache(conn)
    assert _scan(conn) == first
    after = _cache(conn)
    assert after["hits"] == before["hits"] + 1 and after["rows"] == 10


def test_a_commit_of_another_connection_is_seen(path):
    reader, writer = _filled(path), docdb.connect(path)
    _scan(reader)
    writer.execute("UPDATE t SET v = 'new' WHERE id = 3")
    writer.execute("DELETE FROM t WHERE id = 4")
    writer.commit()
    rows = dict(_scan(reader))
    assert rows[3] == "new" and 4 not in rows


def test_a_transaction_sees_its_writes_others_do_not_and_a_rollback_leaves_the_cache(path):
    mine, other = _filled(path), docdb.connect(path)
    original = _scan(other)
    mine.execute("INSERT INTO t VALUES (100, 'pending')")
    mine.execute("UPDATE t SET v = 'changed' WHERE id = 1")
    seen = dict(_scan(mine))
    assert seen[100] == "pending" and seen[1] == "changed"
    assert _scan(other) == original  # from the cache, without the uncommitted rows
    mine.rollback()
    assert _scan(mine) == original and _scan(other) == original


def test_a_transaction_that_has_not_written_the_table_reads_the_cache(path):
    conn = _filled(path)
    conn.execute("CREATE TABLE u (x INTEGER)")
    _scan(conn)
    conn.execute("INSERT INTO u VALUES (1)")  # a transaction is open, t untouched
    hits = _cache(conn)["hits"]
    _scan(conn)
    assert _cache(conn)["hits"] == hits + 1
    conn.rollback()


def test_a_commit_of_another_process_is_followed(path):
    conn = _filled(path)
    _scan(conn)
    script = ("import docdb, sys\nc = docdb.connect(sys.argv[1])\n"
              "c.execute(\"INSERT INTO t VALUES (50, 'other process')\")\nc.commit()\nc.close()\n")
    subprocess.run([sys.executable, "-c", script, path], check=True, timeout=60)
    assert dict(_scan(conn))[50] == "other process"


def test_an_added_column_is_read_by_the_next_scan(path):
    conn = _filled(path)
    _scan(conn)
    conn.execute("ALTER TABLE t ADD COLUMN extra INTEGER DEFAULT 7")
    assert {row[2] for row in _scan(conn)} == {7}


def test_a_cache_smaller_than_the_table_answers_correctly_and_holds_at_most_its_size(path):
    conn = _filled(path, rows=50, cache_size=20)
    conn.execute("CREATE TABLE small (x INTEGER)")
    conn.executemany("INSERT INTO small VALUES (?)", [(i,) for i in range(15)])
    conn.commit()
    for _ in range(2):
        assert _scan(conn) == [(i, f"v{i}") for i in range(50)]
        assert _scan(conn, "small") == [(i,) for i in range(15)]
        assert conn.execute("SELECT count(*), sum(id) FROM t WHERE id >= 10").fetchone() == (40, 1180)
    stats = _cache(conn)
    assert stats["rows"] == 15 and stats["capacity_rows"] == 20


def test_cache_size_zero_keeps_nothing(path):
    conn = _filled(path, cache_size=0)
    assert _scan(conn) == _scan(conn)
    assert _cache(conn)["rows"] == 0


def test_json_values_handed_out_are_not_shared_with_later_scans(path):
    conn = docdb.connect(path)
    conn.execute("CREATE TABLE j (id INTEGER PRIMARY KEY, doc JSON)")
    conn.execute("INSERT INTO j VALUES (1, ?)", ({"a": [1]},))
    conn.commit()
    for _ in range(2):
        got = conn.execute("SELECT doc FROM j").fetchall()[0][0]
        got["a"].append("changed by the caller")
    assert conn.execute("SELECT doc FROM j").fetchone()[0] == {"a": [1]}


# ----- against a model --------------------------------------------------------------------


class CachedScans(RuleBasedStateMachine):
    """Two connections to one database, a writer with open transactions and a reader,
    with a small cache: every scan equals the dict model of what it should see."""

    @initialize(cache_size=st.sampled_from([0, 3, 8, 1000]))
    def open(self, cache_size):
        self.dir = tempfile.TemporaryDirectory()
        path = self.dir.name + "/db"
        self.writer = docdb.connect(path, cache_size=cache_size)
        self.writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        self.writer.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, v INTEGER)")
        self.writer.commit()
        self.reader = docdb.connect(path)
        self.committed = {"t": {}, "u": {}}
        self.pending = {"t": {}, "u": {}}

    def teardown(self):
        if hasattr(self, "writer"):
            self.writer.close()
            self.reader.close()
            self.dir.cleanup()

    @rule(table=st.sampled_from(["t", "u"]), key=st.integers(0, 6), value=st.integers(-3, 3))
    def put(self, table, key, value):
        self.writer.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", (key, value))
        self.pending[table][key] = value

    @rule(table=st.sampled_from(["t", "u"]), key=st.integers(0, 6))
    def delete(self, table, key):
        self.writer.execute(f"DELETE FROM {table} WHERE id = ?", (key,))
        self.pending[table].pop(key, None)

    @rule()
    def commit(self):
        self.writer.commit()
        self.committed = {name: dict(rows) for name, rows in self.pending.items()}

    @rule()
    def rollback(self):
        self.writer.rollback()
        self.pending = {name: dict(rows) for name, rows in self.committed.items()}

    @precondition(lambda self: hasattr(self, "writer"))
    @invariant()
    def scans_match_the_model(self):
        for table in ("t", "u"):
            assert _scan(self.reader, table) == sorted(self.committed[table].items())
            assert _scan(self.writer, table) == sorted(self.pending[table].items())
            total = self.reader.execute(f"SELECT sum(v) FROM {table} WHERE v > 0").fetchone()[0]
            assert total == (sum(v for v in self.committed[table].values() if v > 0) or None)


CachedScans.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
test_cached_scans_match_a_model = CachedScans.TestCase


def test_documents_handed_out_by_sql_are_copies_of_the_cached_ones(path):
    conn = docdb.connect(path)
    conn.execute("CREATE COLLECTION docs")
    conn.execute("INSERT INTO docs VALUE {'_id': 1, 'm': {'a': [1]}, 'n': {'b': 2}}")
    conn.commit()
    for _ in range(2):
        whole, part = conn.execute("SELECT VALUE d FROM docs d").fetchall()[0][0], \
            conn.execute("SELECT d.m, [d.n] FROM docs d").fetchall()[0]
        whole["m"]["a"].append("changed")
        part[0]["a"].append("changed")
        part[1][0]["b"] = "changed"
    original = {"_id": 1, "m": {"a": [1]}, "n": {"b": 2}}
    assert conn.execute("SELECT VALUE d FROM docs d").fetchall() == [(original,)]
    assert _cache(conn)["hits"] >= 2
    conn.execute("UPDATE docs AS d SET d.x = d.n")
    conn.commit()
    conn.execute("UPDATE docs AS d SET d.x.b = 3")
    conn.commit()
    assert conn.execute("SELECT VALUE d FROM docs d").fetchone()[0] == {
        "_id": 1, "m": {"a": [1]}, "n": {"b": 2}, "x": {"b": 3}}


def test_collection_scans_follow_commits(path):
    conn, other = docdb.connect(path), docdb.connect(path)
    conn.execute("CREATE COLLECTION docs")
    conn.commit()
    assert conn.execute("SELECT count(*) FROM docs d WHERE d.a > 0").fetchone() == (0,)
    other.execute("INSERT INTO docs VALUE {'a': 1}")
    other.commit()
    for _ in range(2):
        assert conn.execute("SELECT d.a FROM docs d WHERE d.a > 0").fetchall() == [(1,)]


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)),
                               st.one_of(st.none(), st.floats(allow_nan=False)),
                               st.one_of(st.none(), st.binary(max_size=3)),
                               st.one_of(st.none(), st.text(max_size=3))), max_size=20),
       added=st.booleans())
def test_a_batch_decodes_as_each_row_does(rows, added):
    conn = docdb.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, b BLOB, s TEXT)")
    conn.executemany("INSERT INTO t (i, r, b, s) VALUES (?, ?, ?, ?)", rows)
    if added:
        conn.execute("ALTER TABLE t ADD COLUMN extra TEXT DEFAULT 'x'")
    table = conn.table("t")
    reader = conn.reading()
    entry = reader.catalog.require("t", "table")
    schema = table.schema_of(entry)
    raws = [raw for keys, values in reader.scan_batches(entry["id"]) for raw in values]
    assert table._decode_batch(schema, raws) == [table._decode(schema, raw) for raw in raws]
