"""Merges of the hash engine: hint files, automatic triggering, and concurrency."""

import os
import threading

import pytest

import storage


def small(path, **options):
    defaults = dict(engine="hash", sync="off", segment_bytes=8192, merge_min_bytes=4096,
                    keydir_dict_max=64, keydir_block=8)
    return storage.open(path, **{**defaults, **options})


def test_compact_drops_dead_data_and_writes_hints(tmp_path):
    with small(tmp_path / "db") as db:
        for round_ in range(20):
            for i in range(50):
                db.put(b"k%02d" % i, b"%d" % round_ * 20)
        for i in range(0, 50, 5):
            db.delete(b"k%02d" % i)
        before = db.stats()
        db.compact()
        after = db.stats()
        assert after["dead_bytes"] == 0 < before["dead_bytes"]
        assert after["total_bytes"] == after["live_bytes"] == before["live_bytes"]
        assert after["hint_files"] >= 1 and after["keys"] == 40
        expected = dict(db.scan())
    names = os.listdir(tmp_path / "db")
    assert any(n.endswith(".hint") for n in names)
    with small(tmp_path / "db") as db:
        assert dict(db.scan()) == expected


def test_automatic_merge_after_rollovers(tmp_path):
    with small(tmp_path / "db", merge_ratio=0.5) as db:
        for round_ in range(60):
            for i in range(20):
                db.put(b"k%02d" % i, bytes([round_]) * 100)
        deadline = 200
        while db.stats()["merge_running"] and deadline:
            threading.Event().wait(0.05)
            deadline -= 1
        stats = db.stats()
        assert stats["merges"] >= 1, stats
        assert stats["last_merge_error"] is None
        assert stats["total_bytes"] < 60 * 20 * 140 / 2
        assert dict(db.scan()) == {b"k%02d" % i: bytes([59]) * 100 for i in range(20)}


@pytest.mark.parametrize("dict_max", [8, 1 << 20], ids=["compact-keydir", "dict-keydir"])
def test_merge_while_threads_read_and_write(tmp_path, dict_max):
    """Readers never see a value older than one acknowledged before they asked; nothing is lost.

    With a dict keydir, gets take the lock-free path, racing merges that
    repoint keys and retire files, and rollovers that seal maps.
    """
    db = small(tmp_path / "db", keydir_dict_max=dict_max)
    n_keys, rounds = 40, 150
    acked = {i: -1 for i in range(n_keys)}
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(part):
        try:
            for r in range(rounds):
                for i in range(part, n_keys, 2):
                    db.put(b"k%02d" % i, b"%06d" % r + b"x" * 80)
                    acked[i] = r
        except BaseException as e:
            errors.append(e)

    def reader():
        try:
            while not stop.is_set():
                for i in range(n_keys):
                    floor = acked[i]
                    value = db.get(b"k%02d" % i)
                    if floor >= 0:
                        assert value is not None and int(value[:6]) >= floor
                for key, value in db.scan(b"k10", b"k20"):
                    assert len(value) == 86 and key < b"k20"
        except BaseException as e:
            errors.append(e)

    def merger():
        try:
            while not stop.is_set():
                db.compact()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(p,)) for p in (0, 1)]
    helpers = [threading.Thread(target=reader), threading.Thread(target=merger)]
    for t in threads + helpers:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in helpers:
        t.join()
    assert not errors, errors
    assert db.stats()["merges"] > 1
    final = {b"k%02d" % i: b"%06d" % (rounds - 1) + b"x" * 80 for i in range(n_keys)}
    assert dict(db.scan()) == final
    db.close()
    with small(tmp_path / "db", keydir_dict_max=dict_max) as db:
        assert dict(db.scan()) == final


def test_scan_survives_a_merge_that_retires_its_segments(tmp_path):
    with small(tmp_path / "db") as db:
        for i in range(300):
            db.put(b"k%03d" % i, b"v%03d" % i * 10)
        it = db.scan()
        head = [next(it) for _ in range(10)]
        for i in range(300):
            db.put(b"k%03d" % i, b"new")
        db.compact()
        db.compact()
        rest = list(it)
        assert dict(head + rest) == {b"k%03d" % i: b"v%03d" % i * 10 for i in range(300)}
        assert all(v == b"new" for _, v in db.scan())


def test_close_during_background_merge_leaves_a_consistent_directory(tmp_path):
    db = small(tmp_path / "db", merge_ratio=0.1)
    for round_ in range(40):
        for i in range(100):
            db.put(b"k%03d" % i, bytes([round_]) * 60)
    db.close()  # cancels or waits for any merge
    leftovers = [n for n in os.listdir(tmp_path / "db") if n.endswith(".tmp")]
    assert leftovers == []
    with small(tmp_path / "db") as db:
        assert dict(db.scan()) == {b"k%03d" % i: bytes([39]) * 60 for i in range(100)}


def test_scans_unpin_segments_when_done_closed_or_dropped_unstarted(tmp_path):
    import gc

    import storage

    engine = storage.open(tmp_path / "h", "hash", "off")
    for i in range(50):
        engine.put(b"k%02d" % i, b"v")
    segments = list(engine._files.values())

    def pins():
        return [segment.pins for segment in segments]

    unstarted = engine.scan()
    assert pins() == [1]
    del unstarted
    gc.collect()
    assert pins() == [0]
    exhausted = engine.scan()
    assert len(list(exhausted)) == 50 and pins() == [0]
    closed = engine.scan()
    next(closed)
    closed.close()
    assert pins() == [0]
    engine.close()
