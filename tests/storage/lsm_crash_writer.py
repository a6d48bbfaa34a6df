"""Child process of the LSM crash tests: writes a seeded stream of operations.

Run as ``python lsm_crash_writer.py DIR SEED MODE SYNC MEMTABLE_BYTES [DIE_AT]``.
It opens the LSM engine in ``DIR`` with tiny thresholds (``memtable_bytes``,
256-byte blocks, fanout 2) so that memtable rotations, flushes and compactions
happen every few operations, prints ``OPEN`` and then, for the i-th operation
of ``operations(SEED)``, applies it and prints ``ACK i`` only *after* the call
returned (one ``os.write`` per line, so a line is never half there). It runs
until it is SIGKILLed. Any exception is printed as ``ERR ...`` and ends the
process with status 3, so the parent can tell a bug from a kill.

``MODE`` is ``plain`` (background flushes and compactions only) or ``compact``
(a second thread also calls ``compact()`` in a loop, so kills land in the
middle of full merges).

``DIE_AT`` (``EVENT:N``) makes the child SIGKILL *itself* at the N-th time an
engine thread reaches ``EVENT``, one step of a flush or a compaction (the
engine's calls to ``os.replace``/``os.unlink``/``os.fsync`` are wrapped, in
this process only, to count them). Before it dies it prints ``DIE EVENT``.
Events (see ``EVENTS``):

* ``sst-fsync``      a table's ``.sst.tmp`` is written, about to be fsynced
* ``sst-rename``     the fsynced ``.sst.tmp`` is about to be renamed to ``.sst``
* ``sst-renamed``    the ``.sst`` is in place, the manifest does not name it yet
* ``manifest-rename`` ``MANIFEST.tmp`` is written, about to replace ``MANIFEST``
* ``manifest-renamed`` the new ``MANIFEST`` is in place, obsolete files not yet deleted
* ``log-unlink``     an obsolete log is about to be deleted
* ``sst-unlink``     a table (a compaction input, or an orphan) is about to be deleted

The parent imports ``operations``, ``apply`` and ``KEYS`` from this module to
regenerate exactly the operations the child performed.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator

KEYS = [b"key-%04d" % i for i in range(160)]
MAX_OPS = 200_000
BLOCK_BYTES = 256
FANOUT = 2
EVENTS = ("sst-fsync", "sst-rename", "sst-renamed", "manifest-rename", "manifest-renamed",
          "log-unlink", "sst-unlink")

# An operation is ("put", key, value), ("delete", key, None) or
# ("batch", None, [(key, value-or-None), ...]).
Operation = tuple


def options(sync: str, memtable_bytes: int) -> dict:
    """The engine options the child (and the parent, to read back) opens with."""
    return {"engine": "lsm", "sync": sync, "memtable_bytes": memtable_bytes,
            "block_bytes": BLOCK_BYTES, "fanout": FANOUT, "sync_interval": 0.05}


def _value(rng: random.Random, tag: bytes) -> bytes:
    """A value that names the operation which wrote it, padded to a random length."""
    roll = rng.random()
    if roll < 0.03:
        size = rng.randint(5_000, 20_000)  # larger than a memtable: a rotation on its own
    elif roll < 0.2:
        size = rng.randint(300, 1_500)  # larger than a block
    else:
        size = rng.randint(0, 120)
    return tag + b"|" + rng.randbytes(size)


def operations(seed: int) -> Iterator[Operation]:
    """The deterministic, endless stream of operations for ``seed``."""
    rng = random.Random(seed)
    for i in range(MAX_OPS):
        roll = rng.random()
        if roll < 0.55:
            key = rng.choice(KEYS)
            yield ("put", key, _value(rng, b"put s%d o%d %s" % (seed, i, key)))
        elif roll < 0.72:
            yield ("delete", rng.choice(KEYS), None)
        else:
            keys = rng.sample(KEYS, rng.randint(2, 9))
            ops = []
            for n, key in enumerate(keys):
                if n and rng.random() < 0.25:
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
            time.sleep(0.001)
    except Exception:  # noqa: BLE001 -- any failure is reported to the parent
        _fail("compact")


def _fd_name(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def install_die_at(spec: str) -> None:
    """Wrap os.replace/os.unlink/os.fsync so the process kills itself at the N-th ``EVENT``."""
    event, _, count = spec.partition(":")
    if event not in EVENTS:
        raise SystemExit(f"unknown event {event!r}; choose one of {EVENTS}")
    target, seen = int(count), [0]
    lock = threading.Lock()

    def reached(name: str) -> None:
        if name != event:
            return
        with lock:
            seen[0] += 1
            if seen[0] == target:
                _say("DIE " + event)
                os.kill(os.getpid(), signal.SIGKILL)
                time.sleep(10)  # never returns

    real_replace, real_unlink, real_fsync = os.replace, os.unlink, os.fsync

    def replace(src, dst, *args, **kwargs):
        name = os.path.basename(os.fspath(dst))
        kind = "sst" if name.endswith(".sst") else "manifest" if name == "MANIFEST" else None
        if kind:
            reached(kind + "-rename")
        real_replace(src, dst, *args, **kwargs)
        if kind:
            reached(kind + "-renamed")

    def unlink(path, *args, **kwargs):
        name = os.fspath(path)
        if name.endswith(".log"):
            reached("log-unlink")
        elif name.endswith(".sst"):
            reached("sst-unlink")
        real_unlink(path, *args, **kwargs)

    def fsync(fd):
        if isinstance(fd, int) and _fd_name(fd).endswith(".sst.tmp"):
            reached("sst-fsync")
        real_fsync(fd)

    os.replace, os.unlink, os.fsync = replace, unlink, fsync


def main(argv: list[str]) -> None:
    directory, seed, mode, sync, memtable_bytes = argv[0], int(argv[1]), argv[2], argv[3], int(argv[4])
    if len(argv) > 5:
        install_die_at(argv[5])
    import storage

    try:
        engine = storage.open(directory, **options(sync, memtable_bytes))
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
