"""What a database holds and how much room it takes, and reclaiming the room of dead data.

The ``docdb stats`` and ``docdb compact`` commands (and ``.schema``/``.indexes`` in the shell)
need to see each object's stores -- its data and each of its indexes -- without reaching
into the catalog's layout themselves; this module turns catalog entries into plain
descriptions and per-object counters.
May import: the standard library, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from docdb.models.catalog import entry_stores
from docdb.models.schema import TableSchema
from docdb.models.table import constraint_indexes


def describe(entry: dict) -> dict[str, Any]:
    """A copy of a catalog entry in the shape the public API promises.

    Tables: ``columns`` (name -> declared type and constraints, in order), ``types`` (name ->
    the docdb type it holds: INTEGER, REAL, TEXT, BOOLEAN, BLOB or JSON), ``primary_key``
    (``[]`` for a hidden row id), ``checks`` and ``foreign_keys`` (``docdb.models.constraints``);
    collections and tables: ``engine`` and ``indexes`` (name ->
    ``{"fields": [...], "unique": bool, "implied": bool}``, ``implied`` for the indexes
    CREATE TABLE made for UNIQUE columns, which a copy of the table gets without asking);
    views: ``sql`` and ``columns``.
    """
    kind = entry["kind"]
    out: dict[str, Any] = {"name": entry["name"], "kind": kind}
    if kind == "view":
        out["sql"] = entry["sql"]
        out["columns"] = list(entry.get("columns") or [])
        return out
    out["engine"] = entry["engine"]
    implied: set[str] = set()
    if kind == "table":
        out["columns"] = copy.deepcopy(entry["columns"])
        schema = TableSchema.define(entry["name"], entry["columns"], entry["primary_key"])
        out["types"] = {column.name: column.type for column in schema.columns}
        out["primary_key"] = list(entry.get("primary_key") or [])
        out["autoincrement"] = bool(entry.get("autoincrement"))
        out["checks"] = copy.deepcopy(entry.get("checks", []))
        out["foreign_keys"] = copy.deepcopy(entry.get("foreign_keys", []))
        implied = set(constraint_indexes(schema))
    out["indexes"] = {name: {"fields": [field for field, _order in spec["fields"]],
                             "unique": bool(spec["unique"]), "implied": name in implied}
                      for name, spec in entry.get("indexes", {}).items()}
    return out


def object_stats(stores: dict, entries: list[dict], logged_keys: Any = None) -> list[dict[str, Any]]:
    """One row per table and collection: its size in entries and on disk, data and indexes
    together (``dead_bytes`` is what a compaction could give back). ``logged_keys(store)``
    counts the keys a store holds beyond its engine's (written since the last checkpoint)."""
    rows = []
    for entry in sorted(entries, key=lambda e: e["name"]):
        if entry["kind"] == "view":
            continue
        data, *indexes = (stores[store].stats() if store in stores else {} for store in entry_stores(entry))
        disk = data.get("disk_bytes", 0) + sum(s.get("disk_bytes", 0) for s in indexes)
        dead = data.get("dead_bytes", 0) + sum(s.get("dead_bytes", 0) for s in indexes)
        rows.append({"name": entry["name"], "kind": entry["kind"], "engine": entry["engine"],
                     "entries": data.get("keys", 0) + (logged_keys(entry["id"]) if logged_keys else 0),
                     "indexes": len(indexes),
                     "disk_bytes": disk, "dead_bytes": dead})
    return rows


def tree_bytes(path: str) -> int:
    """Bytes of every file under ``path`` (a file removed meanwhile by background work is skipped)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except FileNotFoundError:
                pass
    return total
