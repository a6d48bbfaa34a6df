"""The parent side of the crash tests, for both engines: run a writer child, SIGKILL it,
and judge what a reopen finds against the acknowledged operations."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.storage.crash_ops import Operation, apply

REPO_ROOT = Path(__file__).resolve().parents[2]


class Outcome:
    """What one child run did: its last acknowledged op, and the event it killed itself at."""

    def __init__(self, last_ack: int, died_at: str | None):
        self.last_ack = last_ack
        self.died_at = died_at


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def run_and_kill(args: list[str], seed: int, rng: random.Random, *, max_target: int,
                 early_sleep: float, pause: float, timeout: float, kills_itself: bool = False
                 ) -> Outcome:
    """Run ``python args...``; SIGKILL it after a random number of ACKs (or let it kill itself)."""
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=REPO_ROOT, env=_child_env())
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        if not kills_itself:
            # Sometimes kill while it is still importing or recovering (recovery of a recovery).
            target = -1 if rng.random() < 0.1 else rng.randint(0, max_target)
            if target < 0:
                time.sleep(rng.uniform(0.0, early_sleep))
            else:
                while True:
                    line = proc.stdout.readline().decode()
                    if not line:
                        break
                    lines.append(line.strip())
                    if line.startswith("ERR") or (line.startswith("ACK")
                                                  and int(line.split()[1]) >= target):
                        break
                time.sleep(rng.uniform(0.0, pause))
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        out, err = proc.stdout.read(), proc.stderr.read()  # not communicate(): it skips buffered lines
    finally:
        watchdog.cancel()
        proc.stdout.close()
        proc.stderr.close()
    lines += out.decode().split("\n")
    errors = [line for line in lines if line.startswith("ERR")]
    assert not errors, f"the writer failed (seed {seed}): {errors[0]}\nstderr: {err.decode()}"
    assert "DONE" not in lines, "the writer ran out of operations before it was killed"
    assert proc.returncode == -signal.SIGKILL, (
        f"writer exited with {proc.returncode} before the kill (seed {seed}): {err.decode()}"
    )
    acks = [int(line.split()[1]) for line in lines if line.startswith("ACK")]
    assert acks == list(range(len(acks))), "acknowledgements out of order"
    died = [line.split()[1] for line in lines if line.startswith("DIE")]
    return Outcome(acks[-1] if acks else -1, died[0] if died else None)


def _tag(value: bytes | None) -> bytes | None:
    """The part of a value that names the operation which wrote it."""
    return None if value is None else value.split(b"|", 1)[0]


def _diff(expected: dict[bytes, bytes], found: dict[bytes, bytes]) -> str:
    notes = []
    for key in sorted(set(expected) | set(found)):
        want, got = expected.get(key), found.get(key)
        if want != got:
            notes.append(f"{key!r}: expected {_tag(want)!r}, found {_tag(got)!r}")
    return "; ".join(notes[:8]) + (f" (+{len(notes) - 8} more)" if len(notes) > 8 else "")


def judge(model: dict[bytes, bytes], stream: Iterator[Operation], last_ack: int,
          read: Callable[[], dict[bytes, bytes]], context: str) -> dict:
    """Apply the acknowledged ops to ``model``; what ``read()`` finds must be it, or it plus
    the op in flight. Returns the state found."""
    for _ in range(last_ack + 1):
        apply(model, next(stream))
    in_flight = next(stream)
    with_flight = dict(model)
    apply(with_flight, in_flight)
    found = read()
    if found == model:
        return model
    if found == with_flight:
        return with_flight
    raise AssertionError(
        f"after a kill ({context}, last acknowledged op {last_ack}, in flight {in_flight[0]}) "
        "the engine holds neither the acknowledged state nor that state plus the op in flight."
        f"\n  vs acknowledged: {_diff(model, found)}\n  vs with in-flight op: {_diff(with_flight, found)}"
    )
