"""Import and export: JSON Lines, JSON arrays and CSV in and out of tables and collections.

``import_file`` reads records and inserts them in batches, each batch one
transaction. A record that cannot go in (malformed JSON, a value the column's
type refuses, a duplicate key) is reported with its line number; by default the
import stops there and that batch is rolled back (earlier batches stay
committed), with ``skip_errors`` the record is left out and the rest go in. A
missing target is created: a table from CSV (column types from the values: all
integers INTEGER, all numbers REAL, else TEXT), a collection from JSON, unless
``create`` says which. ``export`` writes a table, collection or view as JSON
Lines, one JSON array or CSV.
May import: the standard library, orjson, ``docdb`` and ``docdb_shell.render``.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO

import orjson

import docdb
from docdb.dump import quote_name
from docdb_shell.render import MODES

__all__ = ["FORMATS", "TransferError", "ImportReport", "export", "import_file", "guess_format"]

FORMATS = ("jsonl", "json", "csv")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}


class TransferError(Exception):
    """The file cannot be read at all (a missing file, an unknown format)."""


@dataclass
class ImportReport:
    inserted: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: bool = False  # stopped at an error, its batch rolled back
    created: str | None = None  # "table" or "collection" when the import made the target


def guess_format(path: str, default: str | None = None) -> str:
    """The format a file's extension names; ``default`` (or a TransferError) when it names none."""
    extension = os.path.splitext(path)[1].lower()
    if extension in _EXTENSIONS:
        return _EXTENSIONS[extension]
    if default is not None:
        return default
    raise TransferError(f"cannot tell the format of {path!r} from its name; "
                        f"give --format ({', '.join(FORMATS)})")


class _Counting(io.RawIOBase):
    """A binary file that counts the bytes read through it, for the progress bar."""

    def __init__(self, raw: BinaryIO):
        self.raw, self.done = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        self.done += n or 0
        return n


# ----- records: (line number, value or the error text) ------------------------------------

Record = tuple[int, Any, str | None]


def _jsonl(stream: BinaryIO) -> Iterator[Record]:
    for number, line in enumerate(stream, 1):
        if line.strip():
            try:
                yield number, orjson.loads(line), None
            except orjson.JSONDecodeError as error:
                yield number, None, f"malformed JSON: {error}"


def _json(stream: BinaryIO) -> Iterator[Record]:
    data = stream.read()
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if not data.lstrip().startswith(b"["):  # not an array: perhaps JSON Lines named .json
            yield from _jsonl(io.BytesIO(data))
            return
        yield error.lineno, None, f"malformed JSON at column {error.colno}: {error.msg}"
        return
    items = value if isinstance(value, list) else [value]
    lines = _item_lines(data, len(items)) if isinstance(value, list) else [1]
    for line, item in zip(lines, items):
        yield line, item, None


def _item_lines(data: bytes, count: int) -> list[int]:
    """The line each top-level item of a JSON array starts on (found by a small scan: items
    of one array are separated by commas at depth one, outside strings)."""
    lines, depth, line, in_string, escaped, expecting = [], 0, 1, False, False, False
    for byte in data:
        if byte == 10:
            line += 1
        if in_string:
            escaped, in_string = (False, True) if escaped else (byte == 92, byte != 34)
            continue
        if expecting and byte not in b" \t\r\n":
            lines.append(line)
            expecting = False
        if byte == 34:
            in_string = True
        elif byte in b"[{":
            depth += 1
            expecting = depth == 1 and byte == 91
        elif byte in b"]}":
            depth -= 1
        elif byte == 44 and depth == 1:
            expecting = True
    return (lines + [line] * count)[:count]


def _csv(stream: BinaryIO, convert: Callable[[dict], dict]) -> Iterator[Record]:
    reader = csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""))
    try:
        for row in reader:
            if None in row or None in row.values():
                yield reader.line_num, None, f"expected {len(reader.fieldnames or ())} fields"
                continue
            try:
                yield reader.line_num, convert(row), None
            except ValueError as error:
                yield reader.line_num, None, str(error)
    except (csv.Error, UnicodeDecodeError) as error:
        yield reader.line_num + 1, None, f"malformed CSV: {error}"


# ----- CSV text to typed values -------------------------------------------------------------

def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "t": True, "f": False}


def _typed(column: str, type_: str, text: str) -> Any:
    """A CSV field as a value of a column of ``type_`` (an empty field is NULL)."""
    if text == "" and type_ != "TEXT":
        return None
    try:
        if type_ == "INTEGER":
            return int(text)
        if type_ == "REAL":
            return float(text)
        if type_ == "BOOLEAN":
            return _BOOLEANS[text.strip().lower()]
        if type_ == "BLOB":
            return bytes.fromhex(text[2:-1] if text[:2] in ("X'", "x'") else text)
        if type_ == "JSON":
            return _guess(text)
    except (ValueError, KeyError):
        raise ValueError(f"column {column}: {text!r} is not a {type_} value") from None
    return text


def _guess(text: str) -> Any:
    """A CSV field going into a document: a number or JSON object/array if it reads as one."""
    number = _number(text)
    if number is not None:
        return number
    if text[:1] in ("{", "[", '"'):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return text


def infer_csv_types(path: str) -> dict[str, str]:
    """Column types for a new table from a CSV file's values (empty fields say nothing)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        kinds: dict[str, set] = {name: set() for name in reader.fieldnames or ()}
        for row in reader:
            for name, text in row.items():
                if name in kinds and text:
                    number = _number(text)
                    kinds[name].add("TEXT" if number is None else type(number).__name__)
    return {name: "TEXT" if "TEXT" in seen or not seen else "REAL" if "float" in seen else "INTEGER"
            for name, seen in kinds.items()}


# ----- import ---------------------------------------------------------------------------------

def _target(conn: Any, name: str, fmt: str, path: str, create: str | None, report: ImportReport
            ) -> tuple[Any, Callable[[dict], dict]]:
    """The table or collection to insert into (made if missing) and the CSV row converter."""
    if name in conn.tables():
        columns = conn.describe(name)["types"]
        table = conn.table(name)

        blobs = [c for c, type_ in columns.items() if type_ == "BLOB"]

        def convert(row: dict) -> dict:
            return {c: _typed(c, columns.get(c, "TEXT"), v) for c, v in row.items()}

        def insert(record: dict) -> Any:
            for column in blobs:  # JSON has no bytes: export wrote them as X'..' text
                if isinstance(record.get(column), str):
                    record[column] = _typed(column, "BLOB", record[column])
            return table.insert(record)

        return insert, convert
    if name in conn.collections():
        return conn.collection(name).insert_one, lambda row: {c: _guess(v) for c, v in row.items() if v != ""}
    kind = create or ("table" if fmt == "csv" else "collection")
    if kind == "table" and fmt != "csv":
        raise TransferError("a new table is made from CSV only; import JSON into a collection, "
                           "or create the table first")
    if kind == "table":
        conn.create_table(name, infer_csv_types(path))
    else:
        conn.create_collection(name)
    report.created = kind
    return _target(conn, name, fmt, path, None, report)


def import_file(conn: Any, path: str, name: str, fmt: str | None = None, *, batch_size: int = 1000,
                skip_errors: bool = False, create: str | None = None,
                progress: Callable[[int], None] | None = None) -> ImportReport:
    """Insert the records of ``path`` into ``name``; see the module docstring."""
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise TransferError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below, after the records are read
    except OSError as error:
        raise TransferError(f"cannot read {path}: {error.strerror}") from None
    report = ImportReport()
    with raw:
        counting = _Counting(raw)
        stream = io.BufferedReader(counting)
        conn.begin()
        try:
            insert, convert = _target(conn, name, fmt, path, create, report)
            records = {"csv": lambda: _csv(stream, convert), "json": lambda: _json(stream),
                       "jsonl": lambda: _jsonl(stream)}[fmt]()
            pending = 0
            for line, value, problem in records:
                if problem is None:
                    problem = _insert(insert, value)
                if problem is None:
                    pending += 1
                else:
                    report.errors.append(f"{path}:{line}: {problem}")
                    if not skip_errors:
                        report.stopped = True
                        conn.rollback()
                        if not report.inserted:  # the first batch: a target it made is gone too
                            report.created = None
                        return report
                if pending >= batch_size:
                    conn.commit()
                    report.inserted += pending
                    pending = 0
                    if progress is not None:
                        progress(counting.done)
                    conn.begin()
            conn.commit()
            report.inserted += pending
        except BaseException:
            conn.rollback()
            raise
    if progress is not None:
        progress(counting.done)
    return report


def _insert(insert: Callable[[dict], Any], value: Any) -> str | None:
    """Insert one record; what went wrong, if it did."""
    if not isinstance(value, dict):
        return f"expected a JSON object, found {type(value).__name__}"
    try:
        insert(value)
    except docdb.Error as error:
        return f"{type(error).__name__}: {error}"
    except ValueError as error:  # a field that cannot be converted to its column's type
        return str(error)
    return None


# ----- export ---------------------------------------------------------------------------------

def export(conn: Any, name: str, out: TextIO, fmt: str = "jsonl") -> int:
    """Write every row or document of ``name``; the number written."""
    if fmt not in FORMATS:
        raise TransferError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    kind = conn.describe(name)["kind"]
    count = 0

    def counted(rows: Any) -> Iterator:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    if kind == "collection":
        collection = conn.collection(name)
        if fmt == "csv":
            columns: dict[str, None] = {}
            for document in collection.find():
                columns.update(dict.fromkeys(document))
            rows = ([d.get(c) for c in columns] for d in collection.find())
            MODES["csv"](list(columns), counted(rows), out)
        else:
            MODES[fmt]([name], counted((d,) for d in collection.find()), out)
        return count
    cursor = conn.execute(f"SELECT * FROM {quote_name(name)}")
    MODES[fmt]([d[0] for d in cursor.description], counted(cursor), out)
    return count

