"""``python -m bench transfer``: the docdb command's import, export and dump beside sqlite3's.

What a user of ``docdb import``/``export``/``dump`` waits for, measured through the
functions those commands call (``docdb_shell.transfer``, ``docdb.dump`` and the
script runner), beside the sqlite3 module doing the same job the usual way (JSON
text in a column and ``executemany``; ``csv`` + ``executemany``; ``iterdump`` and
``executescript``), and sqlite3's own shell ``.import --csv`` where it is installed.
Every system works on the same generated files; answers are counted; best of
``--repeat``. Results go to ``bench/results/transfer.json``.
May import: the standard library, docdb, docdb_shell and bench.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

HELP = "import (JSON Lines, CSV), export and dump/reload, docdb beside sqlite3"
RESULTS = os.path.join(os.path.dirname(__file__), "results", "transfer.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", type=int, default=100_000, help="records per file (default 100,000)")
    parser.add_argument("--dump-records", type=int, default=20_000,
                        help="documents in the dump/reload step (default 20,000)")
    parser.add_argument("--repeat", type=int, default=2, help="trials per step; the best is kept")
    parser.add_argument("--quick", action="store_true", help="10,000 records, 2,000 to dump, one trial")


def _documents(n: int) -> list[dict[str, Any]]:
    rng = random.Random(6)
    cities = ["Oslo", "Lima", "Pune", "Kyiv", "Bern", "Nice", "Graz", "Cork"]
    return [{"_id": i, "name": f"user{i}", "age": rng.randint(18, 90), "score": rng.random() * 100,
             "address": {"city": rng.choice(cities), "zip": f"{rng.randint(1000, 9999)}"},
             "tags": rng.sample(["a", "b", "c", "d", "e"], rng.randint(0, 3))} for i in range(n)]


def _write_files(directory: str, documents: list[dict]) -> tuple[str, str]:
    jsonl, csv_path = os.path.join(directory, "docs.jsonl"), os.path.join(directory, "rows.csv")
    with open(jsonl, "w") as f:
        f.writelines(json.dumps(d) + "\n" for d in documents)
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "age", "score", "city"])
        writer.writerows([d["_id"], d["name"], d["age"], d["score"], d["address"]["city"]] for d in documents)
    return jsonl, csv_path


def _best(repeat: int, step: Callable[[str], int], expected: int) -> float:
    """The best time of ``repeat`` runs of ``step(fresh directory)``, which returns a count.
    A step that sets ``step.elapsed`` timed only its own part (not the loading before it)."""
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="docdb-bench-") as d:
            started = time.perf_counter()
            count = step(d)
            elapsed = getattr(step, "elapsed", time.perf_counter() - started)
        if count != expected:
            raise RuntimeError(f"{step.__name__}: {count} records, expected {expected}")
        best = min(best, elapsed)
    return best


# ----- docdb ---------------------------------------------------------------------------------

def _docdb_import(path: str, name: str) -> Callable[[str], int]:
    def step(d: str) -> int:
        import docdb
        from docdb_shell.transfer import import_file

        conn = docdb.connect(os.path.join(d, "db"), autocommit=True)
        report = import_file(conn, path, name)
        conn.close()
        return report.inserted
    step.__name__ = f"docdb import {os.path.basename(path)}"
    return step


def _docdb_loaded(d: str, jsonl: str) -> Any:
    import docdb
    from docdb_shell.transfer import import_file

    conn = docdb.connect(os.path.join(d, "db"), autocommit=True)
    import_file(conn, jsonl, "docs")
    return conn


def _docdb_export(jsonl: str, fmt: str) -> Callable[[str], int]:
    def step(d: str) -> int:
        from docdb_shell.transfer import export

        conn = _docdb_loaded(d, jsonl)
        started = time.perf_counter()
        with open(os.path.join(d, "out"), "w", newline="") as out:
            count = export(conn, "docs", out, fmt)
        step.elapsed = time.perf_counter() - started  # type: ignore[attr-defined]
        conn.close()
        return count
    return step


def _docdb_dump_reload(jsonl: str) -> Callable[[str], int]:
    def step(d: str) -> int:
        import docdb
        from docdb.dump import iterdump
        from docdb_shell.dotcommands import dispatch
        from docdb_shell.runner import run_lines
        from docdb_shell.session import Session

        conn = _docdb_loaded(d, jsonl)
        started = time.perf_counter()
        script = os.path.join(d, "dump.sql")
        with open(script, "w") as f:
            f.writelines(s + "\n" for s in iterdump(conn))
        conn.close()
        session = Session(os.path.join(d, "copy"), out=io.StringIO())
        with open(script) as f:
            errors = run_lines(session, f, dispatch, script, stop_on_error=True)
        session.close()
        step.elapsed = time.perf_counter() - started  # type: ignore[attr-defined]
        copy = docdb.connect(os.path.join(d, "copy"))
        count = copy.collection("docs").count_documents({}) if not errors else -1
        copy.close()
        return count
    return step


# ----- sqlite3 ---------------------------------------------------------------------------------

def _sqlite_import_jsonl(jsonl: str) -> Callable[[str], int]:
    def step(d: str) -> int:
        conn = sqlite3.connect(os.path.join(d, "db.sqlite"))
        conn.execute("CREATE TABLE docs (doc TEXT)")
        with open(jsonl) as f, conn:
            conn.executemany("INSERT INTO docs VALUES (json(?))", ((line,) for line in f if line.strip()))
        count = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
        conn.close()
        return count
    return step


def _sqlite_import_csv(path: str) -> Callable[[str], int]:
    def step(d: str) -> int:
        conn = sqlite3.connect(os.path.join(d, "db.sqlite"))
        conn.execute("CREATE TABLE rows (id INTEGER, name TEXT, age INTEGER, score REAL, city TEXT)")
        with open(path, newline="") as f, conn:
            reader = csv.reader(f)
            next(reader)
            conn.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?)", reader)
        count = conn.execute("SELECT count(*) FROM rows").fetchone()[0]
        conn.close()
        return count
    return step


def _sqlite_cli_import_csv(path: str) -> Callable[[str], int]:
    def step(d: str) -> int:
        db = os.path.join(d, "db.sqlite")
        subprocess.run(["sqlite3", db, ".import --csv " + path + " rows"], check=True)
        conn = sqlite3.connect(db)
        count = conn.execute("SELECT count(*) FROM rows").fetchone()[0]
        conn.close()
        return count
    return step


def _sqlite_loaded(d: str, jsonl: str) -> sqlite3.Connection:
    conn = sqlite3.connect(os.path.join(d, "db.sqlite"))
    conn.execute("CREATE TABLE docs (doc TEXT)")
    with open(jsonl) as f, conn:
        conn.executemany("INSERT INTO docs VALUES (?)", ((line.strip(),) for line in f))
    return conn


def _sqlite_export(jsonl: str) -> Callable[[str], int]:
    def step(d: str) -> int:
        conn = _sqlite_loaded(d, jsonl)
        started = time.perf_counter()
        count = 0
        with open(os.path.join(d, "out"), "w") as out:
            for (doc,) in conn.execute("SELECT doc FROM docs"):
                out.write(doc + "\n")
                count += 1
        step.elapsed = time.perf_counter() - started  # type: ignore[attr-defined]
        conn.close()
        return count
    return step


def _sqlite_dump_reload(jsonl: str) -> Callable[[str], int]:
    def step(d: str) -> int:
        conn = _sqlite_loaded(d, jsonl)
        started = time.perf_counter()
        script = "\n".join(conn.iterdump())
        conn.close()
        copy = sqlite3.connect(os.path.join(d, "copy.sqlite"))
        copy.executescript(script)
        step.elapsed = time.perf_counter() - started  # type: ignore[attr-defined]
        count = copy.execute("SELECT count(*) FROM docs").fetchone()[0]
        copy.close()
        return count
    return step


def run(args: argparse.Namespace) -> int:
    records = 10_000 if args.quick else args.records
    dump_records = 2_000 if args.quick else args.dump_records
    repeat = 1 if args.quick else args.repeat
    rows: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="docdb-bench-files-") as files:
        jsonl, csv_path = _write_files(files, _documents(records))
        small = os.path.join(files, "small")
        os.mkdir(small)
        small_jsonl, _ = _write_files(small, _documents(dump_records))
        rows.append((f"import JSON Lines into a collection ({records:,} docs)",
                     _best(repeat, _docdb_import(jsonl, "docs"), records),
                     _best(repeat, _sqlite_import_jsonl(jsonl), records), "sqlite3 module, json() column"))
        rows.append((f"import CSV into a new table ({records:,} rows)",
                     _best(repeat, _docdb_import(csv_path, "rows"), records),
                     _best(repeat, _sqlite_import_csv(csv_path), records), "sqlite3 module, executemany"))
        if shutil.which("sqlite3"):
            cli = _best(repeat, _sqlite_cli_import_csv(csv_path), records)
            rows.append((f"import CSV into a new table ({records:,} rows)", rows[-1][1], cli,
                         "sqlite3 shell .import --csv"))
        rows.append((f"export a collection as JSON Lines ({records:,} docs)",
                     _best(repeat, _docdb_export(jsonl, "jsonl"), records),
                     _best(repeat, _sqlite_export(jsonl), records), "sqlite3 module, SELECT doc"))
        rows.append((f"dump and reload a collection ({dump_records:,} docs)",
                     _best(repeat, _docdb_dump_reload(small_jsonl), dump_records),
                     _best(repeat, _sqlite_dump_reload(small_jsonl), dump_records),
                     "sqlite3 iterdump + executescript"))
    print("| operation | docdb | sqlite3 | docdb / sqlite3 (speed) | sqlite3 as |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, ours, theirs, how in rows:
        print(f"| {name} | {ours:.2f} s | {theirs:.2f} s | {theirs / ours:.2f}x | {how} |")
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump({"records": records, "dump_records": dump_records, "repeat": repeat,
                   "rows": [{"operation": n, "docdb_s": a, "sqlite3_s": b, "sqlite3_as": h}
                            for n, a, b, h in rows]}, f, indent=2)
    return 0
