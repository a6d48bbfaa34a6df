"""``python -m bench load``: a sustained mixed load from several processes and threads,
docdb beside sqlite3 (WAL), with and without compaction running.

A bank of ``ACCOUNTS`` accounts. ``--processes`` client processes of ``--threads``
threads each (every thread its own connection) run for ``--seconds``, each operation
chosen at random: 80% a point read of one balance, 2% a snapshot read of every balance
(their sum must never change: a torn read would show), 18% a transfer -- one transaction
of two UPDATEs and an INSERT into ``transfers``. Every operation's latency is recorded.

Two phases per system: **steady**, and **compacting**, where one more process compacts
the whole database over and over, 0.2 s apart (docdb ``conn.compact()``: a checkpoint and a merge or
compaction of every store; sqlite3 ``PRAGMA wal_checkpoint(TRUNCATE)``, its nearest
equivalent -- a ``VACUUM`` would stop every writer).

After each phase the harness checks there were no lost updates (``transfers`` holds one
row per acknowledged transfer, the total is unchanged), no torn reads, and no deadlock
(every client finished in time). Prints operations per second and p50/p99 latency of
reads and of transfers; results go to ``bench/results/load.json``.
May import: the standard library, docdb and bench.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from typing import Any

from bench.processes import open_system, run_together
from bench.report import fmt_ratio, markdown_table, write_results

HELP = "sustained mixed reads and transfers from several processes and threads, p50/p99, with compaction"
ACCOUNTS = 1000
START = 1000
SYSTEMS = ("docdb", "sqlite3")
PAUSE = 0.2  # seconds between the compactor's rounds: compaction runs most of the time, not all
MEASURES = [("operations/s", "ops_per_s", True), ("transfers/s", "transfers_per_s", True),
            ("read p50", "read_p50_ms", False), ("read p99", "read_p99_ms", False),
            ("transfer p50", "write_p50_ms", False), ("transfer p99", "write_p99_ms", False)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase (default 10)")
    parser.add_argument("--processes", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="threads per client process (default 2)")
    parser.add_argument("--quick", action="store_true", help="2 seconds per phase")


def _create(system: str, path: str) -> None:
    conn = open_system(system, path)
    conn.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER NOT NULL)")
    conn.execute("CREATE TABLE transfers (id INTEGER PRIMARY KEY, frm INTEGER, dst INTEGER, amt INTEGER)")
    rows = [(i, START) for i in range(ACCOUNTS)]
    if system == "sqlite3":
        conn.execute("BEGIN")
    conn.executemany("INSERT INTO acct VALUES (?, ?)", rows)
    conn.execute("COMMIT") if system == "sqlite3" else conn.commit()
    conn.close()


def _transfer(system: str, conn: Any, rng: random.Random, tid: int) -> None:
    frm, dst = rng.sample(range(ACCOUNTS), 2)
    amt = rng.randint(1, 20)
    if system == "sqlite3":
        conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("UPDATE acct SET bal = bal - ? WHERE id = ?", (amt, frm))
        conn.execute("UPDATE acct SET bal = bal + ? WHERE id = ?", (amt, dst))
        conn.execute("INSERT INTO transfers VALUES (?, ?, ?, ?)", (tid, frm, dst, amt))
        conn.execute("COMMIT") if system == "sqlite3" else conn.commit()
    except BaseException:
        conn.execute("ROLLBACK") if system == "sqlite3" else conn.rollback()
        raise


def _snapshot_total(system: str, conn: Any) -> int:
    conn.execute("BEGIN")
    try:
        return conn.execute("SELECT sum(bal) FROM acct").fetchone()[0]
    finally:
        conn.execute("ROLLBACK") if system == "sqlite3" else conn.rollback()


def _client(system: str, path: str, seconds: float, threads: int, number: int,
            barrier: Any, out: Any) -> None:
    """``threads`` threads of mixed operations; reports latencies, counts and problems.
    ``number`` is unique over every client of every phase: it makes the transfer ids."""
    reads: list[float] = []
    writes: list[float] = []
    failures: list[str] = []
    tally = {"acked": 0, "retries": 0, "torn": 0}
    lock = threading.Lock()
    start = threading.Barrier(threads + 1)

    def work(thread: int) -> None:
        conn = open_system(system, path)
        rng = random.Random(number * 1000 + thread)
        my_reads, my_writes, acked, retries, torn = [], [], 0, 0, 0
        next_id = (number * 1000 + thread) * 10_000_000
        start.wait()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            choice = rng.random()
            began = time.perf_counter()
            try:
                if choice < 0.80:
                    conn.execute("SELECT bal FROM acct WHERE id = ?", (rng.randrange(ACCOUNTS),)).fetchone()
                    my_reads.append(time.perf_counter() - began)
                elif choice < 0.82:
                    if _snapshot_total(system, conn) != ACCOUNTS * START:
                        torn += 1
                    my_reads.append(time.perf_counter() - began)
                else:
                    _transfer(system, conn, rng, next_id)
                    next_id += 1
                    acked += 1
                    my_writes.append(time.perf_counter() - began)
            except Exception as error:  # a lock held too long, a stale snapshot: counted, retried
                if "lock" not in str(error) and "serialize" not in str(error):
                    failures.append(f"{type(error).__name__}: {error}")
                    break
                retries += 1
        conn.close()
        with lock:
            reads.extend(my_reads)
            writes.extend(my_writes)
            tally["acked"] += acked
            tally["retries"] += retries
            tally["torn"] += torn

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start.wait()
    for thread in pool:
        thread.join()
    out.put(("client", {"reads": reads, "writes": writes, "failures": failures, **tally}))


def _compactor(system: str, path: str, seconds: float, barrier: Any, out: Any) -> None:
    conn = open_system(system, path)
    barrier.wait()
    rounds, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        if system == "docdb":
            conn.compact()
        else:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        rounds += 1
        time.sleep(PAUSE)
    conn.close()
    out.put(("compactions", rounds))


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1e3


def _phase(system: str, path: str, args: argparse.Namespace, seconds: float, compacting: bool) -> dict:
    first = 100 if compacting else 0  # client numbers, so the phases' transfer ids differ
    jobs: list[tuple[Any, tuple]] = [(_client, (system, path, seconds, args.threads, first + n))
                                     for n in range(args.processes)]
    if compacting:
        jobs.append((_compactor, (system, path, seconds)))
    began = time.monotonic()
    results = run_together(jobs)
    clients = [v for k, v in results if k == "client"]
    reads = [x for c in clients for x in c["reads"]]
    writes = [x for c in clients for x in c["writes"]]
    acked = sum(c["acked"] for c in clients)
    conn = open_system(system, path)
    total = conn.execute("SELECT sum(bal) FROM acct").fetchone()[0]
    recorded = conn.execute("SELECT count(*) FROM transfers").fetchone()[0]
    conn.close()
    return {
        "ops_per_s": (len(reads) + len(writes)) / seconds,
        "reads_per_s": len(reads) / seconds,
        "transfers_per_s": len(writes) / seconds,
        "read_p50_ms": _percentile(reads, 0.50), "read_p99_ms": _percentile(reads, 0.99),
        "write_p50_ms": _percentile(writes, 0.50), "write_p99_ms": _percentile(writes, 0.99),
        "retries": sum(c["retries"] for c in clients),
        "failures": [f for c in clients for f in c["failures"]],
        "torn_reads": sum(c["torn"] for c in clients),
        "acked": acked, "recorded": recorded, "total_ok": total == ACCOUNTS * START,
        "compactions": next((v for k, v in results if k == "compactions"), 0),
        "wall_s": time.monotonic() - began,
    }


def run(args: argparse.Namespace) -> int:
    seconds = 2.0 if args.quick else args.seconds
    figures: dict[str, dict[str, dict]] = {}
    problems = []
    for system in SYSTEMS:
        with tempfile.TemporaryDirectory(prefix="docdb-bench-load-") as d:
            path = os.path.join(d, "db")
            _create(system, path)
            figures[system] = {}
            before = 0
            for phase, compacting in (("steady", False), ("compacting", True)):
                f = figures[system][phase] = _phase(system, path, args, seconds, compacting)
                lost = f["recorded"] - before != f["acked"] or not f["total_ok"]
                if lost or f["torn_reads"] or f["failures"]:
                    problems.append(f"{system} {phase}: {f['acked']} acknowledged transfers, "
                                    f"{f['recorded'] - before} recorded, total ok {f['total_ok']}, "
                                    f"{f['torn_reads']} torn reads, failures {f['failures'][:2]}")
                before = f["recorded"]
    rows = []
    for phase in ("steady", "compacting"):
        mine, theirs = figures["docdb"][phase], figures["sqlite3"][phase]
        for label, key, higher in MEASURES:
            a, b = mine[key], theirs[key]
            fmt = (lambda x: f"{x:,.0f}") if key.endswith("per_s") else (lambda x: f"{x:.2f} ms")
            ratio = (a / b if higher else b / a) if a and b else None
            rows.append([f"{phase}: {label}", fmt(a) if a is not None else "n/a",
                         fmt(b) if b is not None else "n/a", fmt_ratio(ratio)])
        rows.append([f"{phase}: compactions run", str(mine["compactions"]), str(theirs["compactions"]), ""])
    print(f"Sustained load: {args.processes} processes x {args.threads} threads, 80% point reads, "
          f"2% snapshot sums, 18% transfers; {seconds:g} s per phase ({os.cpu_count()} cores; "
          "the ratio is docdb over sqlite3, > 1 is better for docdb)\n")
    print(markdown_table(["measurement", "docdb", "sqlite3 (WAL)", "docdb vs sqlite3"], rows))
    print("\nChecks: " + ("; ".join(problems) if problems else
                          "no lost updates (every acknowledged transfer recorded once, the total unchanged), "
                          "no torn reads, no deadlock"))
    path = write_results("load", {"seconds": seconds, "processes": args.processes, "threads": args.threads,
                                  "figures": figures, "problems": problems})
    print(f"\nresults: {path}")
    return 1 if problems else 0
