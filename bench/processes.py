"""``python -m bench processes``: several processes on one database, docdb beside sqlite3 (WAL).

The same workload on each system, measured in the same run:

* **reads** -- point reads (``SELECT v FROM kv WHERE id = ?``, random ids) for ``--seconds``
  by one reader process alone, then by two at once while a writer process commits
  ``--write-rate`` small transactions a second (one UPDATE each): reads per second, and the
  aggregate of two over one.
* **writer** -- a writer process committing as fast as it can, alone and beside two
  readers: commits per second, and with-readers over alone.
* **visibility** -- a writer commits ``--visibility-rate`` transactions a second, each
  setting a marker row to its sequence number; an observer process polls the row; the
  time from ``commit()`` returning to the observer reading the value (both on the system's
  monotonic clock), median and p99.

sqlite3 runs in WAL mode with ``synchronous=NORMAL`` (its usual many-process setup);
docdb with ``sync="normal"``. Processes start from ``spawn`` and wait on a barrier, so
start-up is not measured. Results go to ``bench/results/processes.json``.
May import: the standard library, docdb and bench.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sqlite3
import statistics
import tempfile
import time
from typing import Any

from bench.report import fmt_ratio, markdown_table, write_results

HELP = "readers and a writer in separate processes on one database, docdb beside sqlite3 (WAL)"
ROWS = 20_000
SYSTEMS = ("docdb", "sqlite3")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each measurement (default 4)")
    parser.add_argument("--write-rate", type=int, default=1000,
                        help="commits per second of the writer beside the readers (default 1,000)")
    parser.add_argument("--visibility-rate", type=int, default=200,
                        help="commits per second while visibility is measured (default 200)")
    parser.add_argument("--quick", action="store_true", help="1 second per measurement")


# ----- the two systems, behind one small face ------------------------------------------------------

def open_system(system: str, path: str) -> Any:
    """A connection to ``path`` on ``system``, as every process of these suites opens it."""
    if system == "docdb":
        import docdb

        return docdb.connect(path, sync="normal", timeout=30)
    conn = sqlite3.connect(path + ".sqlite", timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _commit(system: str, conn: Any, sql: str, params: tuple) -> None:
    if system == "docdb":
        conn.execute(sql, params)
        conn.commit()
    else:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, params)
        conn.execute("COMMIT")


def _create(system: str, path: str) -> None:
    conn = open_system(system, path)
    conn.execute("CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT)")
    rows = [(i, f"value {i:08d}") for i in range(ROWS)]
    if system == "docdb":
        conn.executemany("INSERT INTO kv VALUES (?, ?)", rows)
        conn.commit()
    else:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO kv VALUES (?, ?)", rows)
        conn.execute("COMMIT")
    conn.close()


# ----- the processes ----------------------------------------------------------------------------

def _reader(system: str, path: str, seconds: float, barrier: Any, out: Any) -> None:
    conn = open_system(system, path)
    rng = random.Random(os.getpid())
    sql = "SELECT v FROM kv WHERE id = ?"
    conn.execute(sql, (0,)).fetchone()  # plans made, caches warm
    barrier.wait()
    count, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(100):
            conn.execute(sql, (rng.randrange(ROWS),)).fetchone()
        count += 100
    out.put(("reads", count / seconds))
    conn.close()


def _writer(system: str, path: str, seconds: float, rate: int, barrier: Any, out: Any) -> None:
    """``rate`` commits a second (0: as many as it can); reports commits per second."""
    conn = open_system(system, path)
    rng = random.Random(os.getpid())
    sql = "UPDATE kv SET v = ? WHERE id = ?"
    barrier.wait()
    start = time.monotonic()
    end, count = start + seconds, 0
    while (now := time.monotonic()) < end:
        if rate and count >= (now - start) * rate:
            time.sleep(0.0005)
            continue
        _commit(system, conn, sql, (f"written {count}", rng.randrange(1, ROWS)))
        count += 1
    out.put(("commits", count / (time.monotonic() - start)))
    conn.close()


def _marker_writer(system: str, path: str, seconds: float, rate: int, barrier: Any, out: Any) -> None:
    conn = open_system(system, path)
    barrier.wait()
    acked = []
    start = time.monotonic()
    for seq in range(1, int(seconds * rate) + 1):
        while time.monotonic() < start + seq / rate:
            time.sleep(0.0002)
        _commit(system, conn, "UPDATE kv SET v = ? WHERE id = 0", (str(seq),))
        acked.append(time.monotonic())
    out.put(("acked", acked))
    conn.close()


def _observer(system: str, path: str, seconds: float, rate: int, barrier: Any, out: Any) -> None:
    conn = open_system(system, path)
    sql = "SELECT v FROM kv WHERE id = 0"
    conn.execute(sql).fetchone()
    barrier.wait()
    seen: dict[int, float] = {}
    last, total = 0, int(seconds * rate)
    deadline = time.monotonic() + seconds + 5
    while last < total and time.monotonic() < deadline:
        value = conn.execute(sql).fetchone()[0]
        if value.isdigit() and int(value) != last:
            last = int(value)
            seen[last] = time.monotonic()
    out.put(("seen", seen))
    conn.close()


def run_together(jobs: list[tuple[Any, tuple]]) -> list[tuple[str, Any]]:
    """Start each ``(function, args)`` in its own process; all begin together."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(len(jobs)), ctx.Queue()
    procs = [ctx.Process(target=fn, args=(*args, barrier, out)) for fn, args in jobs]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    return results


# ----- measuring --------------------------------------------------------------------------------

def _measure(system: str, path: str, seconds: float, write_rate: int, visibility_rate: int) -> dict:
    one = run_together([(_reader, (system, path, seconds))])
    two = run_together([(_reader, (system, path, seconds)), (_reader, (system, path, seconds)),
                (_writer, (system, path, seconds, write_rate))])
    alone = run_together([(_writer, (system, path, seconds, 0))])
    beside = run_together([(_writer, (system, path, seconds, 0)), (_reader, (system, path, seconds)),
                   (_reader, (system, path, seconds))])
    seen = run_together([(_marker_writer, (system, path, seconds, visibility_rate)),
                 (_observer, (system, path, seconds, visibility_rate))])
    acked = next(v for k, v in seen if k == "acked")
    observed = next(v for k, v in seen if k == "seen")
    # a value the observer never saw was overwritten before its next poll: seen no later than
    # the next one it did see
    delays, pending = [], []
    for seq, ack in enumerate(acked, 1):
        pending.append(ack)
        if seq in observed:
            delays.extend(max(observed[seq] - a, 0.0) for a in pending)
            pending = []
    delays.sort()
    return {
        "reads_one": one[0][1],
        "reads_two": sum(v for k, v in two if k == "reads"),
        "writer_beside_reads": next(v for k, v in two if k == "commits"),
        "writes_alone": alone[0][1],
        "writes_beside_readers": next(v for k, v in beside if k == "commits"),
        "visibility_median_ms": statistics.median(delays) * 1e3 if delays else None,
        "visibility_p99_ms": delays[int(len(delays) * 0.99) - 1] * 1e3 if delays else None,
        "visibility_samples": len(delays),
    }


def run(args: argparse.Namespace) -> int:
    seconds = 1.0 if args.quick else args.seconds
    figures: dict[str, dict] = {}
    for system in SYSTEMS:
        with tempfile.TemporaryDirectory(prefix="docdb-bench-processes-") as d:
            path = os.path.join(d, "db")
            _create(system, path)
            figures[system] = _measure(system, path, seconds, args.write_rate, args.visibility_rate)
    mine, theirs = figures["docdb"], figures["sqlite3"]
    derived = {
        system: {"read_scaling": f["reads_two"] / f["reads_one"],
                 "writer_kept": f["writes_beside_readers"] / f["writes_alone"]}
        for system, f in figures.items()
    }
    rows = []
    for label, key, unit, higher in [
        ("point reads/s, one reader", "reads_one", "/s", True),
        ("point reads/s, two readers + writer (aggregate)", "reads_two", "/s", True),
        (f"writer commits/s beside them (asked {args.write_rate})", "writer_beside_reads", "/s", True),
        ("writer commits/s alone", "writes_alone", "/s", True),
        ("writer commits/s beside two readers", "writes_beside_readers", "/s", True),
        ("commit to visible elsewhere, median", "visibility_median_ms", "ms", False),
        ("commit to visible elsewhere, p99", "visibility_p99_ms", "ms", False),
    ]:
        a, b = mine[key], theirs[key]
        ratio = (a / b if higher else b / a) if a and b else None
        fmt = (lambda x: f"{x:,.0f}") if unit == "/s" else (lambda x: f"{x:.2f} ms")
        rows.append([label, fmt(a) if a is not None else "n/a", fmt(b) if b is not None else "n/a",
                     fmt_ratio(ratio)])
    for label, key in [("read scaling, two readers / one", "read_scaling"),
                       ("writer kept beside readers / alone", "writer_kept")]:
        rows.append([label, f"{derived['docdb'][key]:.2f}x", f"{derived['sqlite3'][key]:.2f}x",
                     fmt_ratio(derived["docdb"][key] / derived["sqlite3"][key])])
    print(f"Several processes on one database ({os.cpu_count()} cores, {seconds:g} s per measurement; "
          "the ratio column is docdb's figure over sqlite3's, > 1 is better for docdb)\n")
    print(markdown_table(["measurement", "docdb", "sqlite3 (WAL)", "docdb vs sqlite3"], rows))
    targets = [
        ("two readers read >= 1.6x one reader", derived["docdb"]["read_scaling"] >= 1.6),
        ("the writer keeps >= 0.7x its speed beside readers", derived["docdb"]["writer_kept"] >= 0.7),
        ("visibility p99 <= 50 ms", (mine["visibility_p99_ms"] or 1e9) <= 50),
    ]
    print("\nTargets: " + "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in targets))
    path = write_results("processes", {"seconds": seconds, "write_rate": args.write_rate,
                                       "visibility_rate": args.visibility_rate, "figures": figures,
                                       "derived": derived,
                                       "targets": {name: ok for name, ok in targets}})
    print(f"\nresults: {path}")
    return 0
