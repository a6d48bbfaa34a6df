"""The Engine contract (storage/engine.py), checked on every engine."""

import os
import subprocess
import sys
import tempfile
import threading

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

import storage
from tests.storage.conftest import SMALL_OPTIONS
from tests.storage.damage import files


def test_put_get_delete_and_protocols(open_engine):
    db = open_engine()
    assert db.get(b"k") is None
    db.put(b"k", b"v1")
    db.put(b"k", b"v2")
    assert db.get(b"k") == b"v2"
    assert db[b"k"] == b"v2"
    assert b"k" in db and b"x" not in db
    assert len(db) == 1
    db.put(b"empty", b"")
    assert db.get(b"empty") == b"" and len(db) == 2
    db.delete(b"k")
    db.delete(b"never-there")
    assert db.get(b"k") is None and b"k" not in db and len(db) == 1
    with pytest.raises(KeyError):
        db[b"k"]
    db[b"item"] = b"set"
    assert db.get(b"item") == b"set"
    del db[b"item"]
    assert b"item" not in db
    with pytest.raises(KeyError):
        del db[b"item"]


def test_get_many_answers_like_get_in_the_order_asked(open_engine):
    db = open_engine()
    for i in range(300):
        db.put(b"k%03d" % i, b"v%d" % i)
    db.delete(b"k007")
    db.flush()
    db.put(b"k001", b"newer")  # in the memtable, over the flushed value
    asked = [b"k200", b"k001", b"k007", b"nope", b"k200", b"k299"]
    want = [b"v200", b"newer", None, None, b"v200", b"v299"]
    assert db.get_many(asked) == want
    assert db.get_many(iter(asked)) == want  # any iterable
    assert db.get_many([]) == []
    everything = [b"k%03d" % i for i in range(300)]
    for _ in range(3):  # cold blocks, then blocks read again (which the LSM cache keeps as a dict)
        assert db.get_many(everything) == [db.get(k) for k in everything]
    with pytest.raises(TypeError):
        db.get_many([b"k001", "str"])
    with pytest.raises(ValueError):
        db.get_many([b""])
    db.close()
    with pytest.raises(storage.ClosedError):
        db.get_many([b"k001"])


@pytest.mark.files
def test_values_survive_reopen(open_engine, tmp_path):
    db = open_engine()
    for i in range(500):
        db.put(b"key%04d" % i, os.urandom(i % 50))
    expected = dict(db.scan())
    for i in range(0, 500, 3):
        db.delete(b"key%04d" % i)
        del expected[b"key%04d" % i]
    db.close()
    db = open_engine()
    assert dict(db.scan()) == expected
    assert len(db) == len(expected)


def test_batch_is_applied_whole_on_success(open_engine):
    db = open_engine()
    db.put(b"gone", b"x")
    with db.batch() as b:
        b.put(b"a", b"1")
        b.put(b"b", b"2")
        b.delete(b"gone")
        b.put(b"a", b"3")  # later op in the same batch wins
        assert db.get(b"a") is None  # not visible before the block exits
    assert db.get(b"a") == b"3" and db.get(b"b") == b"2" and db.get(b"gone") is None
    assert len(db) == 2


def test_batch_is_discarded_on_exception(open_engine):
    db = open_engine()
    db.put(b"a", b"old")
    with pytest.raises(RuntimeError), db.batch() as b:
        b.put(b"a", b"new")
        b.put(b"b", b"new")
        raise RuntimeError("boom")
    assert db.get(b"a") == b"old" and db.get(b"b") is None and len(db) == 1


def test_batch_cannot_be_reused(open_engine):
    db = open_engine()
    with db.batch() as b:
        b.put(b"a", b"1")
    with pytest.raises(ValueError):
        b.put(b"b", b"2")


def test_scan_order_bounds_and_reverse(open_engine):
    db = open_engine()
    keys = [bytes([i]) + b"x" * (i % 3) for i in range(1, 200)]
    for k in keys:
        db.put(k, k * 2)
    everything = sorted(keys)
    assert [k for k, _ in db.scan()] == everything
    assert all(v == k * 2 for k, v in db.scan())
    assert [k for k, _ in db.scan(reverse=True)] == everything[::-1]
    lo, hi = bytes([50]), bytes([120])
    inside = [k for k in everything if lo <= k < hi]
    assert [k for k, _ in db.scan(lo, hi)] == inside
    assert [k for k, _ in db.scan(lo, hi, reverse=True)] == inside[::-1]
    assert [k for k, _ in db.scan(start=lo)] == [k for k in everything if k >= lo]
    assert [k for k, _ in db.scan(stop=hi)] == [k for k in everything if k < hi]
    assert list(db.scan(hi, lo)) == []
    assert list(db.scan(b"\xff\xff", None)) == []


def test_scan_batches_are_scan_in_lists(open_engine):
    db = open_engine()
    keys = [bytes([i]) + b"k" * (i % 4) for i in range(1, 250)]
    for k in keys:
        db.put(k, k * 3)
    for k in keys[::7]:
        db.delete(k)

    def flat(batches):
        keys, values = [], []
        for batch_keys, batch_values in batches:
            assert batch_keys and len(batch_keys) == len(batch_values)
            keys += batch_keys
            values += batch_values
        return list(zip(keys, values))

    lo, hi = bytes([40]), bytes([200])
    for stage in ("written", "compacted", "written after compaction"):
        if stage == "compacted":
            db.compact()
        elif stage == "written after compaction":
            db.put(bytes([90]), b"late")
            db.delete(bytes([91]))
        for start, stop in [(None, None), (lo, hi), (lo, None), (None, hi), (hi, lo)]:
            for reverse in (False, True):
                expected = list(db.scan(start, stop, reverse))
                for size in (1, 3, 1024):
                    assert flat(db.scan_batches(start, stop, reverse, batch=size)) == expected, (stage, size)
    with pytest.raises(ValueError):
        db.scan_batches(batch=0)
    with pytest.raises(TypeError):
        db.scan_batches(start="a")


def test_scan_contains_keeps_the_values_holding_the_bytes(open_engine):
    db = open_engine()
    model = {}
    for i in range(600):  # increasing keys (separate flushes), then rewrites and deletes of old ones
        key = b"k%04d" % i
        db.put(key, b"<%d:%s>" % (i, b"red" if i % 5 == 0 else b"blue"))
        model[key] = db.get(key)
    _check_contains(db, model)
    db.compact()
    _check_contains(db, model)  # (an LSM tree of one table: blocks without the bytes are skipped)
    for i in range(0, 600, 7):
        key = b"k%04d" % i
        if i % 2:
            db.delete(key)
            model.pop(key)
        else:  # a newer value without the bytes hides an older one with them, and back
            db.put(key, b"<%d:%s>" % (i, b"blue" if i % 5 == 0 else b"red"))
            model[key] = db.get(key)
    _check_contains(db, model)
    with pytest.raises(TypeError):
        db.scan(contains="red")


def _check_contains(db, model):
    for needle in (b"red", b"blue", b"<35:", b"nothing", b""):
        wanted = sorted((k, v) for k, v in model.items() if needle in v)
        assert list(db.scan(contains=needle)) == wanted
        assert list(db.scan(contains=needle, reverse=True)) == wanted[::-1]
        inside = [(k, v) for k, v in wanted if b"k0100" <= k < b"k0300"]
        assert list(db.scan(b"k0100", b"k0300", contains=needle)) == inside


WORDS = [b"red", b"green", b"blue", b"redgreen", b"k1"]
NEEDLES = [b"red", b"green", b"d g", b"en", b"k1", b"redgreen", b"n r", b"absent"]  # some span words


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.integers(0, 40), st.none() | st.lists(st.sampled_from(WORDS), max_size=4)),
                    max_size=150),
       needle=st.sampled_from(NEEDLES), reopen=st.booleans())
def test_scan_contains_matches_a_dict(engine_name, ops, needle, reopen):
    """Keys in random order, overwrites and deletes leave dead records holding the bytes,
    needles span words (and so the edges of a search's hits): only live values holding
    the bytes come back, in order, both ways."""
    with tempfile.TemporaryDirectory() as tmp:
        options = {**SMALL_OPTIONS.get(engine_name, {}), "sync": "off"}
        db = storage.open(os.path.join(tmp, "db"), engine=engine_name, **options)
        model = {}
        for n, words in ops:
            key = b"k%d" % n
            if words is None:
                db.delete(key)
                model.pop(key, None)
            else:
                db.put(key, b" ".join(words))
                model[key] = b" ".join(words)
        if reopen and engine_name != storage.MEMORY:
            db.close()
            db = storage.open(os.path.join(tmp, "db"), engine=engine_name, **options)
        wanted = sorted((k, v) for k, v in model.items() if needle in v)
        try:
            assert list(db.scan(contains=needle)) == wanted
            assert list(db.scan(contains=needle, reverse=True)) == wanted[::-1]
        finally:
            db.close()


def test_scan_sees_a_snapshot(open_engine):
    db = open_engine()
    for i in range(100):
        db.put(b"k%03d" % i, b"old")
    it = db.scan()
    first = next(it)
    db.put(b"k050", b"new")
    db.put(b"k999", b"added")
    db.delete(b"k060")
    rest = list(it)
    seen = dict([first, *rest])
    assert seen[b"k050"] == b"old" and b"k999" not in seen and b"k060" in seen
    assert len(seen) == 100


@pytest.mark.parametrize("bad", ["str", 1, None, bytearray(b"x"), memoryview(b"x")])
def test_non_bytes_raise_type_error_and_write_nothing(open_engine, bad):
    db = open_engine()
    db.put(b"k", b"v")
    before = db.stats()
    with pytest.raises(TypeError):
        db.put(bad, b"v")
    with pytest.raises(TypeError):
        db.put(b"k", bad)
    with pytest.raises(TypeError):
        db.get(bad)
    with pytest.raises(TypeError):
        db.delete(bad)
    with pytest.raises(TypeError):
        bad in db  # noqa: B015
    with pytest.raises(TypeError), db.batch() as b:
        b.put(b"other", b"v")
        b.put(bad, b"v")
    assert db.stats() == before and db.get(b"other") is None


def test_size_limits(open_engine):
    db = open_engine()
    before = db.stats()
    with pytest.raises(ValueError):
        db.put(b"", b"v")
    with pytest.raises(ValueError):
        db.put(b"k" * (64 * 1024 + 1), b"v")
    with pytest.raises(ValueError):
        db.get(b"")
    # A value one byte over 256 MiB, built without holding a second copy.
    with pytest.raises(ValueError):
        db.put(b"k", bytes(256 * 1024 * 1024 + 1))
    assert db.stats() == before and len(db) == 0
    db.put(b"k" * (64 * 1024), b"max key")
    assert db.get(b"k" * (64 * 1024)) == b"max key"


@pytest.mark.files
def test_large_value_round_trip(open_engine):
    db = open_engine()
    big = os.urandom(3 * 1024 * 1024)  # larger than a segment: written whole anyway
    db.put(b"big", big)
    db.close()
    db = open_engine()
    assert db.get(b"big") == big


def test_bad_arguments(open_engine, engine_name, tmp_path):
    with pytest.raises(ValueError):
        storage.open(tmp_path / "x", engine=engine_name, sync="sometimes")
    with pytest.raises(ValueError):
        storage.open(tmp_path / "y", engine="btree")
    with pytest.raises(TypeError):
        storage.open(tmp_path / "z", engine=engine_name, no_such_option=1)
    db = open_engine()
    with pytest.raises(TypeError):
        db.scan(start="a")


def test_closed_engine_refuses_work(open_engine):
    db = open_engine()
    db.put(b"k", b"v")
    db.close()
    db.close()  # idempotent
    for call in (lambda: db.get(b"k"), lambda: db.put(b"k", b"v"), lambda: len(db),
                 lambda: db.scan(), lambda: db.stats(), lambda: db.flush(), db.compact):
        with pytest.raises(storage.ClosedError):
            call()


@pytest.mark.files
def test_context_manager_closes(open_engine, engine_name, tmp_path):
    with storage.open(tmp_path / "cm", engine=engine_name) as db:
        db.put(b"k", b"v")
    with pytest.raises(storage.ClosedError):
        db.get(b"k")
    with storage.open(tmp_path / "cm", engine=engine_name) as db:
        assert db.get(b"k") == b"v"


@pytest.mark.files
def test_stats_shape(open_engine):
    db = open_engine()
    for i in range(300):
        db.put(b"k%d" % (i % 50), b"v" * 40)
    stats = db.stats()
    assert stats["keys"] == 50 == len(db)
    assert stats["bytes_written"] >= 300 * 40 and stats["disk_bytes"] > 50 * 40
    assert stats["live_bytes"] > 0 and stats["dead_bytes"] > 0
    assert stats["total_bytes"] == stats["live_bytes"] + stats["dead_bytes"]
    db.compact()
    after = db.stats()
    assert after["dead_bytes"] < stats["dead_bytes"] and after["keys"] == 50
    assert dict(db.scan()) == {b"k%d" % i: b"v" * 40 for i in range(50)}


@pytest.mark.files
@pytest.mark.parametrize("sync", ["full", "normal", "off"])
def test_sync_modes_write_and_flush(open_engine, sync):
    db = open_engine(sync=sync)
    db.put(b"k", b"v")
    with db.batch() as b:
        b.put(b"j", b"w")
    db.flush()
    db.close()
    db = open_engine(sync=sync)
    assert db.get(b"k") == b"v" and db.get(b"j") == b"w"


@pytest.mark.files
def test_a_regular_file_as_the_path_is_refused_untouched(engine_name, tmp_path):
    path = tmp_path / "file.db"
    path.write_bytes(b"some user data")
    with pytest.raises(storage.FormatError):
        storage.open(path, engine=engine_name)
    assert path.read_bytes() == b"some user data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.db"]


# Plain strangers, near-misses of an engine's names, and the other engine's names.
STRANGERS = ["notes.txt", "subdir", "000012.sst.bak", "12.sst", "MANIFEST-000001",
             "0000000001-0000.seg.bak"]
OTHER_ENGINES_NAMES = {"hash": ["000001.log", "000012.sst", "MANIFEST"],
                       "lsm": ["0000000001-0000.seg", "0000000001-0000.hint"]}


@pytest.mark.files
def test_a_file_that_is_not_the_engines_is_refused_untouched(engine_name, tmp_path):
    for n, name in enumerate(STRANGERS + OTHER_ENGINES_NAMES[engine_name]):
        db_path = tmp_path / f"db{n}"
        with storage.open(db_path, engine=engine_name) as db:
            db.put(b"k", b"v")
        if name == "subdir":
            (db_path / name).mkdir()
        else:
            (db_path / name).write_bytes(b"not ours\n")
        before = files(db_path, skip=("LOCK",))
        with pytest.raises(storage.FormatError) as excinfo:
            storage.open(db_path, engine=engine_name)
        assert name in str(excinfo.value)
        assert files(db_path, skip=("LOCK",)) == before, f"refusing {name} still changed the directory"


@pytest.mark.files
def test_another_engines_directory_is_refused_untouched(engine_name, tmp_path):
    db_dir = tmp_path / "db"
    with storage.open(db_dir, engine=engine_name) as db:
        db.put(b"k", b"v")
    before = files(db_dir, skip=("LOCK",))
    for other in storage.ENGINES:
        if other != engine_name:
            with pytest.raises(storage.FormatError) as excinfo:
                storage.open(db_dir, engine=other)
            assert engine_name in str(excinfo.value) and other in str(excinfo.value)
    assert files(db_dir, skip=("LOCK",)) == before
    with storage.open(db_dir, engine=engine_name) as db:
        assert db.get(b"k") == b"v"


@pytest.mark.files
@pytest.mark.parametrize("kind", ["foreign-files", "other-engine", "newer-version", "garbage-identity"])
def test_directory_of_something_else_is_refused_untouched(engine_name, tmp_path, kind):
    db_path = tmp_path / "db"
    db_path.mkdir()
    if kind == "foreign-files":
        (db_path / "photo.jpg").write_bytes(b"\xff\xd8\xff" + bytes(100))
        (db_path / "nested").mkdir()
        (db_path / "nested" / "a.txt").write_text("hello")
    else:
        with storage.open(db_path, engine=engine_name) as db:
            for i in range(50):
                db.put(b"k%d" % i, b"v" * 50)
        other = next(e for e in ("hash", "lsm") if e != engine_name)
        identity = {"other-engine": f"docdb-storage {other} 1\n".encode(),
                    "newer-version": f"docdb-storage {engine_name} 99\n".encode(),
                    "garbage-identity": b"\x00\x01garbage"}[kind]
        (db_path / "DOCDB").write_bytes(identity)
    before = files(db_path, skip=("LOCK",))
    with pytest.raises(storage.FormatError):
        storage.open(db_path, engine=engine_name)
    assert files(db_path, skip=("LOCK",)) == before, "refusing the directory still changed it"


@pytest.mark.files
def test_second_open_is_locked(open_engine, engine_name, tmp_path):
    open_engine()
    with pytest.raises(storage.LockedError, match=str(os.getpid())):
        storage.open(tmp_path / "db", engine=engine_name)
    code = (
        "import storage, sys\n"
        "try:\n"
        f"    storage.open({str(tmp_path / 'db')!r}, engine={engine_name!r})\n"
        "except storage.LockedError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert str(os.getpid()) in proc.stdout


def test_threads_share_an_engine(open_engine):
    db = open_engine()
    errors = []

    def worker(n):
        try:
            for i in range(300):
                key = b"t%d-%d" % (n, i)
                db.put(key, key)
                assert db.get(key) == key
                if i % 7 == 0:
                    with db.batch() as b:
                        b.put(key + b"b", b"1")
                        b.delete(key)
        except Exception as e:  # noqa: BLE001 - surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    expected = {}
    for n in range(4):
        for i in range(300):
            key = b"t%d-%d" % (n, i)
            if i % 7 == 0:
                expected[key + b"b"] = b"1"
            else:
                expected[key] = key
    assert dict(db.scan()) == expected and len(db) == len(expected)


def test_scan_after_close_raises_closed_error(open_engine):
    db = open_engine()
    for i in range(20):
        db.put(b"k%02d" % i, b"v")
    it = db.scan()
    next(it)
    db.close()
    with pytest.raises(storage.ClosedError):
        next(it)


@pytest.mark.files
def test_a_read_only_open_beside_the_writer_sees_its_files_as_they_were(open_engine, engine_name, tmp_path):
    """readonly=True takes no lock and writes nothing: it reads what the files hold when
    it opens (the writer's acknowledged writes), and stays that snapshot while the writer
    goes on -- even through a compaction that deletes the files it reads."""
    db = open_engine()
    for i in range(300):
        db.put(b"k%03d" % i, b"v%d" % i * 20)
    with db.batch() as b:
        b.delete(b"k000")
        b.put(b"extra", b"x")
    expected = dict(db.scan())
    db.close()  # so no background work of the writer changes a file while this looks
    before = files(tmp_path / "db", skip=("LOCK",))
    quiet = storage.open(tmp_path / "db", engine=engine_name, readonly=True)
    quiet.close()
    assert files(tmp_path / "db", skip=("LOCK",)) == before
    db = open_engine()
    reader = storage.open(tmp_path / "db", engine=engine_name, readonly=True)
    assert dict(reader.scan()) == expected and len(reader) == len(expected)
    assert reader.get(b"k001") == expected[b"k001"] and reader.get(b"k000") is None
    assert reader.get_many([b"extra", b"nope"]) == [b"x", None]
    for i in range(300):
        db.put(b"k%03d" % i, b"changed")
    db.compact()
    assert dict(reader.scan()) == expected and reader.get(b"k002") == expected[b"k002"]
    with pytest.raises(storage.StorageError, match="read-only"):
        reader.put(b"k", b"v")
    with pytest.raises(storage.StorageError, match="read-only"), reader.batch() as b:
        b.put(b"k", b"v")
    reader.flush()
    reader.compact()  # nothing to do, and no error
    reader.close()
    again = storage.open(tmp_path / "db", engine=engine_name, readonly=True)
    assert again.get(b"k002") == b"changed" and len(again) == 301  # k000 is back
    again.close()


@pytest.mark.files
def test_a_read_only_open_creates_nothing(engine_name, tmp_path):
    with pytest.raises(storage.FormatError, match="creates nothing"):
        storage.open(tmp_path / "none", engine=engine_name, readonly=True)
    assert not (tmp_path / "none").exists()
