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

import random
from pathlib import Path

import pytest

import storage
from tests.storage import crash_parent, crash_writer
from tests.storage.crash_writer import KEYS, operations

WRITER = Path(__file__).with_name("crash_writer.py")
SEGMENT_BYTES = 64 * 1024
ROUND_TIMEOUT = 60.0


def run_and_kill(directory: Path, seed: int, mode: str, rng: random.Random,
                 sync: str = "full") -> int:
    """Run one writer, SIGKILL it at a random moment; return the last acknowledged op (-1: none)."""
    args = [str(WRITER), str(directory), str(seed), mode, str(SEGMENT_BYTES), sync]
    return crash_parent.run_and_kill(args, seed, rng, max_target=120, early_sleep=0.15,
                                     pause=0.005, timeout=ROUND_TIMEOUT).last_ack


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
    return crash_parent.judge(model, operations(seed), last_ack, lambda: read_back(directory),
                              f"seed {seed}")


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
