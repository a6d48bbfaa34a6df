"""Runner for the SQLite project's sqllogictest suite, against any PEP 249 connection.

sqllogictest (https://sqlite.org/sqllogictest) is SQLite's own SQL correctness suite. The
copy under ``data/sqllogictest`` lets CI check docdb's SQL against it. The runner takes any
PEP 249 connection factory rather than docdb itself, so that it could be validated on stdlib
``sqlite3`` first: the suite's results were produced by SQLite, so a sqlite3 failure is a
runner bug (the one exception is a record SQLite itself fails, see the tests).

Reading the files and formatting results follow the reference C runner (see
:mod:`tests.conformance.slt_format`); running does too: every file on a fresh connection,
a failing record is reported and the run goes on. Differences, all stricter: a result must
have exactly the expected number of values (the C runner stops comparing at the shorter
side); an engine raising anything but the DB-API ``Error`` is a ``crash``, never an expected
error; a record running past ``record_timeout`` is a ``timeout``. A ``statement`` record with
several statements runs them one by one (the C runner uses ``sqlite3_exec``).

Usage::

    python -m tests.conformance.sqllogictest [FILES or DIRS...] [--db docdb|sqlite3]
        [--limit N] [--record-timeout S] [--jobs N] [--verbose]

Library: :func:`parse_file`, :func:`run_file`, :func:`run_suite` (what docdb's conformance
tests call), :class:`FileResult`, :class:`SuiteResult`, :class:`Failure`.
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conformance.deadline import Deadline, RecordTimeout
from tests.conformance.slt_format import (
    DEFAULT_HASH_THRESHOLD,
    Condition,
    ParseError,
    Record,
    format_rows,
    format_value,
    hash_line,
    hash_values,
    parse_file,
    sort_values,
    split_statements,
)

__all__ = [
    "CATEGORIES",
    "DATA_DIR",
    "Condition",
    "Failure",
    "FileResult",
    "ParseError",
    "Record",
    "SuiteResult",
    "collect_files",
    "format_rows",
    "format_value",
    "hash_values",
    "parse_file",
    "resolve_error_class",
    "run_file",
    "run_suite",
    "sort_values",
    "split_statements",
]

DATA_DIR = Path(__file__).resolve().parent / "data" / "sqllogictest"


# --------------------------------------------------------------------------- running


@dataclass
class Failure:
    """A record that did not pass. ``category``: see :data:`CATEGORIES`."""

    file: str
    line: int
    category: str
    sql: str
    expected: str | None = None
    got: str | None = None
    error: str | None = None

    def describe(self) -> str:
        parts = [f"{self.file}:{self.line}: {self.category}", "  " + self.sql.replace("\n", "\n  ")]
        if self.expected is not None:
            parts.append(f"  expected: {self.expected}")
        if self.got is not None:
            parts.append(f"  got:      {self.got}")
        if self.error is not None:
            parts.append(f"  error:    {self.error}")
        return "\n".join(parts)


CATEGORIES = {
    "error": "statement ok or query raised the database's Error",
    "no-error": "statement error ran without an error",
    "columns": "query returned another number of columns than its type string",
    "mismatch": "query results (values or hash) differ from the expected ones",
    "label": "labeled query's results differ from an earlier query with the same label",
    "crash": "the engine raised a Python exception that is not the DB-API Error",
    "timeout": "the record ran longer than the record timeout",
    "parse": "the test file is not valid sqllogictest",
}


@dataclass
class FileResult:
    """Counts for one file. ``failed`` excludes crashes, which are counted in ``crashed``."""

    path: str
    passed: int = 0
    failed: int = 0
    crashed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    @property
    def timeouts(self) -> int:
        return sum(failure.category == "timeout" for failure in self.failures)

    def add_failure(self, failure: Failure) -> None:
        self.failures.append(failure)
        if failure.category == "crash":
            self.crashed += 1
        else:
            self.failed += 1


def resolve_error_class(conn: Any) -> type[Exception]:
    """The DB-API ``Error`` of a connection: ``conn.Error`` (the PEP 249 extension), else the
    ``Error`` of the module defining the connection's class or of one of its parent packages."""
    candidate = getattr(conn, "Error", None)
    if isinstance(candidate, type) and issubclass(candidate, Exception):
        return candidate
    module_name = type(conn).__module__
    while module_name:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        candidate = getattr(module, "Error", None)
        if isinstance(candidate, type) and issubclass(candidate, Exception):
            return candidate
        module_name = module_name.rpartition(".")[0]
    raise TypeError(f"cannot find the DB-API Error class of {type(conn).__qualname__}; pass error_class")


def _describe_exception(exc: BaseException) -> str:
    """The exception's type and message; for a crash also where it was raised."""
    text = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    if frames and not isinstance(exc, RecordTimeout):
        text += f" (raised at {Path(frames[-1].filename).name}:{frames[-1].lineno})"
    return text


class _FileRun:
    """The state of running one file: connection, guard, label hashes, threshold."""

    def __init__(self, conn: Any, engine: str, error_class: type[Exception], deadline: Deadline,
                 result: FileResult) -> None:
        self.conn, self.engine, self.error_class = conn, engine, error_class
        self.deadline, self.result = deadline, result
        self.threshold = DEFAULT_HASH_THRESHOLD
        self.labels: dict[str, str] = {}

    def guarded(self, action: Callable[[], Any]) -> tuple[str, Any]:
        """Run ``action`` under the deadline: ("ok", value) | ("error"|"crash"|"timeout", exc)."""
        try:
            with self.deadline.record():
                try:
                    return "ok", action()
                except self.error_class as exc:
                    outcome: tuple[str, Any] = ("error", exc)
                except Exception as exc:
                    outcome = ("crash", exc)
        except RecordTimeout as exc:
            return "timeout", exc
        return ("timeout", outcome[1]) if self.deadline.expired else outcome

    def statement(self, sql: str) -> None:
        for text in split_statements(sql):
            cursor = self.conn.cursor()
            cursor.execute(text)
            if cursor.description is not None:
                cursor.fetchall()

    def query(self, sql: str) -> tuple[int, list[Sequence[Any]]]:
        cursor = self.conn.cursor()
        cursor.execute(sql)
        rows = cursor.fetchall()
        if cursor.description is not None:
            return len(cursor.description), rows
        return (len(rows[0]) if rows else 0), rows

    def fail(self, record: Record, category: str, **details: str | None) -> None:
        self.result.add_failure(Failure(record.file, record.line, category, record.sql, **details))

    def run_statement(self, record: Record) -> None:
        status, value = self.guarded(lambda: self.statement(record.sql))
        if status in ("crash", "timeout"):
            self.fail(record, status, error=_describe_exception(value))
        elif record.expect_error and status == "ok":
            self.fail(record, "no-error", expected="an error")
        elif not record.expect_error and status == "error":
            self.fail(record, "error", error=_describe_exception(value))
        else:
            self.result.passed += 1

    def run_query(self, record: Record) -> None:
        status, value = self.guarded(lambda: self.query(record.sql))
        if status != "ok":
            self.fail(record, status, error=_describe_exception(value))
            return
        width, rows = value
        if width != len(record.types) or any(len(row) != width for row in rows):
            self.fail(record, "columns", expected=f"{len(record.types)} columns", got=f"{width} columns")
            return
        status, value = self.guarded(lambda: self.format_rows(record, rows))
        if status != "ok":
            self.fail(record, "crash" if status == "error" else status, error=_describe_exception(value))
            return
        self.check_results(record, value)

    def format_rows(self, record: Record, rows: list[Sequence[Any]]) -> list[str]:
        return sort_values(format_rows(rows, record.types), record.sort_mode, len(record.types))

    def check_results(self, record: Record, values: list[str]) -> None:
        digest = hash_line(values) if record.expected_hash or record.label else ""
        if record.expected_hash is not None:
            expected = "{} values hashing to {}".format(*record.expected_hash)
            if digest != expected:
                self.fail(record, "mismatch", expected=expected, got=self.shown(values))
                return
        elif record.expected is not None and list(record.expected) != values:
            self.fail(record, "mismatch", expected=" ".join(record.expected), got=self.shown(values))
            return
        if record.label is not None:
            previous = self.labels.setdefault(record.label, digest)
            if previous != digest:
                self.fail(record, "label", expected=previous, got=digest)
                return
        self.result.passed += 1

    def shown(self, values: list[str]) -> str:
        if self.threshold and len(values) > self.threshold:
            return f"{hash_line(values)} ({' '.join(values[:16])}{' ...' if len(values) > 16 else ''})"
        return " ".join(values)


def run_file(
    path: str | Path,
    connect: Callable[[], Any],
    engine_name: str,
    limit: int | None = None,
    *,
    error_class: type[Exception] | None = None,
    record_timeout: float | None = 10.0,
) -> FileResult:
    """Run one test file on a fresh connection from ``connect()`` and count the outcomes.

    ``engine_name`` decides ``skipif``/``onlyif`` (``sqlite`` for stdlib sqlite3, ``docdb``).
    ``limit`` stops after that many statement/query records (skipped ones included).
    ``error_class`` is the DB-API ``Error``; by default it is found from the connection.
    A record failing is reported and the run goes on with the next record, as in the C runner.
    """
    started = time.perf_counter()
    result = FileResult(str(path))
    try:
        records = parse_file(path)
    except ParseError as exc:
        result.add_failure(Failure(exc.file, exc.line, "parse", "", error=str(exc)))
        return result
    conn = connect()
    try:
        error_class = error_class or resolve_error_class(conn)
        with Deadline(record_timeout, getattr(conn, "interrupt", None)) as deadline:
            _run_records(_FileRun(conn, engine_name, error_class, deadline, result), records, limit)
    finally:
        conn.close()
        result.seconds = time.perf_counter() - started
    return result


def _run_records(run: _FileRun, records: list[Record], limit: int | None) -> None:
    considered = 0
    for record in records:
        if record.kind in ("statement", "query"):
            if limit is not None and considered >= limit:
                return
            considered += 1
        if record.skipped_for(run.engine):
            if record.kind in ("statement", "query"):
                run.result.skipped += 1
            continue
        if record.kind == "halt":
            return
        if record.kind == "hash-threshold":
            run.threshold = record.threshold
        elif record.kind == "statement":
            run.run_statement(record)
        else:
            run.run_query(record)


# --------------------------------------------------------------------------- suites


@dataclass
class SuiteResult:
    """The results of several files, with totals."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(result.passed for result in self.files)

    @property
    def failed(self) -> int:
        return sum(result.failed for result in self.files)

    @property
    def crashed(self) -> int:
        return sum(result.crashed for result in self.files)

    @property
    def skipped(self) -> int:
        return sum(result.skipped for result in self.files)

    @property
    def timeouts(self) -> int:
        return sum(result.timeouts for result in self.files)

    @property
    def seconds(self) -> float:
        return sum(result.seconds for result in self.files)

    @property
    def failures(self) -> list[Failure]:
        return [failure for result in self.files for failure in result.failures]

    def report(self) -> str:
        """A compact table: one line per file, then the totals."""
        names = [_display_name(result.path) for result in self.files]
        width = max([len(name) for name in names] + [5])
        header = f"{'file':<{width}}  {'passed':>7} {'failed':>7} {'crashed':>7} {'timeout':>7} " \
                 f"{'skipped':>7} {'seconds':>8}"
        lines = [header, "-" * len(header)]
        rows = [(name, result) for name, result in zip(names, self.files)] + [("total", self)]
        for name, r in rows:
            if name == "total":
                lines.append("-" * len(header))
            lines.append(f"{name:<{width}}  {r.passed:>7} {r.failed:>7} {r.crashed:>7} {r.timeouts:>7} "
                         f"{r.skipped:>7} {r.seconds:>8.2f}")
        return "\n".join(lines)


def _display_name(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(DATA_DIR))
    except ValueError:
        return path


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories into their ``*.test`` files (sorted); keep files as given."""
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.rglob("*.test")) if path.is_dir() else [path])
    return files


def run_suite(
    files: Iterable[str | Path],
    connect: Callable[[], Any],
    engine_name: str,
    error_class: type[Exception] | None = None,
    *,
    limit: int | None = None,
    record_timeout: float | None = 10.0,
) -> SuiteResult:
    """Run every file (directories are expanded) and return the per-file results and totals."""
    suite = SuiteResult()
    for path in collect_files(files):
        suite.files.append(run_file(path, connect, engine_name, limit, error_class=error_class,
                                    record_timeout=record_timeout))
    return suite


# --------------------------------------------------------------------------- command line


def sqlite3_connect() -> Any:
    """A fresh in-memory stdlib sqlite3 database in autocommit mode."""
    return sqlite3.connect(":memory:", isolation_level=None)


def docdb_connect() -> Any:
    """A fresh in-memory docdb database in autocommit mode."""
    import docdb

    return docdb.connect(":memory:", autocommit=True)


ENGINES: dict[str, tuple[Callable[[], Any], str]] = {
    "sqlite3": (sqlite3_connect, "sqlite"),
    "docdb": (docdb_connect, "docdb,sqlite"),  # docdb answers as SQLite does: its records run too
}


def _run_one(path: str, db: str, limit: int | None, record_timeout: float | None) -> FileResult:
    connect, engine_name = ENGINES[db]
    return run_file(path, connect, engine_name, limit, record_timeout=record_timeout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.sqllogictest",
                                     description="Run sqllogictest files against sqlite3 or docdb.")
    parser.add_argument("files", nargs="*", help=f"test files or directories (default: {DATA_DIR})")
    parser.add_argument("--db", choices=sorted(ENGINES), default="docdb")
    parser.add_argument("--limit", type=int, default=None,
                        help="run at most N statement/query records per file")
    parser.add_argument("--record-timeout", type=float, default=10.0,
                        help="seconds before a record is reported as a timeout (0: no limit)")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="files run in parallel processes")
    parser.add_argument("--verbose", "-v", action="store_true", help="describe every failure")
    args = parser.parse_args(argv)
    files = [str(path) for path in collect_files(args.files or [DATA_DIR])]
    jobs = [(path, args.db, args.limit, args.record_timeout) for path in files]
    started = time.perf_counter()
    if args.jobs > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            suite = SuiteResult(list(pool.map(_run_one, *zip(*jobs))))
    else:
        suite = SuiteResult([_run_one(*job) for job in jobs])
    if args.verbose:
        for failure in suite.failures:
            print(failure.describe(), end="\n\n")
    print(suite.report())
    print(f"wall time {time.perf_counter() - started:.2f} s, engine {args.db}")
    return 0 if suite.failed == 0 and suite.crashed == 0 else 1


if __name__ == "__main__":
    # Run the importable module rather than __main__, so that its classes and sentinels exist
    # once (evaluators and worker processes use the imported module).
    from tests.conformance import sqllogictest as _module

    sys.exit(_module.main())
