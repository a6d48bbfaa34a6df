"""The sqllogictest file format: reading records, and formatting results the way they are written.

sqllogictest (https://sqlite.org/sqllogictest) files hold ``statement ok|error`` and
``query <types> [nosort|rowsort|valuesort] [label]`` records with their expected output.
This module follows the reference C runner (``sqllogictest.c``, ``slt_sqlite.c``) exactly,
because the expected results were written by it:

* reading: records are runs of non-blank lines; ``#`` lines are dropped wherever they are,
  ``\\r`` line ends too, and all-space lines are blank; ``skipif``/``onlyif <engine>`` lines
  come before a record; a query's SQL ends at ``----``; a single result line
  ``N values hashing to <md5>`` stands for the values.
* formatting: NULL is ``NULL``; ``I`` is ``%d`` of the value as an integer (reals truncated
  toward zero, text by its leading-integer prefix, as ``sqlite3_column_int``); ``R`` is
  ``%.3f`` as SQLite's printf renders it (at most 16 significant digits); ``T`` is the text,
  ``(empty)`` for ``''``, with ``@`` for every byte of its UTF-8 form outside 0x20..0x7e, and
  reals shown as SQLite's ``%!.15g``. bool is 0/1, dict/list (docdb JSON) compact JSON text.
  (One deliberate difference: ``I`` keeps 64-bit integers where ``sqlite3_column_int`` would
  cut them to 32 bits; no expected result in the suite depends on that.)
* sorting is done on the formatted strings; the hash is the MD5 of every value followed by
  ``"\\n"``.

The runner is :mod:`tests.conformance.sqllogictest`; this module has no engine in it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_HASH_THRESHOLD",
    "SORT_MODES",
    "Condition",
    "ParseError",
    "Record",
    "format_rows",
    "format_value",
    "hash_line",
    "hash_values",
    "parse_file",
    "sort_values",
    "split_statements",
]

DEFAULT_HASH_THRESHOLD = 8  # as in sqllogictest.c
_HASH_LINE = re.compile(r"(\d+) values hashing to ([0-9a-f]{32})")
_C_SPACE = " \t\n\v\f\r"  # C isspace()
_INT_PREFIX = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_REAL_PREFIX = re.compile(r"[ \t\n\v\f\r]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
SORT_MODES = ("nosort", "rowsort", "valuesort")


class ParseError(ValueError):
    """A test file that does not follow the sqllogictest format."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line = file, line


@dataclass(frozen=True)
class Condition:
    """A ``skipif <engine>`` or ``onlyif <engine>`` line before a record."""

    kind: str  # "skipif" | "onlyif"
    engine: str

    def skips(self, engine: str) -> bool:
        """``engine`` may name several, comma-separated: docdb runs as "docdb,sqlite", because
        it answers as SQLite does, so records only SQLite is expected to pass run too."""
        match = self.engine.lower() in {name.strip() for name in engine.lower().split(",")}
        return match if self.kind == "skipif" else not match


@dataclass(frozen=True)
class Record:
    """One record of a test file.

    ``kind`` is ``statement``, ``query``, ``hash-threshold`` or ``halt``. For a query,
    ``expected`` holds the expected values (``None`` when the record has no ``----``
    section, which only asks that the query runs) unless the section is a hash line, which
    is kept as ``expected_hash = (count, md5hex)``.
    """

    file: str
    line: int
    kind: str
    sql: str = ""
    expect_error: bool = False
    types: str = ""
    sort_mode: str = "nosort"
    label: str | None = None
    expected: tuple[str, ...] | None = None
    expected_hash: tuple[int, str] | None = None
    threshold: int = 0
    conditions: tuple[Condition, ...] = ()

    def skipped_for(self, engine: str) -> bool:
        return any(condition.skips(engine) for condition in self.conditions)


# --------------------------------------------------------------------------- parsing


def _blocks(path: Path) -> Iterable[list[tuple[int, str]]]:
    """Yield the records' lines (number, text): runs of non-blank lines, ``#`` lines dropped."""
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    block: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip(_C_SPACE):
            if block:
                yield block
                block = []
        elif not line.startswith("#"):
            block.append((number, line))
    if block:
        yield block


def parse_file(path: str | Path) -> list[Record]:
    """Parse a sqllogictest file into its records; raise :class:`ParseError` on a bad one."""
    path = Path(path)
    return [_parse_block(str(path), block) for block in _blocks(path)]


def _parse_block(file: str, block: list[tuple[int, str]]) -> Record:
    conditions: list[Condition] = []
    index = 0
    tokens = block[0][1].split()
    while tokens[0] in ("skipif", "onlyif"):
        if len(tokens) < 2 or index + 1 >= len(block):
            raise ParseError(file, block[index][0], f"incomplete {tokens[0]} condition")
        conditions.append(Condition(tokens[0], tokens[1]))
        index += 1
        tokens = block[index][1].split()
    line, kind, body = block[index][0], tokens[0], [text for _, text in block[index + 1 :]]
    if kind == "statement":
        if len(tokens) < 2 or tokens[1] not in ("ok", "error"):
            raise ParseError(file, line, "statement argument should be 'ok' or 'error'")
        if not body:
            raise ParseError(file, line, "statement without SQL")
        return Record(file, line, kind, "\n".join(body), expect_error=tokens[1] == "error",
                      conditions=tuple(conditions))
    if kind == "query":
        return _parse_query(file, line, tokens, body, tuple(conditions))
    if kind == "hash-threshold":
        if len(tokens) < 2 or not tokens[1].isdigit():
            raise ParseError(file, line, "hash-threshold needs a number")
        return Record(file, line, kind, threshold=int(tokens[1]), conditions=tuple(conditions))
    if kind == "halt":
        return Record(file, line, kind, conditions=tuple(conditions))
    raise ParseError(file, line, f"unknown record type {kind!r}")


def _parse_query(
    file: str, line: int, tokens: list[str], body: list[str], conditions: tuple[Condition, ...]
) -> Record:
    if len(tokens) < 2 or not tokens[1] or set(tokens[1]) - set("TIR"):
        raise ParseError(file, line, "query needs a type string of T, I and R")
    sort_mode = tokens[2] if len(tokens) > 2 else "nosort"
    if sort_mode not in SORT_MODES:
        raise ParseError(file, line, f"unknown sort method {sort_mode!r}")
    split = body.index("----") if "----" in body else len(body)
    if split == 0:
        raise ParseError(file, line, "query without SQL")
    expected: tuple[str, ...] | None = None
    expected_hash: tuple[int, str] | None = None
    if split < len(body):
        results = body[split + 1 :]
        match = _HASH_LINE.fullmatch(results[0]) if len(results) == 1 else None
        if match:
            expected_hash = (int(match.group(1)), match.group(2))
        else:
            expected = tuple(results)
    return Record(
        file, line, "query", "\n".join(body[:split]), types=tokens[1], sort_mode=sort_mode,
        label=tokens[3] if len(tokens) > 3 else None, expected=expected,
        expected_hash=expected_hash, conditions=conditions,
    )


# --------------------------------------------------------------------------- formatting


def _real_as_text(value: float) -> str:
    """A REAL as SQLite shows it as text (``%!.15g``: always a decimal point)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    text = f"{value:.15g}"
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + e + exponent


def _real_fixed3(value: float) -> str:
    """``%.3f`` as SQLite's printf renders it: at most 16 significant digits, then zeros."""
    if abs(value) < 1e13 or not math.isfinite(value):  # at most 16 digits anyway
        return f"{value:.3f}"
    exact = Decimal(value)
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - 15), rounding=ROUND_HALF_UP)
    return f"{rounded:.3f}"


def _as_int(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        if value != value:  # NaN
            return 0
        if math.isinf(value):
            return _INT64_MAX if value > 0 else _INT64_MIN
        return max(_INT64_MIN, min(_INT64_MAX, int(value)))
    match = _INT_PREFIX.match(str(value))
    return max(_INT64_MIN, min(_INT64_MAX, int(match.group(1)))) if match else 0


def _as_float(value: Any) -> float:
    if isinstance(value, int | float | Decimal):
        return float(value)
    match = _REAL_PREFIX.match(str(value))
    return float(match.group(1)) if match else 0.0


def _as_text(value: Any) -> str:
    if isinstance(value, float):
        text = _real_as_text(value)
    else:
        text = str(value)
    if not text:
        return "(empty)"
    if text.isascii() and text.isprintable():
        return text
    raw = text.encode("utf-8", errors="surrogateescape")
    return "".join(chr(byte) if 0x20 <= byte <= 0x7E else "@" for byte in raw)


def format_value(value: Any, type_char: str) -> str:
    """Format one result value for a column of type ``I``, ``R`` or ``T`` like sqllogictest.

    bool is 0/1; dict/list (docdb JSON) are compact JSON text; bytes are decoded as UTF-8.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        value = int(value)
    elif isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    elif isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("utf-8", errors="surrogateescape")
    if type_char == "I":
        return str(_as_int(value))
    if type_char == "R":
        return _real_fixed3(_as_float(value))
    if type_char == "T":
        return _as_text(value)
    raise ValueError(f"unknown type character {type_char!r}")


def _format_i(value: Any) -> str:
    return str(value) if type(value) is int else format_value(value, "I")


def _format_r(value: Any) -> str:
    return _real_fixed3(value) if type(value) is float else format_value(value, "R")


def _format_t(value: Any) -> str:
    if type(value) is str and value and value.isascii() and value.isprintable():
        return value
    return format_value(value, "T")


_FORMATTERS: dict[str, Callable[[Any], str]] = {"I": _format_i, "R": _format_r, "T": _format_t}


def format_rows(rows: Sequence[Sequence[Any]], types: str) -> list[str]:
    """Format a result set, row after row, as :func:`format_value` does value by value.

    Works column by column so that the common case (an ``I`` column of Python ints) is
    formatted at C speed; the full suite formats millions of values.
    """
    if not rows:
        return []
    columns: list[Iterable[str]] = []
    for type_char, column in zip(types, zip(*rows)):
        if type_char == "I" and set(map(type, column)) == {int}:
            columns.append(map(str, column))
        else:
            columns.append(map(_FORMATTERS[type_char], column))
    return list(chain.from_iterable(zip(*columns)))


def sort_values(values: list[str], sort_mode: str, width: int) -> list[str]:
    """Apply a record's sort mode to its formatted values (``width`` columns per row)."""
    if sort_mode == "valuesort":
        return sorted(values)
    if sort_mode == "rowsort" and width > 0:
        rows = sorted(values[i : i + width] for i in range(0, len(values), width))
        return [value for row in rows for value in row]
    return values


def hash_values(values: Sequence[str]) -> str:
    """The MD5 hex digest sqllogictest uses: every value followed by a newline."""
    text = "\n".join(values) + "\n" if values else ""
    return hashlib.md5(text.encode("utf-8", errors="surrogateescape")).hexdigest()


def split_statements(sql: str) -> list[str]:
    """Split a statement record's text into its SQL statements, as ``sqlite3_exec`` would.

    The C runner hands a ``statement`` record to ``sqlite3_exec``, which runs every statement
    in it; PEP 249 ``execute`` takes one. Boundaries are the semicolons after which
    ``sqlite3.complete_statement`` (SQLite's tokenizer, no database involved) sees a complete
    statement, so semicolons in strings and ``CREATE TRIGGER ... BEGIN ...; END`` bodies stay
    put. A single statement is returned unchanged.
    """
    if ";" not in sql.rstrip(_C_SPACE + ";"):
        return [sql]
    statements: list[str] = []
    start = 0
    for index, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start : index + 1]):
            if sql[start:index].strip(_C_SPACE):
                statements.append(sql[start : index + 1].strip(_C_SPACE))
            start = index + 1
    if sql[start:].strip(_C_SPACE):
        statements.append(sql[start:].strip(_C_SPACE))
    return statements


def hash_line(values: Sequence[str]) -> str:
    return f"{len(values)} values hashing to {hash_values(values)}"
