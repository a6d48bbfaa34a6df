"""The lazy result of ``Collection.find``, shaped like pymongo's cursor.

Nothing is read until the first document is asked for; ``sort``, ``skip`` and
``limit`` may be chained until then. The cursor plans its read once
(``docdb.models.index.choose``: an index whose fields the filter constrains,
the ``_id`` index, or a full scan). A full scan goes through the row cache when it
can: the decoded documents are tested by a generated candidate test
(``candidates``) and the filter, and the matches handed out as copies; otherwise it
skips documents whose bytes cannot match (``filters.raw_prefilter``) before decoding
them. Every candidate is re-checked against the whole filter unless the index
answers it exactly, and the cursor counts what it examined; ``explain()`` runs the
query and reports the plan and those counts, so tests and users can see an index at work.
May import: the standard library and ``docdb.models``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from operator import itemgetter
from typing import Any, Protocol

from docdb.errors import InterfaceError, ProgrammingError, reraise
from docdb.models.candidates import ValueTable, candidate_test, path_equality
from docdb.models.documents import DOCUMENT_ROWS, copied, decode_document, document_rows
from docdb.models.filters import compile_filter, raw_prefilter
from docdb.models.index import Access, id_key
from docdb.models.objects import read_access
from docdb.models.shaping import SortSpec, compile_projection, sort_documents, sort_spec


class Collection(Protocol):
    """What a cursor asks of its collection (``docdb.models.collection.Collection``)."""

    name: str

    def _reader_entry(self) -> tuple[Any, dict | None]: ...

    def access_for(self, entry: dict, filter: Any, both_bounds: bool = False) -> Access: ...


def _guarded(documents: Iterator[dict]) -> Iterator[dict]:
    """The documents, any failure while they are read a PEP 249 error (``errors.reraise``):
    the storage layer's as its classes, a bug as InternalError -- never a bare KeyError."""
    try:
        yield from documents
    except Exception as error:
        reraise(error)


def _count(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProgrammingError(f"{what} must be a non-negative integer, not {value!r}")
    return value


class Cursor:
    def __init__(self, collection: Collection, filter: Any, projection: Any, sort: SortSpec | None,
                 skip: int, limit: int, both_bounds: bool = False, access: Access | None = None):
        self._collection = collection
        self._chosen = access  # the access already chosen for this filter, if any
        # read an index range between both bounds of a range: only for a caller (SQL) whose
        # matches hold one value in range, not MongoDB's different array elements per bound
        self._both_bounds = both_bounds
        self._filter = filter
        self._matches = compile_filter(filter)
        self._needles = raw_prefilter(filter)
        self._project = compile_projection(projection)
        self._sort = sort
        self._skip = _count(skip, "skip")
        self._limit = _count(limit, "limit")
        self._results: Iterator[dict] | None = None
        self.access: Access | None = None
        self.stats = {"keys_examined": 0, "docs_examined": 0, "decoded": 0}

    # ----- chaining (before iteration starts) -----------------------------------------

    def _unstarted(self) -> Cursor:
        if self._results is not None:
            raise InterfaceError("cannot change a cursor after iteration has started")
        return self

    def sort(self, key_or_list: Any, direction: int | None = None) -> Cursor:
        self._unstarted()._sort = sort_spec(key_or_list, direction)
        return self

    def skip(self, count: int) -> Cursor:
        self._unstarted()._skip = _count(count, "skip")
        return self

    def limit(self, count: int) -> Cursor:
        self._unstarted()._limit = _count(count, "limit")
        return self

    # ----- reading -------------------------------------------------------------------

    def keyed(self, reader: Any, entry: dict | None) -> Iterator[tuple[bytes, dict]]:
        """(data key, whole document) of each result, before projection."""
        if entry is None:
            return iter(())
        self.access = self._chosen or self._collection.access_for(entry, self._filter, self._both_bounds)
        scanned = self.access.index is None
        # one equality an index answers on a path (not _id: that is one key read) may be
        # found through the cached documents' map of that path instead, if there is one
        single = self.access.exact and self.access.index != "_id_" and len(self._filter) == 1
        cached = (scanned or single) and reader.caches(entry["id"])
        equality = path_equality(self._filter) if cached else None
        mapped = self._values_at(reader, entry, equality, build=False) if equality else None
        if cached and scanned:
            found = self._cached(reader, entry, equality, mapped)
        elif mapped is not None:  # the same documents as the index, in the same (_id) order
            found = self._mapped(mapped, equality[1])
        else:
            found = read_access(reader, entry, self.access, self.stats, self._needles, decode_document)
            if not self.access.exact:
                found = ((k, d) for k, d in found if self._matches(d))
        if self._sort:
            found = iter(sort_documents(list(found), self._sort, itemgetter(1)))
        stop = self._skip + self._limit if self._limit else None
        return itertools.islice(found, self._skip, stop)

    def _values_at(self, reader: Any, entry: dict, equality: tuple, build: bool) -> ValueTable | None:
        """The cached documents' values at the equality's path, mapped (``ValueTable``): made
        now if ``build`` and the documents are cached; else only if made already."""
        steps = equality[0]
        return reader.derived(entry["id"], DOCUMENT_ROWS, ("values at", steps),
                              (lambda batches: ValueTable(batches, steps)) if build else None)

    def _mapped(self, table: ValueTable, wanted: Any) -> Iterator[tuple[bytes, dict]]:
        found = table.candidates(wanted)
        self.stats["docs_examined"] += len(found)
        matches = self._matches
        for document in found:
            if matches(document):
                yield id_key(document["_id"]), copied(document)

    def _cached(self, reader: Any, entry: dict, equality: tuple | None,
                mapped: ValueTable | None) -> Iterator[tuple[bytes, dict]]:
        """A full scan through the row cache: by the map of an equality's path if there is one
        (made by the first such scan), else each decoded document tested by the generated
        candidate test (``candidates``), then the filter; a match handed on as a copy (the
        cached one is shared), with its key."""
        if equality is not None and mapped is None:
            mapped = self._values_at(reader, entry, equality, build=True)
        if mapped is not None:
            yield from self._mapped(mapped, equality[1])  # type: ignore[index]
            return
        keep, matches = candidate_test(self._filter), self._matches
        for rows in reader.decoded_batches(entry["id"], DOCUMENT_ROWS, document_rows):
            self.stats["docs_examined"] += len(rows)
            for document in keep(rows) if keep is not None else [row[0] for row in rows]:
                if matches(document):
                    yield id_key(document["_id"]), copied(document)
        if equality is not None:  # the scan filled the cache: map its values now, for the next one
            self._values_at(reader, entry, equality, build=True)

    def _start(self) -> Iterator[dict]:
        reader, entry = self._collection._reader_entry()
        documents = map(itemgetter(1), self.keyed(reader, entry))
        return _guarded(map(self._project, documents) if self._project else documents)

    def __iter__(self) -> Iterator[dict]:
        """The results themselves (shared with ``next``), so ``list(cursor)`` runs in C."""
        if self._results is None:
            self._results = self._start()
        return self._results

    def __next__(self) -> dict:
        if self._results is None:
            self._results = self._start()
        return next(self._results)

    def to_list(self) -> list[dict]:
        return list(self)

    def __getitem__(self, index: int | slice) -> Any:
        """As pymongo's: ``cursor[i]`` is the i-th result after this cursor's skip (IndexError if
        there is none), ignoring its limit; ``cursor[a:b]`` sets this cursor's skip to ``a`` and
        its limit to ``b - a``, overriding earlier ones, and returns the cursor."""
        if isinstance(index, slice):
            self._unstarted()
            if index.step is not None:
                raise IndexError("Cursor instances do not support slice steps")
            skip = index.start or 0
            if skip < 0:
                raise IndexError("Cursor instances do not support negative indices")
            limit = 0 if index.stop is None else index.stop - skip
            if limit < 0:
                raise IndexError(f"stop index must be greater than start index for slice {index!r}")
            self._skip, self._limit = skip, limit
            if index.stop is not None and limit == 0:
                self._results = iter(())
            return self
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"index {index!r} cannot be applied to Cursor instances")
        if index < 0:
            raise IndexError("Cursor instances do not support negative indices")
        one = Cursor(self._collection, self._filter, None, self._sort, self._skip + index, 1)
        one._project = self._project
        for document in one:
            return document
        raise IndexError("no such item for Cursor instance")

    def close(self) -> None:
        self._results = iter(())

    def explain(self) -> dict[str, Any]:
        """Run the query (afresh) and say how: the index used, or a full scan, and what was examined."""
        run = Cursor(self._collection, self._filter, None, self._sort, self._skip, self._limit)
        returned = sum(1 for _ in run)
        access = run.access or Access(None)
        return {
            "collection": self._collection.name,
            "plan": "IXSCAN" if access.index else "COLLSCAN",
            "index": access.index,
            "ranges": len(access.ranges) if access.index else 0,
            "keys_examined": run.stats["keys_examined"],
            "docs_examined": run.stats["docs_examined"],
            "decoded": run.stats["decoded"],
            "returned": returned,
        }
