"""Collections: schemaless JSON documents behind an API in pymongo's shape.

A document is stored under ``keycode.encode(_id)`` (``_id`` normalized as index
keys are, so ``1`` and ``1.0`` are the same id, as in MongoDB) with its orjson
bytes as the value. A collection springs into being on its first write, as in
MongoDB; reading one that does not exist finds nothing.

Every method is one statement of the session's transaction (see
``docdb.models.txn``): all its writes to the data and every index, or none.
``find`` returns a lazy ``Cursor`` (``docdb.models.cursor``); filters and
updates are MongoDB's (``filters``, ``updates``); sorting and projection are in
``shaping``. Intentional differences from MongoDB are listed in docs/documents.md.
May import: the standard library, ``orjson``, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import orjson

from docdb.errors import DataError, IntegrityError, ProgrammingError
from docdb.models.aggregation import run_pipeline
from docdb.models.cursor import Cursor
from docdb.models.documents import DOCUMENT_ROWS, decode_document, document_rows, encode_document, new_id
from docdb.models.filters import compile_filter, get_path_values, index_values
from docdb.models.index import Access, choose, id_key
from docdb.models.objects import (
    Session,
    add_index,
    check_name,
    create_object,
    drop_object,
    index_fields,
    remove_index,
    write_indexes,
)
from docdb.models.shaping import compile_projection, distinct_key, sort_spec
from docdb.models.txn import Transaction
from docdb.models.updates import apply_update, is_operator_update
from docdb.models.writes import (
    BulkWriteResult,
    DeleteResult,
    InsertManyResult,
    InsertOneResult,
    UpdateResult,
    run_bulk,
)

ID_INDEX = "_id_"


def _document_values(fields: list[str], document: dict) -> list[list[Any]]:
    """Per field, the values indexed; a path that reaches nothing (an empty array, an array
    without sub-documents) is null, so a compound index still holds the document."""
    return [index_values(document, path) or [None] for path in fields]


def document_reader() -> tuple[Any, Any]:
    """(decode(raw) -> document, values_of(fields, document)), as ``Table.record_reader``."""
    return decode_document, _document_values


def _never_exempt(values: list[list[Any]]) -> bool:
    return False


class Collection:
    def __init__(self, session: Session, name: str):
        self._session = session
        self.name = check_name(name, "collection")

    def __repr__(self) -> str:
        return f"Collection({self.name!r})"

    # ----- catalog -------------------------------------------------------------------

    def _entry(self, reader: Any) -> dict | None:
        entry = reader.catalog.get(self.name)
        if entry is not None and entry["kind"] != "collection":
            raise ProgrammingError(f"{self.name!r} is a {entry['kind']}, not a collection")
        return entry

    def _ensure(self, txn: Transaction, engine: str | None = None) -> dict:
        return self._entry(txn) or create_object(txn, self.name, "collection",
                                                 engine or self._session.default_engine)

    # ----- writes --------------------------------------------------------------------

    def _write(self, txn: Transaction, entry: dict, key: bytes, old: dict | None, new: dict | None,
               data: bytes | None = None) -> None:
        if new is not None and data is None:
            data = encode_document(new)
        write_indexes(txn, entry, key, old, new, _document_values, _never_exempt)
        txn.put(entry["id"], key, data)

    def _insert(self, txn: Transaction, entry: dict, document: dict) -> Any:
        if not isinstance(document, dict):
            raise DataError(f"a document must be a JSON object (a dict), not {type(document).__name__}")
        stored = {"_id": document["_id"] if "_id" in document else new_id(), **document}  # _id first
        _id = stored["_id"]
        key = id_key(_id)
        data = encode_document(stored)
        if txn.get(entry["id"], key) is not None:
            raise IntegrityError(f"collection {self.name}: duplicate _id {_id!r:.80}")
        self._write(txn, entry, key, None, stored, data)
        return _id

    def insert_one(self, document: dict) -> InsertOneResult:
        with self._session.writing() as txn:
            _id = self._insert(txn, self._ensure(txn), document)
        document.setdefault("_id", _id)
        return InsertOneResult(_id)

    def insert_many(self, documents: Any, ordered: bool = True) -> InsertManyResult:
        """All of ``documents`` or, if any is refused, none of them."""
        documents = list(documents)
        with self._session.writing() as txn:
            entry = self._ensure(txn)
            ids = [self._insert(txn, entry, d) for d in documents]
        for document, _id in zip(documents, ids):
            document.setdefault("_id", _id)
        return InsertManyResult(ids)

    def _matching(self, txn: Transaction, entry: dict, filter: Any, one: bool) -> list[tuple[bytes, dict]]:
        """Materialized, so writing index entries cannot feed the scan that finds them."""
        cursor = self.find(filter, limit=1 if one else 0)
        return list(cursor.keyed(txn, entry))

    @staticmethod
    def _check_change(update: Any, replace: bool) -> None:
        if replace:
            if not isinstance(update, dict) or any(k.startswith("$") for k in update):
                raise ProgrammingError("replace_one takes a replacement document without $ operators")
        elif not is_operator_update(update):
            raise ProgrammingError("update_one/update_many take $ operators; use replace_one to replace")

    def _update(self, filter: Any, update: Any, upsert: bool, one: bool, replace: bool) -> UpdateResult:
        self._check_change(update, replace)
        with self._session.writing() as txn:
            entry = self._entry(txn)
            matched = modified = 0
            for key, old in (self._matching(txn, entry, filter, one) if entry else []):
                matched += 1
                modified += self._rewrite(txn, entry, key, old, update, replace, filter)[1]
            if matched or not upsert:
                return UpdateResult(matched, modified)
            seed = upsert_seed(filter)
            if replace:  # MongoDB takes only the _id from the filter into a replacement
                document = {**({"_id": seed["_id"]} if "_id" in seed else {}), **update}
            else:
                document = apply_update(seed, update, inserting=True)
            upserted = self._insert(txn, self._ensure(txn), document)
        return UpdateResult(0, 0, upserted)

    def _rewrite(self, txn: Transaction, entry: dict, key: bytes, old: dict, change: dict, replace: bool,
                 filter: Any) -> tuple[dict, bool]:
        """Apply an update (or replacement) to one stored document: (the new document, whether
        its stored bytes changed -- MongoDB's "modified")."""
        new = self._changed(old, change, replace, filter)
        data = encode_document(new)
        if data == orjson.dumps(old):
            return new, False
        self._write(txn, entry, key, old, new, data)
        return new, True

    @staticmethod
    def _changed(old: dict, update: dict, replace: bool, filter: Any = None) -> dict:
        if not replace:
            return apply_update(old, update, filter=filter)
        if "_id" in update and update["_id"] != old.get("_id"):
            raise DataError("a replacement cannot change _id")
        return {"_id": old["_id"], **{k: v for k, v in update.items() if k != "_id"}}

    def update_one(self, filter: dict, update: dict, upsert: bool = False) -> UpdateResult:
        return self._update(filter, update, upsert, one=True, replace=False)

    def update_many(self, filter: dict, update: dict, upsert: bool = False) -> UpdateResult:
        return self._update(filter, update, upsert, one=False, replace=False)

    def replace_one(self, filter: dict, replacement: dict, upsert: bool = False) -> UpdateResult:
        return self._update(filter, replacement, upsert, one=True, replace=True)

    def _delete(self, filter: Any, one: bool) -> DeleteResult:
        with self._session.writing() as txn:
            entry = self._entry(txn)
            doomed = self._matching(txn, entry, filter, one) if entry else []
            for key, old in doomed:
                self._write(txn, entry, key, old, None)
        return DeleteResult(len(doomed))

    def delete_one(self, filter: dict) -> DeleteResult:
        return self._delete(filter, one=True)

    def delete_many(self, filter: dict) -> DeleteResult:
        return self._delete(filter, one=False)

    # ----- reads ---------------------------------------------------------------------

    def find(self, filter: dict | None = None, projection: Any = None, sort: Any = None,
             skip: int = 0, limit: int = 0) -> Cursor:
        return Cursor(self, filter, projection, sort_spec(sort), skip, limit)

    def find_one(self, filter: Any = None, projection: Any = None, sort: Any = None) -> dict | None:
        """The first match, or None; a filter that is not a dict is an ``_id`` (as in pymongo)."""
        if filter is not None and not isinstance(filter, dict):
            filter = {"_id": filter}
        return next(iter(self.find(filter, projection, sort, limit=1)), None)

    def distinct(self, key: str, filter: dict | None = None) -> list:
        """The distinct values of ``key`` in the matching documents, in the order first met;
        array values count as their elements, missing fields as nothing (as in MongoDB)."""
        if not isinstance(key, str) or not key:
            raise ProgrammingError(f"distinct takes a field path, not {key!r}")
        seen: dict[bytes, Any] = {}
        for document in self.find(filter):
            for value in get_path_values(document, key):
                for item in (value if isinstance(value, list) else [value]):
                    seen.setdefault(distinct_key(item), item)
        return list(seen.values())

    # ----- find and change in one step --------------------------------------------------

    def _find_one_and(self, filter: Any, sort: Any, change: Any) -> tuple[dict | None, dict | None]:
        """The first match (by ``sort``) before and after ``change(txn, entry, key, document)``,
        which returns the new document (None: deleted); both None when nothing matched."""
        with self._session.writing() as txn:
            entry = self._entry(txn)
            if entry is None:
                return None, None
            cursor = Cursor(self, filter, None, sort_spec(sort), 0, 1)
            found = list(cursor.keyed(txn, entry))
            if not found:
                return None, None
            key, old = found[0]
            return old, change(txn, entry, key, old)

    def _shaped(self, document: dict | None, projection: Any) -> dict | None:
        shape = compile_projection(projection)
        return shape(document) if document is not None and shape else document

    def find_one_and_delete(self, filter: dict, projection: Any = None, sort: Any = None) -> dict | None:
        """Delete the first match; the document as it was, or None."""
        def delete(txn: Transaction, entry: dict, key: bytes, old: dict) -> None:
            self._write(txn, entry, key, old, None)
        old, _ = self._find_one_and(filter, sort, delete)
        return self._shaped(old, projection)

    def _find_one_and_change(self, filter: dict, change: dict, replace: bool, projection: Any, sort: Any,
                             upsert: bool, return_document: bool) -> dict | None:
        def rewrite(txn: Transaction, entry: dict, key: bytes, old: dict) -> dict:
            return self._rewrite(txn, entry, key, old, change, replace, filter)[0]
        self._check_change(change, replace)
        with self._session.writing():
            old, new = self._find_one_and(filter, sort, rewrite)
            if old is None and upsert:
                upserted = self._update(filter, change, True, one=True, replace=replace).upserted_id
                new = self.find_one({"_id": upserted})
        return self._shaped(new if return_document else old, projection)

    def find_one_and_update(self, filter: dict, update: dict, projection: Any = None, sort: Any = None,
                            upsert: bool = False, return_document: bool = False) -> dict | None:
        """Update the first match; the document before (or, ``ReturnDocument.AFTER``, after)."""
        return self._find_one_and_change(filter, update, False, projection, sort, upsert, return_document)

    def find_one_and_replace(self, filter: dict, replacement: dict, projection: Any = None, sort: Any = None,
                             upsert: bool = False, return_document: bool = False) -> dict | None:
        """Replace the first match; the document before (or, ``ReturnDocument.AFTER``, after)."""
        return self._find_one_and_change(filter, replacement, True, projection, sort, upsert, return_document)

    def aggregate(self, pipeline: list) -> list[dict]:
        """MongoDB's aggregation pipeline (``docdb.models.aggregation``): the documents it makes."""
        return run_pipeline(self, self._session, pipeline)

    def bulk_write(self, requests: Any, ordered: bool = True) -> BulkWriteResult:
        """pymongo's requests (``docdb.InsertOne``...), in order, all or (if one fails) none."""
        return run_bulk(self, self._session, requests)

    def count_documents(self, filter: dict | None = None) -> int:
        if filter is None or filter == {}:  # every document: count keys, decode nothing
            reader, entry = self._reader_entry()
            return sum(len(keys) for keys, _ in reader.scan_batches(entry["id"])) if entry is not None else 0
        return sum(1 for _ in self.find(filter))

    def document_rows(self) -> Iterator[list[tuple[dict]]]:
        """Every document as a one-value row ``(document,)``, a list at a time: the query
        layer's full scan, through the row cache. The documents are shared with later scans:
        whoever hands one out copies it first."""
        reader, entry = self._reader_entry()
        if entry is None:
            return iter(())
        return reader.decoded_batches(entry["id"], DOCUMENT_ROWS, document_rows)

    def estimated_document_count(self) -> int:
        return self.count_documents({})

    def _reader_entry(self) -> tuple[Any, dict | None]:
        reader = self._session.reading()
        return reader, self._entry(reader)

    # ----- indexes and the collection itself ------------------------------------------

    def create_index(self, keys: Any, unique: bool = False, name: str | None = None) -> str:
        fields = index_spec(keys)
        name = name or "_".join(f"{f}_{d}" for f, d in fields)
        check_name(name, "index")
        if name == ID_INDEX:
            raise ProgrammingError(f"{ID_INDEX} is the name of the built-in _id index")
        with self._session.writing() as txn:
            entry = self._ensure(txn)
            same = [n for n, ix in entry["indexes"].items() if ix["fields"] == fields
                    and ix["unique"] == bool(unique)]
            if same:
                return same[0]
            entry = add_index(txn, entry, name, fields, unique)
            index = entry["indexes"][name]
            only = {name: index}
            for key, raw in txn.scan(entry["id"]):
                write_indexes(txn, {**entry, "indexes": only}, key, None, decode_document(raw),
                              _document_values, _never_exempt)
        return name

    def drop_index(self, name: str) -> None:
        if name == ID_INDEX:
            raise ProgrammingError("the _id index cannot be dropped")
        with self._session.writing() as txn:
            entry = self._entry(txn)
            if entry is None:
                raise ProgrammingError(f"collection {self.name!r} does not exist")
            remove_index(txn, entry, name)

    def list_indexes(self) -> list[dict]:
        _, entry = self._reader_entry()
        found = [{"name": ID_INDEX, "key": {"_id": 1}, "unique": True}]
        for name, index in (entry or {"indexes": {}})["indexes"].items():
            found.append({"name": name, "key": dict((f, d) for f, d in index["fields"]),
                          "unique": index["unique"]})
        return found

    def index_information(self) -> dict[str, dict]:
        return {ix["name"]: {"key": list(ix["key"].items()), "unique": ix["unique"]}
                for ix in self.list_indexes()}

    def access_for(self, entry: dict, filter: Any, both_bounds: bool = False) -> Access:
        """How ``filter``'s candidates are read: an index's ranges or a full scan."""
        return choose(filter, self.indexed_fields(entry), both_bounds=both_bounds,
                      prefer=lambda name: name == ID_INDEX)

    def access_name(self, filter: dict) -> str | None:
        """The index a query-layer read of ``filter`` uses (as EXPLAIN names it), or None."""
        entry = self._entry(self._session.reading())
        return self.access_for(entry, filter, True).index if entry is not None else None

    def sql_candidates(self, filter: dict) -> Cursor | None:
        """``find(filter)`` for the query layer, if an index serves it (else None: the caller
        scans): a superset of what its SQL condition keeps, read between both bounds of a
        range (SQL compares a value, not array elements)."""
        entry = self._entry(self._session.reading())
        access = self.access_for(entry, filter, True) if entry is not None and filter else None
        if access is None or access.index is None:
            return None
        return Cursor(self, filter, None, None, 0, 0, both_bounds=True, access=access)

    def indexed_fields(self, entry: dict) -> dict[str, list[str]]:
        fields = {ID_INDEX: ["_id"]}
        fields.update({name: index_fields(index) for name, index in entry["indexes"].items()})
        return fields

    def drop(self) -> None:
        with self._session.writing() as txn:
            entry = self._entry(txn)
            if entry is not None:
                drop_object(txn, entry)


def index_spec(keys: Any) -> list[list]:
    """pymongo's forms: ``"a.b"``, ``[("a", 1), ("b", -1)]``; -> ``[["a", 1], ...]``."""
    if isinstance(keys, str):
        keys = [(keys, 1)]
    if isinstance(keys, dict):
        keys = list(keys.items())
    if not isinstance(keys, (list, tuple)) or not keys:
        raise ProgrammingError(f"index keys are a field name or a list of (field, 1 | -1); got {keys!r:.80}")
    fields = []
    for item in keys:
        if isinstance(item, str):
            item = (item, 1)
        if (not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[0], str)
                or not item[0] or item[1] not in (1, -1) or isinstance(item[1], bool)):
            raise ProgrammingError(f"each index key is (field, 1) or (field, -1); got {item!r:.80}")
        fields.append([item[0], item[1]])
    if len({f for f, _ in fields}) != len(fields):
        raise ProgrammingError("an index names each field once")
    return fields


def upsert_seed(filter: Any) -> dict:
    """The document an upsert starts from: the filter's equality conditions.

    As in MongoDB (which canonicalizes the filter first), a one-item ``$in`` is an
    equality and the clauses of ``$and`` (or of a one-clause ``$or``) are seeded too.
    """
    compile_filter(filter)
    seed: dict = {}
    for path, condition in (filter or {}).items():
        if path == "$and" or (path == "$or" and len(condition) == 1):
            for sub in condition:
                for k, v in upsert_seed(sub).items():
                    seed.setdefault(k, v)
            continue
        if path.startswith("$"):
            continue
        if isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
            if "$eq" in condition:
                condition = condition["$eq"]
            elif isinstance(condition.get("$in"), (list, tuple)) and len(condition["$in"]) == 1:
                condition = condition["$in"][0]
            else:
                continue
        _seed_path(seed, path.split("."), copy.deepcopy(condition))
    return seed


def _seed_path(seed: dict, parts: list[str], value: Any) -> None:
    node = seed
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return
    node[parts[-1]] = value
