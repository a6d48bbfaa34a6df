"""``Connection.backup(target)``: copy a whole database into another, as sqlite3's ``backup``.

The target's tables, collections and views are replaced by the source's -- definitions,
rows, documents, indexes (built once, after the data), views, AUTOINCREMENT tables and
``user_version`` -- in one transaction of the target, so a failure leaves it as it was.
The source is read through its connection (its committed state, or its own open
transaction). ``progress(status, remaining, total)`` is called after each object, as
sqlite3 calls it after each batch of pages.
May import: the standard library and ``docdb`` (the public API only).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from docdb.errors import ProgrammingError

__all__ = ["backup"]

BATCH = 1000


def _batches(rows: Any) -> Any:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, BATCH)):
        yield batch


def _copy_table(source: Any, target: Any, name: str, description: dict) -> None:
    columns = list(description["columns"])
    table = target.create_table(name, description["columns"], description["primary_key"] or None,
                                engine=description["engine"], autoincrement=description["autoincrement"])
    for batch in _batches(source.table(name).row_values()):
        table.insert_many([dict(zip(columns, row)) for row in batch])
    mark = source.table(name).sequence
    if mark is not None:
        table.raise_sequence(mark)
    for index, spec in description["indexes"].items():
        if not spec["implied"]:  # CREATE TABLE made those (UNIQUE columns)
            table.create_index(spec["fields"], unique=spec["unique"], name=index)


def _copy_collection(source: Any, target: Any, name: str, description: dict) -> None:
    collection = target.create_collection(name, engine=description["engine"])
    for batch in _batches(source.collection(name).find()):
        collection.insert_many(batch)
    for index, spec in description["indexes"].items():
        collection.create_index([(field, 1) for field in spec["fields"]], unique=spec["unique"], name=index)


def backup(source: Any, target: Any, progress: Callable[[int, int, int], Any] | None = None) -> None:
    if target is source or getattr(target, "path", None) == source.path != ":memory:":
        raise ProgrammingError("backup() needs a different database as its target")
    names = sorted(source.tables() + source.collections())
    views = sorted(source.views())
    total = len(names) + len(views)
    target.begin()
    try:
        for old in target.views() + target.tables() + target.collections():
            target.drop(old)
        for done, name in enumerate(names, 1):
            description = source.describe(name)
            copy = _copy_table if description["kind"] == "table" else _copy_collection
            copy(source, target, name, description)
            if progress is not None:
                progress(0, total - done, total)
        for done, name in enumerate(views, len(names) + 1):
            description = source.describe(name)
            target.create_view(name, description["sql"], description["columns"])
            if progress is not None:
                progress(0, total - done, total)
        target.user_version = source.user_version
        target.commit()
    except BaseException:
        target.rollback()
        raise
