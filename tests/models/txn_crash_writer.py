"""Child process of the transaction crash tests: commits transactions across objects until killed.

Run as ``python txn_crash_writer.py DIR ENGINE SYNC START [DIE_AT]``. It opens the
database in ``DIR`` (made by the parent with ``create``) with tiny thresholds
(``OPTIONS``: a checkpoint every few commits, 4 KiB memtables, 16 KiB hash
segments), prints ``OPEN``, then commits transaction ``START``, ``START + 1``, ...
(``perform``: writes to collection ``a`` and its unique and multikey indexes,
to the counter in collection ``b`` on the other engine, and to table ``t`` and its
UNIQUE and secondary indexes; every third one also creates or drops an index
and a collection), printing ``ACK n`` after the n-th ``commit()``
of this run returned (``tests.storage.crash_ops.say``: one write per line). It
runs until it is SIGKILLed; any exception is printed as ``ERR ...`` (status 3).

``DIE_AT`` (``EVENT:N``) makes it SIGKILL itself at the N-th ``EVENT``: one of
``EVENTS`` below, or a step of an LSM flush or compaction
(``tests.storage.lsm_crash_writer.EVENTS``). It prints ``DIE EVENT`` first.

* ``logged``     a commit is in the log, no engine has it yet
* ``apply``      a commit has reached some of its stores (killed after a store's batch)
* ``checkpoint`` a checkpoint has fsynced some engines, the log is not yet emptied
* ``removing``   a dropped store's directory is half removed (its ``DOCDB`` file is gone)

The parent imports ``model``, ``EMPTY``, ``create`` and ``OPTIONS`` to build the
state that ``n`` transactions leave.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import sys
import time

try:
    from tests.storage import crash_ops, lsm_crash_writer
except ImportError:  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from tests.storage import crash_ops, lsm_crash_writer

KEEP_A, KEEP_T = 30, 25  # transaction i deletes what transaction i - KEEP_* inserted
OTHER = {"lsm": "hash", "hash": "lsm"}
OPTIONS = {"checkpoint_bytes": 12_000,
           "storage_options": {"lsm": {"memtable_bytes": 4096, "fanout": 2, "block_bytes": 256},
                               "hash": {"segment_bytes": 16384, "merge_min_bytes": 4096}}}
# a commit in the log; at a checkpoint: a store's engine written, an engine's fsync, the next
# generation's log made (before the old one is sealed), a dropped store's directory removed
EVENTS = ("logged", "engine", "checkpoint", "new-log", "removing")
EMPTY = {"a": {}, "b": {}, "t": {}, "tmp": {}, "a_indexes": ["_id_", "k_1", "tags_1"]}


def pad(i: int) -> str:
    """Some transactions are big, so memtables rotate and segments roll over."""
    return "p" * ((i * 7919) % 700 + (2500 if i % 9 == 0 else 0))


def create(conn, engine: str) -> None:
    conn.create_collection("a", engine=engine)
    conn.collection("a").create_index("k", unique=True)
    conn.collection("a").create_index("tags")
    conn.create_collection("b", engine=OTHER[engine])
    conn.create_table("t", {"id": "INTEGER", "k": "INTEGER UNIQUE", "g": "INTEGER", "p": "TEXT"},
                      primary_key="id")
    conn.table("t").create_index("g")
    conn.commit()


def perform(conn, i: int, commit: bool = True) -> None:
    """The statements of transaction ``i``, and its commit."""
    a, b, t = conn.collection("a"), conn.collection("b"), conn.table("t")
    a.insert_one({"_id": i, "k": i, "tags": [i % 5, 10 + i % 7], "p": pad(i)})
    if i > 0:
        a.update_one({"_id": i - 1}, {"$set": {"next": i}, "$push": {"tags": 20 + i % 3}})
    if i >= KEEP_A:
        a.delete_one({"_id": i - KEEP_A})
    b.update_one({"_id": "counter"}, {"$inc": {"n": 1}, "$set": {"last": i}}, upsert=True)
    t.insert({"id": i, "k": i, "g": i % 4, "p": pad(i)})
    if i > 0:
        t.update(i - 1, {"g": (i + 1) % 4})
    if i >= KEEP_T:
        t.delete(i - KEEP_T)
    if i % 6 == 2:  # DDL: an index built on existing data, a collection (a new store) made...
        a.create_index("next")
        conn.collection("tmp").insert_one({"_id": i})
    elif i % 6 == 5:  # ... and dropped (its directories go after the commit)
        a.drop_index("next_1")
        conn.drop("tmp")
    if commit:
        conn.commit()


def model(state: dict, i: int) -> dict:
    """The state after transaction ``i``, from the state before it (as ``read_all`` shows it)."""
    state = copy.deepcopy(state)
    a, b, t = state["a"], state["b"], state["t"]
    a[i] = {"_id": i, "k": i, "tags": [i % 5, 10 + i % 7], "p": pad(i)}
    if i > 0:
        a[i - 1]["next"] = i
        a[i - 1]["tags"].append(20 + i % 3)
    a.pop(i - KEEP_A, None)
    counter = b.setdefault("counter", {"_id": "counter", "n": 0})
    counter["n"] += 1
    counter["last"] = i
    t[i] = {"id": i, "k": i, "g": i % 4, "p": pad(i)}
    if i > 0:
        t[i - 1]["g"] = (i + 1) % 4
    t.pop(i - KEEP_T, None)
    if i % 6 == 2:
        state["a_indexes"] = [*state["a_indexes"], "next_1"]
        state["tmp"] = {i: {"_id": i}}
    elif i % 6 == 5:
        state["a_indexes"] = state["a_indexes"][:-1]
        state["tmp"] = {}
    return state


def _die(event: str) -> None:
    crash_ops.say("DIE " + event)
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)  # never returns


def install_die_at(spec: str) -> None:
    """Wrap the commit and checkpoint steps so the process kills itself at the N-th ``EVENT``."""
    event, _, count = spec.partition(":")
    if event in lsm_crash_writer.EVENTS:
        lsm_crash_writer.install_die_at(spec)
        return
    if event not in EVENTS:
        raise SystemExit(f"unknown event {event!r}; choose one of {EVENTS + lsm_crash_writer.EVENTS}")
    import storage.hash
    import storage.lsm
    from docdb.models import db, txlog

    target, seen, armed = int(count), [0], [False]

    def reached(name: str) -> None:
        if name == event:
            seen[0] += 1
            if seen[0] == target:
                _die(event)

    def wrap(cls, name, before=None, after=None):
        real = getattr(cls, name)

        def wrapped(self, *args, **kwargs):
            if before:
                before()
            result = real(self, *args, **kwargs)
            if after:
                after()
            return result
        setattr(cls, name, wrapped)

    def disarm():
        armed[0] = False

    wrap(txlog.LogWriter, "append", after=lambda: reached("logged"))
    wrap(db.Database, "_write_engine", after=lambda: reached("engine"))
    real_create_log = db.create_log

    def create_log(*args):
        real_create_log(*args)
        reached("new-log")
    db.create_log = create_log
    real_rmtree = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        if os.path.exists(os.path.join(path, "DOCDB")):
            os.unlink(os.path.join(path, "DOCDB"))
            reached("removing")
        real_rmtree(path, *args, **kwargs)
    shutil.rmtree = rmtree
    wrap(db.Database, "_checkpoint", before=lambda: armed.__setitem__(0, "checkpoint"), after=disarm)
    for engine in (storage.lsm.LSMEngine, storage.hash.HashEngine):
        wrap(engine, "flush", after=lambda: armed[0] == "checkpoint" and reached("checkpoint"))


def main(argv: list[str]) -> None:
    directory, engine, sync, start = argv[0], argv[1], argv[2], int(argv[3])
    if len(argv) > 4:
        install_die_at(argv[4])
    import docdb

    try:
        conn = docdb.connect(directory, engine=engine, sync=sync, **OPTIONS)
    except Exception:  # noqa: BLE001 -- any failure is reported to the parent
        crash_ops.fail("open")
    crash_ops.say("OPEN")
    try:
        for n in range(crash_ops.MAX_OPS):
            perform(conn, start + n)
            crash_ops.say(f"ACK {n}")
    except Exception:  # noqa: BLE001 -- any failure is reported to the parent
        crash_ops.fail("write")
    crash_ops.say("DONE")


if __name__ == "__main__":
    main(sys.argv[1:])
