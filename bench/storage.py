"""Suite ``storage``: docdb's storage engines against sqlite3, plyvel, semidbm and a dict+file.

Why these peers: sqlite3 is the B-tree everyone knows, plyvel is LevelDB itself
(the LSM tree docdb's "lsm" engine is modelled on) through its C++ binding,
semidbm is a pure-Python log-structured store like the hash engine, and
"dict + append-only file" is the floor (what Python calls plus one system call
per write cost with no engine at all). Every docdb engine that exists
(``storage.ENGINES``) gets a column. All run in the same process run, each in
its own fresh temp directory, on the same data (bench.dataset).

One *trial* runs every operation once per system; systems are interleaved
within a trial and trials repeated, and each operation keeps its best time, so
a noisy moment hurts one sample rather than one system. Each system is checked
for correct answers once (outside the timings), so a broken engine cannot post
a fast number. The first trial also records write and space amplification of
the overwrite run (bench.amplification). The ``--big`` section (bench.scale)
measures each engine at 1M keys: point reads, memory per key, open after a
clean close and after a crash; ``--quick`` is a smoke run that skips it.

May import: the standard library and bench modules (``storage`` via bench.peers).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bench import scale
from bench.amplification import Amplification, directory_bytes
from bench.amplification import render as render_amplification
from bench.dataset import KEY_BYTES, VALUE_BYTES, Dataset, logical_bytes, make_dataset
from bench.latency import measure_latency, render_latency
from bench.peers import PEER_OPENERS, SYNC_LEVELS, Opener, Peer, docdb_opener
from bench.report import best, markdown_table, timed, write_results
from bench.storage_tables import render_ratios, render_raw, summarize

KNOWN_ENGINES = ("hash", "lsm")  # in column order; the ones storage.ENGINES has are measured
HELP = ("docdb storage engines vs sqlite3, plyvel, semidbm and dict+file "
        "(put/get/scan/range/merge/reopen, write and space amplification)")
QUICK = {"keys": 20_000, "repeat": 1, "big": False, "latency_seconds": 2.0}
FULL = {"keys": 100_000, "repeat": 3, "big": True, "latency_seconds": 10.0}


class BenchError(RuntimeError):
    """A system gave a wrong answer: its timings would be meaningless."""


def default_engines() -> list[str]:
    """Every docdb engine that exists today: "lsm" becomes a column the day it lands."""
    import storage

    return [e for e in KNOWN_ENGINES if e in storage.ENGINES]


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


def scan_ranges(peer: Peer, ranges: list[tuple[bytes, bytes]]) -> int:
    n = 0
    for start, stop in ranges:
        for _ in peer.scan(start, stop):
            n += 1
    return n


def scan_all_batches(peer: Peer) -> int:
    return sum(peer.scan_counts())


def scan_ranges_batches(peer: Peer, ranges: list[tuple[bytes, bytes]]) -> int:
    return sum(sum(peer.scan_counts(start, stop)) for start, stop in ranges)


def reopen(opener: Opener, path: str, sync: str, key: bytes) -> Peer:
    """Open an existing store and answer one get: "ready" means ready to serve."""
    peer = opener(path, sync)
    peer.getter()(key)
    return peer


def check(peer: Peer, expected: dict[bytes, bytes], misses: list[bytes],
          ranges: Sequence[tuple[bytes, bytes]] = ()) -> None:
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
    for start, stop in ranges:
        want = keys[bisect_left(keys, start):bisect_left(keys, stop)]
        if [k for k, _ in peer.scan(start, stop)] != want:
            raise BenchError(f"{peer.label}: scan({start.hex()}, {stop.hex()}) is wrong")


def put_trials(opener: Opener, ds: Dataset, sync: str, root: str | None,
               verify: bool) -> dict[str, float]:
    """Random then ascending puts, each into an empty store."""
    t: dict[str, float] = {}
    for op, items in (("random put", ds.items), ("sequential put", ds.sequential)):
        with fresh_dir(root) as d:
            peer = opener(d, sync)
            t[op], _ = timed(write_phase, peer, items)
            if verify:
                check(peer, dict(items), ds.misses)
            peer.close()
    return t


def read_trial(opener: Opener, ds: Dataset, sync: str, root: str | None,
               batch: int, verify: bool) -> dict[str, float]:
    """Batched load, then every read, then a reopen of the same store."""
    t: dict[str, float] = {}
    with fresh_dir(root) as d:
        peer = opener(d, sync)
        t["batched put"], _ = timed(peer.put_batch, ds.items, batch)
        t["random get"], _ = timed(get_all, peer.getter(), ds.get_order)
        t["get miss"], _ = timed(get_all, peer.getter(), ds.misses)
        t["ordered scan"], _ = timed(scan_all, peer)
        t["range scan 1%"], _ = timed(scan_ranges, peer, ds.ranges)
        t["ordered scan, batches"], n = timed(scan_all_batches, peer)
        t["range scan 1%, batches"], m = timed(scan_ranges_batches, peer, ds.ranges)
        if verify and (n, m) != (len(ds.items), len(ds.ranges) * ds.range_keys):
            raise BenchError(f"{peer.label}: batch scans returned {n:,} and {m:,} keys")
        if verify:
            check(peer, dict(ds.items), ds.misses, ds.ranges)
        peer.close()
        t["reopen + first get"], peer = timed(reopen, opener, d, sync, ds.items[0][0])
        peer.close()
    return t


def overwrite_trial(opener: Opener, ds: Dataset, sync: str, root: str | None,
                    verify: bool) -> tuple[dict[str, float], Amplification]:
    """N writes over N/10 keys, then a merge; bytes are counted outside the timings."""
    t: dict[str, float] = {}
    live = dict(ds.overwrites)
    with fresh_dir(root) as d:
        peer = opener(d, sync)
        w0 = peer.bytes_written()
        t["overwrite x10"], _ = timed(write_phase, peer, ds.overwrites)
        w1, disk1 = peer.bytes_written(), directory_bytes(d)
        t["merge after overwrite"], _ = timed(peer.merge)
        w2, disk2 = peer.bytes_written(), directory_bytes(d)
        if verify:
            check(peer, live, ds.misses)
        peer.close()
    amp = Amplification(peer.write_method, logical_bytes(ds.overwrites),
                        logical_bytes(list(live.items())), w1 - w0, w2 - w1, disk1, disk2)
    return t, amp


def trial(opener: Opener, ds: Dataset, sync: str, args: argparse.Namespace,
          verify: bool) -> tuple[dict[str, float], Amplification]:
    """Every operation once on one system; returns seconds per operation."""
    t = put_trials(opener, ds, sync, args.dir, verify)
    t |= read_trial(opener, ds, sync, args.dir, args.batch_size, verify)
    ow, amp = overwrite_trial(opener, ds, sync, args.dir, verify)
    return t | ow, amp


def measure(systems: dict[str, Opener], ds: Dataset, sync: str, args: argparse.Namespace
            ) -> tuple[dict[str, dict[str, float]], dict[str, Amplification],
                       dict[str, dict[str, float]]]:
    """Best seconds per system per operation, trials interleaved across systems;
    amplification from the first trial (it counts bytes, which noise does not change);
    and each operation's spread, its worst trial over its best."""
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in systems}
    amps: dict[str, Amplification] = {}
    for r in range(args.repeat):
        for label, opener in systems.items():
            print(f"  sync={sync} trial {r + 1}/{args.repeat}: {label}", file=sys.stderr)
            seconds, amp = trial(opener, ds, sync, args, r == 0)
            amps.setdefault(label, amp)
            for op, sec in seconds.items():
                samples[label].setdefault(op, []).append(sec)
    spreads = {s: {op: max(v) / best(v) for op, v in ops.items()} for s, ops in samples.items()}
    return {s: {op: best(v) for op, v in ops.items()} for s, ops in samples.items()}, amps, spreads


SPREAD_OPS = ("random put", "random get", "get miss", "ordered scan")  # the spread table's rows


def render_spread(spreads: dict[str, dict[str, float]], sync: str, repeat: int) -> str:
    """Worst trial over best per system, for the operations whose steadiness matters."""
    systems = list(spreads)
    rows = [[op, *(f"{spreads[s][op]:.2f}x" for s in systems)] for op in SPREAD_OPS]
    return (f"### spread between trials, sync={sync}\n\n"
            f"{markdown_table(['operation', *systems], rows)}\n\nworst of {repeat} trials "
            f"over the best (1.00x: every trial alike).\n")


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
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 20000 keys, 1 trial, no --big; writes storage-quick.json")
    p.add_argument("--keys", type=int, help="N keys (default 100000; 20000 with --quick)")
    p.add_argument("--sync", action="append", choices=SYNC_LEVELS,
                   help="sync level to measure; repeatable (default: off and normal)")
    p.add_argument("--repeat", type=int, help="trials; best is kept (default 3; 1 with --quick)")
    p.add_argument("--seed", type=int, default=1234, help="data seed (default 1234)")
    p.add_argument("--batch-size", type=int, default=1000, help="batch size (default 1000)")
    p.add_argument("--engine", action="append",
                   help=f"docdb engine(s) (default: those of {KNOWN_ENGINES} in storage.ENGINES)")
    p.add_argument("--option", action="append", metavar="NAME=VALUE",
                   help="extra storage.open option for docdb, e.g. segment_bytes=1048576")
    p.add_argument("--big", action=argparse.BooleanOptionalAction, default=None,
                   help="also measure each engine at --big-keys: reads, memory, opens "
                        "(default on; off with --quick)")
    p.add_argument("--big-keys", type=int, default=1_000_000, help="keys for --big (default 1M)")
    p.add_argument("--latency", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure put/get latency over a mixed run, with and without "
                        "a compaction running (default on)")
    p.add_argument("--latency-seconds", type=float,
                   help="seconds per latency run (default 10; 2 with --quick)")
    p.add_argument("--dir", default=None, help="parent of the temp dirs (default: system temp)")


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill what the user left unset from --quick's or the full run's defaults."""
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def run(args: argparse.Namespace) -> int:
    """Measure, print markdown to stdout, write bench/results/storage.json."""
    import storage  # fail early, and say which package was measured

    args = resolve(args)
    engines, options = args.engine or default_engines(), parse_options(args.option)
    systems = {f"docdb-{e}": docdb_opener(e, options) for e in engines} | PEER_OPENERS
    ds = make_dataset(args.keys, args.seed)
    print(f"## storage: {len(ds.items):,} keys ({KEY_BYTES}-byte keys, {VALUE_BYTES}-byte "
          f"values), best of {args.repeat}\n\nstorage package: `{storage.__file__}`\n")
    results: dict[str, Any] = {"keys": len(ds.items), "key_bytes": KEY_BYTES,
                               "value_bytes": VALUE_BYTES, "repeat": args.repeat,
                               "seed": args.seed, "batch_size": args.batch_size,
                               "quick": args.quick, "engines": engines, "options": options,
                               "range_keys": ds.range_keys, "ranges": len(ds.ranges),
                               "storage_module": storage.__file__, "sync": {},
                               "amplification": {}}
    measure_all(systems, ds, args, results, list(systems)[:len(engines)])
    if args.latency:
        results["latency"] = measure_latency(engines, args.keys, args.latency_seconds,
                                             "normal", args.dir, options)
        print(render_latency(results["latency"]), flush=True)
    status = run_big_section(args, engines, options, results) if args.big else 0
    name = "storage-quick" if args.quick else None
    print(f"results written to {write_results('storage', results, name)}", file=sys.stderr)
    return status


def measure_all(systems: dict[str, Opener], ds: Dataset, args: argparse.Namespace,
                results: dict[str, Any], docdbs: list[str]) -> None:
    """Each sync level's raw table as soon as it is measured; ratios and amplification after."""
    amps: dict[str, dict[str, Amplification]] = {}
    notes = {label: n for label, op in PEER_OPENERS.items() if (n := op.batch_note)}
    for sync in args.sync or list(SYNC_LEVELS):
        seconds, amps[sync], spreads = measure(systems, ds, sync, args)
        results["sync"][sync] = summarize(seconds, ds, docdbs, notes)
        results.setdefault("spread", {})[sync] = spreads
        results["amplification"][sync] = {s: a.as_json() for s, a in amps[sync].items()}
        print(render_raw(results["sync"][sync], sync, ds), flush=True)
        if args.repeat > 1:
            print(render_spread(spreads, sync, args.repeat), flush=True)
    for d in docdbs:
        print(render_ratios(results["sync"], d), flush=True)
    for sync, by_system in amps.items():
        print(render_amplification(by_system, sync), flush=True)


def run_big_section(args: argparse.Namespace, engines: list[str], options: dict[str, Any],
                    results: dict[str, Any]) -> int:
    """The 1M-key section; a failing child is reported without losing the tables' JSON."""
    table = results["sync"].get("normal") or next(iter(results["sync"].values()))
    at_100k = {f"docdb-{e}": {op: table[op]["systems"].get(f"docdb-{e}") for op in table}
               for e in engines}
    try:
        results["big"] = scale.run_big(engines, args.big_keys, args.seed, args.batch_size,
                                       options, args.dir, at_100k, args.keys)
    except RuntimeError as e:
        results["big"] = {"error": str(e)}
        print(f"big section failed: {e}", file=sys.stderr)
        return 1
    print(scale.render(results["big"]))
    return 0
