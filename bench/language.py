"""``python -m bench language``: the language's newer statements, docdb beside sqlite3.

What a user of window functions, recursive CTEs, JSON functions and enforced constraints
waits for: the same statements run on the same rows in an in-memory docdb and an
in-memory sqlite3 (with ``PRAGMA foreign_keys = ON``), their answers compared, best of
``--repeat``. Ratios are speedups (> 1: docdb is faster). Results go to
``bench/results/language.json``.
May import: the standard library, docdb and bench.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
from collections.abc import Callable
from typing import Any

from bench.report import SECONDS, best, fmt_ratio, fmt_value, markdown_table, speedup, timed, write_results

HELP = "window functions, WITH RECURSIVE, JSON functions, CHECK/FOREIGN KEY inserts, docdb beside sqlite3"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the table (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="trials per statement; the best is kept")
    parser.add_argument("--quick", action="store_true", help="10,000 rows, one trial")


def _rows(n: int) -> list[tuple]:
    rng = random.Random(20)
    return [(i, rng.randrange(100), rng.randrange(1000), json.dumps({"tags": rng.sample("abcdef", 3),
                                                                     "score": rng.random()}))
            for i in range(n)]


def _setup(conn: Any, rows: list[tuple]) -> None:
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, grp INTEGER, v INTEGER, doc TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    conn.execute("CREATE TABLE edge (src INTEGER, dst INTEGER)")
    conn.executemany("INSERT INTO edge VALUES (?, ?)", [(i, (i * 7 + 3) % 2000) for i in range(2000)]
                     + [(i, i + 1) for i in range(2000)])
    conn.commit()


QUERIES: list[tuple[str, str]] = [
    ("window: running sum over all rows",
     "SELECT sum(s) FROM (SELECT sum(v) OVER (ORDER BY id) AS s FROM t)"),
    ("window: rank within 100 partitions",
     "SELECT count(*) FROM (SELECT rank() OVER (PARTITION BY grp ORDER BY v DESC) AS r FROM t) "
     "WHERE r = 1"),
    ("window: moving average, 3-row frame",
     "SELECT max(a) FROM (SELECT avg(v) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) "
     "AS a FROM t)"),
    ("window: lag and lead",
     "SELECT sum(d) FROM (SELECT coalesce(lag(v) OVER w, 0) - coalesce(lead(v) OVER w, 0) AS d "
     "FROM t WINDOW w AS (ORDER BY id))"),
    ("recursive: count to 100,000",
     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) SELECT sum(x) FROM c"),
    ("recursive: reachability in a 2,000-node graph",
     "WITH RECURSIVE r(n) AS (SELECT 0 UNION SELECT e.dst FROM edge e JOIN r ON e.src = r.n) "
     "SELECT count(*) FROM r"),
    ("json: ->> on JSON text", "SELECT sum(doc ->> '$.score') FROM t"),
    ("json: json_each over every row",
     "SELECT count(*) FROM t, json_each(t.doc, '$.tags') j WHERE j.value = 'a'"),
    ("json: json_group_array by group",
     "SELECT count(*) FROM (SELECT grp, json_group_array(v) FROM t GROUP BY grp)"),
]


def _insert_constrained(n: int) -> Callable[[Any], int]:
    """Insert n children, each checked against a CHECK and a foreign key to 1,000 parents."""
    def run(conn: Any) -> int:
        conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO p VALUES (?)", [(i,) for i in range(1000)])
        conn.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p (id), "
                     "n INTEGER CHECK (n >= 0))")
        conn.executemany("INSERT INTO c VALUES (?, ?, ?)", [(i, i % 1000, i % 7) for i in range(n)])
        conn.commit()
        return conn.execute("SELECT count(*) FROM c").fetchone()[0]
    return run


def _open(system: str) -> Any:
    if system == "docdb":
        import docdb
        return docdb.connect(":memory:")
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _plain(row: Any) -> Any:
    return tuple(round(x, 6) if isinstance(x, float) else int(x) if isinstance(x, bool) else x for x in row)


def run(args: argparse.Namespace) -> int:
    n, repeat = (10_000, 1) if args.quick else (args.rows, args.repeat)
    rows = _rows(n)
    conns = {system: _open(system) for system in ("docdb", "sqlite3")}
    for conn in conns.values():
        _setup(conn, rows)
    results: dict[str, dict[str, float]] = {}
    table = []
    for label, sql in QUERIES:
        answers, times = {}, {}
        for system, conn in conns.items():
            conn.execute(sql).fetchall()  # one untimed run: plans and caches are warm in both
            times[system] = best(timed(lambda c=conn, s=sql: c.execute(s).fetchall())[0]
                                 for _ in range(repeat))
            answers[system] = [_plain(r) for r in conn.execute(sql).fetchall()]
        if answers["docdb"] != answers["sqlite3"]:
            raise RuntimeError(f"{label}: docdb {answers['docdb']!r} but sqlite3 {answers['sqlite3']!r}")
        results[label] = times
        table.append(_line(label, times))
    label = f"constraints: insert {n:,} rows checked by CHECK + FOREIGN KEY"
    times = {}
    for system in ("docdb", "sqlite3"):
        samples = []
        for _ in range(repeat):
            conn = _open(system)
            elapsed, count = timed(_insert_constrained(n), conn)
            if count != n:
                raise RuntimeError(f"{label}: {system} kept {count} rows")
            samples.append(elapsed)
        times[system] = best(samples)
    results[label] = times
    table.append(_line(label, times))
    print(f"## language ({n:,} rows; best of {repeat})\n")
    print(markdown_table(["statement", "docdb", "sqlite3", "docdb vs sqlite3"], table))
    write_results("language", {"rows": n, "repeat": repeat, "results": results},
                  name="language-quick" if args.quick else None)
    return 0


def _line(label: str, times: dict[str, float]) -> list[str]:
    return [label, fmt_value(times["docdb"], SECONDS), fmt_value(times["sqlite3"], SECONDS),
            fmt_ratio(speedup(times["docdb"], times["sqlite3"], SECONDS))]
