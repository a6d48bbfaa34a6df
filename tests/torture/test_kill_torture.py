"""Several writer and reader processes, SIGKILLed at random, the lock holder included.

Three writers and two readers (``mixed_worker.py``) run a mixed workload on one database
-- tables, a collection, their indexes, indexes and tables created and dropped, compaction
-- while the harness kills a random process every 0.05-0.4 s and starts a new one in its
place. Each round ends by killing every process at once; then:

* ``docdb check PATH`` (the command, in its own process) must pass;
* for each writer the database holds exactly its transactions 0..k-1, whole, with every
  acknowledged one among them and at most one more per process of it killed (the one in
  flight when it died);
* no reader ever saw a torn state (they check every snapshot).

``DOCDB_TORTURE_SECONDS`` sets the length of a round (default 1.5) and
``DOCDB_TORTURE_ROUNDS`` the rounds per engine (default 3); ``pytest -m slow`` runs
20 rounds of 6 s per engine, about 1,000 kills.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.children import ROOT, Child
from tests.torture import mixed_worker as worker

WORKER = Path(__file__).with_name("mixed_worker.py")
WRITERS = 3
READERS = 2


def docdb_check(path: str) -> list:
    done = subprocess.run(
        [sys.executable, "-c", "import shell; shell.main()", "check", path, "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0, report
    return report


def one_round(path: str, engine: str, seconds: float, rng: random.Random) -> dict:
    children: list[tuple[str, int, Child]] = []
    finished: list[Child] = []

    def start(role: str, writer: int) -> None:
        children.append(
            (role, writer, Child([str(WORKER), path, engine, role, str(writer), str(rng.randrange(1 << 30))]))
        )

    for writer in range(WRITERS):
        start("writer", writer)
    for _ in range(READERS):
        start("reader", -1)
    started = time.monotonic()  # every writer under way before the killing starts
    while not all(any(x.startswith("ACK") for x in c.lines) for role, _w, c in children if role == "writer"):
        assert time.monotonic() < started + 60, "the writers never committed"
        time.sleep(0.02)
    kills = 0
    writer_kills: Counter[int] = Counter()  # each killed writer may leave one commit unacknowledged
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.05, 0.4))
        role, writer, victim = children.pop(rng.randrange(len(children)))
        victim.kill()
        finished.append(victim)
        kills += 1
        writer_kills[writer] += 1
        start(role, writer)
    for _role, writer, child in children:  # the round ends as a crash of everything
        child.kill()
        finished.append(child)
        kills += 1
        writer_kills[writer] += 1
    lines = [line for child in finished for line in child.lines]
    bad = [line for line in lines if line.startswith("BAD")]
    assert not bad, bad[:3]
    acked: dict[int, int] = {}
    for line in lines:
        if line.startswith("ACK"):
            _, writer, n = line.split()
            acked[int(writer)] = max(acked.get(int(writer), -1), int(n))
    errors = [child.proc.stderr.read() for child in finished if child.proc.returncode not in (-9, None)]
    assert not [e for e in errors if e], errors[:1]
    return {
        "acked": acked,
        "writer_kills": writer_kills,
        "kills": kills,
        "checks": sum(line.startswith("OK") for line in lines),
        "commits": sum(line.startswith("ACK") for line in lines),
    }


def torture(path: str, engine: str, rounds: int, seconds: float, seed: int) -> dict:
    conn = worker.connect(path, engine)
    worker.create(conn)
    conn.close()
    rng = random.Random(seed)
    totals = {"kills": 0, "commits": 0, "checks": 0}
    for round_no in range(rounds):
        seen = one_round(path, engine, seconds, rng)
        assert docdb_check(path) == [], f"round {round_no}"
        conn = worker.connect(path, engine)
        try:
            assert worker.problems(conn) is None
            held = worker.held_by(conn)
        finally:
            conn.close()
        for writer, last in seen["acked"].items():
            assert last + 1 <= held.get(writer, 0) <= last + 1 + seen["writer_kills"][writer], (
                f"round {round_no}: writer {writer} acknowledged {last}, the database has {held.get(writer)}"
            )
        for key in totals:  # (writer_kills is per round)
            totals[key] += seen[key]
    return totals


def setting(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_processes_killed_at_random(tmp_path, engine):
    totals = torture(
        str(tmp_path / "db"),
        engine,
        int(setting("DOCDB_TORTURE_ROUNDS", 3)),
        setting("DOCDB_TORTURE_SECONDS", 1.5),
        seed={"lsm": 3, "hash": 4}[engine],
    )
    assert totals["commits"] > 20 and totals["kills"] > 10, totals


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["lsm", "hash"])
def test_processes_killed_at_random_long(tmp_path, engine):
    totals = torture(str(tmp_path / "db"), engine, 20, 6.0, seed=random.randrange(1 << 30))
    print(f"kill torture {engine}: {totals}")  # shown with -s
    assert totals["kills"] > 300, totals
