"""``conn.check()``: is everything in the database readable, and does every index agree?

What is verified, store by store, as the connection's committed snapshot sees it:

* **every record and block of every engine** (``Engine.verify``: each checksum, the
  dead records of a hash segment and every table of an LSM tree included);
* **the transaction log**: every batch whole, up to what a crash could have cut short;
* **every row and document** decodes;
* **every index agrees with its data**: each record has exactly the entries its values
  call for, and the index has no entry for a record that is gone or changed.

Each problem is a dict: ``object`` (a table, collection or index name, ``"store <id>"``
for damage an engine found, or ``"log"``), ``store`` (id or None), ``where`` (a file and
offset when one is known) and ``problem`` (what is wrong). No problems: the database is sound.
May import: the standard library, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

from typing import Any

from docdb.models.index import entry_keys
from docdb.models.objects import index_fields
from storage.errors import CorruptionError, StorageError

__all__ = ["check"]

_EXAMPLES = 3  # keys shown per kind of index disagreement


def _problem(obj: str, store: int | None, problem: str, where: str | None = None) -> dict[str, Any]:
    return {"object": obj, "store": store, "where": where, "problem": problem}


def check(db: Any, snapshot: Any, records: Any) -> list[dict[str, Any]]:
    """Every problem found. ``records(entry)`` -> ``(decode(raw), values_of(fields, record))``
    for a table or collection entry (the models' own decoding, so the check reads as they do)."""
    problems: list[dict[str, Any]] = []
    problems.extend(_check_engines(snapshot))
    problems.extend(_check_log(db))
    catalog = snapshot.catalog
    for entry in catalog.entries():
        if "id" in entry:  # a view has no store
            problems.extend(_check_object(snapshot, entry, records))
    return problems


def _check_engines(snapshot: Any) -> list[dict[str, Any]]:
    found = []
    for store, engine in sorted(snapshot.view.engines.items()):
        try:
            engine.verify()
        except CorruptionError as error:
            found.append(_problem(f"store {store}", store, error.reason, _where(error)))
        except (StorageError, OSError) as error:
            found.append(_problem(f"store {store}", store, f"cannot be read: {error}"))
    return found


def _where(error: CorruptionError) -> str | None:
    path, offset = getattr(error, "path", None), getattr(error, "offset", None)
    if path is None:
        return None
    return f"{path} at byte {offset}" if offset is not None else str(path)


def _check_log(db: Any) -> list[dict[str, Any]]:
    damage = db.log_damage()
    return [_problem("log", None, damage[0], damage[1])] if damage is not None else []


def _check_object(snapshot: Any, entry: dict, records: Any) -> list[dict[str, Any]]:
    name, data = entry["name"], entry["id"]
    found: list[dict[str, Any]] = []
    decode, values_of = records(entry)
    expected: dict[str, set[bytes]] = {index: set() for index in entry.get("indexes", {})}
    try:
        for key, raw in snapshot.scan(data):
            try:
                record = decode(raw)
            except Exception as error:  # noqa: BLE001 - any failure to decode is the finding
                found.append(_problem(name, data, f"a record does not decode ({error})", f"key {key!r}"))
                continue
            for index_name, index in entry.get("indexes", {}).items():
                where = f"{entry['kind']} {name}, index {index_name}"
                try:
                    keys = entry_keys(values_of(index_fields(index), record), where)
                except Exception as error:  # noqa: BLE001
                    found.append(_problem(index_name, index["id"], str(error), f"key {key!r}"))
                    continue
                expected[index_name].update(value_key + key for value_key in keys)
    except (CorruptionError, StorageError, OSError) as error:
        found.append(_problem(name, data, f"cannot be read whole: {error}"))
        return found
    for index_name, index in entry.get("indexes", {}).items():
        store = index["id"]
        actual: dict[bytes, bytes] = {}
        try:
            actual = dict(snapshot.scan(store))
        except (CorruptionError, StorageError, OSError) as error:
            found.append(_problem(index_name, store, f"cannot be read whole: {error}"))
            continue
        want = expected[index_name]
        missing = sorted(want - actual.keys())
        extra = sorted(actual.keys() - want)
        wrong = sorted(k for k in want & actual.keys() if not k.endswith(actual[k]))
        for keys, what in ((missing, "entries missing for records that hold them"),
                           (extra, "entries for records that are gone or changed"),
                           (wrong, "entries pointing at the wrong record")):
            if keys:
                found.append(_problem(index_name, store, f"{len(keys)} {what} (of {entry['kind']} {name})",
                                      "keys " + ", ".join(repr(k) for k in keys[:_EXAMPLES])))
    return found
