"""Tests of the sqllogictest runner itself (parser, formatting, hashing, outcomes), on sqlite3.

The suite's expected results were produced by SQLite, so stdlib sqlite3 must pass them: any
sqlite3 failure there is a runner bug. docdb's own conformance tests are added once its SQL
exists; they only need :func:`run_suite` with docdb's connection factory.
"""

from __future__ import annotations

import hashlib
import sqlite3
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.sqllogictest import (
    DATA_DIR,
    Condition,
    FileResult,
    ParseError,
    format_rows,
    format_value,
    hash_values,
    main,
    parse_file,
    resolve_error_class,
    run_file,
    run_suite,
    sort_values,
    split_statements,
)


def sqlite_connect() -> sqlite3.Connection:
    return sqlite3.connect(":memory:", isolation_level=None)


def write(tmp_path: Path, text: str, name: str = "t.test") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def run_text(tmp_path: Path, text: str, engine: str = "sqlite", **kwargs: Any) -> FileResult:
    return run_file(write(tmp_path, text), sqlite_connect, engine, **kwargs)


def categories(result: FileResult) -> list[tuple[int, str]]:
    return [(failure.line, failure.category) for failure in result.failures]


# --------------------------------------------------------------------------- parsing


def test_parse_records_conditions_comments_and_crlf(tmp_path: Path) -> None:
    text = (
        "# a comment\r\n"
        "hash-threshold 3\r\n"
        "\r\n"
        "statement ok\r\n"
        "CREATE TABLE t(a INTEGER,\r\n"
        "# comments are skipped even inside a record\r\n"
        "  b TEXT)\r\n"
        "\r\n"
        "skipif mysql # trailing words are ignored\r\n"
        "onlyif sqlite\r\n"
        "query IT rowsort label-1\r\n"
        "SELECT a, b\r\n"
        "FROM t\r\n"
        "----\r\n"
        "1\r\n"
        "x y\r\n"
        "   \r\n"
        "query I nosort\r\n"
        "SELECT 1\r\n"
        "----\r\n"
        "30 values hashing to 0123456789abcdef0123456789abcdef\r\n"
        "\r\n"
        "statement error\r\n"
        "DROP TABLE nope\r\n"
        "\r\n"
        "query T valuesort\r\n"
        "SELECT 'x'\r\n"
        "\r\n"
        "onlyif mssql\r\n"
        "halt\r\n"
    )
    path = tmp_path / "crlf.test"
    path.write_bytes(text.encode())
    threshold, create, select, hashed, error, unchecked, halt = parse_file(path)
    assert (threshold.kind, threshold.threshold, threshold.line) == ("hash-threshold", 3, 2)
    assert create.kind == "statement" and not create.expect_error
    assert create.sql == "CREATE TABLE t(a INTEGER,\n  b TEXT)"
    assert select.line == 11 and select.types == "IT" and select.sort_mode == "rowsort"
    assert select.label == "label-1" and select.sql == "SELECT a, b\nFROM t"
    assert select.expected == ("1", "x y") and select.expected_hash is None
    assert select.conditions == (Condition("skipif", "mysql"), Condition("onlyif", "sqlite"))
    assert not select.skipped_for("SQLite") and select.skipped_for("docdb")
    assert hashed.expected_hash == (30, "0123456789abcdef0123456789abcdef") and hashed.expected is None
    assert error.kind == "statement" and error.expect_error
    assert unchecked.expected is None and unchecked.expected_hash is None
    assert unchecked.sort_mode == "valuesort"
    assert halt.kind == "halt" and halt.skipped_for("sqlite") and not halt.skipped_for("mssql")


def test_query_with_empty_result_section_expects_no_rows(tmp_path: Path) -> None:
    (record,) = parse_file(write(tmp_path, "query I nosort\nSELECT 1 WHERE 0\n----\n"))
    assert record.expected == ()


@pytest.mark.parametrize(
    "text",
    [
        "query IX\nSELECT 1\n----\n1\n",
        "query I bogussort\nSELECT 1\n",
        "statement maybe\nSELECT 1\n",
        "frobnicate\n",
        "skipif sqlite\n",
    ],
)
def test_parse_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(ParseError):
        parse_file(write(tmp_path, text))
    result = run_file(tmp_path / "t.test", sqlite_connect, "sqlite")
    assert categories(result) == [(1, "parse")] and result.failed == 1


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "type_char", "expected"),
    [
        (None, "I", "NULL"),
        (None, "T", "NULL"),
        (42, "I", "42"),
        (-2.9, "I", "-2"),
        (2.9, "I", "2"),
        ("abc", "I", "0"),
        (" 12abc", "I", "12"),
        ("-7.5", "I", "-7"),
        ("", "I", "0"),
        (True, "I", "1"),
        (False, "T", "0"),
        (3, "R", "3.000"),
        (2.0 / 3.0, "R", "0.667"),
        ("1.5e1x", "R", "15.000"),
        ("abc", "R", "0.000"),
        (-9223372036854775808, "R", "-9223372036854776000.000"),  # SQLite's printf: 16 digits
        (-18446744073709551616.0, "R", "-18446744073709550000.000"),
        (12345678901234.567, "R", "12345678901234.570"),
        ("", "T", "(empty)"),
        ("a\tb\x7f", "T", "a@b@"),
        ("é", "T", "@@"),  # every byte of the UTF-8 form, as in the C runner
        (7, "T", "7"),
        (1.0, "T", "1.0"),
        (0.1, "T", "0.1"),
        (1e20, "T", "1.0e+20"),
        (b"hi", "T", "hi"),
        ({"a": [1, 2]}, "T", '{"a":[1,2]}'),
        ([1, "x"], "T", '[1,"x"]'),
    ],
)
def test_format_value(value: Any, type_char: str, expected: str) -> None:
    assert format_value(value, type_char) == expected


def test_format_rows_matches_format_value() -> None:
    rows = [(1, None, 2.5, "x"), (True, 3, "", 4), (-1, 2.5, None, None)]
    expected = [format_value(value, type_char) for row in rows for value, type_char in zip(row, "IIRT")]
    assert format_rows(rows, "IIRT") == expected
    assert format_rows([], "I") == []


def test_sorting_and_hash() -> None:
    values = ["2", "b", "10", "a", "1", "c"]
    assert sort_values(values, "nosort", 2) == values
    assert sort_values(values, "rowsort", 2) == ["1", "c", "10", "a", "2", "b"]  # as strings
    assert sort_values(values, "valuesort", 2) == ["1", "10", "2", "a", "b", "c"]
    assert hash_values(["1", "2"]) == hashlib.md5(b"1\n2\n").hexdigest()
    assert hash_values([]) == hashlib.md5(b"").hexdigest()


def test_split_statements() -> None:
    assert split_statements("SELECT 1") == ["SELECT 1"]
    assert split_statements("INSERT INTO t VALUES(1);") == ["INSERT INTO t VALUES(1);"]
    assert split_statements("INSERT INTO t VALUES('a;b');\nDROP INDEX i;") == [
        "INSERT INTO t VALUES('a;b');",
        "DROP INDEX i;",
    ]
    trigger = "CREATE TRIGGER r UPDATE ON t BEGIN SELECT 1; SELECT 2; END;"
    assert split_statements(trigger) == [trigger]


# --------------------------------------------------------------------------- running on sqlite3

BASIC = """
    statement ok
    CREATE TABLE t(a INTEGER, b TEXT, c REAL)

    statement ok
    INSERT INTO t VALUES(3, 'x', 1.5), (1, 'y', NULL), (2, '', 0.25);
    INSERT INTO t VALUES(10, 'z', 2)

    query ITR rowsort
    SELECT a, b, c FROM t
    ----
    1
    y
    NULL
    10
    z
    2.000
    2
    (empty)
    0.250
    3
    x
    1.500

    query I valuesort
    SELECT a FROM t UNION ALL SELECT a * 2 FROM t
    ----
    1
    10
    2
    2
    20
    3
    4
    6

    query I nosort
    SELECT a FROM t WHERE a > 100
    ----

    statement error
    INSERT INTO nope VALUES(1)
"""


def test_basic_file_passes(tmp_path: Path) -> None:
    result = run_text(tmp_path, BASIC)
    assert result.failures == []
    assert (result.passed, result.failed, result.crashed, result.skipped) == (6, 0, 0, 0)


def test_hash_threshold(tmp_path: Path) -> None:
    values = [str(n) for n in range(1, 10)]
    digest = hashlib.md5("".join(v + "\n" for v in sorted(values)).encode()).hexdigest()
    listed = "\n        ".join(values)
    text = f"""
        statement ok
        CREATE TABLE t(a INTEGER)

        statement ok
        INSERT INTO t VALUES(1),(2),(3),(4),(5),(6),(7),(8),(9)

        query I valuesort
        SELECT a FROM t
        ----
        9 values hashing to {digest}

        query I valuesort
        SELECT a FROM t
        ----
        9 values hashing to {"0" * 32}

        hash-threshold 0

        query I rowsort
        SELECT a FROM t
        ----
        {listed}
    """
    result = run_text(tmp_path, text)
    assert categories(result) == [(12, "mismatch")]
    assert result.failures[0].got is not None and digest in result.failures[0].got
    assert result.passed == 4


def test_mismatch_and_errors_continue_with_next_record(tmp_path: Path) -> None:
    text = """
        query I nosort
        SELECT 1
        ----
        2

        statement ok
        SELECT * FROM nope

        statement error
        SELECT 1

        query II nosort
        SELECT 1
        ----
        1

        query I nosort
        SELECT 1 UNION ALL SELECT 2
        ----
        1

        query I nosort
        SELECT nope()
        ----
        1

        query I nosort
        SELECT 5
        ----
        5
    """
    result = run_text(tmp_path, text)
    assert categories(result) == [
        (1, "mismatch"),
        (6, "error"),
        (9, "no-error"),
        (12, "columns"),
        (17, "mismatch"),  # fewer expected values than results is a mismatch too
        (22, "error"),
    ]
    assert (result.passed, result.failed, result.crashed) == (1, 6, 0)


def test_labels_must_agree(tmp_path: Path) -> None:
    text = """
        query I nosort label-a
        SELECT 1

        query I nosort label-a
        SELECT 1
        ----
        1

        query I nosort label-a
        SELECT 2
    """
    result = run_text(tmp_path, text)
    assert categories(result) == [(9, "label")]
    assert result.passed == 2


def test_skipif_onlyif_and_halt(tmp_path: Path) -> None:
    text = """
        onlyif mysql
        query I nosort
        SELECT 1
        ----
        999

        skipif sqlite
        statement ok
        SELECT 1

        onlyif sqlite
        query I nosort
        SELECT 1
        ----
        1

        skipif docdb
        query I nosort
        SELECT 2
        ----
        2

        onlyif mssql
        halt

        query I nosort
        SELECT 3
        ----
        3

        onlyif docdb
        halt

        query I nosort
        SELECT 4
        ----
        4
    """
    as_sqlite = run_text(tmp_path, text)
    assert (as_sqlite.passed, as_sqlite.skipped, as_sqlite.failed) == (4, 2, 0)
    as_docdb = run_text(tmp_path, text, engine="docdb")  # onlyif sqlite is skipped, then halts
    assert (as_docdb.passed, as_docdb.skipped, as_docdb.failed) == (2, 3, 0)


def test_limit_counts_statement_and_query_records(tmp_path: Path) -> None:
    result = run_text(tmp_path, BASIC, limit=3)
    assert (result.passed, result.skipped) == (3, 0)


# --------------------------------------------------------------------------- crashes and timeouts


class Error(Exception):
    """The DB-API Error of the fake engine below (found through the connection's module)."""


class FakeCursor:
    """Runs SQL on sqlite3, but "CRASH" raises TypeError and "HANG" loops in Python."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._cursor = conn.cursor()
        self.description: Any = None

    def execute(self, sql: str, params: Any = ()) -> None:
        if "CRASH" in sql:
            raise TypeError("engine bug")
        if "HANG" in sql:
            while True:
                time.sleep(0.001)
        try:
            self._cursor.execute(sql, params)
        except sqlite3.Error as exc:
            raise Error(str(exc)) from exc
        self.description = self._cursor.description

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


class FakeConnection:
    def __init__(self) -> None:
        self._conn = sqlite_connect()

    def cursor(self) -> FakeCursor:
        return FakeCursor(self._conn)

    def close(self) -> None:
        self._conn.close()


def test_error_class_resolution() -> None:
    assert resolve_error_class(sqlite_connect()) is sqlite3.Error
    assert resolve_error_class(FakeConnection()) is Error


def test_crash_is_never_an_expected_error(tmp_path: Path) -> None:
    text = """
        statement error
        SELECT CRASH

        statement error
        SELECT * FROM nope

        query I nosort
        SELECT 'CRASH'
        ----
        1

        statement ok
        SELECT 1
    """
    result = run_file(write(tmp_path, text), FakeConnection, "sqlite")
    assert categories(result) == [(1, "crash"), (7, "crash")]
    assert (result.passed, result.failed, result.crashed) == (2, 0, 2)
    assert "TypeError" in (result.failures[0].error or "")


def test_explicit_error_class_overrides_resolution(tmp_path: Path) -> None:
    path = write(tmp_path, "statement error\nSELECT * FROM nope\n")
    result = run_file(path, FakeConnection, "sqlite", error_class=KeyError)
    assert categories(result) == [(1, "crash")]


def test_python_hang_is_a_timeout(tmp_path: Path) -> None:
    text = """
        statement ok
        SELECT HANG

        query I nosort
        SELECT 1
        ----
        1
    """
    started = time.perf_counter()
    result = run_file(write(tmp_path, text), FakeConnection, "sqlite", record_timeout=0.2)
    assert time.perf_counter() - started < 5
    assert categories(result) == [(1, "timeout")]
    assert (result.passed, result.failed, result.timeouts) == (1, 1, 1)


def test_sqlite3_hang_is_interrupted(tmp_path: Path) -> None:
    text = """
        query I nosort
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c
        ----
        1

        query I nosort
        SELECT 1
        ----
        1
    """
    result = run_text(tmp_path, text, record_timeout=0.2)
    assert categories(result) == [(1, "timeout")]
    assert result.passed == 1


# --------------------------------------------------------------------------- the real suite on sqlite3


def test_sqlite3_passes_select1_and_in1() -> None:
    files = [DATA_DIR / "select1.test", DATA_DIR / "evidence" / "in1.test"]
    suite = run_suite(files, sqlite_connect, "sqlite")
    assert suite.failures == []
    assert suite.passed == 1031 + 214 and suite.crashed == 0
    assert "total" in suite.report()


@pytest.mark.slow
def test_sqlite3_passes_the_whole_suite() -> None:
    suite = run_suite([DATA_DIR], sqlite_connect, "sqlite")
    # The one failure is SQLite's own: sum() of integers overflowing raises "integer overflow"
    # where the file (a TBD evidence test) expects a result; the C runner reports it too.
    assert [(Path(f.file).name, f.line, f.category) for f in suite.failures] == [
        ("slt_lang_aggfunc.test", 480, "error")
    ]
    assert len(suite.files) == 20 and suite.crashed == 0 and suite.passed > 18_000


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, BASIC, "good.test")
    bad = write(tmp_path, "query I nosort\nSELECT 1\n----\n2\n", "bad.test")
    assert main(["--db", "sqlite3", str(good)]) == 0
    assert "good.test" in capsys.readouterr().out
    assert main(["--db", "sqlite3", "--jobs", "2", "--verbose", str(tmp_path)]) == 1
    output = capsys.readouterr().out
    assert f"{bad}:1: mismatch" in output and "expected: 2" in output
