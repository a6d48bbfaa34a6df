"""The catalog: which tables, collections and indexes exist, and where they live.

Entries are plain JSON-able dicts, one per table, collection or view::

    {"name": "users", "kind": "table" | "collection", "id": 3, "engine": "lsm",
     "columns": {"id": "INTEGER", ...}, "primary_key": ["id"],        # tables only
     "indexes": {"age_1": {"id": 4, "fields": [["age", 1]], "unique": false}}}
    {"name": "adults", "kind": "view", "sql": "SELECT ...", "columns": [], "indexes": {}}

A view owns no store: it is its query's text, planned again where it is read.

Each table, collection and index owns a store: a storage engine in
``objects/<id>-<engine>/`` of the database directory. The catalog itself is
kept in store 0 (``SYSTEM``): key ``b"o" + name`` holds an entry, ``b"s" + store id`` an
AUTOINCREMENT table's largest id ever used, ``b"m"``
holds ``{"next_id": n}``. Catalog changes therefore travel in the same
transactions as data, so creating a table and filling it is one atomic commit,
and a rolled-back ``create_index`` leaves no trace.

A ``Catalog`` is immutable: a change makes a new one (``with_entry``,
``without``), so a transaction can keep its own version and drop it on
rollback while other connections keep reading the committed one.
May import: the standard library, ``orjson``, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import orjson

from docdb.errors import ProgrammingError

SYSTEM = 0
INDEX_ENGINE = "lsm"  # every index's store: index entries are read in key order
META_KEY = b"m"
ENTRY_PREFIX = b"o"
SEQUENCE_PREFIX = b"s"  # + a table's store id: its AUTOINCREMENT high-water mark (docdb.models.table)
USER_VERSION_KEY = b"u"  # the user's schema version number (Connection.user_version)


def entry_key(name: str) -> bytes:
    return ENTRY_PREFIX + name.encode("utf-8")


def entry_stores(entry: dict) -> dict[int, str]:
    """The stores of one table or collection, with their engines: its data's first, then one
    per index (a view has none)."""
    if "id" not in entry:
        return {}
    return {entry["id"]: entry["engine"],
            **{index["id"]: INDEX_ENGINE for index in entry.get("indexes", {}).values()}}


class Catalog:
    def __init__(self, entries: dict[str, dict], next_id: int = 1):
        self._entries = entries
        self.next_id = next_id
        self._folded: dict[str, str] | None = None  # lower-case name -> stored name, made on need
        self._referencing: dict[str, list[tuple[str, dict]]] | None = None  # parent -> its children

    @classmethod
    def load(cls, items: Iterator[tuple[bytes, bytes]]) -> Catalog:
        """From the (key, value) pairs of the system store."""
        entries: dict[str, dict] = {}
        next_id = 1
        for key, value in items:
            if key == META_KEY:
                next_id = orjson.loads(value)["next_id"]
            elif key.startswith(ENTRY_PREFIX):
                entry = orjson.loads(value)
                entries[entry["name"]] = entry
        return cls(entries, next_id)

    def get(self, name: str) -> dict | None:
        """The entry called ``name`` in any case, as SQLite matches names: the exact spelling
        first, then the one that differs only in case (there is at most one: ``create``
        refuses a second name that differs only in case)."""
        entry = self._entries.get(name)
        if entry is None and isinstance(name, str):
            if self._folded is None:
                self._folded = {n.lower(): n for n in self._entries}
            stored = self._folded.get(name.lower())
            entry = self._entries.get(stored) if stored is not None else None
        return entry

    def require(self, name: str, kind: str) -> dict:
        entry = self.get(name)
        if entry is None or entry["kind"] != kind:
            what = f"a {entry['kind']}, not a {kind}" if entry else "not in the database"
            raise ProgrammingError(f"no such {kind}: {name!r} is {what}")
        return entry

    def require_any(self, name: str) -> dict:
        entry = self.get(name)
        if entry is None:
            raise ProgrammingError(f"no table, collection or view named {name!r}")
        return entry

    def referencing(self, name: str) -> list[tuple[str, dict]]:
        """(table, foreign key) of every foreign key that names the table ``name`` (any case)
        as its parent: what a change of one of its rows must answer to."""
        if self._referencing is None:
            found: dict[str, list[tuple[str, dict]]] = {}
            for entry in self._entries.values():
                for key in entry.get("foreign_keys", ()):
                    found.setdefault(key["parent"].lower(), []).append((entry["name"], key))
            self._referencing = found
        return self._referencing.get(name.lower(), [])

    def names(self, kind: str) -> list[str]:
        return sorted(n for n, e in self._entries.items() if e["kind"] == kind)

    def entries(self) -> list[dict]:
        return list(self._entries.values())

    def stores(self) -> dict[int, str]:
        """Every store the catalog names, with its engine: its own, then each object's."""
        stores = {SYSTEM: "hash"}
        for entry in self._entries.values():
            stores.update(entry_stores(entry))
        return stores

    def allocate(self) -> tuple[Catalog, int]:
        """A new store id, and the catalog that remembers it was used."""
        return Catalog(self._entries, self.next_id + 1), self.next_id

    def with_entry(self, entry: dict) -> Catalog:
        entries = dict(self._entries)
        entries[entry["name"]] = entry
        return Catalog(entries, self.next_id)

    def without(self, name: str) -> Catalog:
        entries = dict(self._entries)
        del entries[name]
        return Catalog(entries, self.next_id)

    def writes(self, name: str) -> list[tuple[bytes, bytes | None]]:
        """The system-store writes that persist ``name``'s entry (or its removal) and the id counter."""
        entry = self._entries.get(name)
        return [(entry_key(name), orjson.dumps(entry) if entry is not None else None),
                (META_KEY, orjson.dumps({"next_id": self.next_id}))]


def edited(entry: dict) -> dict[str, Any]:
    """A deep copy of ``entry`` to change (entries of a published catalog never change)."""
    return copy.deepcopy(entry)
