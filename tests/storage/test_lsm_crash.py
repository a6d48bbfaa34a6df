"""Crash tests for the LSM engine: SIGKILL a writer at random moments and in the middle of
every step of a flush and a compaction, then check the survivors.

A child process (``lsm_crash_writer.py``) writes a seeded stream of puts, deletes
and batches with tiny thresholds (2-8 KiB memtables, 256-byte blocks, fanout 2:
a rotation, a flush and often a compaction every few operations) and
acknowledges each one on stdout after it returned. The parent kills it, either
after a random number of acknowledgements plus a random delay, or by asking it
to kill itself at the N-th time it reaches a given step of a flush or a
compaction (``DIE_AT``). Then it reopens the directory and requires the engine
to hold exactly the acknowledged state, or that state plus the one operation
that was in flight: every acknowledged write is there with its exact value, no
batch is half visible, nothing is served that was never written. Each round
continues in the same directory, so recovery is also tested on top of earlier
recoveries (and a kill can land in the flush that recovery itself performs).
"""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import pytest

import storage
from storage.lsm.manifest import Manifest
from tests.storage import crash_ops, crash_parent, lsm_crash_writer
from tests.storage.lsm_crash_writer import EVENTS, KEYS, apply, operations, options

WRITER = Path(__file__).with_name("lsm_crash_writer.py")
ROUND_TIMEOUT = 60.0
DIE_TIMEOUT = 20.0  # a DIE_AT child whose event never comes is killed after this long


def run_child(directory: Path, seed: int, mode: str, sync: str, memtable_bytes: int,
              rng: random.Random, die_at: str | None = None) -> crash_parent.Outcome:
    """Run one writer and let it be SIGKILLed: by the parent at a random moment, or by itself."""
    args = [str(WRITER), str(directory), str(seed), mode, sync, str(memtable_bytes)]
    if die_at:
        args.append(die_at)
    return crash_parent.run_and_kill(args, seed, rng, max_target=150, early_sleep=0.3, pause=0.01,
                                     timeout=DIE_TIMEOUT if die_at else ROUND_TIMEOUT,
                                     kills_itself=bool(die_at))


def read_back(directory: Path, sync: str, memtable_bytes: int) -> dict[bytes, bytes]:
    """Reopen ``directory`` and return its contents, checking get, scans and len agree."""
    with storage.open(directory, **options(sync, memtable_bytes)) as engine:
        found = dict(engine.scan())
        assert list(found) == sorted(found), "scan is not in key order"
        assert [k for k, _ in engine.scan(reverse=True)] == sorted(found, reverse=True)
        lo, hi = KEYS[40], KEYS[120]
        assert dict(engine.scan(lo, hi)) == {k: v for k, v in found.items() if lo <= k < hi}
        assert len(engine) == len(found)
        for key in KEYS:
            assert engine.get(key) == found.get(key), f"get and scan disagree on {key!r}"
        assert set(found) <= set(KEYS), f"keys that were never written: {set(found) - set(KEYS)}"
    return found


def check_round(directory: Path, model: dict[bytes, bytes], seed: int, last_ack: int,
                sync: str, memtable_bytes: int, died_at: str | None = None) -> dict:
    """Apply the acknowledged ops to ``model``; the engine must match it, or it plus the op in flight."""
    return crash_parent.judge(model, operations(seed), last_ack,
                              lambda: read_back(directory, sync, memtable_bytes),
                              f"seed {seed}, died at {died_at or 'a random moment'}")


def assert_directory_tidy(directory: Path) -> None:
    """After a clean open and close: only the files the manifest accounts for remain."""
    manifest = Manifest.load(str(directory))
    names = set(os.listdir(directory))
    tables = {n for n in names if n.endswith(".sst")}
    assert tables == {f"{number:06d}.sst" for number, _ in manifest.tables}, (
        f"tables on disk {sorted(tables)} are not the manifest's {manifest.tables}"
    )
    logs = {n for n in names if n.endswith(".log")}
    assert all(int(n[:-4]) >= manifest.log_number for n in logs), "an obsolete log was kept"
    assert names - tables - logs == {"DOCDB", "LOCK", "MANIFEST"}, f"unexpected files: {sorted(names)}"


def crash_rounds(directory: Path, rounds: int, mode: str, base_seed: int, sync: str = "full",
                 memtable_bytes: int = 4096, die_at: tuple[str, int] | None = None) -> dict:
    """``rounds`` kills in one directory; ``die_at=(event, n)`` kills at the k-th event, k <= n."""
    rng = random.Random(base_seed)
    model: dict[bytes, bytes] = {}
    acked = died = 0
    # Created here, not by a child: a kill while creating is test_kill_while_creating_a_new_directory.
    storage.open(directory, **options(sync, memtable_bytes)).close()
    for n in range(rounds):
        seed = base_seed * 1000 + n
        spec = f"{die_at[0]}:{rng.randint(1, die_at[1])}" if die_at else None
        outcome = run_child(directory, seed, mode, sync, memtable_bytes, rng, spec)
        acked += outcome.last_ack + 1
        died += outcome.died_at is not None
        model = check_round(directory, model, seed, outcome.last_ack, sync, memtable_bytes, spec)
    assert acked > 0, "no operation was ever acknowledged: the test tested nothing"
    if die_at:
        assert died >= (rounds + 1) // 2, (
            f"the child reached {die_at[0]} in only {died} of {rounds} rounds: the test tested little"
        )
    assert_directory_tidy(directory)
    return model


# ----- the child and its stream ---------------------------------------------------------------


def test_writer_stream_is_deterministic():
    first = [op for _, op in zip(range(50), operations(7))]
    assert first == [op for _, op in zip(range(50), operations(7))]
    assert {op[0] for op in first} == {"put", "delete", "batch"}
    assert lsm_crash_writer.MAX_OPS > 10_000


def test_writer_stream_fills_memtables_quickly(tmp_path):
    """The stream must make the engine rotate, flush and compact within the first ops."""
    model: dict[bytes, bytes] = {}
    with storage.open(tmp_path / "db", **options("off", 4096)) as engine:
        for _, op in zip(range(150), operations(5)):
            crash_ops.perform(engine, op)
            apply(model, op)
        stats = engine.stats()
        assert dict(engine.scan()) == model
    assert stats["flushes"] >= 5 and stats["compactions"] >= 2, stats


# ----- SIGKILL at random moments ----------------------------------------------------------------


def test_kill_during_writes_keeps_acknowledged_state(tmp_path):
    crash_rounds(tmp_path / "db", rounds=5, mode="plain", base_seed=1)


def test_kill_during_constant_flushes_keeps_acknowledged_state(tmp_path):
    """A 1 KiB memtable: nearly every write rotates, so most kills land inside a flush."""
    crash_rounds(tmp_path / "db", rounds=5, mode="plain", base_seed=2, memtable_bytes=1024)


def test_kill_during_compaction_keeps_acknowledged_state(tmp_path):
    crash_rounds(tmp_path / "db", rounds=5, mode="compact", base_seed=3)


@pytest.mark.parametrize("sync", ["normal", "off"])
def test_kill_with_relaxed_sync_keeps_acknowledged_state(tmp_path, sync):
    """The contract: every sync mode survives a process crash (writes reach the OS)."""
    crash_rounds(tmp_path / "db", rounds=3, mode="compact", base_seed=4, sync=sync)


@pytest.mark.parametrize("event", ["log-unpublished", "log-grow"])
@pytest.mark.parametrize("sync", ["full", "normal", "off"])
def test_kill_in_the_mapped_log_keeps_acknowledged_state(tmp_path, sync, event):
    """The buffered (memory-mapped) log path, in each sync mode: the writer dies with a
    write copied into the log but not published, or as the log grows. A 1 MiB memtable
    keeps flushes out of the way, so the log is all there is."""
    crash_rounds(tmp_path / "db", rounds=3, mode="plain", base_seed=40 + len(sync),
                 sync=sync, memtable_bytes=1 << 20, die_at=(event, 30 if event == "log-unpublished" else 2))


# ----- SIGKILL at each step of a flush and a compaction ---------------------------------------------


@pytest.mark.parametrize("event", EVENTS)
def test_kill_at_each_step_of_flush_and_compaction(tmp_path, event):
    """The child kills itself at the k-th time it reaches ``event`` (k random, small), which
    may be in the flush that recovery of the previous round performs."""
    crash_rounds(tmp_path / "db", rounds=3, mode="plain", base_seed=10 + EVENTS.index(event),
                 memtable_bytes=2048, die_at=(event, 6))


def test_kill_at_steps_of_full_compaction(tmp_path):
    """Kills inside compact() called in a loop: input deletion and the manifest swap."""
    for n, event in enumerate(("sst-renamed", "manifest-renamed", "sst-unlink")):
        crash_rounds(tmp_path / event, rounds=2, mode="compact", base_seed=30 + n,
                     memtable_bytes=4096, die_at=(event, 12))


def test_kill_while_creating_a_new_directory(tmp_path):
    """A directory killed while being created, after ``DOCDB`` is written but before the first
    ``MANIFEST`` is, must open again, and open empty: nothing was acknowledged, so nothing
    is lost or damaged, and open must not fail (e.g. with a bare ``FileNotFoundError`` for
    MANIFEST). A hash directory behaves the same, see
    ``test_interrupted_creation_leftover_identity_tmp``."""
    directory = tmp_path / "db"
    outcome = run_child(directory, 1, "plain", "full", 4096, random.Random(0), "manifest-rename:1")
    assert outcome.died_at == "manifest-rename" and outcome.last_ack == -1
    assert sorted(os.listdir(directory)) == ["DOCDB", "LOCK", "MANIFEST.tmp"]
    assert read_back(directory, "full", 4096) == {}


def test_directory_is_writable_after_crash_rounds(tmp_path):
    directory = tmp_path / "db"
    model = crash_rounds(directory, rounds=2, mode="compact", base_seed=5)
    with storage.open(directory, **options("full", 4096)) as engine:
        engine.put(b"after", b"crash")
        engine.delete(KEYS[0])
        engine.compact()
    model[b"after"] = b"crash"
    model.pop(KEYS[0], None)
    with storage.open(directory, **options("full", 4096)) as engine:
        assert dict(engine.scan()) == model
    assert_directory_tidy(directory)


# ----- the power-loss protocol, by syscall trace -------------------------------------------------------


def _trace_syncs(monkeypatch, events: list[tuple[str, str]]) -> None:
    """Record, in order, every file created, renamed into place, fsynced or fdatasynced
    (by path) in this process."""
    real_open, real_fsync, real_fdatasync = os.open, os.fsync, os.fdatasync

    def name_of(fd: int) -> str:
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return "?"

    def traced_open(path, flags, *args, **kwargs):
        existed = os.path.exists(path)
        fd = real_open(path, flags, *args, **kwargs)
        if flags & os.O_CREAT and not existed:
            events.append(("create", os.path.abspath(os.fspath(path))))
        return fd

    def traced_fsync(fd):
        events.append(("fsync", name_of(fd)))
        real_fsync(fd)

    def traced_fdatasync(fd):
        events.append(("fdatasync", name_of(fd)))
        real_fdatasync(fd)

    real_replace = os.replace

    def traced_replace(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        events.append(("rename", os.path.abspath(os.fspath(dst))))

    monkeypatch.setattr(os, "replace", traced_replace)
    monkeypatch.setattr(os, "open", traced_open)
    monkeypatch.setattr(os, "fsync", traced_fsync)
    monkeypatch.setattr(os, "fdatasync", traced_fdatasync)


def _hold_table_writes(monkeypatch, at_most: float) -> threading.Event:
    """Hold every table write (flush or compaction) until the returned event is set, or for
    ``at_most`` seconds, so what happens before it lands is deterministic."""
    import storage.lsm.engine as lsm_engine

    release = threading.Event()
    real_finish = lsm_engine.TableBuilder.finish

    def held_finish(builder):
        release.wait(at_most)
        return real_finish(builder)

    monkeypatch.setattr(lsm_engine.TableBuilder, "finish", held_finish)
    return release


def _fill_until_rotation(engine, directory: Path) -> tuple[Path, Path]:
    """Put until the memtable rotates to a new log; return (the old log, the new one)."""
    (old_log,) = set(directory.glob("*.log"))
    for i in range(1000):
        logs = set(directory.glob("*.log"))
        if logs != {old_log}:
            (new_log,) = logs - {old_log}
            return old_log, new_log
        engine.put(b"key-%04d" % i, b"x" * 100)
    raise AssertionError("the memtable never rotated")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name descriptors")
def test_new_log_is_durable_before_a_write_to_it_is_acknowledged(tmp_path, monkeypatch):
    """With sync="full", a write acknowledged into a freshly rotated log must survive a power
    loss. The rotation creates ``<n>.log`` and later writes are fdatasync'ed into it, but
    fsync of a file does not make its name durable (POSIX), so the directory must be fsynced
    after the log is created and before the first write to it is acknowledged, not only
    when the background flush installs its table. (The hash engine fsyncs the directory
    after it creates a segment, and ``storage.files`` does after every rename.)

    The flush is held back (``TableBuilder.finish`` waits) so the order is deterministic."""
    directory = Path(os.path.realpath(tmp_path)) / "db"  # as /proc names it
    engine = storage.open(directory, **options("full", 2048))
    events: list[tuple[str, str]] = []
    hold = _hold_table_writes(monkeypatch, 30)
    _trace_syncs(monkeypatch, events)
    try:
        _, new_log = _fill_until_rotation(engine, directory)
        engine.put(b"into-the-new-log", b"acknowledged")
        events.append(("ack", "into-the-new-log"))
    finally:
        hold.set()
        engine.close()
    created = events.index(("create", str(new_log)))
    acked = events.index(("ack", "into-the-new-log"))
    between = events[created:acked]
    assert ("fdatasync", str(new_log)) in between, f"the write was not synced: {between}"
    assert ("fsync", str(directory)) in between, (
        f"{new_log.name} was created and a write to it acknowledged with sync='full', but the "
        f"directory was never fsynced in between: a power loss can lose the log's name and the "
        f"acknowledged write. Syncs in between: {between}"
    )
    with storage.open(directory, **options("full", 2048)) as engine:
        assert engine.get(b"into-the-new-log") == b"acknowledged"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name descriptors")
def test_flush_with_sync_off_makes_the_rotated_log_durable(tmp_path, monkeypatch):
    """``flush()`` must "make every acknowledged write durable, whatever the sync mode"
    (``Engine.flush``), including with sync="off" the writes of a memtable that was just
    rotated out. Until the background flush has installed their table, they live only in
    the previous log, which the rotation closed without an fsync (sync="off"), so fsyncing
    the current log is not enough: ``flush()`` must fsync the previous log too, or wait for
    the table, so that a power loss right after it returns loses none of them.

    The background flush is held back (for at most 2 s, so an engine whose flush() waits
    for it is not stuck), which makes the order deterministic."""
    directory = Path(os.path.realpath(tmp_path)) / "db"  # as /proc names it
    engine = storage.open(directory, **options("off", 2048))
    events: list[tuple[str, str]] = []
    flushed = _hold_table_writes(monkeypatch, 2)
    _trace_syncs(monkeypatch, events)
    try:
        old_log, new_log = _fill_until_rotation(engine, directory)
        engine.put(b"one-more", b"in the new log")
        events.append(("flush", "begin"))
        engine.flush()
        events.append(("flush", "end"))
    finally:
        flushed.set()
        engine.close()
    during = events[events.index(("create", str(new_log))):events.index(("flush", "end"))]
    made_durable = {("fsync", str(old_log)), ("fdatasync", str(old_log)),
                    ("rename", str(directory / "MANIFEST"))}
    assert made_durable & set(during), (
        f"flush() returned, but {old_log.name}, which holds the only copy on disk of the "
        f"acknowledged writes of the rotated memtable, was not fsynced since the rotation, "
        f"and no table holding them was installed. Syncs from the rotation on: {during}"
    )


# ----- many more rounds ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["plain", "compact"])
@pytest.mark.parametrize("memtable_bytes", [1024, 4096, 8192])
def test_kill_many_rounds(tmp_path, mode, memtable_bytes):
    crash_rounds(tmp_path / "db", rounds=40, mode=mode, base_seed=100 + memtable_bytes,
                 memtable_bytes=memtable_bytes)


@pytest.mark.slow
@pytest.mark.parametrize("sync", ["normal", "off"])
@pytest.mark.parametrize("mode", ["plain", "compact"])
def test_kill_many_rounds_relaxed_sync(tmp_path, sync, mode):
    crash_rounds(tmp_path / "db", rounds=40, mode=mode, base_seed=200, sync=sync)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["plain", "compact"])
@pytest.mark.parametrize("event", EVENTS)
def test_kill_at_each_step_many_rounds(tmp_path, event, mode):
    crash_rounds(tmp_path / "db", rounds=15, mode=mode, base_seed=300 + EVENTS.index(event),
                 memtable_bytes=2048, die_at=(event, 25))
