"""Commits are all or nothing: after a crash, after an I/O error, and to readers in other threads.

A child process (``txn_crash_writer.py``) commits transaction after transaction,
each touching two collections (one with a unique and a multikey index, the
other on the other engine), a table with a UNIQUE column and a secondary
index, with inserts, updates and deletes (and every third one DDL: an index
built, a collection made or dropped), acknowledging each after ``commit()``
returned, under ``sync="normal"``, ``"full"`` or ``"off"`` (each survives a process
crash). Tiny thresholds make checkpoints, LSM flushes and compactions and hash rollovers and merges happen
every few transactions. The parent SIGKILLs it -- at a random moment, or by
asking it to kill itself at the N-th time it reaches a step of a commit, a
checkpoint, a drop, or an LSM flush or compaction -- then reopens the database
and requires exactly the state after the acknowledged transactions, or after
those and the one in flight: every acknowledged transaction wholly there,
nothing of a later one, no transaction in part, no left-over store directory.
Indexes must agree with the data (every index lookup returns what a scan does,
and examines no stale entry). Rounds continue in the same directory, so
recovery runs on top of recoveries, and more is written after the last.

Then the same model with injected I/O errors (a commit the log refuses, one it
holds but the engines do not take) and with readers in other threads, which
must never see part of a commit.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest

import docdb
import storage
from docdb.models import db
from tests.models.txn_crash_writer import EMPTY, EVENTS, OPTIONS, create, model, perform
from tests.storage import crash_parent
from tests.storage.lsm_crash_writer import EVENTS as LSM_EVENTS

WRITER = Path(__file__).with_name("txn_crash_writer.py")
ROUND_TIMEOUT = 60.0
DIE_TIMEOUT = 20.0  # a DIE_AT child whose event never comes is killed after this long


def connect(directory: Path, engine: str) -> docdb.Connection:
    return docdb.connect(directory, engine=engine, sync="full", **OPTIONS)


def read_all(conn: docdb.Connection) -> dict:
    return {"a": {d["_id"]: d for d in conn.collection("a").find()},
            "b": {d["_id"]: d for d in conn.collection("b").find()},
            "t": {r["id"]: r for r in conn.table("t").rows()},
            "tmp": {d["_id"]: d for d in conn.collection("tmp").find()},
            "a_indexes": [ix["name"] for ix in conn.collection("a").list_indexes()]}


def describe(want: dict, found: dict) -> str:
    notes = []
    for name, items in found.items():
        if isinstance(items, dict):
            notes.append(f"{name}: missing {sorted(set(want[name]) - set(items))[:5]}, "
                         f"unexpected {sorted(set(items) - set(want[name]))[:5]}, "
                         f"different {[k for k in items if items[k] != want[name].get(k)][:5]}")
        elif items != want[name]:
            notes.append(f"{name}: {items}, expected {want[name]}")
    return "; ".join(notes)


def check_indexes(conn: docdb.Connection, state: dict, count: int) -> None:
    """Every index lookup returns what a scan does, and no lookup examines a stale entry."""
    a, t = conn.collection("a"), conn.table("t")
    docs, rows = state["a"], state["t"]
    everything = a.find({"k": {"$gte": 0}})
    assert everything.explain()["index"] == "k_1" and everything.explain()["keys_examined"] == len(docs)
    assert sorted(d["_id"] for d in everything) == sorted(docs)
    tags = range(25)  # every value a transaction writes (i % 5, 10 + i % 7, 20 + i % 3)
    examined = 0
    for tag in tags:
        found = a.find({"tags": tag})
        assert sorted(d["_id"] for d in found) == sorted(i for i, d in docs.items() if tag in d["tags"])
        examined += found.explain()["keys_examined"]
    assert examined == sum(len(set(d["tags"])) for d in docs.values()), "stale multikey entries"
    examined = 0
    for g in range(4):
        assert sorted(r["id"] for r in t.rows({"g": g})) == sorted(i for i, r in rows.items() if r["g"] == g)
        examined += t.explain({"g": g})["keys_examined"]
    assert examined == len(rows), "stale entries in t's index on g"
    for k in range(max(0, count - 40), count + 2):  # rows deleted lately, live rows, the next one
        plan = t.explain({"k": k})
        assert plan["index"] == "k_unique" and plan["keys_examined"] == (k in rows) == plan["returned"]
    if "next_1" in state["a_indexes"]:  # built on existing data by a create_index in the commit
        assert a.find({"next": {"$gte": 0}}).explain()["index"] == "next_1"
        assert sorted(d["_id"] for d in a.find({"next": {"$gte": 0}})) == sorted(
            i for i, d in docs.items() if "next" in d)


def judge(directory: Path, engine: str, acked: int, states: list[dict], context: str) -> int:
    """Reopen; the database must hold ``states[acked]`` or ``states[acked + 1]``. Returns which."""
    while len(states) <= acked + 1:
        states.append(model(states[-1], len(states) - 1))
    with connect(directory, engine) as conn:
        found = read_all(conn)
        count = found["b"].get("counter", {"n": 0})["n"]
        assert count in (acked, acked + 1), (
            f"{context}: {acked} transactions were acknowledged, the counter says {count}")
        assert found == states[count], (f"{context}: the database holds part of a transaction "
                                        f"around {count}: {describe(states[count], found)}")
        check_indexes(conn, found, count)
    conn.close()  # the last to close checkpoints: the directories of dropped stores go
    with connect(directory, engine) as conn:
        on_disk = {int(name.split("-")[0]) for name in os.listdir(directory / "objects")}
        assert on_disk <= set(conn._db.catalog.stores()), "left-over stores"
    conn.close()
    return count


def crash_rounds(directory: Path, engine: str, rounds: int, base_seed: int,
                 die_at: tuple[str, int] | None = None) -> dict:
    """``rounds`` kills in one directory, taking sync="normal", "full" and "off" in turn; ``die_at=(event,
    n)`` makes the child kill itself at the k-th event, k <= n random. Returns counts."""
    rng = random.Random(base_seed)
    with docdb.connect(directory, engine=engine, **OPTIONS) as conn:
        create(conn, engine)
    conn.close()
    states, count, acked_total, died = [EMPTY], 0, 0, 0
    for n in range(rounds):
        seed = base_seed * 1000 + n
        sync = ("normal", "full", "off")[n % 3]
        args = [str(WRITER), str(directory), engine, sync, str(count)]
        if die_at:
            args.append(f"{die_at[0]}:{rng.randint(1, die_at[1])}")
        outcome = crash_parent.run_and_kill(
            args, seed, rng, max_target=40, early_sleep=0.5, pause=0.01,
            timeout=DIE_TIMEOUT if die_at else ROUND_TIMEOUT, kills_itself=bool(die_at))
        died += outcome.died_at is not None
        acked_total += outcome.last_ack + 1
        count = judge(directory, engine, count + outcome.last_ack + 1, states,
                      f"{engine}, seed {seed}, {sync}, died at {outcome.died_at or 'a random moment'}")
    return {"acked": acked_total, "present": count, "died": died}


def keeps_working(directory: Path, engine: str, count: int) -> None:
    """After the crashes: more transactions commit, and a reopen finds them and only them."""
    with connect(directory, engine) as conn:
        for i in range(count, count + 5):
            perform(conn, i)
    conn.close()
    states = [EMPTY]
    for i in range(count + 5):
        states.append(model(states[-1], i))
    assert judge(directory, engine, count + 5, states, "after the crash rounds") == count + 5


# ----- readers in other threads --------------------------------------------------------------------


def states_upto(n: int) -> list[dict]:
    states = [EMPTY]
    for i in range(n):
        states.append(model(states[-1], i))
    return states


def test_a_reader_never_sees_a_checkpoint_half_done(tmp_path, monkeypatch):
    """Deterministic: another connection reads after each store a checkpoint writes: always
    the whole state. (A process opening the database meanwhile waits for the checkpoint:
    CHECKPOINT is held exclusive while engines change.)"""
    path, states = tmp_path / "db", states_upto(2)
    conn = connect(path, "lsm")
    create(conn, "lsm")
    perform(conn, 0)
    perform(conn, 1)
    reader, seen = connect(path, "lsm"), []
    real_write = db.Database._write_engine

    def write_then_read(self, *args):
        real_write(self, *args)
        seen.append(read_all(reader))

    monkeypatch.setattr(db.Database, "_write_engine", write_then_read)
    conn.compact()
    assert len(seen) >= 7 and all(state == states[2] for state in seen)
    monkeypatch.undo()
    check_indexes(reader, states[2], 2)
    reader.close()
    conn.close()


@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_readers_in_other_threads_see_only_whole_commits(tmp_path, engine):
    """The writer runs long transactions (the statements of 10 of ``perform``'s, then one
    commit); readers in two other threads read everything, and whenever no commit landed
    meanwhile (the counter did not move) what they read must be the state after a multiple
    of 10 transactions: never an uncommitted statement, never part of a commit."""
    path, states = tmp_path / "db", states_upto(80)
    conn = connect(path, engine)
    create(conn, engine)
    done, failures, judged = threading.Event(), [], [0]

    def counter(reader) -> int:
        return (reader.collection("b").find_one({"_id": "counter"}) or {"n": 0})["n"]

    def read_loop():
        reader = connect(path, engine)
        try:
            while not done.is_set():
                n, found = counter(reader), read_all(reader)
                if counter(reader) == n:
                    judged[0] += 1
                    if n % 10 or found != states[n]:
                        failures.append(n)
                # A breath between reads: a thread that never waits holds the writer up at
                # each of its system calls under CPython's GIL (docs/reliability.md).
                time.sleep(0.001)
        except BaseException as error:  # a reader that dies must fail the test
            failures.append(repr(error))
        finally:
            reader.close()

    readers = [threading.Thread(target=read_loop) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for i in range(80):
            perform(conn, i, commit=i % 10 == 9)
    finally:
        done.set()
        for thread in readers:
            thread.join()
    conn.close()
    assert not failures and judged[0] > 0, failures[:5]


# ----- I/O errors in a commit (injected) -----------------------------------------------------------


def test_a_commit_the_log_refuses_commits_nothing(tmp_path, monkeypatch):
    path = tmp_path / "db"
    conn = connect(path, "lsm")
    conn.collection("a").insert_one({"_id": 1})
    conn.commit()
    before = sorted(os.listdir(path / "objects"))
    conn.create_table("t", {"id": "INTEGER"}).insert({"id": 1})
    conn.collection("a").insert_one({"_id": 2})

    def full_disk(data):  # what the log's file raises when os.write fails
        raise storage.StorageError("could not append to 'txlog': [Errno 28] No space left on device")

    monkeypatch.setattr(conn._db.log._log, "append", full_disk)
    with pytest.raises(docdb.OperationalError, match="nothing was committed"):
        conn.commit()
    monkeypatch.undo()
    assert sorted(os.listdir(path / "objects")) == before and conn.tables() == []
    conn.collection("a").insert_one({"_id": 3})  # the writer lock was released
    conn.commit()
    conn.close()
    conn = connect(path, "lsm")
    assert [d["_id"] for d in conn.collection("a").find()] == [1, 3] and conn.tables() == []
    conn.close()


def test_a_commit_whose_log_fsync_fails_is_taken_back_out(tmp_path, monkeypatch):
    """sync="full": the batch is written but its fsync fails; the commit is reported as not
    done, so it must not stay in the log (a reopen would replay it)."""
    path = tmp_path / "db"
    conn = connect(path, "lsm")
    conn.collection("a").insert_one({"_id": 1})
    conn.commit()
    log = conn._db.log.path  # the current generation's
    size = os.path.getsize(log)

    def failing_sync():
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(conn._db.log._log, "sync", failing_sync)
    conn.collection("a").insert_one({"_id": 2})
    with pytest.raises(docdb.OperationalError, match="nothing was committed"):
        conn.commit()
    assert os.path.getsize(log) == size
    monkeypatch.undo()
    # A failed fsync is final for this process (the kernel may have dropped pages that a
    # later fsync would then pretend are durable): writes are refused until a reopen.
    conn.collection("a").insert_one({"_id": 3})
    with pytest.raises(docdb.OperationalError, match="no more writes until it is opened again"):
        conn.commit()
    assert [d["_id"] for d in conn.collection("a").find()] == [1]
    conn.close()
    conn = connect(path, "lsm")
    conn.collection("a").insert_one({"_id": 3})
    conn.commit()
    assert [d["_id"] for d in conn.collection("a").find()] == [1, 3]
    conn.close()


def test_a_checkpoint_that_fails_loses_nothing(tmp_path, monkeypatch):
    """An I/O error while a checkpoint writes the engines: the commit before it stands (it is
    in the log, which stays whole), and the next checkpoint -- or a reopen -- finishes."""
    path = tmp_path / "db"
    conn = connect(path, "lsm")
    conn.collection("a").insert_one({"_id": 1})
    conn.commit()
    conn.create_table("t", {"id": "INTEGER"}).insert({"id": 1})
    conn.collection("a").insert_one({"_id": 2})
    conn.commit()
    real_write, calls = db.Database._write_engine, []

    def second_fails(self, *args):
        calls.append(args[0])
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_write(self, *args)

    monkeypatch.setattr(db.Database, "_write_engine", second_fails)
    with pytest.raises(docdb.OperationalError, match="No space left"):
        conn.compact()
    monkeypatch.undo()
    expected = ([1, 2], [{"id": 1}])
    assert ([d["_id"] for d in conn.collection("a").find()], conn.table("t").rows()) == expected
    other = connect(path, "lsm")  # reads the half-written engines with the whole log over them
    assert ([d["_id"] for d in other.collection("a").find()], other.table("t").rows()) == expected
    other.close()
    conn.collection("a").insert_one({"_id": 3})
    conn.commit()
    conn.compact()
    conn.close()
    conn = connect(path, "lsm")
    found = ([d["_id"] for d in conn.collection("a").find()], conn.table("t").rows())
    assert found == ([1, 2, 3], [{"id": 1}])
    conn.close()


# ----- SIGKILL at random moments ------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_kill_at_random_moments(tmp_path, engine):
    directory = tmp_path / "db"
    seen = crash_rounds(directory, engine, rounds=8, base_seed={"lsm": 1, "hash": 2}[engine])
    assert seen["acked"] > 0, "no transaction was ever acknowledged: the test tested nothing"
    keeps_working(directory, engine, seen["present"])


# ----- SIGKILL at a step of a commit, a checkpoint, an LSM flush or compaction ---------------------


@pytest.mark.parametrize("event", EVENTS)
def test_kill_in_commit_and_checkpoint_steps(tmp_path, event):
    """``logged``: a commit just in the log; at a checkpoint -- ``engine``: some stores' engines
    written, others not; ``checkpoint``: an engine fsynced; ``new-log``: the next generation's
    log made, the old one not sealed (the next writer seals it); ``removing``: a dropped
    store's directory half removed. The log stays whole through all of them."""
    engine = ("lsm", "hash")[EVENTS.index(event) % 2]
    seen = crash_rounds(tmp_path / "db", engine, rounds=3, base_seed=10 + EVENTS.index(event),
                        die_at=(event, {"logged": 20, "engine": 30, "checkpoint": 40, "new-log": 4,
                                        "removing": 6}[event]))
    assert seen["died"] >= 2, f"the child reached {event} in only {seen['died']} of 3 rounds"


@pytest.mark.parametrize("event", ["sst-rename", "manifest-renamed", "sst-unlink"])
def test_kill_in_lsm_flush_and_compaction_steps(tmp_path, event):
    seen = crash_rounds(tmp_path / "db", "lsm", rounds=2, base_seed=20 + LSM_EVENTS.index(event),
                        die_at=(event, 30))
    assert seen["died"] >= 1, f"the child reached {event} in none of the rounds"


# ----- many more rounds ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_kill_many_rounds(tmp_path, engine):
    directory = tmp_path / "db"
    seen = crash_rounds(directory, engine, rounds=40, base_seed={"lsm": 101, "hash": 102}[engine])
    keeps_working(directory, engine, seen["present"])


@pytest.mark.slow
@pytest.mark.parametrize("event", EVENTS + LSM_EVENTS)
@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_kill_at_each_step_many_rounds(tmp_path, event, engine):
    directory = tmp_path / "db"
    seen = crash_rounds(directory, engine, rounds=10, base_seed=200 + (EVENTS + LSM_EVENTS).index(event),
                        die_at=(event, 80))
    keeps_working(directory, engine, seen["present"])
