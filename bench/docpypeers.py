"""The pure-Python document-store peers: TinyDB (two storages), montydb and mongita.

They are what a Python user picks today for an embedded document store without
a server, so they are the bar docdb's document API has to clear. Each is set up
as its documentation suggests, with the settings that make its numbers honest:

* TinyDB caches query results per Query object; every table here is opened
  with ``cache_size=0`` (and every query value is used once per store anyway),
  so a find always does the work. TinyDB has no index: its "indexed" figure
  is its full-scan figure.
* TinyDB's default JSONStorage rewrites the whole file on every insert, and even
  with CachingMiddleware each insert rebuilds the table's dict: insert_one is
  O(n), so both are ``insert_capped``. The caching column keeps everything in
  memory (``WRITE_CACHE_SIZE`` unbounded) and writes the file once per write
  phase, its analogue of one commit.
* montydb runs on its "flatfile" storage with ``cache_modified`` unbounded
  (documents in memory, the JSON file written once per write phase, through
  the storage's own flush); its sqlite storage opens a connection and commits
  per write, and its "lightning" storage needs lmdb. montydb's
  ``create_index`` is documented as a no-op, so it has no index either.
* mongita's disk client has real indexes; its insert_one rewrites the
  collection's whole location map, so it is ``insert_capped`` too.

None of the four fsyncs, so at ``sync="normal"`` they promise less than docdb.
May import: the standard library, TinyDB, montydb, mongita and bench modules.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from bench.docdata import DELETE_FROM, UPDATE_BELOW
from bench.docpeers import CITY, DocPeer, Finder

__all__ = ["MongitaPeer", "MontyPeer", "TinyDBCachingPeer", "TinyDBPeer"]


class TinyDBPeer(DocPeer):
    """TinyDB with its default JSONStorage: the whole file is read per query, written per write."""

    label = "tinydb"
    insert_capped = True
    notes = ("TinyDB: query cache off (cache_size=0); no index, so its indexed figure is a full scan",)

    def __init__(self, path: str, sync: str) -> None:
        from tinydb import TinyDB

        self.db = TinyDB(os.path.join(path, "db.json"), **self.storage_kwargs())
        self.table = self.db.table("people", cache_size=0)

    def storage_kwargs(self) -> dict[str, Any]:
        return {}

    def inserter(self) -> Callable[[dict], Any]:
        return self.table.insert

    def load(self, docs: list[dict]) -> None:
        self.table.insert_multiple(docs)
        self.end_writes()

    def finder(self) -> Finder:
        from tinydb import Query

        search = self.table.search
        return lambda city: search(Query().address.city == city)

    def update_many(self) -> int:
        from tinydb import Query
        from tinydb.operations import increment

        n = len(self.table.update(increment("age"), Query().score < UPDATE_BELOW))
        self.end_writes()
        return n

    def delete_many(self) -> int:
        from tinydb import Query

        n = len(self.table.remove(Query().score >= DELETE_FROM))
        self.end_writes()
        return n

    def count(self) -> int:
        return len(self.table)

    def close(self) -> None:
        self.db.close()


class TinyDBCachingPeer(TinyDBPeer):
    """TinyDB with CachingMiddleware(JSONStorage): in memory, one file write per write phase."""

    label = "tinydb-caching"
    notes = ("tinydb-caching: CachingMiddleware with WRITE_CACHE_SIZE unbounded; its flush "
             "(one whole-file write) ends each write phase",)

    def storage_kwargs(self) -> dict[str, Any]:
        from tinydb.middlewares import CachingMiddleware
        from tinydb.storages import JSONStorage

        return {"storage": CachingMiddleware(JSONStorage)}

    def __init__(self, path: str, sync: str) -> None:
        super().__init__(path, sync)
        self.db.storage.WRITE_CACHE_SIZE = sys.maxsize

    def end_writes(self) -> None:
        self.db.storage.flush()


class MontyPeer(DocPeer):
    """montydb (a pure-Python MongoDB imitation) on its flatfile storage, kept in memory."""

    label = "montydb"
    notes = ("montydb: flatfile storage, cache_modified unbounded, flushed once per write "
             "phase; create_index is a no-op in montydb, so its indexed figure is a full scan",)

    def __init__(self, path: str, sync: str) -> None:
        from montydb import MontyClient, set_storage

        repo = os.path.join(path, "monty")
        set_storage(repo, storage="flatfile", cache_modified=sys.maxsize)
        self.client = MontyClient(repo)
        self.coll = self.client.db.people

    def inserter(self) -> Callable[[dict], Any]:
        return self.coll.insert_one

    def end_writes(self) -> None:
        """Write each collection's file once. montydb only flushes from close() (which also
        drops its caches), so this calls the flatfile engines' own flush directly."""
        for collections in self.client._storage._cache_manager.values():
            for engine in collections.values():
                engine.flush()

    def load(self, docs: list[dict]) -> None:
        if docs:
            self.coll.insert_many(docs)
        self.end_writes()

    def finder(self) -> Finder:
        find = self.coll.find
        return lambda city: list(find({CITY: city}))

    def update_many(self) -> int:
        n = self.coll.update_many({"score": {"$lt": UPDATE_BELOW}}, {"$inc": {"age": 1}}).matched_count
        self.end_writes()
        return n

    def delete_many(self) -> int:
        n = self.coll.delete_many({"score": {"$gte": DELETE_FROM}}).deleted_count
        self.end_writes()
        return n

    def count(self) -> int:
        return self.coll.count_documents({})

    def close(self) -> None:
        self.client.close()


class MongitaPeer(DocPeer):
    """mongita's disk client: BSON documents in one file per collection, real indexes."""

    label = "mongita"
    insert_capped = True
    notes = ("mongita: MongitaClientDisk; writes reach the OS per operation, never fsynced",)

    def __init__(self, path: str, sync: str) -> None:
        from mongita import MongitaClientDisk

        self.client = MongitaClientDisk(os.path.join(path, "mongita"))
        self.coll = self.client.db.people

    def inserter(self) -> Callable[[dict], Any]:
        return self.coll.insert_one

    def load(self, docs: list[dict]) -> None:
        if docs:
            self.coll.insert_many(docs)

    def finder(self) -> Finder:
        find = self.coll.find
        return lambda city: list(find({CITY: city}))

    def create_index(self) -> None:
        self.coll.create_index(CITY)

    def update_many(self) -> int:
        return self.coll.update_many({"score": {"$lt": UPDATE_BELOW}},
                                     {"$inc": {"age": 1}}).matched_count

    def delete_many(self) -> int:
        return self.coll.delete_many({"score": {"$gte": DELETE_FROM}}).deleted_count

    def count(self) -> int:
        return self.coll.count_documents({})

    def close(self) -> None:
        self.client.close()
