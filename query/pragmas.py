"""PRAGMA: SQLite's introspection statements, answered from docdb's catalog.

Supported, each returning SQLite's columns: ``table_info(t)``, ``table_list``,
``index_list(t)``, ``index_info(i)``, ``foreign_key_list(t)``, ``database_list``,
``user_version`` (read and set; kept in the database), ``foreign_keys`` (reads 1; setting it
has no effect: docdb always enforces foreign keys), ``journal_mode`` (``wal``: docdb always has its log) and
``synchronous`` (the connection's sync mode). As in SQLite, an unknown pragma returns no
rows and is not an error.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from docdb.errors import ProgrammingError
from docdb.models.schema import storage_type
from query import ast
from query.ddl import owner

__all__ = ["pragma"]

Answer = tuple[list[str], list[tuple]]


def _spec_parts(spec: str) -> tuple[str, bool, Any]:
    """(type, NOT NULL, default text or None) of a column declaration."""
    words = spec.split()
    default = re.search(r"\bDEFAULT\s+(.+)$", spec, re.I)
    return words[0].upper(), bool(re.search(r"\bNOT\s+NULL\b", spec, re.I)), \
        default.group(1) if default else None


def _table_info(conn: Any, name: Any) -> Answer:
    columns = ["cid", "name", "type", "notnull", "dflt_value", "pk"]
    entry = _described(conn, name)
    if entry is None or entry["kind"] != "table":
        return columns, []
    keys = entry["primary_key"]
    rows = []
    for cid, (column, spec) in enumerate(entry["columns"].items()):
        type_, not_null, default = _spec_parts(spec)
        pk = keys.index(column) + 1 if column in keys else 0
        rowid_alias = keys == [column] and storage_type(type_) == "INTEGER"  # NULL: "the next id"
        rows.append((cid, column, type_, int(not_null or (bool(pk) and not rowid_alias)), default, pk))
    return columns, rows


def _index_list(conn: Any, name: Any) -> Answer:
    columns = ["seq", "name", "unique", "origin", "partial"]
    entry = _described(conn, name)
    if entry is None or entry["kind"] == "view":
        return columns, []
    indexes = list(entry["indexes"].items())
    return columns, [(seq, index, int(spec["unique"]), "u" if spec["implied"] else "c", 0)
                     for seq, (index, spec) in enumerate(reversed(indexes))]


def _index_info(conn: Any, name: Any) -> Answer:
    columns = ["seqno", "cid", "name"]
    for object_name in conn.tables() + conn.collections():
        entry = conn.describe(object_name)
        for index, spec in entry["indexes"].items():
            if index.lower() == str(name).lower():
                names = list(entry.get("columns", {}))
                return columns, [(n, names.index(f) if f in names else -1, f)
                                 for n, f in enumerate(spec["fields"])]
    return columns, []


def _table_list(conn: Any, _value: Any) -> Answer:
    rows = []
    temp = conn.temp_database
    for schema, home in (("main", conn), ("temp", temp)) if temp is not None else (("main", conn),):
        for kind, names in (("table", home.tables()), ("view", home.views()),
                            ("collection", home.collections())):
            for name in names:
                width = len(home.describe(name).get("columns", ())) if kind != "collection" else 1
                rows.append((schema, name, kind, width, 0, int(kind == "table")))
    return ["schema", "name", "type", "ncol", "wr", "strict"], rows


def _user_version(conn: Any, value: Any) -> Answer:
    if value is None:
        return ["user_version"], [(conn.user_version,)]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProgrammingError(f"PRAGMA user_version takes an integer, not {value!r}")
    conn.user_version = value
    return [], []


def _described(conn: Any, name: Any) -> dict | None:
    if not isinstance(name, str):
        return None
    try:
        return owner(conn, name).describe(name)  # a temporary table first
    except ProgrammingError:
        return None


_SYNC = {"off": 0, "normal": 1, "full": 2}
def _integrity_check(conn: Any, _value: Any) -> Answer:
    """SQLite's answer: one row "ok", or one row per problem (``conn.check()``)."""
    problems = conn.check()
    if not problems:
        return ["integrity_check"], [("ok",)]
    rows = []
    for p in problems:
        where = f" ({p['where']})" if p["where"] else ""
        rows.append((f"{p['object']}: {p['problem']}{where}",))
    return ["integrity_check"], rows


def _foreign_key_list(conn: Any, name: Any) -> Answer:
    """SQLite's columns: one row per column of each foreign key (``to`` is NULL where the
    key names the parent's primary key)."""
    described = _described(conn, name)
    rows = []
    keys = (described or {}).get("foreign_keys", [])
    for number, key in reversed(list(enumerate(reversed(keys)))):  # SQLite numbers the last one 0
        targets = key["parent_columns"] or [None] * len(key["columns"])
        for seq, (source, target) in enumerate(zip(key["columns"], targets)):
            rows.append((number, seq, key["parent"], source, target, key["on_update"], key["on_delete"],
                         "NONE"))
    return ["id", "seq", "table", "from", "to", "on_update", "on_delete", "match"], rows


PRAGMAS: dict[str, Callable[[Any, Any], Answer]] = {
    "integrity_check": _integrity_check,
    "quick_check": _integrity_check,
    "table_info": _table_info,
    "index_list": _index_list,
    "index_info": _index_info,
    "table_list": _table_list,
    "user_version": _user_version,
    "database_list": lambda conn, _v: (["seq", "name", "file"], [(0, "main", conn.path)]),
    "foreign_keys": lambda conn, v: (["foreign_keys"], [(1,)]) if v is None else ([], []),
    "foreign_key_list": _foreign_key_list,
    "journal_mode": lambda conn, _v: (["journal_mode"], [("wal",)]),
    "synchronous": lambda conn, v: (["synchronous"], [(_SYNC.get(conn.sync, 1),)]) if v is None else ([], []),
}


def pragma(conn: Any, node: ast.Pragma) -> Answer:
    """(column names, rows) of the pragma; an unknown one has neither, as in SQLite."""
    answer = PRAGMAS.get(node.name.lower())
    return answer(conn, node.value) if answer is not None else ([], [])
