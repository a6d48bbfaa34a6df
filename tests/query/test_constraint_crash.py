"""Cascades survive SIGKILL whole: a child process commits cascading deletes and key
updates until it is killed at a random moment; the reopened database holds every
acknowledged transaction, no child whose parent is gone (nothing torn), and takes more."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import docdb

WRITER = Path(__file__).with_name("fk_crash_writer.py")


def _run_and_kill(directory: Path, seconds: float) -> int:
    child = subprocess.Popen([sys.executable, str(WRITER), str(directory)], stdout=subprocess.PIPE, text=True)
    acked = 0
    assert child.stdout is not None
    deadline = time.monotonic() + 30
    line = child.stdout.readline()
    assert line.strip() == "OPEN", line
    stop = time.monotonic() + seconds
    while time.monotonic() < min(stop, deadline):
        line = child.stdout.readline()
        if line.startswith("ACK"):
            acked = int(line.split()[1])
    child.send_signal(signal.SIGKILL)
    child.wait()
    for line in child.stdout:  # acknowledgements printed before the kill landed
        if line.startswith("ACK"):
            acked = int(line.split()[1])
    return acked


def test_cascades_are_whole_after_sigkill(tmp_path):
    rng = random.Random(7)
    acked = 0
    for _ in range(3):
        acked = max(acked, _run_and_kill(tmp_path / "db", rng.uniform(0.3, 1.2)))
        conn = docdb.connect(tmp_path / "db")
        done = conn.execute("SELECT done FROM counter WHERE id = 0").fetchone()[0]
        assert done >= acked  # nothing acknowledged is lost
        orphans = conn.execute("SELECT count(*) FROM child c LEFT JOIN parent p ON p.id = c.pid "
                               "WHERE p.id IS NULL").fetchone()[0]
        assert orphans == 0  # no cascade half done
        assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == \
            3 * conn.execute("SELECT count(*) FROM parent").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM parent WHERE id = ?", (done,)).fetchone()[0] == 1
        conn.close()
