"""Results as text: the shell's output modes, and the value formats they share with export.

``MODES`` maps a mode name (as ``.mode`` and ``--format`` take it) to a writer
``write(columns, rows, out, headers)``: ``table`` (aligned, ASCII rules, the
default), ``box`` (Unicode rules), ``json`` (one array of objects), ``jsonl`` (an
object per line), ``csv`` and ``line`` (one ``column = value`` per line). A row
whose single value is a document is written as that document in ``json`` and
``jsonl`` (``SELECT * FROM orders`` gives the orders, not ``{"orders": …}``);
``table``, ``box`` and ``line`` pretty-print documents and arrays over several
lines. Rows stream through every mode but the two aligned ones, so an export of
a large collection is not held in memory.
May import: the standard library, orjson, wcwidth and ``docdb.dump``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

import orjson
from wcwidth import wcswidth

from docdb.dump import sql_literal

__all__ = ["MODES", "cell_text", "csv_text", "json_ready", "pretty_json", "to_json"]

Rows = Iterable[Sequence[Any]]
NULL = "NULL"
MAX_CELL_WIDTH = 100  # a longer line in an aligned cell is cut with "…" (.mode line shows it whole)


def json_ready(value: Any) -> Any:
    """``value`` with what JSON cannot hold made into text: bytes as ``X'…'`` hex."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return sql_literal(value)  # X'0A1B', as the language writes a BLOB
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """Compact JSON text of a result value (bytes as hex text)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # bytes inside, or an integer orjson cannot hold
        return json.dumps(json_ready(value), ensure_ascii=False, separators=(",", ":"), default=str)


PRETTY_WIDTH = 60


def pretty_json(value: Any, indent: str = "") -> str:
    """JSON for people: a value whose one-line form fits ``PRETTY_WIDTH`` stays on one line,
    a larger object or array puts each member on its own, indented line."""
    flat = json.dumps(json_ready(value), ensure_ascii=False, default=str)
    if len(flat) + len(indent) <= PRETTY_WIDTH or not isinstance(value, (dict, list, tuple)) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        members = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {pretty_json(v, inner)}"
                   for k, v in value.items()]
        return "{\n" + ",\n".join(members) + "\n" + indent + "}"
    members = [inner + pretty_json(v, inner) for v in value]
    return "[\n" + ",\n".join(members) + "\n" + indent + "]"


def cell_text(value: Any, pretty: bool = True, null: str = NULL) -> str:
    """A value as a person reads it in a cell: documents and arrays as (pretty) JSON."""
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return sql_literal(value)
    if isinstance(value, (dict, list, tuple)):
        return pretty_json(value) if pretty else to_json(value)
    return repr(value) if isinstance(value, float) else str(value)


def _width(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else len(text)


def _cut(line: str) -> str:
    if _width(line) <= MAX_CELL_WIDTH:
        return line
    while _width(line) > MAX_CELL_WIDTH - 1:
        line = line[: max(len(line) - max(_width(line) - MAX_CELL_WIDTH, 1), 0)]
    return line + "…"


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


# (top, header separator, bottom) rules as (left, fill, joint, right); then the cell walls
_ASCII = (("+", "-", "+", "+"), ("+", "-", "+", "+"), ("+", "-", "+", "+"), "|")
_BOX = (("┌", "─", "┬", "┐"), ("├", "─", "┼", "┤"), ("└", "─", "┴", "┘"), "│")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _aligned(style: tuple) -> Callable[..., None]:
    top, middle, bottom, wall = style

    def write(columns: Sequence[str], rows: Rows, out: TextIO, headers: bool = True) -> None:
        rows = list(rows)
        # numbers line up on the right, as in every SQL shell; a column is numeric if all its values are
        numeric = [bool(rows) and all(_is_number(row[i]) or row[i] is None for row in rows)
                   and any(_is_number(row[i]) for row in rows) for i in range(len(columns))]
        cells = [[[_cut(line) for line in cell_text(v).split("\n")] for v in row] for row in rows]
        widths = [max([_width(c) if headers else 1] + [_width(line) for row in cells for line in row[i]])
                  for i, c in enumerate(columns)]

        def rule(parts: tuple) -> str:
            left, fill, joint, end = parts
            return left + joint.join(fill * (w + 2) for w in widths) + end + "\n"

        def lines(row: list[list[str]], align: list[bool]) -> Iterable[str]:
            for k in range(max((len(cell) for cell in row), default=1)):
                texts = [_pad(cell[k] if k < len(cell) else "", width, right)
                         for cell, width, right in zip(row, widths, align)]
                yield wall + wall.join(f" {t} " for t in texts) + wall + "\n"

        out.write(rule(top))
        if headers:
            out.writelines(lines([[c] for c in columns], [False] * len(columns)))
            out.write(rule(middle))
        for row in cells:
            out.writelines(lines(row, numeric))
        out.write(rule(bottom))

    return write


def _document(columns: Sequence[str], row: Sequence[Any]) -> Any:
    """What a row is in JSON: its document if it is one, else an object of its columns."""
    if len(row) == 1 and isinstance(row[0], dict):
        return row[0]
    return dict(zip(columns, row))


def write_json(columns: Sequence[str], rows: Rows, out: TextIO, headers: bool = True) -> None:
    first = True
    for row in rows:
        out.write(("[" if first else ",\n") + to_json(_document(columns, row)))
        first = False
    out.write("[]\n" if first else "]\n")


def write_jsonl(columns: Sequence[str], rows: Rows, out: TextIO, headers: bool = True) -> None:
    for row in rows:
        out.write(to_json(_document(columns, row)) + "\n")


def csv_text(value: Any) -> str:
    """A value in a CSV field: NULL is empty, documents and arrays compact JSON."""
    return cell_text(value, pretty=False, null="")


def write_csv(columns: Sequence[str], rows: Rows, out: TextIO, headers: bool = True) -> None:
    writer = csv.writer(out, lineterminator="\n")
    if headers:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_text(v) for v in row])


def write_line(columns: Sequence[str], rows: Rows, out: TextIO, headers: bool = True) -> None:
    width = max((_width(c) for c in columns), default=0)
    for number, row in enumerate(rows):
        if number:
            out.write("\n")
        for column, value in zip(columns, row):
            text = cell_text(value).replace("\n", "\n" + " " * (width + 3))
            out.write(f"{_pad(column, width, True)} = {text}\n")


MODES: dict[str, Callable[..., None]] = {
    "table": _aligned(_ASCII),
    "box": _aligned(_BOX),
    "json": write_json,
    "jsonl": write_jsonl,
    "csv": write_csv,
    "line": write_line,
}
