"""I/O faults below the engines, injected by ``faultfs``: every one gives a docdb error
(never a bare ``OSError``), loses no acknowledged commit, and once the fault is gone a
reopened database holds exactly the acknowledged commits and passes ``check``.

* a failing ``write`` (``EIO``, ``ENOSPC``) fails that commit only; the next may succeed;
* short writes are completed, not torn;
* a full disk (every write-like call fails from some point on) fails commits and
  checkpoints cleanly; reads go on;
* a failed ``fsync`` of the log stops this process's writes until the database is opened
  again (PostgreSQL's lesson: a later fsync that succeeds proves nothing);
* the log deleted or cut short behind the database's back is refused, not written into.
"""

from __future__ import annotations

import errno
import os
import random
import time

import pytest

import docdb
from tests.torture.faultfs import FaultFS

OPTIONS = {
    "checkpoint_bytes": 3_000,
    "storage_options": {
        "lsm": {"memtable_bytes": 1024, "fanout": 2, "block_bytes": 512},
        "hash": {"segment_bytes": 8192, "merge_min_bytes": 2048},
    },
}
WRITE_OPS = ("open", "write", "truncate", "allocate", "rename", "unlink", "mkdir")


def connect(path, engine="lsm", sync="full", **extra):
    return docdb.connect(path, engine=engine, sync=sync, **OPTIONS, **extra)


def create(conn) -> None:
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, s TEXT)")
    conn.execute("CREATE INDEX t_v ON t (v)")
    conn.collection("c").create_index("v")
    conn.commit()


def commit_one(conn, i: int) -> None:
    """Transaction i: a row and a document with id i; every third one deletes i - 2."""
    try:
        conn.execute("INSERT INTO t VALUES (?, ?, ?)", (i, i % 7, "x" * (i % 50)))
        conn.collection("c").insert_one({"_id": i, "v": i % 7})
        if i % 3 == 0 and i >= 2:
            conn.execute("DELETE FROM t WHERE id = ?", (i - 2,))
            conn.collection("c").delete_one({"_id": i - 2})
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def expected(acked: list[int]) -> set[int]:
    ids = set(acked)
    return ids - {i - 2 for i in acked if i % 3 == 0 and i >= 2}


def held(path, engine="lsm") -> set[int]:
    conn = connect(path, engine)
    try:
        assert conn.check() == []
        rows = {row[0] for row in conn.execute("SELECT id FROM t")}
        assert rows == {doc["_id"] for doc in conn.collection("c").find({})}
        return rows
    finally:
        conn.close()


def run(conn, first: int, count: int, acked: list[int], errors: list[str]) -> None:
    """Commit transactions first..first+count-1, recording which were acknowledged."""
    for i in range(first, first + count):
        try:
            commit_one(conn, i)
            acked.append(i)
        except docdb.Error as error:  # a bare OSError or anything else fails the test
            errors.append(str(error))


@pytest.mark.parametrize("engine", ["lsm", "hash"])
@pytest.mark.parametrize("code", [errno.EIO, errno.ENOSPC], ids=["EIO", "ENOSPC"])
def test_a_failing_write_fails_that_commit_only(tmp_path, engine, code):
    rng = random.Random(code)
    for attempt in range(6):
        path = tmp_path / f"db{attempt}"
        conn = connect(path, engine)
        create(conn)
        acked, errors = [], []
        with FaultFS(str(path), fail_at=rng.randint(1, 60), fail_ops=WRITE_OPS, errno=code) as fs:
            run(conn, 0, 40, acked, errors)
        assert fs.failed == 1
        run(conn, 40, 5, acked, errors)  # the fault is gone: writes go on
        assert acked[-5:] == list(range(40, 45))
        conn.close()
        assert held(path, engine) == expected(acked)


@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_short_writes_are_completed(tmp_path, engine):
    path = tmp_path / "db"
    conn = connect(path, engine)
    create(conn)
    acked, errors = [], []
    with FaultFS(str(path), fail_at=1, fail_ops=("write",), sticky=True, short=True) as fs:
        run(conn, 0, 40, acked, errors)
        conn.compact()
    assert fs.failed > 40 and errors == [] and acked == list(range(40))
    conn.close()
    assert held(path, engine) == expected(acked)


@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_a_full_disk_fails_cleanly_and_reads_go_on(tmp_path, engine):
    rng = random.Random(engine)
    for attempt in range(4):
        path = tmp_path / f"db{attempt}"
        conn = connect(path, engine, sync="normal")
        create(conn)
        acked, errors = [], []
        with FaultFS(
            str(path),
            fail_at=rng.randint(1, 80),
            fail_ops=WRITE_OPS + ("fsync",),
            errno=errno.ENOSPC,
            sticky=True,
        ):
            run(conn, 0, 40, acked, errors)
            assert errors, "the disk filled up, yet every commit succeeded"
            with pytest.raises(docdb.OperationalError):
                conn.compact()
            # Reads see exactly what was acknowledged.
            assert {row[0] for row in conn.execute("SELECT id FROM t")} == expected(acked)
        conn.close()
        assert held(path, engine) == expected(acked)  # the reopen reads what the disk holds
        conn = connect(path, engine)
        run(conn, 100, 3, acked, errors)  # usable again once there is space
        conn.close()
        assert held(path, engine) == expected(acked)


@pytest.mark.parametrize("sync", ["full", "normal"])
def test_a_failed_log_fsync_stops_writes_until_reopened(tmp_path, sync):
    path = tmp_path / "db"
    conn = connect(path, sync=sync, sync_interval=0.01)
    create(conn)
    acked, errors = [], []
    run(conn, 0, 5, acked, errors)
    with FaultFS(str(path), fail_at=1, fail_ops=("fsync",), errno=errno.EIO):
        run(conn, 5, 1, acked, errors)  # "full": its fsync fails; "normal": the syncer's will
        deadline = time.monotonic() + 10
        while sync == "normal" and conn._db.log._syncer.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
    run(conn, 6, 3, acked, errors)  # the fault is gone, but this process cannot know it
    assert len(errors) >= 3 and all("no more writes until it is opened again" in e for e in errors[-3:])
    assert acked == list(range(5)) + ([5] if sync == "normal" else [])
    conn.close()
    conn = connect(path)
    run(conn, 10, 2, acked, errors)
    conn.close()
    assert held(path) == expected(acked)


def test_a_deleted_or_truncated_log_is_refused(tmp_path):
    for damage in ("delete", "truncate"):
        path = tmp_path / damage
        conn = connect(path)
        create(conn)
        acked, errors = [], []
        run(conn, 0, 3, acked, errors)
        log = conn._db.log.path
        if damage == "delete":
            os.unlink(log)
        else:
            os.truncate(log, 0)
        run(conn, 3, 1, acked, errors)
        assert acked == [0, 1, 2]
        assert errors == [errors[0]] and ("deleted" if damage == "delete" else "cut short") in errors[0]
        conn.close()
