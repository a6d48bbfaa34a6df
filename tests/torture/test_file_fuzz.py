"""Damaged files are found, never served: random bit flips, zeroed runs and truncations of
every file of a database -- hash segments and hint files, SSTables, LSM logs and manifests,
the transaction log, the catalog's store, identity files.

For each damage, on a copy of a database (one closed cleanly, one copied while commits
were still in its log): opening it either fails with a docdb error or succeeds; every
row and document it then serves is exactly one that was stored (a read may fail with a
docdb error instead); and if anything stored is missing, ``conn.check()`` says so --
except the log's last transaction, which a damaged tail is indistinguishable from a
write a crash cut short (LevelDB and SQLite drop it the same way). No other exception
ever escapes. ``DOCDB_FUZZ_CASES`` sets the cases per engine and state (default 60;
``pytest -m slow`` runs 600).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

import docdb

SKIP = {"LOCK", "WRITER", "CHECKPOINT"}  # lock files: their bytes mean nothing
OPTIONS = {
    "checkpoint_bytes": 20_000,
    "storage_options": {
        "lsm": {"memtable_bytes": 2048, "fanout": 3, "block_bytes": 256},
        "hash": {"segment_bytes": 8192, "merge_min_bytes": 1 << 30},
    },
}
LAST_ID = 10_000  # the last transaction's row: the one a damaged log tail may take


def build(path: Path, engine: str, close: bool) -> tuple[dict, dict]:
    """A database with several files of every kind; (rows by id, documents by _id)."""
    conn = docdb.connect(path, engine=engine, **OPTIONS)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, s TEXT)")
    conn.execute("CREATE INDEX t_v ON t (v)")
    conn.collection("c").create_index("k")
    rng = random.Random(7)
    for batch in range(6):
        conn.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            [(i, rng.randrange(100), "x" * rng.randrange(60)) for i in range(batch * 60, batch * 60 + 60)],
        )
        conn.collection("c").insert_many(
            [{"_id": i, "k": i % 9, "tags": ["a", i]} for i in range(batch * 40, batch * 40 + 40)]
        )
        conn.execute("UPDATE t SET v = v + 1 WHERE id % 7 = ?", (batch,))
        conn.commit()
        if batch == 2:
            conn.compact()
    conn.execute("DELETE FROM t WHERE id % 11 = 0")
    conn.commit()
    conn.execute("INSERT INTO t VALUES (?, 0, 'last')", (LAST_ID,))
    conn.commit()
    rows = {r[0]: r for r in conn.execute("SELECT id, v, s FROM t")}
    docs = {d["_id"]: d for d in conn.collection("c").find({})}
    if close:
        conn.close()
    else:
        shutil.copytree(path, str(path) + "-open")  # as a crash would leave it: commits in the log
        conn.close()
        shutil.rmtree(path)
        os.rename(str(path) + "-open", path)
    return rows, docs


def damage(path: Path, rng: random.Random) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name not in SKIP and p.stat().st_size)
    target = rng.choice(files)
    data = bytearray(target.read_bytes())
    how = rng.choice(["flip", "flip", "zero", "truncate"])
    at = rng.randrange(len(data))
    if how == "flip":
        data[at] ^= 1 << rng.randrange(8)
    elif how == "zero":
        end = min(len(data), at + rng.randint(1, 64))
        data[at:end] = bytes(end - at)
    else:
        del data[at:]
    target.write_bytes(bytes(data))
    return f"{how} {target.relative_to(path)} at {at}"


def served(path: Path) -> tuple[dict | None, dict | None, list | None]:
    """What a fresh connection serves (None where it refused with a docdb error), and check."""
    try:
        conn = docdb.connect(path)
    except docdb.Error:
        return None, None, None
    try:
        try:
            rows = {r[0]: r for r in conn.execute("SELECT id, v, s FROM t")}
        except docdb.Error:
            rows = None
        try:
            docs = {d["_id"]: d for d in conn.collection("c").find({})}
        except docdb.Error:
            docs = None
        try:
            problems = conn.check()
        except docdb.Error as error:
            problems = [str(error)]
        return rows, docs, problems
    finally:
        try:
            conn.close()
        except docdb.Error:
            pass


def fuzz(tmp_path: Path, engine: str, close: bool, cases: int, seed: int) -> dict:
    original = tmp_path / "original"
    rows, docs = build(original, engine, close)
    rng = random.Random(seed)
    outcome = {"refused": 0, "reported": 0, "harmless": 0}
    for case in range(cases):
        copy = tmp_path / f"case{case}"
        shutil.copytree(original, copy)
        what = damage(copy, rng)
        got_rows, got_docs, problems = served(copy)
        if problems is None:
            outcome["refused"] += 1
        else:
            for got, stored, name in ((got_rows, rows, "row"), (got_docs, docs, "document")):
                if got is None:
                    continue
                wrong = [k for k, v in got.items() if stored.get(k) != v]
                assert not wrong, f"{what}: served a {name} never stored: {got[wrong[0]]}"
            missing = (set(rows) - set(got_rows or {})) | (set(docs) - set(got_docs or {}))
            if problems:
                outcome["reported"] += 1
            else:
                assert got_rows is not None and got_docs is not None, (
                    f"{what}: a read failed, check found nothing"
                )
                assert missing <= {LAST_ID}, f"{what}: {len(missing)} missing, check found nothing"
                outcome["harmless"] += 1
        shutil.rmtree(copy)
    return outcome


@pytest.mark.parametrize("close", [True, False], ids=["closed", "mid-log"])
@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_damaged_files_are_found_not_served(tmp_path, engine, close):
    outcome = fuzz(tmp_path, engine, close, int(os.environ.get("DOCDB_FUZZ_CASES", 60)), seed=11)
    assert outcome["refused"] + outcome["reported"] > 0, outcome


@pytest.mark.slow
@pytest.mark.parametrize("close", [True, False], ids=["closed", "mid-log"])
@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_damaged_files_are_found_not_served_long(tmp_path, engine, close):
    outcome = fuzz(tmp_path, engine, close, 600, seed=random.randrange(1 << 30))
    print(f"file fuzz {engine} {'closed' if close else 'mid-log'}: {outcome}")  # shown with -s
