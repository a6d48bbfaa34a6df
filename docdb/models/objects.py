"""What tables and collections share: catalog entries, their stores, and index upkeep.

A table or collection is a named catalog entry that owns a data store (keys:
encoded primary key or ``_id``; values: the encoded row or document) and one
store per secondary index (``docdb.models.index``). This module creates and
drops them (as catalog changes inside the caller's transaction) and keeps the
index entries of a record in step with the record: ``write_indexes`` is called
with the old and new version of every record written, in the same statement,
so data and indexes commit or roll back together.

A model object reads through a ``Session``: the public connection, which hands
out its open transaction (or the committed state when there is none) for
reads, and a transaction inside a statement for writes.
May import: the standard library, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

import storage
from docdb.errors import IntegrityError, ProgrammingError
from docdb.models import keycode
from docdb.models.catalog import SYSTEM, Catalog, edited
from docdb.models.index import Access, entry_keys
from docdb.models.txn import Transaction

# Index hits are fetched in batches (one ``get_many``) that grow from FIRST_BATCH, so
# ``find_one`` reads a few rows and a big result pays the per-call costs rarely.
FIRST_BATCH, MAX_BATCH = 8, 512
_NAME = re.compile(r"^[^\x00]{1,255}$")


class Reader(Protocol):
    catalog: Catalog

    def get(self, store: int, key: bytes) -> bytes | None: ...

    def get_many(self, store: int, keys: list[bytes]) -> list[bytes | None]: ...

    def scan(self, store: int, start: bytes | None = None, stop: bytes | None = None,
             reverse: bool = False, contains: bytes | None = None) -> Iterator[tuple[bytes, bytes]]: ...

    def scan_batches(self, store: int, start: bytes | None = None, stop: bytes | None = None,
                     reverse: bool = False, batch: int = 1024
                     ) -> Iterator[tuple[list[bytes], list[bytes]]]: ...

    def derived(self, store: int, shape: Any, name: Any,
                build: Callable[[list[list]], Any] | None) -> Any | None: ...

    def caches(self, store: int) -> bool: ...

    def decoded_batches(self, store: int, shape: Any, decode: Callable[[list[bytes]], list],
                        keep: Callable[[list], bool] | None = None) -> Iterator[list]: ...


class Session(Protocol):
    default_engine: str

    def reading(self) -> Reader: ...

    def writing(self) -> AbstractContextManager[Transaction]: ...


def check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ProgrammingError(f"{what} names are non-empty strings of at most 255 characters "
                               f"without NUL; got {name!r:.80}")
    return name


# ----- catalog changes (inside the caller's transaction) -----------------------------------


def _publish(txn: Transaction, catalog: Catalog, name: str) -> None:
    txn.set_catalog(catalog)
    for key, value in catalog.writes(name):
        txn.put(SYSTEM, key, value)


def create_object(txn: Transaction, name: str, kind: str, engine: str, **extra: Any) -> dict:
    if engine not in storage.ENGINES:
        raise ProgrammingError(f"unknown engine {engine!r}; choose one of {', '.join(storage.ENGINES)}")
    existing = txn.catalog.get(name)  # any case: "Events" and "events" are one name
    if existing is not None:
        raise ProgrammingError(f"{existing['kind']} {existing['name']!r} already exists")
    catalog, store = txn.catalog.allocate()
    entry = {"name": name, "kind": kind, "id": store, "engine": engine, "indexes": {}, **extra}
    _publish(txn, catalog.with_entry(entry), name)
    return entry


def create_view(txn: Transaction, name: str, sql: str, columns: list[str]) -> dict:
    """A view: a catalog entry holding its query's text (checked by the query layer)."""
    existing = txn.catalog.get(name)
    if existing is not None:
        raise ProgrammingError(f"{existing['kind']} {name!r} already exists")
    entry = {"name": name, "kind": "view", "sql": sql, "columns": list(columns), "indexes": {}}
    _publish(txn, txn.catalog.with_entry(entry), name)
    return entry


def rename_object(txn: Transaction, entry: dict, new_name: str) -> dict:
    """The object under another name: its stores, data and indexes stay as they are."""
    check_name(new_name, entry["kind"])
    existing = txn.catalog.get(new_name)
    if existing is not None:
        raise ProgrammingError(f"{existing['kind']} {new_name!r} already exists")
    changed = edited(entry)
    changed["name"] = new_name
    catalog = txn.catalog.without(entry["name"]).with_entry(changed)
    _publish(txn, catalog, entry["name"])  # the old name's entry goes
    _publish(txn, catalog, new_name)
    for child, _ in catalog.referencing(entry["name"]):  # foreign keys follow their parent, as in SQLite
        other = edited(txn.catalog.get(child))
        for key in other["foreign_keys"]:
            if key["parent"].lower() == entry["name"].lower():
                key["parent"] = new_name
        update_entry(txn, other)
    return txn.catalog.get(new_name)


def update_entry(txn: Transaction, changed: dict) -> None:
    """Publish a changed entry (made with ``catalog.edited``) in the transaction."""
    _publish(txn, txn.catalog.with_entry(changed), changed["name"])


def drop_object(txn: Transaction, entry: dict) -> None:
    """The object's stores go with its entry (a checkpoint removes their files)."""
    _publish(txn, txn.catalog.without(entry["name"]), entry["name"])


def add_index(txn: Transaction, entry: dict, name: str, fields: list, unique: bool) -> dict:
    """The entry with a new (empty) index; the caller fills it."""
    if name in entry["indexes"]:
        raise ProgrammingError(f"{entry['kind']} {entry['name']!r} already has an index named {name!r}")
    catalog, store = txn.catalog.allocate()
    changed = edited(entry)
    changed["indexes"][name] = {"id": store, "fields": fields, "unique": bool(unique)}
    _publish(txn, catalog.with_entry(changed), entry["name"])
    return changed


def remove_index(txn: Transaction, entry: dict, name: str) -> None:
    if name not in entry["indexes"]:
        raise ProgrammingError(f"{entry['kind']} {entry['name']!r} has no index named {name!r}")
    changed = edited(entry)
    del changed["indexes"][name]
    _publish(txn, txn.catalog.with_entry(changed), entry["name"])


# ----- index upkeep ------------------------------------------------------------------------

IndexValues = Callable[[list[str], Any], list[list[Any]]]  # (fields, record) -> values per field


def index_fields(index: dict) -> list[str]:
    return [field for field, _direction in index["fields"]]


def write_indexes(txn: Transaction, entry: dict, key: bytes, old: Any, new: Any,
                  values_of: IndexValues, unique_exempt: Callable[[list[list[Any]]], bool]) -> None:
    """Move the index entries of the record at ``key`` from ``old`` to ``new`` (either may be None)."""
    for name, index in entry["indexes"].items():
        fields = index_fields(index)
        where = f"{entry['kind']} {entry['name']}, index {name}"
        old_keys = set(entry_keys(values_of(fields, old), where)) if old is not None else set()
        new_values = values_of(fields, new) if new is not None else None
        new_keys = set(entry_keys(new_values, where)) if new_values is not None else set()
        for value_key in old_keys - new_keys:
            txn.delete(index["id"], value_key + key)
        check = index["unique"] and not unique_exempt(new_values or [])
        for value_key in new_keys - old_keys:
            if check:
                check_unique(txn, index["id"], value_key, key, where)
            txn.put(index["id"], value_key + key, key)


def check_unique(txn: Transaction, store: int, value_key: bytes, key: bytes, where: str) -> None:
    for _, other in txn.scan(store, value_key, keycode.prefix_end(value_key)):
        if other != key:
            values = keycode.decode_tuple(value_key)
            shown = values[0] if len(values) == 1 else values
            raise IntegrityError(f"{where}: unique index already holds {shown!r}")


def read_access(reader: Reader, entry: dict, access: Access, stats: dict[str, int],
                needles: tuple[bytes, ...] | None = None, decode: Callable[[bytes], Any] | None = None
                ) -> Iterator[tuple[bytes, Any]]:
    """(data key, record) of every candidate ``access`` names, each once.

    A full scan skips records whose bytes hold none of ``needles`` (see
    ``filters.raw_prefilter``; a single needle is passed to the engine's scan, which
    can skip whole blocks) before ``decode`` turns the rest into records.
    One loop does it all: a scan's cost is per record, so every layer counts.
    """
    data = entry["id"]
    if (access.index is None or access.index not in entry["indexes"]) and needles is None:
        for start, stop in access.ranges:  # every record is decoded: take them a list at a time
            for keys, raws in reader.scan_batches(data, start, stop):
                stats["docs_examined"] += len(keys)
                stats["decoded"] += len(keys)
                yield from zip(keys, map(decode, raws) if decode is not None else raws)
        return
    if access.index is None or access.index not in entry["indexes"]:
        single = needles[0] if needles is not None and len(needles) == 1 else None
        # one needle goes down to the engine, which can skip whole blocks without it
        items = (item for start, stop in access.ranges for item in reader.scan(data, start, stop,
                                                                               contains=single))
        for key, raw in items:
            stats["docs_examined"] += 1
            if single is None and needles is not None and not any(n in raw for n in needles):
                continue
            stats["decoded"] += 1
            yield key, decode(raw) if decode is not None else raw
        return
    store = entry["indexes"][access.index]["id"]
    seen: set[bytes] = set()
    remember = seen.add
    for start, stop in access.ranges:
        # an index entry's value is its row's key
        data_keys = itertools.chain.from_iterable(
            keys for _, keys in reader.scan_batches(store, start, stop))
        size = FIRST_BATCH
        while keys := list(itertools.islice(data_keys, size)):
            stats["keys_examined"] += len(keys)
            keys = [k for k in keys if not (k in seen or remember(k))]  # each row once
            raws = reader.get_many(data, keys)
            found = [(k, raw) for k, raw in zip(keys, raws) if raw is not None]
            stats["docs_examined"] += len(found)
            stats["decoded"] += len(found)
            if decode is None:
                yield from found
            else:
                yield from [(k, decode(raw)) for k, raw in found]
            size = min(size * 2, MAX_BATCH)
