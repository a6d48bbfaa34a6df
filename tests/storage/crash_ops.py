"""What the crash writers (crash_writer.py, lsm_crash_writer.py) share.

A writer child applies ``operations(seed, profile)`` to an engine and prints
``ACK i`` only after the i-th call returned; the parent regenerates the same
stream and checks, with ``apply`` on a model dict, what survived a SIGKILL.
A ``Profile`` sets the key space and the mix of value sizes each engine's
thresholds need (a rollover or a memtable rotation every few operations).
"""

from __future__ import annotations

import os
import random
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

MAX_OPS = 200_000

# An operation is ("put", key, value), ("delete", key, None) or
# ("batch", None, [(key, value-or-None), ...]).
Operation = tuple


@dataclass(frozen=True)
class Profile:
    keys: list[bytes]
    big: tuple[float, int, int]  # probability, smallest and largest size
    medium: tuple[float, int, int]
    small_max: int
    delete_below: float  # a roll under 0.55 puts, under this deletes, else a batch
    batch_max: int
    batch_delete: float


def _value(rng: random.Random, tag: bytes, profile: Profile) -> bytes:
    """A value that names the operation which wrote it, padded to a random length."""
    roll = rng.random()
    if roll < profile.big[0]:
        size = rng.randint(*profile.big[1:])
    elif roll < profile.medium[0]:
        size = rng.randint(*profile.medium[1:])
    else:
        size = rng.randint(0, profile.small_max)
    return tag + b"|" + rng.randbytes(size)


def operations(seed: int, profile: Profile) -> Iterator[Operation]:
    """The deterministic, endless stream of operations for ``seed``."""
    rng = random.Random(seed)
    keys = profile.keys
    for i in range(MAX_OPS):
        roll = rng.random()
        if roll < 0.55:
            key = rng.choice(keys)
            yield ("put", key, _value(rng, b"put s%d o%d %s" % (seed, i, key), profile))
        elif roll < profile.delete_below:
            yield ("delete", rng.choice(keys), None)
        else:
            ops = []
            for n, key in enumerate(rng.sample(keys, rng.randint(2, profile.batch_max))):
                if n and rng.random() < profile.batch_delete:
                    ops.append((key, None))
                else:
                    ops.append((key, _value(rng, b"batch s%d o%d %s" % (seed, i, key), profile)))
            yield ("batch", None, ops)


def apply(state: dict[bytes, bytes], op: Operation) -> None:
    """Apply ``op`` to a model dict, as the engine should."""
    kind, key, payload = op
    if kind == "put":
        state[key] = payload
    elif kind == "delete":
        state.pop(key, None)
    else:
        for k, v in payload:
            if v is None:
                state.pop(k, None)
            else:
                state[k] = v


def perform(engine, op: Operation) -> None:
    """Apply ``op`` to an engine (``apply`` is the same on a model dict)."""
    kind, key, payload = op
    if kind == "put":
        engine.put(key, payload)
    elif kind == "delete":
        engine.delete(key)
    else:
        with engine.batch() as batch:
            for k, v in payload:
                if v is None:
                    batch.delete(k)
                else:
                    batch.put(k, v)


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())  # one write per line: never half there


def fail(where: str) -> None:
    say("ERR " + where + " " + traceback.format_exc().replace("\n", " | "))
    os._exit(3)


def _compact_loop(engine, pause: float) -> None:
    try:
        while True:
            engine.compact()
            time.sleep(pause)
    except Exception:  # noqa: BLE001 -- any failure is reported to the parent
        fail("compact")


def run(open_engine, seed: int, profile: Profile, mode: str, pause: float) -> None:
    """Open, say OPEN, then apply the stream, saying ``ACK i`` after each call returns."""
    try:
        engine = open_engine()
    except Exception:  # noqa: BLE001 -- any failure is reported to the parent
        fail("open")
    say("OPEN")
    if mode == "compact":
        threading.Thread(target=_compact_loop, args=(engine, pause), daemon=True).start()
    try:
        for i, op in enumerate(operations(seed, profile)):
            perform(engine, op)
            say(f"ACK {i}")
    except Exception:  # noqa: BLE001 -- any failure is reported to the parent
        fail("write")
    say("DONE")
