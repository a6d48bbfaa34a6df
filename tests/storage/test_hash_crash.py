"""Crash tests for the hash engine: SIGKILL a writer at random moments, then check the survivors.

A child process (``crash_writer.py``) writes a seeded stream of puts, deletes
and batches (``sync="full"``; some tests use the relaxed modes, which must also
survive a process crash) and acknowledges each one on stdout after it returned,
while a second thread of it may be compacting. The parent kills it after a
random number of acknowledgements plus a random delay, reopens the directory and
requires the engine to hold exactly the acknowledged state, or that state plus
the one operation that was in flight: every acknowledged write is there with its exact value, no batch is half
visible, nothing is served that was never written. Each round continues in the
same directory, so recovery is also tested on top of earlier recoveries.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import storage
from tests.storage import crash_writer
from tests.storage.crash_writer import KEYS, apply, operations

REPO_ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("crash_writer.py")
SEGMENT_BYTES = 64 * 1024
ROUND_TIMEOUT = 60.0


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def run_and_kill(directory: Path, seed: int, mode: str, rng: random.Random,
                 sync: str = "full") -> int:
    """Run one writer, SIGKILL it at a random moment; return the last acknowledged op (-1: none)."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(directory), str(seed), mode, str(SEGMENT_BYTES), sync],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO_ROOT, env=_child_env(),
    )
    watchdog = threading.Timer(ROUND_TIMEOUT, proc.kill)
    watchdog.start()
    try:
        lines = []
        # Sometimes kill while it is still importing or opening (recovery of a recovery).
        target = -1 if rng.random() < 0.1 else rng.randint(0, 120)
        if target < 0:
            time.sleep(rng.uniform(0.0, 0.15))
        else:
            while True:
                line = proc.stdout.readline().decode()
                if not line:
                    break
                lines.append(line.strip())
                if line.startswith("ERR") or (line.startswith("ACK") and int(line.split()[1]) >= target):
                    break
            time.sleep(rng.uniform(0.0, 0.005))
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
    assert proc.returncode == -signal.SIGKILL, (
        f"writer exited with {proc.returncode} before the kill (seed {seed}): {err.decode()}"
    )
    acks = [int(line.split()[1]) for line in lines if line.startswith("ACK")]
    assert acks == list(range(len(acks))), "acknowledgements out of order"
    return acks[-1] if acks else -1


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


def read_back(directory: Path) -> dict[bytes, bytes]:
    """Reopen ``directory`` and return its contents, checking get, scan and len agree."""
    with storage.open(directory, engine="hash", sync="full", segment_bytes=SEGMENT_BYTES) as engine:
        found = dict(engine.scan())
        assert list(found) == sorted(found), "scan is not in key order"
        assert [k for k, _ in engine.scan(reverse=True)] == sorted(found, reverse=True)
        assert len(engine) == len(found)
        for key in KEYS:
            assert engine.get(key) == found.get(key), f"get and scan disagree on {key!r}"
        assert set(found) <= set(KEYS), f"keys that were never written: {set(found) - set(KEYS)}"
    return found


def check_round(directory: Path, model: dict[bytes, bytes], seed: int, last_ack: int) -> dict:
    """Apply the acknowledged ops to ``model``; the engine must match it, or it plus the op in flight."""
    stream = operations(seed)
    for _ in range(last_ack + 1):
        apply(model, next(stream))
    in_flight = next(stream)
    with_flight = dict(model)
    apply(with_flight, in_flight)
    found = read_back(directory)
    if found == model:
        return model
    if found == with_flight:
        return with_flight
    raise AssertionError(
        f"after a kill (seed {seed}, last acknowledged op {last_ack}, in flight "
        f"{in_flight[0]}) the engine holds neither the acknowledged state nor that state "
        f"plus the op in flight.\n  vs acknowledged: {_diff(model, found)}"
        f"\n  vs with in-flight op: {_diff(with_flight, found)}"
    )


def crash_rounds(directory: Path, rounds: int, mode: str, base_seed: int,
                 sync: str = "full") -> dict:
    rng = random.Random(base_seed)
    model: dict[bytes, bytes] = {}
    acked = 0
    for n in range(rounds):
        seed = base_seed * 1000 + n
        last_ack = run_and_kill(directory, seed, mode, rng, sync)
        acked += last_ack + 1
        model = check_round(directory, model, seed, last_ack)
    assert acked > 0, "no operation was ever acknowledged: the test tested nothing"
    return model


def test_writer_stream_is_deterministic():
    first = [op for _, op in zip(range(50), operations(7))]
    assert first == [op for _, op in zip(range(50), operations(7))]
    assert {op[0] for op in first} == {"put", "delete", "batch"}
    assert crash_writer.MAX_OPS > 10_000


def test_kill_during_writes_keeps_acknowledged_state(tmp_path):
    crash_rounds(tmp_path / "db", rounds=5, mode="plain", base_seed=1)


def test_kill_during_compaction_keeps_acknowledged_state(tmp_path):
    crash_rounds(tmp_path / "db", rounds=5, mode="compact", base_seed=2)


def test_kill_with_sync_off_keeps_acknowledged_state(tmp_path):
    """The contract: every sync mode survives a process crash (writes reach the OS)."""
    crash_rounds(tmp_path / "db", rounds=5, mode="compact", base_seed=4, sync="off")


def test_directory_is_writable_after_crash_rounds(tmp_path):
    directory = tmp_path / "db"
    model = crash_rounds(directory, rounds=2, mode="compact", base_seed=3)
    with storage.open(directory, engine="hash", sync="full", segment_bytes=SEGMENT_BYTES) as engine:
        engine.put(b"after", b"crash")
        engine.compact()
    model[b"after"] = b"crash"
    with storage.open(directory, engine="hash", sync="full", segment_bytes=SEGMENT_BYTES) as engine:
        assert dict(engine.scan()) == model


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["plain", "compact"])
@pytest.mark.parametrize("base_seed", [11, 12, 13])
def test_kill_many_rounds(tmp_path, mode, base_seed):
    crash_rounds(tmp_path / "db", rounds=40, mode=mode, base_seed=base_seed)


@pytest.mark.slow
@pytest.mark.parametrize("sync", ["normal", "off"])
def test_kill_many_rounds_relaxed_sync(tmp_path, sync):
    crash_rounds(tmp_path / "db", rounds=40, mode="compact", base_seed=21, sync=sync)
