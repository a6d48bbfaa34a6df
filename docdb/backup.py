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

from docdb.errors import IntegrityError, ProgrammingError

__all__ = ["backup", "copy_collection", "copy_table"]

BATCH = 1000


def _batches(rows: Any) -> Any:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, BATCH)):
        yield batch


IndexRefused = Callable[[str, Exception], Any]  # (index name, its IntegrityError)


def copy_table(target: Any, name: str, description: dict, rows: Any, mark: int | None = None,
               refused: IndexRefused | None = None) -> None:
    """Make table ``name`` in ``target`` as ``description`` says, holding ``rows`` (value
    tuples in column order), then its indexes; ``refused`` is told of a unique index the
    rows break (without it, the error is raised)."""
    columns = list(description["columns"])
    table = target.create_table(name, description["columns"], description["primary_key"] or None,
                                engine=description["engine"], autoincrement=description["autoincrement"])
    for batch in _batches(rows):
        table.insert_many([dict(zip(columns, row)) for row in batch])
    if mark is not None:
        table.raise_sequence(mark)
    _build_indexes(description, lambda spec, index: table.create_index(spec["fields"], unique=spec["unique"],
                                                                       name=index), refused)


def copy_collection(target: Any, name: str, description: dict, documents: Any,
                    refused: IndexRefused | None = None) -> None:
    """``copy_table`` for a collection of ``documents``."""
    collection = target.create_collection(name, engine=description["engine"])
    for batch in _batches(documents):
        collection.insert_many(batch)
    _build_indexes(description, lambda spec, index: collection.create_index(
        [(field, 1) for field in spec["fields"]], unique=spec["unique"], name=index), refused)


def _build_indexes(description: dict, build: Callable[[dict, str], Any],
                   refused: IndexRefused | None) -> None:
    for index, spec in description["indexes"].items():
        if spec.get("implied"):  # CREATE TABLE made those (UNIQUE columns)
            continue
        try:
            build(spec, index)
        except IntegrityError as error:
            if refused is None:
                raise
            refused(index, error)


def _copy_table(source: Any, target: Any, name: str, description: dict) -> None:
    copy_table(target, name, description, source.table(name).row_values(), source.table(name).sequence)


def _copy_collection(source: Any, target: Any, name: str, description: dict) -> None:
    copy_collection(target, name, description, source.collection(name).find())


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
