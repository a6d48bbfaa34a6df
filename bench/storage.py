"""Suite ``storage``: docdb's storage engines against sqlite3, semidbm and a dict+file.

Why these peers: sqlite3 is the B-tree everyone knows, semidbm is a pure-Python
log-structured store like ours, and "dict + append-only file" is the floor
(what Python calls plus one system call per write cost with no engine at all).
All run in the same process run, each in its own fresh temp directory, on the
same data: N 16-byte random keys (seeded), 100-byte values.

One *trial* runs every operation once per system; systems are interleaved
within a trial and trials repeated, and each operation keeps its best time, so
a noisy moment hurts one sample rather than one system. Each system is checked
for correct answers once (outside the timings), so a broken engine cannot post
a fast number. The ``--big`` section (bench.keydir) measures the hash engine's
keydir memory and reopen time at 1M keys against the design targets.

May import: the standard library and bench modules (``storage`` via bench.peers).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench import keydir
from bench.peers import PEER_OPENERS, SYNC_LEVELS, Opener, Peer, docdb_opener
from bench.report import (
    RATE,
    SECONDS,
    best,
    fmt_ratio,
    fmt_value,
    markdown_table,
    speedup,
    timed,
    write_results,
)

# Add "lsm" here and it becomes one more docdb column in every table.
DOCDB_ENGINES = ["hash"]
REFERENCES = ["sqlite3", "semidbm"]  # the peers docdb gets ratio columns against
KEY_BYTES, VALUE_BYTES = 16, 100
HELP = "docdb storage engines vs sqlite3, semidbm and dict+file (put/get/scan/merge/reopen)"

# (operation, unit); rates are per key or per write, durations are whole-store.
OPS = [
    ("random put", RATE),
    ("batched put", RATE),
    ("random get", RATE),
    ("get miss", RATE),
    ("ordered scan", RATE),
    ("overwrite x10", RATE),
    ("merge after overwrite", SECONDS),
    ("reopen + first get", SECONDS),
]


class BenchError(RuntimeError):
    """A system gave a wrong answer: its timings would be meaningless."""


@dataclass(frozen=True)
class Dataset:
    """Everything a trial feeds the systems, generated once so all get the same."""

    items: list[tuple[bytes, bytes]]  # keys are random, so this order is random
    get_order: list[bytes]  # the same keys, shuffled independently
    misses: list[bytes]  # keys known to be absent
    overwrites: list[tuple[bytes, bytes]]  # N writes over N/10 keys, 10 each

    def count(self, op: str) -> int:
        """How many operations a rate row divides by."""
        if op.startswith("overwrite"):
            return len(self.overwrites)
        return len(self.misses) if op == "get miss" else len(self.items)


def _split(blob: bytes, size: int) -> list[bytes]:
    return [blob[i:i + size] for i in range(0, len(blob), size)]


def make_dataset(n: int, seed: int) -> Dataset:
    """Seeded data, so every run (and every system) sees identical keys."""
    rng = random.Random(seed)
    keys = list(dict.fromkeys(_split(rng.randbytes(KEY_BYTES * n), KEY_BYTES)))
    values = _split(rng.randbytes(VALUE_BYTES * n), VALUE_BYTES)
    present = set(keys)
    misses = [k for k in _split(rng.randbytes(KEY_BYTES * n), KEY_BYTES) if k not in present]
    order = keys[:]
    rng.shuffle(order)
    writes = [k for k in keys[:max(1, n // 10)] for _ in range(10)]
    rng.shuffle(writes)
    items = list(zip(keys, values[:len(keys)], strict=True))
    return Dataset(items, order, misses, list(zip(writes, values[:len(writes)], strict=True)))


@contextmanager
def fresh_dir(root: str | None) -> Iterator[str]:
    """A new empty directory per store, removed afterwards: no system sees another's files."""
    with tempfile.TemporaryDirectory(prefix="docdb-bench-", dir=root,
                                     ignore_cleanup_errors=True) as path:
        yield path


def write_phase(peer: Peer, items: list[tuple[bytes, bytes]]) -> None:
    """One put call per item, framed by the system's own begin/end of a write phase."""
    peer.begin()
    put = peer.putter()
    for k, v in items:
        put(k, v)
    peer.end()


def get_all(get: Callable[[bytes], Any], keys: list[bytes]) -> None:
    for k in keys:
        get(k)


def scan_all(peer: Peer) -> int:
    n = 0
    for _ in peer.scan():
        n += 1
    return n


def reopen(opener: Opener, path: str, sync: str, key: bytes) -> Peer:
    """Open an existing store and answer one get: "ready" means ready to serve."""
    peer = opener(path, sync)
    peer.getter()(key)
    return peer


def check(peer: Peer, expected: dict[bytes, bytes], misses: list[bytes]) -> None:
    """Correctness gate, run outside the timings on the first trial only."""
    get = peer.getter()
    for k in list(expected)[:: max(1, len(expected) // 200)]:
        if get(k) != expected[k]:
            raise BenchError(f"{peer.label}: wrong value for key {k.hex()}")
    if any(get(k) is not None for k in misses[:200]):
        raise BenchError(f"{peer.label}: a missing key returned a value")
    keys = [k for k, _ in peer.scan()]
    if keys != sorted(expected):
        raise BenchError(f"{peer.label}: scan returned {len(keys)} keys, not all in order")


def trial(opener: Opener, ds: Dataset, sync: str, root: str | None,
          batch: int, verify: bool) -> dict[str, float]:
    """Every operation once on one system; returns seconds per operation."""
    t: dict[str, float] = {}
    with fresh_dir(root) as d:
        peer = opener(d, sync)
        t["random put"], _ = timed(write_phase, peer, ds.items)
        peer.close()
    with fresh_dir(root) as d:
        peer = opener(d, sync)
        t["batched put"], _ = timed(peer.put_batch, ds.items, batch)
        t["random get"], _ = timed(get_all, peer.getter(), ds.get_order)
        t["get miss"], _ = timed(get_all, peer.getter(), ds.misses)
        t["ordered scan"], _ = timed(scan_all, peer)
        if verify:
            check(peer, dict(ds.items), ds.misses)
        peer.close()
        t["reopen + first get"], peer = timed(reopen, opener, d, sync, ds.items[0][0])
        peer.close()
    with fresh_dir(root) as d:
        peer = opener(d, sync)
        t["overwrite x10"], _ = timed(write_phase, peer, ds.overwrites)
        t["merge after overwrite"], _ = timed(peer.merge)
        if verify:
            check(peer, dict(ds.overwrites), ds.misses)
        peer.close()
    return t


def measure(systems: dict[str, Opener], ds: Dataset, sync: str,
            args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Best seconds per system per operation, trials interleaved across systems."""
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in systems}
    for r in range(args.repeat):
        for label, opener in systems.items():
            print(f"  sync={sync} trial {r + 1}/{args.repeat}: {label}", file=sys.stderr)
            for op, sec in trial(opener, ds, sync, args.dir, args.batch_size, r == 0).items():
                samples[label].setdefault(op, []).append(sec)
    return {s: {op: best(v) for op, v in ops.items()} for s, ops in samples.items()}


def summarize(seconds: dict[str, dict[str, float]], ds: Dataset,
              docdbs: list[str]) -> dict[str, Any]:
    """Turn best seconds into the reported numbers: rates or seconds, plus speedups."""
    out: dict[str, Any] = {}
    for op, unit in OPS:
        values = {s: (ds.count(op) / t[op] if unit == RATE else t[op]) for s, t in seconds.items()}
        ratios = {f"{d} / {ref}": speedup(values[d], values[ref], unit)
                  for d in docdbs for ref in REFERENCES if ref in values}
        notes = {s: PEER_OPENERS[s].batch_note for s in values
                 if op == "batched put" and s in PEER_OPENERS and PEER_OPENERS[s].batch_note}
        out[op] = {"unit": unit, "count": ds.count(op) if unit == RATE else None,
                   "systems": values, "speedup": ratios, "notes": notes}
    return out


def render(summary: dict[str, Any], sync: str) -> str:
    """Markdown for one sync level: rows are operations, columns systems then speedups."""
    first = next(iter(summary.values()))
    systems, ratios = list(first["systems"]), list(first["speedup"])
    rows, notes = [], {}
    for op, row in summary.items():
        unit_label = "ops/s" if row["unit"] == RATE else "s"
        cells = [f"{op} ({unit_label})"]
        for s in systems:
            mark = " †" if s in row["notes"] else ""
            notes.update({"†": f"{s}: {row['notes'][s]}"} if mark else {})
            cells.append(fmt_value(row["systems"][s], row["unit"]) + mark)
        cells += [fmt_ratio(row["speedup"][r]) for r in ratios]
        rows.append(cells)
    table = markdown_table(["operation", *systems, *ratios], rows)
    foot = "".join(f"\n{m} {text}" for m, text in notes.items())
    return f"### sync={sync}\n\n{table}\n{foot}\nspeedup > 1 means docdb is faster.\n"


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs for storage.open; numbers and booleans are converted."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        name, _, raw = pair.partition("=")
        value: Any = {"true": True, "false": False}.get(raw.lower(), raw)
        for conv in (int, float):
            try:
                value = conv(raw)
                break
            except ValueError:
                pass
        options[name] = value
    return options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keys", type=int, default=100_000, help="N keys (default 100000)")
    p.add_argument("--sync", action="append", choices=SYNC_LEVELS,
                   help="sync level to measure; repeatable (default: off and normal)")
    p.add_argument("--repeat", type=int, default=3, help="trials; best is kept (default 3)")
    p.add_argument("--seed", type=int, default=1234, help="data seed (default 1234)")
    p.add_argument("--batch-size", type=int, default=1000, help="docdb batch size (default 1000)")
    p.add_argument("--engine", action="append", help=f"docdb engine(s) (default {DOCDB_ENGINES})")
    p.add_argument("--option", action="append", metavar="NAME=VALUE",
                   help="extra storage.open option for docdb, e.g. segment_bytes=1048576")
    p.add_argument("--big", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure keydir memory and reopen at --big-keys (default on)")
    p.add_argument("--big-keys", type=int, default=1_000_000, help="keys for --big (default 1M)")
    p.add_argument("--dir", default=None, help="parent of the temp dirs (default: system temp)")


def run(args: argparse.Namespace) -> int:
    """Measure, print markdown to stdout, write bench/results/storage.json."""
    import storage  # fail early, and say which package was measured

    engines, options = args.engine or DOCDB_ENGINES, parse_options(args.option)
    systems = {f"docdb-{e}": docdb_opener(e, options) for e in engines} | PEER_OPENERS
    ds = make_dataset(args.keys, args.seed)
    print(f"## storage: {len(ds.items):,} keys ({KEY_BYTES}-byte keys, {VALUE_BYTES}-byte "
          f"values), best of {args.repeat}\n\nstorage package: `{storage.__file__}`\n")
    results: dict[str, Any] = {"keys": len(ds.items), "key_bytes": KEY_BYTES,
                               "value_bytes": VALUE_BYTES, "repeat": args.repeat,
                               "seed": args.seed, "batch_size": args.batch_size,
                               "engines": engines, "options": options,
                               "storage_module": storage.__file__, "sync": {}}
    for sync in args.sync or list(SYNC_LEVELS):
        summary = summarize(measure(systems, ds, sync, args), ds, list(systems)[:len(engines)])
        results["sync"][sync] = summary
        print(render(summary, sync), flush=True)
    status = run_big_section(args, options, results) if args.big else 0
    print(f"results written to {write_results('storage', results)}", file=sys.stderr)
    return status


def run_big_section(args: argparse.Namespace, options: dict[str, Any],
                    results: dict[str, Any]) -> int:
    """The 1M-key section; a failing child is reported without losing the tables' JSON."""
    try:
        results["big"] = keydir.run_big(args.big_keys, args.seed, args.batch_size,
                                        options, args.dir)
    except RuntimeError as e:
        results["big"] = {"error": str(e)}
        print(f"big section failed: {e}", file=sys.stderr)
        return 1
    print(keydir.render(results["big"]))
    return 0
