"""What collection writes take and give back, in pymongo's shapes: results, bulk requests.

``InsertOneResult``, ``InsertManyResult``, ``UpdateResult`` and ``DeleteResult`` are
what the single writes return; ``ReturnDocument`` picks what ``find_one_and_*`` return.

``InsertOne``, ``UpdateOne``, ``UpdateMany``, ``ReplaceOne``, ``DeleteOne`` and
``DeleteMany`` are importable from ``docdb`` as they are from ``pymongo``;
``Collection.bulk_write(requests)`` runs them in order as one statement, so --
unlike MongoDB, which keeps the writes before a failure (or, unordered, all the
others) -- a failing request leaves the collection exactly as before, and its
error (an ``IntegrityError``, a ``DataError``...) is raised as it is.
May import: the standard library and ``docdb.models``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from docdb.errors import ProgrammingError

__all__ = ["BulkWriteResult", "DeleteMany", "DeleteOne", "DeleteResult", "InsertManyResult", "InsertOne",
           "InsertOneResult", "ReplaceOne", "ReturnDocument", "UpdateMany", "UpdateOne", "UpdateResult",
           "run_bulk"]


class ReturnDocument:
    """Which document ``find_one_and_update``/``_replace`` return, as in pymongo."""

    BEFORE = False
    AFTER = True


@dataclass(frozen=True)
class InsertOneResult:
    inserted_id: Any
    acknowledged: bool = True


@dataclass(frozen=True)
class InsertManyResult:
    inserted_ids: list
    acknowledged: bool = True


@dataclass(frozen=True)
class UpdateResult:
    matched_count: int
    modified_count: int
    upserted_id: Any = None
    acknowledged: bool = True


@dataclass(frozen=True)
class DeleteResult:
    deleted_count: int
    acknowledged: bool = True


@dataclass(frozen=True)
class InsertOne:
    document: dict


@dataclass(frozen=True)
class UpdateOne:
    filter: dict
    update: dict
    upsert: bool = False


@dataclass(frozen=True)
class UpdateMany:
    filter: dict
    update: dict
    upsert: bool = False


@dataclass(frozen=True)
class ReplaceOne:
    filter: dict
    replacement: dict
    upsert: bool = False


@dataclass(frozen=True)
class DeleteOne:
    filter: dict


@dataclass(frozen=True)
class DeleteMany:
    filter: dict


@dataclass
class BulkWriteResult:
    inserted_count: int = 0
    matched_count: int = 0
    modified_count: int = 0
    deleted_count: int = 0
    upserted_count: int = 0
    upserted_ids: dict[int, Any] = field(default_factory=dict)
    acknowledged: bool = True

    @property
    def bulk_api_result(self) -> dict[str, Any]:
        return {"nInserted": self.inserted_count, "nMatched": self.matched_count,
                "nModified": self.modified_count, "nRemoved": self.deleted_count,
                "nUpserted": self.upserted_count,
                "upserted": [{"index": i, "_id": v} for i, v in self.upserted_ids.items()]}


def _apply(collection: Any, request: Any, number: int, result: BulkWriteResult) -> None:
    if isinstance(request, InsertOne):
        collection.insert_one(request.document)
        result.inserted_count += 1
        return
    if isinstance(request, (DeleteOne, DeleteMany)):
        deleted = (collection.delete_one if isinstance(request, DeleteOne) else collection.delete_many)(
            request.filter)
        result.deleted_count += deleted.deleted_count
        return
    if isinstance(request, UpdateOne):
        updated = collection.update_one(request.filter, request.update, request.upsert)
    elif isinstance(request, UpdateMany):
        updated = collection.update_many(request.filter, request.update, request.upsert)
    elif isinstance(request, ReplaceOne):
        updated = collection.replace_one(request.filter, request.replacement, request.upsert)
    else:
        raise ProgrammingError(f"bulk_write request {number} is a {type(request).__name__}, not one of "
                               "InsertOne, UpdateOne, UpdateMany, ReplaceOne, DeleteOne, DeleteMany")
    result.matched_count += updated.matched_count
    result.modified_count += updated.modified_count
    if updated.upserted_id is not None:
        result.upserted_count += 1
        result.upserted_ids[number] = updated.upserted_id


def run_bulk(collection: Any, session: Any, requests: Any) -> BulkWriteResult:
    """Every request, in order, as one statement of ``session``'s transaction."""
    requests = list(requests)
    if not requests:
        raise ProgrammingError("bulk_write needs at least one request")  # as pymongo
    result = BulkWriteResult()
    with session.writing():
        for number, request in enumerate(requests):
            _apply(collection, request, number, result)
    return result
