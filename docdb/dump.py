"""``Connection.iterdump()``: the statements that recreate a database, as sqlite3's ``iterdump``.

The dump is a script of the query language, in one transaction: each table's
``CREATE TABLE`` and its rows as ``INSERT INTO … VALUES``, each collection's
``CREATE COLLECTION`` and its documents as ``INSERT INTO … VALUE {…}``, then the
indexes (after the data, as SQLite dumps them, so loading does not maintain them
row by row), then the views. ``docdb run`` or ``conn.executescript`` loads it back.
Values are written as literals the language reads back to the same value: text in
single quotes, BLOBs as ``X'…'``, JSON objects and arrays as ``{'k': v}`` and
``[…]`` constructors; a float keeps its decimal point so it stays a float.
May import: the standard library and ``docdb`` (not ``query``: it writes text only).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["index_statements", "iterdump", "object_ddl", "quote_name", "sql_literal"]

_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")
# Words the grammar reserves where a name could stand; a name equal to one is quoted.
_RESERVED_WORDS = """
    abort add all alter and as asc at autoincrement begin between by case cast collate
    collection column commit conflict create cross default delete desc distinct do drop else
    end escape except exists explain fail false first from glob group having if ignore in
    index indexed inner insert intersect into is isnull join key last left like limit
    missing not nothing notnull null nulls of offset on or order outer pivot primary rename
    replace returning rollback select set table temp temporary then to transaction true
    union unique unnest unpivot update using value values view when where with vacuum deferred
    immediate exclusive current_date current_time current_timestamp
"""
_RESERVED = frozenset(_RESERVED_WORDS.split())


def quote_name(name: str) -> str:
    """``name`` as written in a statement: bare when it can be, else in double quotes."""
    if _PLAIN_NAME.match(name) and name.lower() not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    """A literal that the query language reads back as ``value``."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NULL"  # as SQLite stores a NaN
        if math.isinf(value):
            return "1e999" if value > 0 else "-1e999"
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "X'" + bytes(value).hex().upper() + "'"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{sql_literal(str(k))}: {sql_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    raise TypeError(f"no literal for a {type(value).__name__}: {value!r:.60}")


def table_ddl(description: dict) -> str:
    """``CREATE TABLE`` for a table's description (``Connection.describe``)."""
    keys = description["primary_key"]
    inline = keys[0] if description.get("autoincrement") else None  # only a column may say it
    parts = [f"{quote_name(name)} {spec}" + (" PRIMARY KEY AUTOINCREMENT" if name == inline else "")
             for name, spec in description["columns"].items()]
    if keys and inline is None:
        parts.append("PRIMARY KEY (" + ", ".join(map(quote_name, keys)) + ")")
    return (f"CREATE TABLE {quote_name(description['name'])} ({', '.join(parts)})"
            f" USING {description['engine']};")


def index_ddl(table: str, name: str, spec: dict) -> str:
    unique = "UNIQUE " if spec["unique"] else ""
    fields = ", ".join(".".join(map(quote_name, field.split("."))) for field in spec["fields"])
    return f"CREATE {unique}INDEX {quote_name(name)} ON {quote_name(table)} ({fields});"


def index_statements(description: dict) -> list[str]:
    """``CREATE INDEX`` for each index of a table or collection that its creation does not make."""
    return [index_ddl(description["name"], index, spec)
            for index, spec in description.get("indexes", {}).items() if not spec["implied"]]


def object_ddl(description: dict) -> str:
    """The statement that creates a table, collection or view (without its data)."""
    kind = description["kind"]
    if kind == "table":
        return table_ddl(description)
    if kind == "collection":
        return f"CREATE COLLECTION {quote_name(description['name'])} USING {description['engine']};"
    columns = description["columns"]
    named = " (" + ", ".join(map(quote_name, columns)) + ")" if columns else ""
    return f"CREATE VIEW {quote_name(description['name'])}{named} AS {description['sql']};"


def object_data(conn: Any, description: dict) -> Iterator[str]:
    """The INSERT statements that put back an object's rows or documents."""
    name = quote_name(description["name"])
    if description["kind"] == "table":
        for row in conn.table(description["name"]).row_values():
            yield f"INSERT INTO {name} VALUES ({', '.join(map(sql_literal, row))});"
    elif description["kind"] == "collection":
        for document in conn.collection(description["name"]).find():
            yield f"INSERT INTO {name} VALUE {sql_literal(document)};"


def iterdump(conn: Any, names: list[str] | None = None) -> Iterator[str]:
    """The statements recreating the database (or just the objects ``names``), one per item."""
    wanted = sorted(conn.tables() + conn.collections() + conn.views()) if names is None else names
    descriptions = [conn.describe(name) for name in wanted]
    yield "BEGIN TRANSACTION;"
    for description in descriptions:
        if description["kind"] != "view":
            yield object_ddl(description)
            yield from object_data(conn, description)
    for description in descriptions:
        yield from index_statements(description)
    for description in descriptions:
        if description["kind"] == "view":
            yield object_ddl(description)
    yield "COMMIT;"
