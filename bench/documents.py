"""Suite ``documents``: docdb's document API against TinyDB, montydb, mongita and sqlite3.

Why these peers: TinyDB (with its default JSON storage and with its in-memory
CachingMiddleware), montydb and mongita are the embedded, pure-Python document
stores a Python user would otherwise pick, and sqlite3 with ``json_extract`` is
what the same user gets from the standard library; docdb's goals are stated
against them (bench.doctables.TARGETS). Each docdb engine gets a column.

What one *trial* does to each system, in a fresh temp directory, on the same
seeded nested documents (bench.docdata): insert them with insert_one, one at a
time, and end the write phase once (docdb ``autocommit=False`` + one commit,
sqlite3 one transaction); find by ``address.city`` with no index (a full scan);
create the index and find again with other city values; update_many
(``$inc``) and delete_many, each on about 10% of the documents. Systems are
interleaved within a trial and trials repeated, each operation keeping its best
time. Systems whose insert_one is O(n) per call are timed on the first
``--insert-cap`` documents and say so. Every answer (found, matched and deleted
counts) is checked against the counts known in advance, every trial; a wrong
answer is reported as an error, never as a figure. A peer that is not
installed, or fails, is reported and skipped: the suite never crashes on it.
May import: the standard library and bench modules (docdb and the peers via
bench.docpeers).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

from bench.docdata import CITIES, DocDataset, make_docs
from bench.docpeers import DocdbPeer, DocPeer, Finder
from bench.docsystems import SYSTEMS
from bench.doctables import OPS, render_raw, render_speedups, render_targets, summarize
from bench.report import RATE, best, write_results
from bench.trials import (
    WrongAnswer,
    add_system_options,
    apply_defaults,
    interleaved,
    run_in_fresh_dir,
    timed_checked,
)

HELP = ("docdb's document API vs TinyDB, montydb, mongita and sqlite3+json_extract "
        "(insert_one, find with and without an index, update_many, delete_many)")
KNOWN_ENGINES = ("lsm", "hash")  # column order; those storage.ENGINES has are measured
QUICK = {"count": 5_000, "repeat": 1, "insert_cap": 500}
FULL = {"count": 100_000, "repeat": 3, "insert_cap": 2_000}
Opener = Callable[[str, str], DocPeer]


def insert_all(insert: Callable[[dict], Any], end: Callable[[], None], docs: list[dict]) -> None:
    """One insert_one call per document, then the system's one commit or flush."""
    for d in docs:
        insert(d)
    end()


def run_queries(find: Finder, values: list[str]) -> list[int]:
    """Each query once, every result materialized as a list of dicts; returns their sizes."""
    return [len(find(v)) for v in values]


def expect(what: str, got: Any, want: Any) -> None:
    if got != want:
        raise WrongAnswer(f"wrong answer: {what} gave {got}, expected {want}")


class Trial:
    """One system, one trial: the operations in order, each timed and checked.

    An operation that raises or answers wrongly is recorded as an error and the
    trial goes on where it can (a find without the index still means something
    when create_index failed); a failed insert ends the trial.
    """

    def __init__(self, peer: DocPeer, ds: DocDataset, args: argparse.Namespace, number: int) -> None:
        self.peer, self.ds, self.args = peer, ds, args
        self.scans, self.lookups = ds.query_values(number, args.scans, args.lookups)
        self.verify = number == 0
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.errors: dict[str, str] = {}
        self.explain: Any = None

    def step(self, op: str, fn: Callable[..., Any], *fn_args: Any,
             check: Callable[[Any], None] | None = None) -> bool:
        outcome = timed_checked(self.errors, op, fn, *fn_args, check=check)
        if outcome is None:
            return False
        self.seconds[op] = outcome[0]
        return True

    def finds(self, op: str, values: list[str]) -> None:
        want = [self.ds.city_counts[v] for v in values]
        if self.step(op, run_queries, self.peer.finder(), values,
                     check=lambda got: expect(f"find sizes for {values}", got, want)):
            self.counts[op] = len(values)

    def run(self) -> None:
        peer, ds = self.peer, self.ds
        docs = ds.fresh()
        n = min(ds.count, self.args.insert_cap) if peer.insert_capped else ds.count
        if not self.step("insert_one", insert_all, peer.inserter(), peer.end_writes, docs[:n]):
            return
        self.counts["insert_one"] = n
        if not self.step("load", peer.load, docs[n:]):
            return
        if self.verify and not self.step("count", peer.count,
                                         check=lambda c: expect("count", c, ds.count)):
            return
        # warm: one untimed find first, of a city no timed find asks for (every system alike:
        # docdb fills its row cache, sqlite3 its page cache)
        warm = next(c for c in CITIES if c not in self.scans and c not in self.lookups)
        timed_checked(self.errors, "find warm-up", run_queries, peer.finder(), [warm])
        self.finds("find, no index", self.scans)
        if peer.has_index:
            self.step("create_index", peer.create_index)
            if self.verify and isinstance(peer, DocdbPeer):
                self.explain = peer.explain(self.lookups[0])
            self.finds("find, indexed", self.lookups)
        elif "find, no index" in self.seconds:  # no index: the full scan is its best answer
            self.seconds["find, indexed"] = self.seconds["find, no index"]
            self.counts["find, indexed"] = self.counts["find, no index"]
        self.step("update_many", peer.update_many,
                  check=lambda m: expect("update_many matched", m, ds.updated))
        self.step("delete_many", peer.delete_many,
                  check=lambda m: expect("delete_many deleted", m, ds.deleted))
        if self.verify:
            self.step("count", peer.count,
                      check=lambda c: expect("count after delete", c, ds.count - ds.deleted))


def docdb_opener(engine: str) -> Opener:
    return lambda path, sync: DocdbPeer(path, sync, engine)


def measure(systems: dict[str, Opener], ds: DocDataset, args: argparse.Namespace,
            results: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Best figure per system per operation (a rate, or seconds), trials interleaved across systems."""
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in systems}
    counts: dict[str, dict[str, int]] = {s: {} for s in systems}
    errors: dict[str, dict[str, str]] = results["errors"]
    def one(label: str, number: int) -> Trial | None:
        return run_trial(systems[label], ds, args, number, label, results)
    for label, t in interleaved(list(systems), args.repeat, errors, one):
        for op, sec in t.seconds.items():
            samples[label].setdefault(op, []).append(sec)
        counts[label] |= t.counts
    units = {op: unit for op, unit, _ in OPS}
    return {s: {op: (counts[s][op] / best(v) if units[op] == RATE else best(v))
                for op, v in ops.items() if op in units and (units[op] != RATE or op in counts[s])}
            for s, ops in samples.items()}


def run_trial(opener: Opener, ds: DocDataset, args: argparse.Namespace, number: int,
              label: str, results: dict[str, Any]) -> Trial | None:
    """One trial of one system (see bench.trials); its explain() is kept in the results."""
    t = run_in_fresh_dir(opener, args.dir, args.sync, label, results,
                         lambda peer: Trial(peer, ds, args, number))
    if t is not None and t.explain is not None:
        results["explain"][label] = json.loads(json.dumps(t.explain, default=str))
    return t


def pick_systems(args: argparse.Namespace, results: dict[str, Any]) -> tuple[dict[str, Opener], list[str]]:
    """docdb's engines, then every requested peer whose module imports; the rest are noted."""
    systems: dict[str, Opener] = {}
    try:
        import docdb
        import storage

        docdb.connect  # noqa: B018 - fails while docdb's API is not there yet
        engines = args.engine or [e for e in KNOWN_ENGINES if e in storage.ENGINES]
        systems |= {f"docdb-{e}": docdb_opener(e) for e in engines}
        results["docdb_module"] = docdb.__file__
    except Exception as e:
        results["errors"]["docdb"] = {"open": f"{type(e).__name__}: {e}"}
        print(f"docdb is not usable, peers only: {e}", file=sys.stderr)
    docdbs = list(systems)
    wanted = [] if args.no_peers else (args.peer or list(SYSTEMS))
    for label in wanted:
        module, opener = SYSTEMS[label]
        try:
            importlib.import_module(module)
        except Exception as e:  # not installed or broken: skip it
            results["not_installed"][label] = f"{type(e).__name__}: {e}"
            continue
        systems[label] = opener
    return systems, docdbs


def footnotes(ds: DocDataset, args: argparse.Namespace, systems: dict[str, Opener],
              results: dict[str, Any]) -> list[str]:
    """What a reader needs to trust the table: caps, query counts, commits, each peer's setup."""
    from bench import docpypeers

    peers = {label: getattr(docpypeers, name, None) for label, name in (
        ("tinydb", "TinyDBPeer"), ("tinydb-caching", "TinyDBCachingPeer"),
        ("montydb", "MontyPeer"), ("mongita", "MongitaPeer"))}
    capped = [s for s, cls in peers.items() if s in systems and cls and cls.insert_capped]
    cap = min(ds.count, args.insert_cap)
    notes = []
    if capped and cap < ds.count:
        notes.append(f"insert_one on {', '.join(capped)}: timed on the first {cap:,} documents "
                     f"only (their insert_one costs O(n) per call, so O(n²) in all), the rest "
                     f"bulk-loaded untimed; rates are per document, measured on a store smaller "
                     f"than everyone else's")
    notes.append(f"find: one query returns a list of ~1% of the documents; no index: "
                 f"{args.scans} queries per trial; indexed: {args.lookups}, other values; for "
                 f"systems without an index the indexed row repeats their no-index figure; no "
                 f"query value is used twice on one store; the finds are timed warm: one untimed "
                 f"find of another city comes first in every system (docdb then holds the "
                 f"documents in its row cache, sqlite3 its pages)")
    notes.append(f"every write phase ends with a commit or flush, timed: docdb autocommit=False "
                 f"+ conn.commit(); sqlite3 one transaction + COMMIT (sync={args.sync}: "
                 f"{'WAL, synchronous=NORMAL' if args.sync == 'normal' else 'synchronous=OFF'})")
    notes += [n for s, cls in peers.items() if s in systems and cls for n in cls.notes]
    notes += [f"{s}: not installed ({msg})" for s, msg in results["not_installed"].items()]
    notes += [f"{s} {op}: {msg}" for s, ops in results["errors"].items() for op, msg in ops.items()]
    return notes


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="smoke run: 5000 documents, 1 trial, "
                   "insert cap 500; writes documents-quick.json")
    p.add_argument("--count", type=int, help="N documents (default 100000; 5000 with --quick)")
    p.add_argument("--repeat", type=int, help="trials; best is kept (default 3; 1 with --quick)")
    p.add_argument("--insert-cap", type=int, help="documents timed with insert_one on systems "
                   "whose insert_one is O(n) (default 2000; 500 with --quick)")
    p.add_argument("--scans", type=int, default=5, help="unindexed finds per trial (default 5)")
    p.add_argument("--lookups", type=int, default=50, help="indexed finds per trial (default 50)")
    add_system_options(p, KNOWN_ENGINES)
    p.add_argument("--peer", action="append", choices=list(SYSTEMS),
                   help="measure only these peers; repeatable (default: all)")
    p.add_argument("--no-peers", action="store_true", help="docdb only")


def run(args: argparse.Namespace) -> int:
    """Measure, print markdown to stdout, write bench/results/documents.json."""
    apply_defaults(args, QUICK, FULL)
    results: dict[str, Any] = {"count": args.count, "repeat": args.repeat, "seed": args.seed,
                               "sync": args.sync, "quick": args.quick, "insert_cap": args.insert_cap,
                               "scans": args.scans, "lookups": args.lookups, "errors": {},
                               "not_installed": {}, "explain": {}}
    systems, docdbs = pick_systems(args, results)
    ds = make_docs(args.count, args.seed)
    print(f"## documents: {ds.count:,} nested documents, best of {args.repeat}, "
          f"sync={args.sync}\n\ndocdb package: `{results.get('docdb_module', 'not usable')}`\n",
          flush=True)
    values = measure(systems, ds, args, results)
    summary = summarize(values, docdbs)
    notes = footnotes(ds, args, systems, results)
    results |= {"systems": list(systems), "docdb": docdbs, **summary, "footnotes": notes}
    print(render_raw(summary, results["errors"], notes), flush=True)
    if docdbs and len(systems) > len(docdbs):  # ratios need a peer on the other side
        for d in docdbs:
            print(render_speedups(summary, d), flush=True)
        print(render_targets(summary, docdbs))
    for label, plan in results["explain"].items():
        print(f"{label} explain() of an indexed find: `{json.dumps(plan)}`\n")
    path = write_results("documents", results, "documents-quick" if args.quick else None)
    print(f"results written to {path}", file=sys.stderr)
    return 1 if results["errors"] or not docdbs else 0
