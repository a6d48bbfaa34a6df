"""One adapter per system the documents suite measures: the base, docdb and sqlite3.

The suite times every system through the same seven verbs (insert one
document, end a write phase, find by city, create the city index, update 10%,
delete 10%, count), so each adapter only decides what those verbs mean for its
system, in the way that system's own documentation would have a user write them.
A find returns a list of plain dicts everywhere, so decoding the documents is
part of every system's find. The pure-Python peers (TinyDB, montydb, mongita)
are in bench.docpypeers; ``bench.docsystems.SYSTEMS`` lists every peer with the module it needs,
so a peer that is not installed is reported and skipped instead of crashing.

A write phase ends with each system's "make it count" call, timed with the
writes: docdb and sqlite3 ``commit()`` once (docdb runs with
``autocommit=False``; sqlite3 in one explicit transaction), which at
``sync="normal"`` is mirrored in sqlite3 as ``journal_mode=WAL`` +
``synchronous=NORMAL`` (as in the storage suite, bench.peers).
May import: the standard library, docdb, TinyDB, montydb, mongita and bench modules.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from bench.docdata import DELETE_FROM, UPDATE_BELOW

__all__ = ["CITY", "DocPeer", "DocdbPeer", "Finder", "SqlitePeer"]

CITY = "address.city"
Finder = Callable[[str], list]


class DocPeer(ABC):
    """The base adapter. ``insert_capped`` marks systems whose insert_one costs O(n) per call
    (they rewrite or re-index the whole collection on every insert), which the suite times on
    the first ``--insert-cap`` documents only. A system with an index overrides
    ``create_index``; one without (TinyDB, montydb) does not, and ``has_index`` says which."""

    label = "?"
    insert_capped = False
    notes: tuple[str, ...] = ()

    @abstractmethod
    def inserter(self) -> Callable[[dict], Any]:
        ...

    def end_writes(self) -> None:  # noqa: B027 - most systems have nothing to do here
        """Make the writes so far count (commit or flush); timed with them."""

    def load(self, docs: list[dict]) -> None:
        """Bulk-load the documents the capped insert_one phase left out (untimed)."""
        insert = self.inserter()
        for d in docs:
            insert(d)
        self.end_writes()

    @abstractmethod
    def finder(self) -> Finder:
        """``city -> list of matching documents``: the callable the timing loop calls."""

    @property
    def has_index(self) -> bool:
        return type(self).create_index is not DocPeer.create_index

    def create_index(self) -> None:  # noqa: B027 - overridden exactly by the systems with an index
        """Build the index on ``address.city``; the suite calls it only when ``has_index``."""

    @abstractmethod
    def update_many(self) -> int:
        """``$inc`` age on score < UPDATE_BELOW, then end the write phase; returns matched."""

    @abstractmethod
    def delete_many(self) -> int:
        """Delete score >= DELETE_FROM, then end the write phase; returns the deleted count."""

    @abstractmethod
    def count(self) -> int:
        ...

    @abstractmethod
    def close(self) -> None:
        ...


class DocdbPeer(DocPeer):
    """docdb's document API, called the way its pymongo-shaped docs show."""

    def __init__(self, path: str, sync: str, engine: str) -> None:
        import docdb  # imported late so --help works while docdb is being written

        self.label = f"docdb-{engine}"
        self.conn = docdb.connect(os.path.join(path, "docdb"), engine=engine, sync=sync,
                                  autocommit=False)
        self.coll = self.conn.collection("people")

    def inserter(self) -> Callable[[dict], Any]:
        return self.coll.insert_one

    def end_writes(self) -> None:
        self.conn.commit()

    def load(self, docs: list[dict]) -> None:
        if docs:
            self.coll.insert_many(docs)
        self.conn.commit()

    def finder(self) -> Finder:
        find = self.coll.find
        return lambda city: list(find({CITY: city}))

    def explain(self, city: str) -> Any:
        """What docdb says it did for one find (recorded in the results, untimed)."""
        return self.coll.find({CITY: city}).explain()

    def create_index(self) -> None:
        self.coll.create_index(CITY)
        self.conn.commit()

    def update_many(self) -> int:
        r = self.coll.update_many({"score": {"$lt": UPDATE_BELOW}}, {"$inc": {"age": 1}})
        self.conn.commit()
        return r.matched_count

    def delete_many(self) -> int:
        r = self.coll.delete_many({"score": {"$gte": DELETE_FROM}})
        self.conn.commit()
        return r.deleted_count

    def count(self) -> int:
        return self.coll.count_documents({})

    def close(self) -> None:
        self.conn.close()


class SqlitePeer(DocPeer):
    """sqlite3 as a document store: ``(id TEXT PRIMARY KEY, doc TEXT)`` queried with json_extract.

    Ids are generated the way docdb generates its ULIDs, ascending 26-character
    text, so both B-trees see the same key order; documents are encoded and
    decoded with the standard json module, as a sqlite3 user would. The index
    is an expression index on ``json_extract(doc, '$.address.city')``, which the
    find's WHERE clause matches exactly, so sqlite uses it.
    """

    label = "sqlite3"
    CITY_SQL = "json_extract(doc, '$.address.city')"

    def __init__(self, path: str, sync: str) -> None:
        self.conn = sqlite3.connect(os.path.join(path, "docs.sqlite"), isolation_level=None)
        if sync == "normal":
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={sync.upper()}")
        self.conn.execute("CREATE TABLE docs(id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        self.prefix, self.next_id = f"{time.time_ns():016x}", 0
        self.in_txn = False

    def inserter(self) -> Callable[[dict], Any]:
        execute, dumps = self.conn.execute, json.dumps
        sql = "INSERT INTO docs(id, doc) VALUES (?, ?)"

        def insert_one(doc: dict) -> str:
            self.begin()
            self.next_id += 1
            doc_id = doc["_id"] = f"{self.prefix}{self.next_id:010x}"
            execute(sql, (doc_id, dumps(doc)))
            return doc_id

        return insert_one

    def begin(self) -> None:
        if not self.in_txn:
            self.conn.execute("BEGIN")
            self.in_txn = True

    def end_writes(self) -> None:
        if self.in_txn:
            self.conn.execute("COMMIT")
            self.in_txn = False

    def finder(self) -> Finder:
        execute, loads = self.conn.execute, json.loads
        sql = f"SELECT doc FROM docs WHERE {self.CITY_SQL} = ?"
        return lambda city: [loads(doc) for (doc,) in execute(sql, (city,))]

    def create_index(self) -> None:
        self.conn.execute(f"CREATE INDEX docs_city ON docs({self.CITY_SQL})")

    def update_many(self) -> int:
        self.begin()
        cur = self.conn.execute(
            "UPDATE docs SET doc = json_set(doc, '$.age', json_extract(doc, '$.age') + 1) "
            "WHERE json_extract(doc, '$.score') < ?", (UPDATE_BELOW,))
        self.end_writes()
        return cur.rowcount

    def delete_many(self) -> int:
        self.begin()
        cur = self.conn.execute("DELETE FROM docs WHERE json_extract(doc, '$.score') >= ?",
                                (DELETE_FROM,))
        self.end_writes()
        return cur.rowcount

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM docs").fetchone()[0]

    def close(self) -> None:
        self.end_writes()
        self.conn.close()
