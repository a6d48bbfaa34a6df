"""``docdb repair PATH NEWPATH``: a new database holding everything that can still be read of
a damaged one. PATH is opened read-only and never changed; NEWPATH must not exist.

Each table and collection is salvaged (``Connection.salvage``: read from both ends up to
the damage) and written into NEWPATH through the public API, its indexes built afresh;
views and ``user_version`` follow. The report says, per object, how many rows or
documents were saved and what was lost (the error, and the key range around it), and
which unique indexes the saved data would break (those are not built).
May import: the standard library and ``docdb`` (the public API only).
"""

from __future__ import annotations

import os
from typing import Any

from docdb.backup import copy_collection, copy_table
from docdb.errors import Error, ProgrammingError

__all__ = ["repair"]


def repair(source_path: str, target_path: str) -> dict[str, Any]:
    """Copy what can be read of ``source_path`` into a new database at ``target_path``."""
    from docdb.connection import connect

    if os.path.exists(target_path):
        raise ProgrammingError(f"{target_path!r} already exists: repair writes a new database")
    source = connect(source_path, readonly=True)
    try:
        target = connect(target_path)
        try:
            report = _copy_all(source, target)
        finally:
            target.close()
    finally:
        source.close()
    return report


def _copy_all(source: Any, target: Any) -> dict[str, Any]:
    objects = []
    for name in sorted(source.tables() + source.collections()):
        description = source.describe(name)
        records, lost = source.salvage(name)
        refused: list[str] = []

        def note(index: str, error: Exception, refused: list[str] = refused) -> None:
            refused.append(f"{index}: {error}")

        if description["kind"] == "table":
            copy_table(target, name, description, records, source.table(name).sequence, note)
        else:
            copy_collection(target, name, description, records, note)
        target.commit()
        objects.append({"name": name, "kind": description["kind"], "saved": len(records),
                        "lost": _plain(lost), "indexes_not_built": refused})
    views = []
    for name in sorted(source.views()):
        description = source.describe(name)
        try:
            target.create_view(name, description["sql"], description["columns"])
            target.commit()
        except Error as error:
            target.rollback()
            views.append(f"{name}: {error}")
    target.user_version = source.user_version
    target.commit()
    complete = all(o["lost"] is None and not o["indexes_not_built"] for o in objects) and not views
    return {"complete": complete, "objects": objects, "views_not_copied": views}


def _plain(lost: dict[str, Any] | None) -> dict[str, Any] | None:
    """The loss report with keys shown as text (it is printed and written as JSON)."""
    if lost is None:
        return None
    return {k: (repr(v) if isinstance(v, bytes) else [repr(x) for x in v] if isinstance(v, list) else v)
            for k, v in lost.items()}
