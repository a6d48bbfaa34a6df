"""sqlite3's converters: stored values turned back into Python objects as rows are fetched.

``register_converter("TIMESTAMP", parse)`` registers ``parse`` (any case of the name);
a connection opened with ``detect_types`` calls it on the values of a result column:

* ``PARSE_DECLTYPES``: a column read straight from a table column whose declared type's
  first word is the name (``at TIMESTAMP``, ``n NUMBER(10)`` -> ``NUMBER``);
* ``PARSE_COLNAMES``: a column named ``"at [timestamp]"`` (``SELECT x AS "at [timestamp]"``);
  the name in ``description`` is then ``at``. It wins over the declared type.

As in sqlite3, a converter gets the value as bytes (text as UTF-8, numbers as their
decimal text, a JSON value as JSON) and is never called for NULL.
May import: the standard library and ``docdb.errors``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from docdb.errors import ProgrammingError

__all__ = ["PARSE_COLNAMES", "PARSE_DECLTYPES", "column_converters", "register_converter"]

PARSE_DECLTYPES = 1  # sqlite3's values, so code passing sqlite3's constants works too
PARSE_COLNAMES = 2
_CONVERTERS: dict[str, Callable[[bytes], Any]] = {}
_COLNAME = re.compile(r"^(?P<name>[^\[]*?)\s*\[(?P<type>[^\]]+)\]")


def register_converter(typename: str, converter: Callable[[bytes], Any]) -> None:
    """Turn values of columns of type ``typename`` (any case) into ``converter(value_bytes)``."""
    if not isinstance(typename, str) or not callable(converter):
        raise ProgrammingError("register_converter takes a type name and a function")
    _CONVERTERS[typename.upper()] = converter


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        return b"1" if value else b"0"
    if isinstance(value, (int, float)):
        return repr(value).encode()
    return orjson.dumps(value)


def column_converters(detect_types: int, names: list[str], declared: Callable[[], list[str | None]]
                      ) -> tuple[list[str], list[Callable[[bytes], Any] | None]]:
    """(the names ``description`` shows, a converter or None per column) for a result."""
    shown, found = list(names), [None] * len(names)
    if detect_types & PARSE_DECLTYPES and _CONVERTERS:
        for i, type_ in enumerate(declared()):
            if type_:
                found[i] = _CONVERTERS.get(type_.upper())
    if detect_types & PARSE_COLNAMES:
        for i, name in enumerate(names):
            match = _COLNAME.match(name)
            if match:
                shown[i] = match.group("name")
                found[i] = _CONVERTERS.get(match.group("type").split()[0].upper(), found[i])
    return shown, found


def converted(rows: Any, converters: list[Callable[[bytes], Any] | None]) -> Any:
    """``rows`` with each converter applied to its column's non-NULL values."""
    todo = [(i, convert) for i, convert in enumerate(converters) if convert is not None]
    for row in rows:
        values = list(row)
        for i, convert in todo:
            if values[i] is not None:
                values[i] = convert(_as_bytes(values[i]))
        yield tuple(values)
