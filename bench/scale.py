"""The storage suite's ``--big`` section: each engine at a million keys.

What changes from 100k keys to 1M: point reads (issue 18 allows them to fall by at
most 2x), memory per key (the hash engine keeps every key in memory; the LSM
engine its memtable, sparse indexes, key filters and block cache), and how long an
open takes -- after a clean close (target 0.3 s) and after a crash (2 s).

Each measurement runs in a fresh child (``python -m bench.scale ...``) so the
parent's data sets and allocator history are not in the numbers. Memory is
anonymous RSS from /proc/self/statm (resident minus file-backed pages), so file
pages the engine reads or maps count as page cache, not as its memory. Keys and
values are generated per batch and dropped; one batch is generated and dropped
*before* the baseline so the allocator already holds that batch's worth, which
leaves only the engine's own objects in the growth. An open is timed as a user
would see it: ``storage.open`` plus one get, collector on. The crash is a child
that opens the store, writes one more batch and leaves with ``os._exit`` --
no close, as after a kill.

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

__all__ = ["TARGETS", "render", "run_big"]

TARGETS = {"clean reopen": 0.3, "crash reopen": 2.0, "fall": 2.0}
KEY_BYTES, VALUE_BYTES = 16, 100
SAMPLE = 100_000  # keys a get phase asks for


def anon_bytes() -> int:
    """Anonymous resident bytes of this process."""
    with open("/proc/self/statm") as f:
        _size, resident, shared = (int(x) for x in f.read().split()[:3])
    return (resident - shared) * os.sysconf("SC_PAGE_SIZE")


def chunks(seed: int, n: int, size: int) -> Iterator[tuple[list[bytes], list[bytes]]]:
    """Keys and values a batch at a time, so the data set itself is never held."""
    rng = random.Random(seed)
    for start in range(0, n, size):
        m = min(size, n - start)
        kb, vb = rng.randbytes(KEY_BYTES * m), rng.randbytes(VALUE_BYTES * m)
        yield ([kb[i:i + KEY_BYTES] for i in range(0, len(kb), KEY_BYTES)],
               [vb[i:i + VALUE_BYTES] for i in range(0, len(vb), VALUE_BYTES)])


def sample_keys(seed: int, n: int, batch: int) -> list[bytes]:
    """``SAMPLE`` of the stored keys, spread over the whole load, in random order."""
    step = max(1, n // SAMPLE)
    keys = [k for ks, _ in chunks(seed, n, batch) for k in ks[::step]][:SAMPLE]
    random.Random(seed + 1).shuffle(keys)
    return keys


def rate(fn: Any, keys: list[bytes]) -> float:
    start = time.perf_counter()
    for key in keys:
        fn(key)
    return len(keys) / (time.perf_counter() - start)


def timed_open(engine: str, path: str, options: dict, key: bytes) -> tuple[Any, float]:
    import storage

    start = time.perf_counter()
    eng = storage.open(path, engine=engine, sync="normal", **options)
    eng.get(key)
    return eng, time.perf_counter() - start


def child_insert(engine: str, path: str, n: int, seed: int, batch: int, options: dict) -> dict:
    """Fill an empty store, measure its memory, then its point reads, then close it."""
    import storage

    next(chunks(seed, batch, batch))  # warm the allocator by one batch
    gc.collect()
    anon0 = anon_bytes()
    start = time.perf_counter()
    eng = storage.open(path, engine=engine, sync="normal", **options)
    for keys, values in chunks(seed, n, batch):
        with eng.batch() as b:
            for k, v in zip(keys, values, strict=True):
                b.put(k, v)
    eng.flush()
    insert_s = time.perf_counter() - start
    gc.collect()
    memory = anon_bytes() - anon0
    if len(eng) != n:
        raise RuntimeError(f"engine holds {len(eng)} keys, expected {n}")
    sample = sample_keys(seed, n, batch)
    absent = random.Random(seed + 2)
    misses = [absent.randbytes(KEY_BYTES) for _ in range(len(sample))]
    gets, miss = rate(eng.get, sample), rate(eng.get, misses)
    start = time.perf_counter()
    eng.close()
    return {"insert_rate": n / insert_s, "bytes_per_key": memory / n, "random_get": gets,
            "get_miss": miss, "close_seconds": time.perf_counter() - start}


def child_reopen(engine: str, path: str, n: int, seed: int, batch: int, options: dict) -> dict:
    """Open after a clean close; then leave as a crash would, after one more batch."""
    sample = sample_keys(seed, n, batch)
    gc.collect()
    anon0 = anon_bytes()
    eng, seconds = timed_open(engine, path, options, sample[0])
    gc.collect()
    memory = anon_bytes() - anon0
    if len(eng) != n:
        raise RuntimeError(f"reopened engine lost data ({len(eng)} of {n} keys)")
    result = {"clean_reopen_seconds": seconds, "bytes_per_key_reopened": memory / n,
              "random_get_reopened": rate(eng.get, sample)}
    print(json.dumps(result), flush=True)
    with eng.batch() as b:
        for k, v in zip(*next(chunks(seed + 3, batch, batch)), strict=True):
            b.put(k, v)
    os._exit(0)  # no close: the next open is an open after a crash


def child_crashed(engine: str, path: str, n: int, seed: int, batch: int, options: dict) -> dict:
    key = next(chunks(seed, batch, batch))[0][0]
    eng, seconds = timed_open(engine, path, options, key)
    if len(eng) != n + batch:
        raise RuntimeError(f"the open after a crash lost data ({len(eng)} of {n + batch} keys)")
    eng.close()
    return {"crash_reopen_seconds": seconds}


CHILDREN = {"insert": child_insert, "reopen": child_reopen, "crashed": child_crashed}


def _spawn(mode: str, engine: str, path: str, n: int, seed: int, batch: int, options: dict) -> dict:
    """Run one child with the parent's import path, so it measures the same ``storage``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    cmd = [sys.executable, "-m", "bench.scale", mode, engine, path, str(n), str(seed), str(batch),
           json.dumps(options)]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.scale {mode} {engine} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_big(engines: list[str], n: int, seed: int, batch: int, options: dict, root: str | None,
            at_100k: dict[str, dict[str, float]], small_keys: int) -> dict:
    """Each engine at ``n`` keys, in children; ``at_100k`` holds the main table's figures
    (engine -> op -> ops/s, at ``small_keys`` keys) to say how much each fell."""
    out: dict[str, Any] = {"keys": n, "small_keys": small_keys, "targets": TARGETS, "engines": {}}
    for engine in engines:
        with tempfile.TemporaryDirectory(prefix="docdb-bench-big-", dir=root,
                                         ignore_cleanup_errors=True) as path:
            figures: dict[str, Any] = {}
            for mode in CHILDREN:
                print(f"  big: {engine}: {mode}", file=sys.stderr)
                figures |= _spawn(mode, engine, path, n, seed, batch, options)
        small = at_100k.get(f"docdb-{engine}", {})
        figures["at_100k"] = {op: small.get(op) for op in ("random get", "get miss")}
        out["engines"][f"docdb-{engine}"] = figures
    return out


def render(big: dict) -> str:
    """The figures at ``keys``, beside the 100k figures and the targets."""
    systems = list(big["engines"])
    t, small = big["targets"], big.get("small_keys", 100_000)

    def fall(f: dict, op: str, key: str) -> str:
        small = f["at_100k"].get(op)
        return f"{small / f[key]:.2f}x" if small else "?"

    def met(ok: bool) -> str:
        return "" if ok else " **(no)**"

    rows = [
        ["batched insert (ops/s)", *(f"{big['engines'][s]['insert_rate']:,.0f}" for s in systems), ""],
        ["random get (ops/s)", *(f"{big['engines'][s]['random_get']:,.0f}" for s in systems), ""],
        [f"random get: {small:,}-key rate / this", *(fall(big["engines"][s], "random get", "random_get")
                                             for s in systems), f"<= {t['fall']}x"],
        ["get miss (ops/s)", *(f"{big['engines'][s]['get_miss']:,.0f}" for s in systems), ""],
        [f"get miss: {small:,}-key rate / this", *(fall(big["engines"][s], "get miss", "get_miss")
                                           for s in systems), f"<= {t['fall']}x"],
        ["memory after the load (B/key)", *(f"{big['engines'][s]['bytes_per_key']:.1f}" for s in systems),
         ""],
        ["memory after a reopen (B/key)",
         *(f"{big['engines'][s]['bytes_per_key_reopened']:.1f}" for s in systems), ""],
        ["close (s)", *(f"{big['engines'][s]['close_seconds']:.3f}" for s in systems), ""],
        ["open after a clean close (s)",
         *(f"{big['engines'][s]['clean_reopen_seconds']:.3f}"
           + met(big["engines"][s]["clean_reopen_seconds"] <= t["clean reopen"]) for s in systems),
         f"<= {t['clean reopen']}"],
        ["open after a crash (s)",
         *(f"{big['engines'][s]['crash_reopen_seconds']:.3f}"
           + met(big["engines"][s]["crash_reopen_seconds"] <= t["crash reopen"]) for s in systems),
         f"<= {t['crash reopen']}"],
    ]
    table = markdown_table(["at " + f"{big['keys']:,} keys", *systems, "target"], rows)
    return (f"### each engine at {big['keys']:,} keys\n\n{table}\n\nsync=normal; gets ask "
            f"{SAMPLE:,} stored keys in random order, misses as many absent ones; memory is "
            f"anonymous RSS growth per key (page cache not counted).\n")


def main(argv: list[str]) -> int:
    """Child entry point; prints one JSON line for the parent."""
    mode, engine, path, n, seed, batch, options = argv
    print(json.dumps(CHILDREN[mode](engine, path, int(n), int(seed), int(batch), json.loads(options))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
