"""The storage suite's ``--big`` section: hash-engine keydir memory and reopen time.

Bitcask keeps every key in memory, so bytes per key decides how big a store
fits in RAM, and rebuilding the keydir from hint files decides how fast it
restarts. Both are design targets, checked here at 1M keys.

Each measurement runs in a fresh child (``python -m bench.keydir ...``) so the
parent's data sets and allocator history are not in the numbers. Memory is
anonymous RSS from /proc/self/statm (resident minus file-backed pages), so
segment pages the engine reads or maps count as page cache, not as keydir.
Keys and values are generated per batch and dropped; one batch is generated and
dropped *before* the baseline so the allocator already holds that batch's
worth, which leaves only the engine's own objects in the growth. The reopen
is timed as a user would see it: ``storage.open`` plus one get, collector on.

May import: the standard library, bench.report, and ``storage`` (in the child).
"""

from __future__ import annotations

import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from bench.report import markdown_table

__all__ = ["TARGET_BYTES_PER_KEY", "TARGET_REOPEN_SECONDS", "render", "run_big"]

TARGET_BYTES_PER_KEY = 120
TARGET_REOPEN_SECONDS = 1.5
ENGINE = "hash"
KEY_BYTES, VALUE_BYTES = 16, 100


def anon_bytes() -> tuple[int, int]:
    """(anonymous resident bytes, total resident bytes) of this process."""
    with open("/proc/self/statm") as f:
        _size, resident, shared = (int(x) for x in f.read().split()[:3])
    page = os.sysconf("SC_PAGE_SIZE")
    return (resident - shared) * page, resident * page


def chunks(seed: int, n: int, size: int) -> Iterator[tuple[list[bytes], list[bytes]]]:
    """Keys and values a batch at a time, so the data set itself is never held."""
    rng = random.Random(seed)
    for start in range(0, n, size):
        m = min(size, n - start)
        kb, vb = rng.randbytes(KEY_BYTES * m), rng.randbytes(VALUE_BYTES * m)
        yield ([kb[i:i + KEY_BYTES] for i in range(0, len(kb), KEY_BYTES)],
               [vb[i:i + VALUE_BYTES] for i in range(0, len(vb), VALUE_BYTES)])


def first_key(seed: int, batch: int) -> bytes:
    """The first generated key; getting it also warms the allocator by one batch."""
    keys, _ = next(chunks(seed, batch, batch))
    return keys[0]


def _insert(eng: Any, seed: int, n: int, batch: int) -> None:
    """A function of its own so no batch outlives the loop in a local variable."""
    for keys, values in chunks(seed, n, batch):
        with eng.batch() as b:
            for k, v in zip(keys, values, strict=True):
                b.put(k, v)
    eng.flush()


def child_insert(path: str, n: int, seed: int, batch: int, options: dict) -> dict:
    """Fill an empty store, measure the keydir, then compact so hint files exist."""
    import storage

    first_key(seed, batch)
    gc.collect()
    anon0, rss0 = anon_bytes()
    start = time.perf_counter()
    eng = storage.open(path, engine=ENGINE, sync="off", **options)
    _insert(eng, seed, n, batch)
    insert_s = time.perf_counter() - start
    gc.collect()
    anon1, rss1 = anon_bytes()
    if len(eng) != n:
        raise RuntimeError(f"engine holds {len(eng)} keys, expected {n}")
    start = time.perf_counter()
    eng.compact()
    compact_s = time.perf_counter() - start
    eng.close()
    return {"bytes_per_key": (anon1 - anon0) / n, "anon_growth": anon1 - anon0,
            "rss_growth": rss1 - rss0, "insert_seconds": insert_s,
            "compact_seconds": compact_s}


def child_reopen(path: str, n: int, seed: int, batch: int, options: dict) -> dict:
    """Open the compacted store cold-in-process and measure keydir memory and time."""
    import storage

    key = first_key(seed, batch)
    gc.collect()
    anon0, rss0 = anon_bytes()
    start = time.perf_counter()
    eng = storage.open(path, engine=ENGINE, sync="off", **options)
    value = eng.get(key)
    reopen_s = time.perf_counter() - start
    gc.collect()
    anon1, rss1 = anon_bytes()
    if value is None or len(eng) != n:
        raise RuntimeError(f"reopened engine lost data ({len(eng)} of {n} keys)")
    eng.close()
    return {"bytes_per_key": (anon1 - anon0) / n, "anon_growth": anon1 - anon0,
            "rss_growth": rss1 - rss0, "reopen_seconds": reopen_s}


def _spawn(mode: str, path: str, n: int, seed: int, batch: int, options: dict) -> dict:
    """Run one child with the parent's import path, so it measures the same ``storage``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    cmd = [sys.executable, "-m", "bench.keydir", mode, path, str(n), str(seed), str(batch),
           json.dumps(options)]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.keydir {mode} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_big(n: int, seed: int, batch: int, options: dict, root: str | None) -> dict:
    """Insert then reopen 1M keys in two children; the store is removed afterwards."""
    print(f"  big: inserting {n:,} keys into docdb-{ENGINE}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="docdb-bench-big-", dir=root,
                                     ignore_cleanup_errors=True) as path:
        insert = _spawn("insert", path, n, seed, batch, options)
        print("  big: reopening in a fresh process", file=sys.stderr)
        reopen = _spawn("reopen", path, n, seed, batch, options)
    return {"keys": n, "engine": ENGINE, "insert": insert, "reopen": reopen,
            "targets": {"bytes_per_key": TARGET_BYTES_PER_KEY,
                        "reopen_seconds": TARGET_REOPEN_SECONDS}}


def render(big: dict) -> str:
    """Second table: the measured numbers beside their targets."""
    ins, reo = big["insert"], big["reopen"]

    def row(name: str, value: float, target: float, unit: str) -> list[str]:
        fmt = "{:.1f}" if unit == "B/key" else "{:.3f}"
        return [name, f"{fmt.format(value)} {unit}", f"<= {target} {unit}",
                "yes" if value <= target else "**no**"]

    rows = [
        row("keydir after insert", ins["bytes_per_key"], TARGET_BYTES_PER_KEY, "B/key"),
        row("keydir after reopen", reo["bytes_per_key"], TARGET_BYTES_PER_KEY, "B/key"),
        row("reopen from hint files (open + first get)", reo["reopen_seconds"],
            TARGET_REOPEN_SECONDS, "s"),
    ]
    table = markdown_table(["measure", f"docdb-{big['engine']}", "target", "met"], rows)
    return (f"### keydir memory and reopen at {big['keys']:,} keys\n\n{table}\n\n"
            f"insert (batched, sync=off): {ins['insert_seconds']:.2f} s; "
            f"compact: {ins['compact_seconds']:.2f} s\n")


def main(argv: list[str]) -> int:
    """Child entry point; prints one JSON line for the parent."""
    mode, path, n, seed, batch, options = argv
    fn = {"insert": child_insert, "reopen": child_reopen}[mode]
    print(json.dumps(fn(path, int(n), int(seed), int(batch), json.loads(options))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
