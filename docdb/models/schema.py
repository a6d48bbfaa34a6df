"""Table schemas: typed columns, their constraints, and strict checking of rows.

A column is declared as ``"<TYPE> [NOT NULL] [UNIQUE] [DEFAULT <literal>]"`` (the
literal may be ``CURRENT_TIMESTAMP``, ``CURRENT_DATE`` or ``CURRENT_TIME``: the time of
each insert, as SQLite's text)
with TYPE one of INTEGER, REAL, TEXT, BOOLEAN, BLOB, JSON -- or a word SQL users write
that stands for one of them (``storage_type``: INT, VARCHAR, DOUBLE, DATE, TIMESTAMP...),
which the column keeps as its ``declared`` type (sqlite3's converters go by it). Typing is strict:
an INTEGER is widened into a REAL column (as SQL does), and nothing else is
coerced -- not ``True`` into INTEGER, not ``"1"`` into INTEGER, not ``1`` into
TEXT. A JSON column holds any JSON value. ``None`` is NULL.

``TableSchema.check_row`` turns a row dict into the tuple of values in column
order, filling defaults, or raises: ``DataError`` for a value of the wrong
type, ``IntegrityError`` for a NULL where NOT NULL, ``ProgrammingError`` for an
unknown column -- each naming the table, the column and the value. A bad
declaration is a ``ProgrammingError`` too. UNIQUE and primary-key uniqueness
need the stored data, so the table enforces them, not this module.
May import: the standard library, ``docdb.errors`` and ``docdb.models``.
"""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from docdb.errors import DataError, IntegrityError, ProgrammingError
from docdb.models.documents import DocumentError, encode_json

TYPES = ("INTEGER", "REAL", "TEXT", "BOOLEAN", "BLOB", "JSON")
_NO_DEFAULT = object()
_SPEC = re.compile(
    r"^\s*(?P<type>[A-Za-z]+)(?P<rest>(?:\s+(?:NOT\s+NULL|UNIQUE|DEFAULT\s+.+?))*)\s*$", re.I)
_DEFAULT = re.compile(r"\bDEFAULT\s+(?P<literal>.+?)\s*$", re.I)


def storage_type(declared: str) -> str:
    """The docdb type a declared SQL type is held as, by SQLite's affinity words (so
    ``BIGINT`` is INTEGER and ``VARCHAR(20)`` TEXT); dates and times are ISO-8601 text, as
    sqlite3 stores them. A type none of these words places (``POINT``, ``GEOMETRY``) is
    JSON, which holds any value -- as SQLite takes any type name; the name stays with the
    column for sqlite3's converters."""
    name = declared.upper()
    if name in TYPES:
        return name
    if "INT" in name or name in ("SERIAL", "BIGSERIAL"):
        return "INTEGER"
    if "BOOL" in name:
        return "BOOLEAN"
    if any(word in name for word in ("CHAR", "CLOB", "TEXT", "STRING", "DATE", "TIME", "UUID", "GUID")):
        return "TEXT"
    if "BLOB" in name:
        return "BLOB"
    if "JSON" in name:
        return "JSON"
    if any(word in name for word in ("REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")):
        return "REAL"
    return "JSON"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool = False
    unique: bool = False
    default: Any = field(default=_NO_DEFAULT)
    declared: str = ""  # the type word as declared, upper case (TIMESTAMP for a TEXT column)

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


TIME_KEYWORDS = ("CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME")


def current_time_text(kind: str) -> str:
    """The UTC time now as SQLite writes ``CURRENT_TIMESTAMP`` (``YYYY-MM-DD HH:MM:SS``),
    ``CURRENT_DATE`` (``YYYY-MM-DD``) or ``CURRENT_TIME`` (``HH:MM:SS``)."""
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime({"CURRENT_TIMESTAMP": "%Y-%m-%d %H:%M:%S", "CURRENT_DATE": "%Y-%m-%d",
                         "CURRENT_TIME": "%H:%M:%S"}[kind])


class TimeDefault:
    """``DEFAULT CURRENT_TIMESTAMP`` (or ``_DATE``, ``_TIME``): the time of each insert."""

    __slots__ = ("kind",)

    def __init__(self, kind: str):
        self.kind = kind

    def __call__(self) -> str:
        return current_time_text(self.kind)

    def __repr__(self) -> str:
        return self.kind


def parse_column(table: str, name: str, spec: str) -> Column:
    """``"TEXT NOT NULL DEFAULT 'x'"`` -> Column; ProgrammingError naming what is wrong."""
    if not isinstance(name, str) or not name:
        raise ProgrammingError(f"table {table}: column names must be non-empty strings, not {name!r}")
    match = _SPEC.match(spec) if isinstance(spec, str) else None
    declared = match.group("type").upper() if match else ""
    type_ = storage_type(declared) if declared else None
    if type_ is None:
        raise ProgrammingError(f"table {table}, column {name}: cannot read the declaration {spec!r}; "
                               f"expected a type ({', '.join(TYPES)}), then NOT NULL, UNIQUE, "
                               "DEFAULT <value>")
    rest = match.group("rest")  # type: ignore[union-attr]
    default_match = _DEFAULT.search(rest)
    words = (rest[: default_match.start()] if default_match else rest).upper().split()
    column = Column(name, type_, not_null="NOT" in words, unique="UNIQUE" in words, declared=declared)
    keyword = default_match.group("literal").upper() if default_match else None
    if keyword in TIME_KEYWORDS:
        return replace(column, default=TimeDefault(keyword))
    if default_match:
        value = _literal(table, name, default_match.group("literal"))
        column = replace(column, default=check_value(table, column, value))
    return column


def _literal(table: str, column: str, text: str) -> Any:
    """A DEFAULT literal: NULL, TRUE, FALSE, a number, a 'quoted string', or JSON."""
    upper = text.upper()
    if upper in ("NULL", "TRUE", "FALSE"):
        return {"NULL": None, "TRUE": True, "FALSE": False}[upper]
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProgrammingError(f"table {table}, column {column}: cannot read the default {text!r}") from None


def check_value(table: str, column: Column, value: Any) -> Any:
    """``value`` as the column stores it (INTEGER widened into REAL), or DataError."""
    if value is None:
        return None
    kind = column.type
    if kind == "INTEGER" and type(value) is int:
        return value
    if kind == "REAL" and type(value) in (int, float):
        return float(value)
    if (kind == "TEXT" and type(value) is str) or (kind == "BOOLEAN" and type(value) is bool):
        return value
    if kind == "BLOB" and isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if kind == "JSON":
        try:
            encode_json(value)
        except DocumentError as error:
            raise DataError(f"table {table}, column {column.name}: {error}") from None
        return value
    raise DataError(f"table {table}, column {column.name} is {kind}: cannot store "
                    f"{value!r:.80} ({type(value).__name__})")


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()  # empty: rows get a hidden, increasing row id

    @classmethod
    def define(cls, name: str, columns: dict[str, str], primary_key: str | list[str] | None = None
               ) -> TableSchema:
        if not isinstance(name, str) or not name:
            raise ProgrammingError(f"table names must be non-empty strings, not {name!r}")
        if not isinstance(columns, dict) or not columns:
            raise ProgrammingError(f"table {name}: give its columns as a non-empty dict of name -> type")
        parsed = tuple(parse_column(name, col, spec) for col, spec in columns.items())
        keys = [primary_key] if isinstance(primary_key, str) else list(primary_key or ())
        unknown = [k for k in keys if k not in columns]
        if unknown or len(set(keys)) != len(keys):
            raise ProgrammingError(f"table {name}: primary key {keys!r} must name distinct columns "
                                   f"of the table")
        if any(c.type in ("JSON", "REAL") for c in parsed if c.name in keys):
            raise ProgrammingError(f"table {name}: a primary key column cannot be JSON or REAL")
        forced = tuple(replace(c, not_null=True) if c.name in keys else c
                       for c in parsed)  # primary key columns are NOT NULL
        return cls(name, forced, tuple(keys))

    @functools.cached_property  # read on every insert; a schema never changes
    def rowid_column(self) -> str | None:
        """The INTEGER PRIMARY KEY column, if the key is one: it is given the largest + 1 when an
        insert leaves it out, as SQLite's rowid alias is."""
        if len(self.primary_key) == 1 and self.column(self.primary_key[0]).type == "INTEGER":
            return self.primary_key[0]
        return None

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise ProgrammingError(f"table {self.name} has no column {name!r}")

    def check_row(self, row: dict) -> tuple:
        """The row's values in column order, defaults filled in, every value checked."""
        if not isinstance(row, dict):
            raise ProgrammingError(f"table {self.name}: a row is a dict of column -> value, "
                                   f"not {type(row).__name__}")
        names = {c.name for c in self.columns}
        extra = [k for k in row if k not in names]
        if extra:
            raise ProgrammingError(f"table {self.name} has no column {extra[0]!r}")
        values = []
        for column in self.columns:
            value = row.get(column.name, column.default if column.has_default else None)
            if type(value) is TimeDefault:
                value = value()
            value = check_value(self.name, column, value)
            if value is None and column.not_null:
                raise IntegrityError(f"table {self.name}, column {column.name} is NOT NULL: "
                                     "it needs a value")
            values.append(value)
        return tuple(values)

    def check_changes(self, current: tuple, changes: dict) -> tuple:
        """``current`` (a checked row) with ``changes`` applied and checked."""
        row = dict(zip((c.name for c in self.columns), current))
        row.update(changes)
        return self.check_row(row)
