"""Power loss, simulated by ``faultfs``: bytes and names not fsynced are gone.

A writer process (``powerloss_worker.py``) runs transactions over tables, a collection,
indexes, schema changes, checkpoints and compaction, and "loses power" at a random
write-like call. The test rebuilds what a disk would still hold, opens it, and checks:

* it opens, and ``conn.check()`` finds nothing wrong (indexes agree with their data);
* it holds exactly the first k transactions, whole, for some k (never a part of one,
  never one without those before it);
* with ``sync="full"`` every acknowledged transaction is among them; in every mode
  nothing from an earlier round (on disk before the round began) is lost, and at most
  the one transaction in flight is there beyond what was acknowledged.

Each round carries on from the previous round's survivor, so recovery from a power
loss is itself interrupted by the next. ``DOCDB_POWER_ROUNDS`` sets the rounds per
engine and mode (default 4 in CI; ``pytest -m slow`` runs 40).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import docdb
from tests.torture.faultfs import CRASH_EXIT, rebuild
from tests.torture.powerloss_worker import expected, tables

WORKER = Path(__file__).with_name("powerloss_worker.py")
ROOT = Path(__file__).resolve().parents[2]
PER_ROUND = 30  # transactions a round attempts
EVENTS_PER_ROUND = 700  # about what PER_ROUND transactions cost in write-like calls


def state(path: str, where: str) -> tuple[int, dict]:
    """(k, what the database holds), after checking it."""
    conn = docdb.connect(path)
    try:
        problems = conn.check()
        assert problems == [], f"{where}: {problems}"
        names = tables(conn)
        if "led" not in names:
            return 0, expected(0)
        led = [row[0] for row in conn.execute("SELECT id FROM led ORDER BY id")]
        k = len(led)
        assert led == list(range(k)), f"not a prefix of the transactions: {led}"
        t_ids = {row[0] for row in conn.execute("SELECT id FROM t")}
        c_ids = {doc["_id"] for doc in conn.collection("c").find({})}
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(t)")}
        held = {
            "ids": t_ids,
            "index": "t_s" in indexes,
            "tables": {n for n in names if n.startswith("x")},
            "tot": tuple(conn.execute("SELECT n, s FROM tot").fetchone()),
        }
        assert c_ids == t_ids, "the collection and the table disagree"
        return k, held
    finally:
        conn.close()


def run_rounds(tmp_path: Path, engine: str, sync: str, rounds: int, seed: int) -> dict:
    rng = random.Random(seed)
    current = tmp_path / "db-0"
    current.mkdir()
    k = 0
    crashes = 0
    for round_no in range(rounds):
        shadow, acks = tmp_path / f"shadow-{round_no}", tmp_path / f"acks-{round_no}"
        crash_at = 0 if round_no == rounds - 1 else rng.randint(1, EVENTS_PER_ROUND)
        work = tmp_path / f"work-{round_no}"  # the survivor stays as it was, to look at
        shutil.copytree(current, work)
        done = subprocess.run(
            [
                sys.executable,
                str(WORKER),
                str(work),
                str(shadow),
                str(acks),
                engine,
                sync,
                str(crash_at),
                str(seed),
                str(PER_ROUND),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode in (0, CRASH_EXIT), done.stderr
        crashes += done.returncode == CRASH_EXIT
        acked = [int(line) for line in acks.read_text().split()] if acks.exists() else []
        survivor = tmp_path / f"db-{round_no + 1}"
        rebuild(str(shadow), str(survivor))
        where = f"round {round_no} (power lost at write-like call {crash_at})"
        new_k, held = state(str(survivor), where)
        assert held == expected(new_k), f"{where}: transaction {new_k - 1} is not whole"
        assert new_k >= k, f"{where}: lost {k - new_k} transactions from before the round"
        in_flight = acked[-1] + 2 if acked else k + 1
        assert new_k <= in_flight, f"{where}: {new_k} transactions, only {len(acked)} acknowledged"
        if sync == "full" or done.returncode == 0:  # a clean close is durable in every mode
            assert new_k >= (acked[-1] + 1 if acked else k), (
                f"{where} ({sync}): acknowledged {acked[-1]}, only {new_k} survived"
            )
        k, current = new_k, survivor
    return {"crashes": crashes, "transactions": k}


def rounds_wanted(default: int) -> int:
    return int(os.environ.get("DOCDB_POWER_ROUNDS", default))


@pytest.mark.parametrize("sync", ["full", "normal", "off"])
@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_power_loss(tmp_path, engine, sync):
    seed = zlib.crc32(f"{engine} {sync}".encode())
    result = run_rounds(tmp_path, engine, sync, rounds_wanted(4), seed=seed)
    assert result["transactions"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("sync", ["full", "normal", "off"])
@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_power_loss_long(tmp_path, engine, sync):
    result = run_rounds(tmp_path, engine, sync, rounds_wanted(40), seed=random.randrange(1 << 16))
    print(f"power loss {engine} {sync}: {result}")  # shown with -s: the figures docs/reliability.md gives
    assert result["crashes"] > 0
