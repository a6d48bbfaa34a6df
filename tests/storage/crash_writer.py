"""Child process of the hash engine crash tests: writes a seeded stream of operations.

Run as ``python crash_writer.py DIR SEED MODE SEGMENT_BYTES [SYNC]``. It opens the
hash engine in ``DIR`` with ``sync=SYNC`` (default ``"full"``), prints ``OPEN`` and then, for the i-th
operation of ``operations(SEED)``, applies it and prints ``ACK i`` only *after*
the call returned (one ``os.write`` per line, so a line is never half there).
It runs until the parent SIGKILLs it. ``MODE`` is ``plain`` or ``compact``; in
``compact`` mode a second thread calls ``compact()`` in a loop so that kills
land in the middle of merges. Any exception is printed as ``ERR ...`` and ends
the process with status 3, so the parent can tell a bug from a kill.

The parent imports ``operations`` from this module to regenerate exactly the
operations the child performed.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
import traceback
from collections.abc import Iterator

KEYS = [b"key-%03d" % i for i in range(48)]
MAX_OPS = 200_000

# An operation is ("put", key, value), ("delete", key, None) or
# ("batch", None, [(key, value-or-None), ...]).
Operation = tuple


def _value(rng: random.Random, tag: bytes) -> bytes:
    """A value that names the operation which wrote it, padded to a random length."""
    roll = rng.random()
    if roll < 0.03:
        size = rng.randint(40_000, 90_000)  # near or above segment_bytes: a rollover
    elif roll < 0.25:
        size = rng.randint(2_000, 12_000)
    else:
        size = rng.randint(0, 400)
    return tag + b"|" + rng.randbytes(size)


def operations(seed: int) -> Iterator[Operation]:
    """The deterministic, endless stream of operations for ``seed``."""
    rng = random.Random(seed)
    for i in range(MAX_OPS):
        roll = rng.random()
        if roll < 0.55:
            key = rng.choice(KEYS)
            yield ("put", key, _value(rng, b"put s%d o%d %s" % (seed, i, key)))
        elif roll < 0.75:
            yield ("delete", rng.choice(KEYS), None)
        else:
            keys = rng.sample(KEYS, rng.randint(2, 7))
            ops = []
            for n, key in enumerate(keys):
                if n and rng.random() < 0.2:
                    ops.append((key, None))
                else:
                    ops.append((key, _value(rng, b"batch s%d o%d %s" % (seed, i, key))))
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


def _say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def _fail(where: str) -> None:
    _say("ERR " + where + " " + traceback.format_exc().replace("\n", " | "))
    os._exit(3)


def _compact_loop(engine) -> None:
    try:
        while True:
            engine.compact()
            time.sleep(0.002)
    except Exception:  # noqa: BLE001 -- any failure is reported to the parent
        _fail("compact")


def main(argv: list[str]) -> None:
    directory, seed, mode, segment_bytes = argv[0], int(argv[1]), argv[2], int(argv[3])
    sync = argv[4] if len(argv) > 4 else "full"
    import storage

    try:
        engine = storage.open(directory, engine="hash", sync=sync,
                              segment_bytes=segment_bytes, merge_min_bytes=segment_bytes // 2)
    except Exception:  # noqa: BLE001 -- any failure is reported to the parent
        _fail("open")
    _say("OPEN")
    if mode == "compact":
        threading.Thread(target=_compact_loop, args=(engine,), daemon=True).start()
    try:
        for i, (kind, key, payload) in enumerate(operations(seed)):
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
            _say(f"ACK {i}")
    except Exception:  # noqa: BLE001 -- any failure is reported to the parent
        _fail("write")
    _say("DONE")


if __name__ == "__main__":
    main(sys.argv[1:])
