"""Scans and gets of the LSM engine under concurrent writes, deletes, flushes and compactions.

Tiny thresholds (2 KiB memtables, 256-byte blocks, fanout 2) make every second
of the run rotate memtables, flush them and compact tables in the background,
while one more thread calls ``compact()`` in a loop. Writers own disjoint sets
of *pairs*: keys ``p0042-a`` and ``p0042-b`` are always put (with one value
naming the pair and a generation number) or deleted together, in one batch.
Readers check every result against what the writers had acknowledged before
the read started and what they had issued when it ended:

* a scan is sorted, strictly within its bounds, and a snapshot: it never shows
  one key of a pair without the other, or the two with different values;
* nothing goes back in time: a scan or a get shows the acknowledged generation of
  a key or a newer one, never an older one and never one that was not written;
* ``len()`` counts a snapshot too (pairs only come and go whole, so it stays even).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import storage

OPTIONS = {"engine": "lsm", "sync": "off", "memtable_bytes": 2048, "block_bytes": 256,
           "fanout": 2, "sync_interval": 0.05}
PAIRS = 120
COUNTERS = [b"c%02d" % i for i in range(8)]


def pair_keys(p: int) -> tuple[bytes, bytes]:
    return b"p%04d-a" % p, b"p%04d-b" % p


def pair_of(key: bytes) -> int:
    return int(key[1:5])


def value(p: int, gen: int, rng: random.Random) -> bytes:
    return b"p%04d g%07d |" % (p, gen) + b"x" * rng.choice((0, 10, 60, 300))


def gen_of(v: bytes) -> int:
    return int(v.split(b" ", 2)[1][1:])


class History:
    """What writers issued and acknowledged. A writer owns its pairs and counters, so
    generations of one key only grow; each entry is ``gen -> present`` (False: deleted)."""

    def __init__(self) -> None:
        self.ops: dict[int, dict[int, bool]] = {p: {0: False} for p in range(PAIRS)}
        self.acked = {p: 0 for p in range(PAIRS)}  # newest acknowledged generation of each pair
        self.issued = {p: 0 for p in range(PAIRS)}
        self.counter_acked = dict.fromkeys(COUNTERS, 0)
        self.counter_issued = dict.fromkeys(COUNTERS, 0)

    def snapshot_acked(self) -> dict[int, int]:
        return dict(self.acked)

    def snapshot_issued(self) -> dict[int, int]:
        return dict(self.issued)


class Run:
    """Threads that run ``work(rng)`` until the deadline; the first failure stops them all."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.errors: list[str] = []
        self.counts: dict[str, int] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def going(self) -> bool:
        return not self.errors and time.monotonic() < self.deadline

    def spawn(self, name: str, work: Callable[[random.Random], None], seed: int) -> None:
        def loop() -> None:
            rng = random.Random(seed)
            n = 0
            try:
                while self.going():
                    work(rng)
                    n += 1
            except BaseException as error:  # noqa: BLE001 -- reported by join()
                import traceback

                with self._lock:
                    self.errors.append(f"{name}: {error!r}\n{traceback.format_exc()}")
            with self._lock:
                self.counts[name] = n

        thread = threading.Thread(target=loop, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=120)
            assert not thread.is_alive(), f"{thread.name} is stuck (deadlock?)"
        assert not self.errors, self.errors[0]


def writer(db: storage.Engine, history: History, pairs: list[int], counters: list[bytes]):
    def work(rng: random.Random) -> None:
        roll = rng.random()
        if roll < 0.2:
            c = rng.choice(counters)
            n = history.counter_issued[c] + 1
            history.counter_issued[c] = n
            db.put(c, b"%d" % n)
            history.counter_acked[c] = n
            return
        p = rng.choice(pairs)
        gen = history.issued[p] + 1
        present = roll >= 0.45
        history.ops[p][gen] = present
        history.issued[p] = gen
        a, b = pair_keys(p)
        with db.batch() as batch:
            if present:
                v = value(p, gen, rng)
                batch.put(a, v)
                batch.put(b, v)
            else:
                batch.delete(a)
                batch.delete(b)
        history.acked[p] = gen

    return work


def check_pair(history: History, p: int, seen: bytes | None, before: dict[int, int],
               after: dict[int, int], where: str) -> None:
    """``seen`` (a value, or None: absent) must be a state of pair ``p`` written no earlier
    than its acknowledged state ``before`` the read and no later than what was issued ``after``."""
    ops = history.ops[p]
    lo, hi = before[p], after[p]
    if seen is None:
        assert any(not ops[g] for g in range(lo, hi + 1)), (
            f"{where}: pair {p} is absent, but it was present at every generation from the one "
            f"acknowledged before the read ({lo}) to the newest issued ({hi})"
        )
        return
    gen = gen_of(seen)
    assert seen.startswith(b"p%04d " % p), f"{where}: pair {p} holds another pair's value {seen!r:.20}"
    assert lo <= gen <= hi, (
        f"{where}: pair {p} shows generation {gen}; acknowledged before the read: {lo}, "
        f"issued by its end: {hi} ({'back in time' if gen < lo else 'never written'})"
    )
    assert ops[gen], f"{where}: pair {p} shows generation {gen}, which was a delete"


def scanner(db: storage.Engine, history: History):
    def work(rng: random.Random) -> None:
        lo_p = rng.randrange(PAIRS)
        hi_p = min(PAIRS, lo_p + rng.randint(1, 40))
        start = pair_keys(lo_p)[rng.random() < 0.3]  # sometimes split a pair at the bounds
        stop = pair_keys(hi_p)[rng.random() < 0.3] if hi_p < PAIRS and rng.random() < 0.8 else None
        reverse = rng.random() < 0.4
        before = history.snapshot_acked()
        entries = list(db.scan(start, stop, reverse))
        after = history.snapshot_issued()
        keys = [k for k, _ in entries]
        assert keys == sorted(set(keys), reverse=reverse), "scan is not strictly ordered"
        assert all(k >= start and (stop is None or k < stop) for k in keys), (
            f"scan({start!r}, {stop!r}) yielded {[k for k in keys if k < start or (stop and k >= stop)]}"
        )
        found = dict(entries)
        for p in range(lo_p, hi_p):
            a, b = pair_keys(p)
            if a < start or (stop is not None and b >= stop):
                continue  # the bounds cut this pair
            va, vb = found.get(a), found.get(b)
            assert va == vb, (
                f"scan saw half of a batch: {a!r}={va!r:.24} but {b!r}={vb!r:.24}"
            )
            check_pair(history, p, va, before, after, "scan")
        time.sleep(0.001)

    return work


def getter(db: storage.Engine, history: History):
    last_seen: dict[bytes, int] = {}

    def work(rng: random.Random) -> None:
        time.sleep(0.0002)  # let the writers have the GIL too
        if rng.random() < 0.5:
            c = rng.choice(COUNTERS)
            floor = history.counter_acked[c]
            got = db.get(c)
            ceiling = history.counter_issued[c]
            n = int(got) if got is not None else 0
            assert floor <= n <= ceiling, (
                f"get({c!r}) = {n}: acknowledged before it {floor}, issued by its end {ceiling}"
            )
            assert n >= last_seen.get(c, 0), f"get({c!r}) went back from {last_seen[c]} to {n}"
            last_seen[c] = n
        else:
            p = rng.randrange(PAIRS)
            k = pair_keys(p)[rng.random() < 0.5]
            before = history.snapshot_acked()
            got = db.get(k)
            check_pair(history, p, got, before, history.snapshot_issued(), f"get({k!r})")

    return work


def counter(db: storage.Engine):
    def work(rng: random.Random) -> None:
        n = len(db)
        assert (n - len(COUNTERS)) % 2 == 0, f"len() = {n} counts half a pair"
        time.sleep(0.01)

    return work


def compactor(db: storage.Engine):
    def work(rng: random.Random) -> None:
        db.compact()
        time.sleep(rng.uniform(0, 0.01))

    return work


def model_of(history: History, db: storage.Engine) -> dict[bytes, bytes]:
    """The final contents, from the acknowledged generations (each pair's value from the engine,
    whose generation must be the acknowledged one)."""
    out = {c: b"%d" % n for c, n in history.counter_acked.items()}
    for p in range(PAIRS):
        gen = history.acked[p]
        if history.ops[p][gen]:
            a, b = pair_keys(p)
            v = db.get(a)
            assert v is not None and gen_of(v) == gen
            out[a] = out[b] = v
    return out


def run_workload(path: Path, seconds: float, writers: int = 2, scanners: int = 2, getters: int = 1,
                 compact: bool = True, seed: int = 0) -> tuple[History, dict]:
    db = storage.open(path, **OPTIONS)
    history = History()
    try:
        for c in COUNTERS:
            db.put(c, b"0")
        run = Run(seconds)
        shares = [list(range(w, PAIRS, writers)) for w in range(writers)]
        for w in range(writers):
            run.spawn(f"writer-{w}", writer(db, history, shares[w], COUNTERS[w::writers]), seed + w)
        for r in range(scanners):
            run.spawn(f"scanner-{r}", scanner(db, history), seed + 100 + r)
        for g in range(getters):
            run.spawn(f"getter-{g}", getter(db, history), seed + 200 + g)
        run.spawn("len", counter(db), seed + 300)
        if compact:
            run.spawn("compactor", compactor(db), seed + 400)
        run.join()
        stats = db.stats()
        assert stats["background_error"] is None, stats["background_error"]
        model = model_of(history, db)
        assert dict(db.scan()) == model
        assert len(db) == len(model)
    finally:
        db.close()
    with storage.open(path, **OPTIONS) as db:
        assert dict(db.scan()) == model, "the contents changed across a close and reopen"
    return history, {**run.counts, "flushes": stats["flushes"], "compactions": stats["compactions"]}


def test_scans_and_gets_under_writes_and_compaction(tmp_path):
    _, counts = run_workload(tmp_path / "db", seconds=3.0)
    assert counts["flushes"] >= 10 and counts["compactions"] >= 5, counts
    assert min(counts[f"scanner-{r}"] for r in range(2)) >= 20, counts
    assert min(counts[f"writer-{w}"] for w in range(2)) >= 100, counts


def test_scans_and_gets_under_background_compaction_only(tmp_path):
    """No compact() calls: only the worker's own flushes and size-tiered compactions."""
    _, counts = run_workload(tmp_path / "db", seconds=2.0, writers=3, scanners=1, compact=False,
                             seed=7)
    assert counts["flushes"] >= 10 and counts["compactions"] >= 5, counts


def test_scan_iterator_outlives_compaction_of_its_tables(tmp_path):
    """A scan reads the snapshot it started with, even after every table it holds is
    compacted away and deleted, and after its memtable is flushed."""
    with storage.open(tmp_path / "db", **OPTIONS) as db:
        old = {b"k%04d" % i: b"old-%d" % i * 5 for i in range(600)}
        for k, v in old.items():
            db.put(k, v)
        forward, backward = db.scan(), db.scan(reverse=True)
        head = [next(forward) for _ in range(100)]
        tail = [next(backward) for _ in range(100)]
        before = {p.name for p in (tmp_path / "db").glob("*.sst")}
        for i in range(0, 600, 2):
            db.put(b"k%04d" % i, b"new")
        for i in range(1, 600, 4):
            db.delete(b"k%04d" % i)
        db.put(b"k9999", b"added")
        db.compact()
        db.compact()
        after = {p.name for p in (tmp_path / "db").glob("*.sst")}
        assert not before & after, "the test needs every table of the snapshot deleted"
        assert dict(head + list(forward)) == old
        assert dict(tail + list(backward)) == old
        assert [k for k, _ in tail] == sorted(old, reverse=True)[:100]


def test_many_scans_open_while_writing(tmp_path):
    """Dozens of scans started at different moments, all read to the end later."""
    with storage.open(tmp_path / "db", **OPTIONS) as db:
        model: dict[bytes, bytes] = {}
        rng = random.Random(3)
        scans = []
        for step in range(40):
            for _ in range(30):
                k = b"k%03d" % rng.randrange(200)
                if rng.random() < 0.25:
                    db.delete(k)
                    model.pop(k, None)
                else:
                    v = b"s%d-" % step + k
                    db.put(k, v)
                    model[k] = v
            lo = b"k%03d" % rng.randrange(200)
            reverse = rng.random() < 0.5
            scans.append((db.scan(lo, None, reverse), {k: v for k, v in model.items() if k >= lo},
                          reverse))
            if step % 10 == 9:
                db.compact()
        for it, expected, reverse in scans:
            got = list(it)
            assert [k for k, _ in got] == sorted(expected, reverse=reverse)
            assert dict(got) == expected


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scans_and_gets_under_writes_and_compaction_long(tmp_path, seed):
    run_workload(tmp_path / "db", seconds=30.0, writers=3, scanners=3, getters=2, seed=seed * 1000)


def test_close_waits_for_a_compact_running_in_another_thread(tmp_path, monkeypatch):
    """``close()`` must not return (and release the directory lock) while ``compact()`` is
    still running in another thread. Otherwise that compaction goes on changing a
    directory it no longer owns: if the directory is reopened meanwhile, the new engine deletes the
    compaction's output as a crash leftover, the old compaction then replaces the manifest
    with one naming that output and deletes its input tables, and every table is gone:
    the next open fails with "the manifest lists tables that are gone", the data lost.

    The window (between opening the output table and installing it in the manifest) is
    short; the test widens it by making the compacting thread wait there until close()
    has returned and the directory is reopened (or for at most 2 s, so that an engine
    whose close() does wait is not stuck)."""
    import storage.lsm.engine as lsm_engine

    options = {**OPTIONS, "fanout": 64}  # no background compactions: only the explicit one
    path = tmp_path / "db"
    model = {b"k%04d" % i: b"v%d" % i for i in range(300)}
    with storage.open(path, **options) as db:
        for k, v in model.items():
            db.put(k, v)
    db = storage.open(path, **options)  # recovery flushes the log: the memtable is empty
    time.sleep(0.3)  # let the worker finish its pass over what recovery left
    reached, closed = threading.Event(), threading.Event()
    real_table = lsm_engine.SSTable

    def table(*args, **kwargs):
        opened = real_table(*args, **kwargs)
        if threading.current_thread().name == "user-compact":
            reached.set()
            closed.wait(2)
        return opened

    monkeypatch.setattr(lsm_engine, "SSTable", table)
    errors: list[BaseException] = []

    def compact() -> None:
        try:
            db.compact()
        except BaseException as error:  # noqa: BLE001 -- any outcome but damage is fine
            errors.append(error)

    thread = threading.Thread(target=compact, name="user-compact")
    thread.start()
    assert reached.wait(10), "the compaction never reached its install step"
    db.close()
    thread.join(1)  # it may still be returning; it must not be waiting at its install step
    still_running = thread.is_alive()
    again = storage.open(path, **options)  # as another process could, the lock being free
    closed.set()
    try:
        again.put(b"after", b"close")
        model[b"after"] = b"close"
        thread.join(10)
    finally:
        again.close()
    with storage.open(path, **options) as db:
        assert dict(db.scan()) == model, "data lost"
    assert not still_running, "close() returned while compact() was still running"
