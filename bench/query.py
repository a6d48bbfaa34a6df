"""Suite ``query``: docdb's SQL over a table and over a collection, against sqlite3 in the same run.

Why sqlite3: it is the embedded SQL database every Python user already has, and
the SQL layer's goals are stated as ratios to it (bench.querytables.TARGETS).
Each docdb engine gets a column. The collection questions are asked of sqlite3
the way a sqlite3 user would store documents: a JSON text column queried with
``json_extract`` and expression indexes on the paths, as in the documents suite.

What one *trial* does to each system, in a fresh temp directory, on the same
seeded data (bench.querydata): create the schema with its indexes and load the
small ``shops`` table (untimed); then for the table ``items`` and again for the
collection ``docs``: bulk INSERT of every row through one ``executemany`` and
one commit (the indexes maintained as it goes), then point SELECTs by key (one
``execute`` + ``fetchone`` each), indexed range SELECTs of ~100 rows, filtered
full scans of an unindexed column returning ~1%, GROUP BY with count/sum/avg,
a join of shops (N/10 rows) with the big relation grouped by region, and ORDER
BY an unindexed column LIMIT 10. Every query goes through the PEP 249
connection with ``?`` parameters and returns plain Python values: sqlite3's
documents are ``json.loads``-ed, docdb's arrive as dicts. Systems are
interleaved within a trial and trials repeated, each operation keeping its best
time. Repetitions per operation are capped (``--points`` etc.) so a full run
takes minutes. Every answer (each row of a point SELECT, the row count and sum
of keys of every range and scan, every group, the top ten) is checked against
answers computed in plain Python, every trial; a wrong answer is reported as an
error, never as a figure. A docdb operation that raises is reported and the
trial goes on: the suite never crashes on it.
May import: the standard library, docdb (late, so ``--help`` works while it is
broken) and bench modules.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from bench.querydata import QueryDataset, Row, as_doc, make_data
from bench.querytables import COLD, PEER, QUESTIONS, render_raw, render_targets, summarize
from bench.report import best, write_results
from bench.trials import (
    WrongAnswer,
    add_system_options,
    apply_defaults,
    interleaved,
    run_in_fresh_dir,
    timed_checked,
)

HELP = ("docdb's SQL vs sqlite3 over a table and a collection (bulk INSERT, point and range "
        "SELECT, filtered scan, GROUP BY, join, ORDER BY LIMIT)")
KNOWN_ENGINES = ("lsm", "hash")  # column order; those storage.ENGINES has are measured
QUICK = {"count": 5_000, "repeat": 1, "budget": 1.0}
FULL = {"count": 100_000, "repeat": 2, "budget": 2.0}  # 2 trials: a full run in ~4 minutes
Runner = Callable[[list], list]  # the parameters of each query -> the rows of each query

_SCHEMA = [
    "CREATE TABLE shops (id INTEGER PRIMARY KEY, region TEXT)",
    "CREATE TABLE items (id INTEGER PRIMARY KEY, sid INTEGER, a INTEGER, b REAL, cat TEXT, note TEXT)",
    "CREATE INDEX items_a ON items (a)",
]
_SHOPS_INSERT = "INSERT INTO shops (id, region) VALUES (?, ?)"
_TABLE_SQL = {
    "table insert": "INSERT INTO items (id, sid, a, b, cat, note) VALUES (?, ?, ?, ?, ?, ?)",
    "table point": "SELECT * FROM items WHERE id = ?",
    "table range": "SELECT * FROM items WHERE a BETWEEN ? AND ?",
    "table scan": "SELECT * FROM items WHERE b BETWEEN ? AND ?",
    "table group": "SELECT cat, count(*), sum(b), avg(a) FROM items GROUP BY cat",
    "table join": "SELECT s.region, count(*), sum(i.b) FROM shops s JOIN items i ON i.sid = s.id "
                  "GROUP BY s.region",
    "table order": "SELECT id, b FROM items ORDER BY b LIMIT 10",
    "table count": "SELECT count(*) FROM items WHERE a BETWEEN ? AND ?",
}


def _collection_sql(path: Callable[[str, str], str], whole: str, docs: str) -> dict[str, str]:
    """The collection questions, given how a system reads a path and a whole document."""
    return {
        "collection point": f"SELECT {whole} FROM {docs} WHERE {path('d', 'key')} = ?",
        "collection range": f"SELECT {whole} FROM {docs} WHERE {path('d', 'm.a')} BETWEEN ? AND ?",
        "collection scan": f"SELECT {whole} FROM {docs} WHERE {path('d', 'm.b')} BETWEEN ? AND ?",
        "collection group": f"SELECT {path('d', 'cat')}, count(*), sum({path('d', 'm.b')}), "
                            f"avg({path('d', 'm.a')}) FROM {docs} GROUP BY {path('d', 'cat')}",
        "collection join": f"SELECT s.region, count(*), sum({path('d', 'm.b')}) FROM shops s "
                           f"JOIN {docs} ON {path('d', 'sid')} = s.id GROUP BY s.region",
        "collection order": f"SELECT {path('d', 'key')}, {path('d', 'm.b')} FROM {docs} "
                            f"ORDER BY {path('d', 'm.b')} LIMIT 10",
        "collection count": f"SELECT count(*) FROM {docs} WHERE {path('d', 'm.a')} BETWEEN ? AND ?",
    }


def _json_path(alias: str, path: str) -> str:
    return f"json_extract({alias}.doc, '$.{path}')"


DOCDB_SQL = _TABLE_SQL | {"collection insert": "INSERT INTO docs VALUE ?"} | _collection_sql(
    lambda alias, path: f"{alias}.{path}", "*", "docs d")
DOCDB_SCHEMA = [*_SCHEMA, "CREATE COLLECTION docs", "CREATE INDEX docs_key ON docs (key)",
                "CREATE INDEX docs_a ON docs (m.a)"]
SQLITE_SQL = _TABLE_SQL | {"collection insert": "INSERT INTO docs (doc) VALUES (?)"} | _collection_sql(
    _json_path, "d.doc", "docs d")
# the index expressions are the queries' json_extract calls (sqlite matches d.doc to doc), so sqlite
# uses them; the plans in the results show it
SQLITE_SCHEMA = [*_SCHEMA, "CREATE TABLE docs (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)",
                 "CREATE INDEX docs_key ON docs (json_extract(doc, '$.key'))",
                 "CREATE INDEX docs_a ON docs (json_extract(doc, '$.m.a'))"]


def _points(execute: Callable[..., Any], sql: str, budget: float) -> Runner:
    clock = time.perf_counter

    def run(keys: list) -> list:
        out, stop = [], clock() + budget
        for k in keys:
            out.append(execute(sql, (k,)).fetchone())
            if clock() > stop:
                break
        return out
    return run


def _points_json(execute: Callable[..., Any], sql: str, budget: float) -> Runner:
    clock, loads = time.perf_counter, json.loads

    def run(keys: list) -> list:
        out, stop = [], clock() + budget
        for k in keys:
            row = execute(sql, (k,)).fetchone()
            out.append(None if row is None else (loads(row[0]),))
            if clock() > stop:
                break
        return out
    return run


def _queries(execute: Callable[..., Any], sql: str, budget: float) -> Runner:
    clock = time.perf_counter

    def run(params: list) -> list:
        out, stop = [], clock() + budget
        for p in params:
            out.append(execute(sql, p).fetchall())
            if clock() > stop:
                break
        return out
    return run


def _queries_json(execute: Callable[..., Any], sql: str, budget: float) -> Runner:
    clock, loads = time.perf_counter, json.loads

    def run(params: list) -> list:
        out, stop = [], clock() + budget
        for p in params:
            out.append([(loads(doc),) for (doc,) in execute(sql, p).fetchall()])
            if clock() > stop:
                break
        return out
    return run


class SqlSystem(ABC):
    """One system reached through its PEP 249 connection: the schema, the SQL of each operation
    and how a document is written differ; the timed query loops are the same code for every
    system. ``doc_text`` marks a system whose whole documents come back as JSON text to decode."""

    label = "?"
    sql: dict[str, str] = {}
    schema: list[str] = []
    explain_prefix = "EXPLAIN "
    doc_text = False
    conn: Any

    def setup(self, shops: list[tuple[int, str]]) -> None:
        """Tables, collection, indexes and the small ``shops`` table, committed (untimed)."""
        for statement in self.schema:
            self.conn.execute(statement)
        self.conn.executemany(_SHOPS_INSERT, shops)
        self.conn.commit()

    def insert_rows(self, rows: list[Row]) -> None:
        self.conn.executemany(self.sql["table insert"], rows)
        self.conn.commit()

    @abstractmethod
    def insert_docs(self, docs: list[dict]) -> None:
        """Every document through one executemany, then one commit."""

    def count(self, model: str) -> int:
        name = "items" if model == "table" else "docs"
        return self.conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]

    def runner(self, op: str, budget: float) -> Runner:
        """The timed loop of one operation: each query executed and its rows fetched, in order,
        until the parameters run out or ``budget`` seconds have passed (after at least one)."""
        model, question = op.split()
        question = question.removeprefix("cold-")
        execute, sql = self.conn.execute, self.sql[f"{model} {question}"]
        decode = self.doc_text and model == "collection" and question in ("point", "range", "scan")
        if question == "point":
            return (_points_json if decode else _points)(execute, sql, budget)
        return (_queries_json if decode else _queries)(execute, sql, budget)

    def reopen(self) -> None:
        """Close and open the database again: what the first query after an open finds."""
        self.conn.close()
        self.conn = self.connect()

    def explain(self, op: str, params: Sequence[Any]) -> list[str]:
        """The system's plan for one operation (recorded in the results, untimed)."""
        rows = self.conn.execute(self.explain_prefix + self.sql[op], params).fetchall()
        return [str(r[-1]) for r in rows]

    def close(self) -> None:
        self.conn.close()


class DocdbSystem(SqlSystem):
    sql = DOCDB_SQL
    schema = DOCDB_SCHEMA

    def __init__(self, path: str, sync: str, engine: str, cache_size: int | None = None) -> None:
        import docdb  # imported late so --help works while docdb is being written

        self.label = f"docdb-{engine}"
        options = {} if cache_size is None else {"cache_size": cache_size}
        self.connect = partial(docdb.connect, os.path.join(path, "docdb"), engine=engine, sync=sync,
                               autocommit=False, **options)
        self.conn = self.connect()

    def cache_footprint(self) -> dict[str, Any]:
        """Bytes per row the row cache holds, per model: a full scan's rows measured with
        tracemalloc from an empty cache (untimed; tracemalloc slows what it watches)."""
        import tracemalloc

        footprint = {}
        for model, name in (("table", "items"), ("collection", "docs d")):
            self.reopen()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                self.conn.execute(f"SELECT count(*) FROM {name} WHERE 1 = 0").fetchall()  # fills the cache
                held = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
            rows = self.conn.stats()["row_cache"]["rows"]
            footprint[model] = {"rows": rows, "bytes_per_row": round(held / rows) if rows else None}
        return footprint

    def insert_docs(self, docs: list[dict]) -> None:
        self.conn.executemany(self.sql["collection insert"], ((d,) for d in docs))
        self.conn.commit()


class SqliteSystem(SqlSystem):
    """sqlite3 in its default PEP 249 mode (an implicit transaction, ended by commit()); at
    sync=normal in WAL mode with synchronous=NORMAL, as in the storage and documents suites."""

    label = PEER
    sql = SQLITE_SQL
    schema = SQLITE_SCHEMA
    explain_prefix = "EXPLAIN QUERY PLAN "
    doc_text = True

    def __init__(self, path: str, sync: str) -> None:
        self.path, self.sync = path, sync
        self.conn = self.connect()

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(os.path.join(self.path, "query.sqlite"))
        if self.sync == "normal":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.sync.upper()}")
        return conn

    def insert_docs(self, docs: list[dict]) -> None:
        dumps = json.dumps
        self.conn.executemany(self.sql["collection insert"], ((dumps(d),) for d in docs))
        self.conn.commit()


Opener = Callable[[str, str], SqlSystem]


def expect(what: str, got: Any, want: Any) -> None:
    if got != want:
        raise WrongAnswer(f"wrong answer: {what} gave {got!r}, expected {want!r}")


def _close(got: Sequence[Any], want: Sequence[Any]) -> bool:
    """Aggregates match: counts exactly, float sums and averages to 1e-9 (summation order)."""
    return len(got) == len(want) and all(
        g == w if isinstance(w, int) else isinstance(g, (int, float)) and math.isclose(g, w, rel_tol=1e-9)
        for g, w in zip(got, want, strict=False))


def check_answer(ds: QueryDataset, op: str, params: list, got: list) -> None:
    """Every query's answer against the one computed in plain Python; raises WrongAnswer."""
    model, question = op.split()
    question = question.removeprefix("cold-")
    if not 1 <= len(got) <= len(params):
        raise WrongAnswer(f"wrong answer: {op} answered {len(got)} of {len(params)} queries")
    params = params[:len(got)]  # the budget may have stopped the loop early
    if question == "point":
        for k, row in zip(params, got, strict=True):
            want: Any = ds.rows[k] if model == "table" else as_doc(ds.rows[k])
            have = None if row is None else (
                tuple(row) if model == "table" else {f: v for f, v in row[0].items() if f != "_id"})
            expect(f"{op} of key {k}", have, want)
    elif question in ("range", "scan"):
        answer = ds.in_a if question == "range" else ds.in_b
        for (lo, hi), rows in zip(params, got, strict=True):
            keys = [r[0] if model == "table" else r[0]["key"] for r in rows]
            expect(f"{op} {lo!r}..{hi!r} (rows, sum of keys)", (len(keys), sum(keys)), answer(lo, hi))
    elif question == "count":
        for (lo, hi), rows in zip(params, got, strict=True):
            expect(f"{op} {lo!r}..{hi!r}", rows, [(ds.in_a(lo, hi)[0],)])
    elif question in ("group", "join"):
        want_groups = ds.answers.groups if question == "group" else ds.answers.joined
        for rows in got:
            have_groups = {r[0]: tuple(r[1:]) for r in rows}
            if (len(rows) != len(want_groups) or have_groups.keys() != want_groups.keys()
                    or not all(_close(have_groups[g], w) for g, w in want_groups.items())):
                raise WrongAnswer(f"wrong answer: {op} gave {sorted(rows)!r}, expected "
                                  f"{sorted(want_groups.items())!r}")
    else:
        for rows in got:
            expect(op, [tuple(r) for r in rows], ds.answers.top)


class Trial:
    """One system, one trial: per model, the insert then each question, timed and checked.

    An operation that raises or answers wrongly is recorded as an error and the
    trial goes on; a failed insert (or row count) ends that model's part of the
    trial, a failed setup the whole trial.
    """

    def __init__(self, system: SqlSystem, ds: QueryDataset, args: argparse.Namespace,
                 number: int) -> None:
        self.system, self.ds = system, ds
        self.verify = number == 0
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.errors: dict[str, str] = {}
        self.plans: dict[str, list[str]] = {}
        self.footprint: dict[str, Any] | None = None
        self.result: Any = None
        self.budget = args.budget
        self.params: dict[str, list] = {
            "point": ds.point_keys(number, args.points),
            "range": ds.a_ranges(number, args.ranges),
            "count": ds.a_ranges(number + 1000, args.ranges),
            "scan": ds.b_bands(number, args.scans),
            "group": [()] * args.aggregates,
            "join": [()] * args.aggregates,
            "order": [()] * args.orders,
        }

    def step(self, op: str, fn: Callable[..., Any], *fn_args: Any,
             check: Callable[[Any], None] | None = None) -> bool:
        """Time ``fn(*fn_args)`` and check its result (kept in ``self.result``); False if either failed."""
        self.result = None
        outcome = timed_checked(self.errors, op, fn, *fn_args, check=check)
        if outcome is None:
            return False
        self.seconds[op], self.result = outcome
        return True

    def run(self) -> None:
        system, ds = self.system, self.ds
        if not self.step("setup", system.setup, ds.shops):
            return
        self.model("table", system.insert_rows, ds.rows)
        self.model("collection", system.insert_docs, ds.docs())
        if self.verify and isinstance(system, DocdbSystem):
            try:
                self.footprint = system.cache_footprint()
            except Exception as e:
                self.errors["row cache footprint"] = f"{type(e).__name__}: {e}"

    def model(self, model: str, insert: Callable[[list], None], data: list) -> None:
        op = f"{model} insert"
        if not self.step(op, insert, data):
            return
        self.counts[op] = len(data)
        if self.verify and not self.step(f"{model} count", self.system.count, model,
                                         check=partial(expect, f"{model} row count", want=len(data))):
            return
        for question in QUESTIONS:
            if question == "insert" or question.startswith("cold-"):
                continue
            op, params = f"{model} {question}", self.params[question]
            if self.verify:
                self.record_plan(op, params[0])
            runner = self.system.runner(op, self.budget)
            if question in COLD:  # warm: one untimed run first (sqlite3's pages, docdb's row cache)
                timed_checked(self.errors, f"{op} warm-up", runner, params[:1])
            if self.step(op, runner, params, check=partial(check_answer, self.ds, op, params)):
                self.counts[op] = len(self.result)
        for question in COLD:  # each the first query after reopening
            op, params = f"{model} cold-{question}", self.params[question][:1]
            if self.step(f"{op} reopen", self.system.reopen) and self.step(
                    op, self.system.runner(op, self.budget), params,
                    check=partial(check_answer, self.ds, op, params)):
                self.counts[op] = 1

    def record_plan(self, op: str, params: Any) -> None:
        try:
            self.plans[op] = self.system.explain(op, params if isinstance(params, tuple) else (params,))
        except Exception as e:
            self.errors[f"{op} EXPLAIN"] = f"{type(e).__name__}: {e}"


def run_trial(opener: Opener, ds: QueryDataset, args: argparse.Namespace, number: int,
              label: str, results: dict[str, Any]) -> Trial | None:
    """One trial of one system (see bench.trials); the plans it showed are kept."""
    t = run_in_fresh_dir(opener, args.dir, args.sync, label, results,
                         lambda system: Trial(system, ds, args, number))
    if t is not None and t.plans:
        results["plans"][label] = t.plans
    if t is not None and t.footprint:
        results["row_cache"][label] = t.footprint
    return t


def measure(systems: dict[str, Opener], ds: QueryDataset, args: argparse.Namespace,
            results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Best rate per system per operation (the best trial's seconds per row or query, inverted),
    trials interleaved across systems; how many each trial ran goes to ``results["runs"]``."""
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in systems}  # seconds per row or query
    runs: dict[str, dict[str, list[int]]] = results["runs"]
    errors: dict[str, dict[str, str]] = results["errors"]
    def one(label: str, number: int) -> Trial | None:
        return run_trial(systems[label], ds, args, number, label, results)
    for label, t in interleaved(list(systems), args.repeat, errors, one):
        for op, n in t.counts.items():
            samples[label].setdefault(op, []).append(t.seconds[op] / n)
            runs.setdefault(label, {}).setdefault(op, []).append(n)
    return {s: {op: 1 / best(v) for op, v in ops.items()} for s, ops in samples.items()}


def pick_systems(args: argparse.Namespace, results: dict[str, Any]) -> tuple[dict[str, Opener], list[str]]:
    """docdb's engines, then sqlite3 unless --no-peers; a docdb that will not import is noted."""
    systems: dict[str, Opener] = {}
    try:
        import docdb
        import storage

        docdb.connect  # noqa: B018 - fails while docdb's API is not there yet
        engines = args.engine or [e for e in KNOWN_ENGINES if e in storage.ENGINES]
        systems |= {f"docdb-{e}": partial(DocdbSystem, engine=e, cache_size=args.cache_size) for e in engines}
        results["docdb_module"] = docdb.__file__
    except Exception as e:
        results["errors"]["docdb"] = {"open": f"{type(e).__name__}: {e}"}
        print(f"docdb is not usable, sqlite3 only: {e}", file=sys.stderr)
    docdbs = list(systems)
    if not args.no_peers:
        systems[PEER] = SqliteSystem
    return systems, docdbs


def cache_notes(results: dict[str, Any]) -> list[str]:
    """What docdb's row cache held after a full scan of each model, in bytes per row."""
    notes = []
    for label, models in results["row_cache"].items():
        parts = [f"{model} {f['rows']:,} rows, {f['bytes_per_row']} bytes per row"
                 for model, f in models.items() if f["bytes_per_row"] is not None]
        if parts:
            notes.append(f"{label} row cache (decoded rows kept for the next scan, measured with "
                         f"tracemalloc): " + "; ".join(parts))
    return notes


def budget_notes(args: argparse.Namespace, results: dict[str, Any]) -> list[str]:
    """Which operations the time budget stopped early, with the queries each trial ran."""
    asked = {"point": args.points, "range": args.ranges, "count": args.ranges, "scan": args.scans,
             "group": args.aggregates, "join": args.aggregates, "order": args.orders}
    notes = []
    for label, ops in results["runs"].items():
        cut = [f"{op} {', '.join(map(str, ns))} of {asked[op.split()[1]]}"
               for op, ns in ops.items() if op.split()[1] in asked and min(ns) < asked[op.split()[1]]]
        if cut:
            notes.append(f"{label}: stopped by the {args.budget:g} s budget (queries run in each "
                         f"trial, of those asked): " + "; ".join(cut))
    return notes


def plan_notes(results: dict[str, Any], docdbs: list[str]) -> list[str]:
    """Indexed questions that docdb answers without its index: the first place to look."""
    notes = []
    for d in docdbs:
        for op, lines in results["plans"].get(d, {}).items():
            indexed = op.split()[1] in ("point", "range", "count")
            if indexed and not any("SEARCH" in line for line in lines):
                notes.append(f"{d} {op}: the plan reads no index ({' / '.join(s.strip() for s in lines)})")
    return notes


def footnotes(ds: QueryDataset, args: argparse.Namespace, results: dict[str, Any],
              docdbs: list[str]) -> list[str]:
    """What a reader needs to trust the table: sizes, repetitions, indexes, commits, errors."""
    notes = [
        f"data: items/docs {ds.count:,} rows/documents, shops {len(ds.shops):,} rows; the schema "
        f"and its indexes (items.a; docs.key, docs.m.a) exist before the timed insert, so the "
        f"insert maintains them in every system; shops is loaded untimed",
        f"per trial (capped to keep a full run to minutes): point SELECT {args.points:,} random "
        f"keys, one execute + fetchone each; range {args.ranges} queries of ~100 rows; filtered "
        f"scan {args.scans} queries of ~1%; GROUP BY and join {args.aggregates} each; ORDER BY "
        f"LIMIT 10 {args.orders}; an operation stops once it has run {args.budget:g} s (at least "
        f"one query; a clock read after each query, in every system); every query returns its rows "
        f"as Python values (whole documents for the collection's point, range and scan)",
        f"{PEER}'s collection: docs(id INTEGER PRIMARY KEY, doc TEXT) written with json.dumps and "
        f"read with json.loads (both timed), queried with json_extract(doc, '$.path') and "
        f"expression indexes on '$.key' and '$.m.a'",
        f"each insert is one executemany + one commit: docdb autocommit=False; {PEER} in its "
        f"implicit transaction (sync={args.sync}: "
        f"{'WAL, synchronous=NORMAL' if args.sync == 'normal' else 'synchronous=OFF'})",
        "scan, GROUP BY, join and ORDER BY are timed warm: one untimed run of the query comes "
        "first in every system (docdb's row cache, sqlite3's page cache); each is also timed once as "
        "the first query after closing and reopening the connection (docdb's row cache is then empty; "
        "the operating system's file cache is warm for both)",
        f"COUNT(*) of a range: {args.ranges} queries of ~100 rows over the indexed a / m.a",
        *cache_notes(results),
        *budget_notes(args, results),
        *plan_notes(results, docdbs),
    ]
    notes += [f"{s} {op}: {msg}" for s, ops in results["errors"].items() for op, msg in ops.items()]
    return notes


def render_plans(results: dict[str, Any], docdbs: list[str]) -> str:
    """docdb's EXPLAIN of every question (the first engine's; another engine's only if it differs)."""
    out = []
    first = results["plans"].get(docdbs[0], {}) if docdbs else {}
    for d in docdbs:
        plans = results["plans"].get(d, {})
        if d != docdbs[0] and plans == first:
            continue
        lines = [f"- `{op}`: {' / '.join(s.strip() for s in p)}" for op, p in plans.items()]
        out.append(f"### {d} EXPLAIN\n\n" + "\n".join(lines) + "\n")
    return "\n".join(out)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="smoke run: 5000 rows, 1 trial; "
                   "writes query-quick.json")
    p.add_argument("--count", type=int, help="N rows and N documents (default 100000; 5000 with --quick)")
    p.add_argument("--repeat", type=int, help="trials; best is kept (default 2; 1 with --quick)")
    p.add_argument("--points", type=int, default=2_000, help="point SELECTs per trial (default 2000)")
    p.add_argument("--ranges", type=int, default=200, help="range SELECTs per trial (default 200)")
    p.add_argument("--scans", type=int, default=5, help="filtered full scans per trial (default 5)")
    p.add_argument("--aggregates", type=int, default=3,
                   help="GROUP BY queries and joins per trial, each (default 3)")
    p.add_argument("--orders", type=int, default=5, help="ORDER BY ... LIMIT 10 per trial (default 5)")
    p.add_argument("--cache-size", type=int, default=None,
                   help="docdb's cache_size (decoded rows kept; default: docdb's own)")
    p.add_argument("--budget", type=float, help="seconds after which a query operation stops "
                   "early, per trial, at least one query run (default 2; 1 with --quick)")
    add_system_options(p, KNOWN_ENGINES)
    p.add_argument("--no-peers", action="store_true", help="docdb only (no ratios)")


def run(args: argparse.Namespace) -> int:
    """Measure, print markdown to stdout, write bench/results/query.json."""
    apply_defaults(args, QUICK, FULL)
    for name in ("count", "repeat", "points", "ranges", "scans", "aggregates", "orders", "budget"):
        if getattr(args, name) <= 0:
            raise SystemExit(f"--{name} must be positive")
    results: dict[str, Any] = {
        "count": args.count, "repeat": args.repeat, "seed": args.seed, "sync": args.sync,
        "quick": args.quick, "points": args.points, "ranges": args.ranges, "scans": args.scans,
        "aggregates": args.aggregates, "orders": args.orders, "budget": args.budget,
        "cache_size": args.cache_size, "errors": {}, "plans": {}, "runs": {}, "row_cache": {}}
    systems, docdbs = pick_systems(args, results)
    ds = make_data(args.count, args.seed)
    print(f"## query: {ds.count:,}-row table and {ds.count:,}-document collection, "
          f"best of {args.repeat}, sync={args.sync}\n\n"
          f"docdb package: `{results.get('docdb_module', 'not usable')}`\n", flush=True)
    values = measure(systems, ds, args, results)
    summary = summarize(values, docdbs)
    notes = footnotes(ds, args, results, docdbs)
    results |= {"systems": list(systems), "docdb": docdbs, **summary, "footnotes": notes}
    print(render_raw(summary, docdbs, results["errors"], notes), flush=True)
    if docdbs and PEER in systems:
        print(render_targets(summary, docdbs), flush=True)
    if docdbs:
        print(render_plans(results, docdbs), flush=True)
    path = write_results("query", results, "query-quick" if args.quick else None)
    print(f"results written to {path}", file=sys.stderr)
    return 1 if results["errors"] or not docdbs else 0
