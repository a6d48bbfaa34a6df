"""One adapter per measured system, so the storage suite times them all alike.

Every adapter hands the timing loops the system's own raw callables (``putter``,
``getter``) so a loop pays no adapter overhead where the system itself has none;
the adapters only decide what "begin a write phase", "end a write phase", "a
batch", "an ordered scan" (whole or a range) and "a merge" mean for each system.

How the sync levels map onto the peers, mirroring docdb's contract
(``storage.engine``: "off" hands each write to the OS and fsyncs only on
``flush``; "normal" also fsyncs at least once a second and on ``flush``):

=======  =======================  ===========================  =======================
level    sqlite3                  plyvel (LevelDB)             semidbm, dict+file
=======  =======================  ===========================  =======================
off      ``synchronous=OFF``,     ``put(sync=False)``: the     a write per put, never
         rollback journal         WAL record is written to     fsync
                                  the OS, never fsynced
normal   ``journal_mode=WAL``,    ``put(sync=False)``; the     a write per put, an
         ``synchronous=NORMAL``   log is fsynced every second  fsync every second from
                                  from a thread and at phase   a thread, and one at
                                  end                          phase end
=======  =======================  ===========================  =======================

plyvel writes with ``sync=False`` at both levels: LevelDB's log write without
fsync survives a process crash, which is what both of docdb's levels promise
for a process crash; ``sync=True`` would fsync every put, which is docdb's
"full". LevelDB has no call that only fsyncs, so "normal"'s fsync is an empty
write batch with ``sync=True``: a 19-byte log record and one ``fdatasync``.
plyvel runs with LevelDB's defaults (4 MiB write buffer, 8 MiB block cache,
Snappy, no bloom filter, as LevelDB's own db_bench).

A timed write phase ends with each system's own "make it count" call: sqlite3
``COMMIT`` at both levels; under "normal" docdb ``flush()`` and an fsync for
plyvel, semidbm and dict+file; under "off" nothing more for those four, since
every write has already reached the OS, which is all "off" promises.
May import: the standard library, semidbm, plyvel, docdb's ``storage`` and bench modules.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from bench.peerbase import SYNC_LEVELS, Getter, Items, Opener, Peer, periodic_fsync
from bench.pypeers import DictFilePeer, SemidbmPeer

__all__ = ["PEER_OPENERS", "SYNC_LEVELS", "Opener", "Peer", "docdb_opener"]


class DocdbPeer(Peer):
    """docdb's storage engine, called exactly as docdb's models will call it."""

    def __init__(self, path: str, sync: str, engine: str, options: dict[str, Any]) -> None:
        import storage  # the real package; imported late so --help works without it

        self.label = f"docdb-{engine}"
        self.write_method = "stats()"
        self.durable = sync != "off"
        self.eng = storage.open(path, engine=engine, sync=sync, **options)

    def putter(self) -> Callable[[bytes, bytes], Any]:
        return self.eng.put

    def end(self) -> None:
        if self.durable:
            self.eng.flush()

    def put_batch(self, items: Items, size: int) -> None:
        for i in range(0, len(items), size):
            with self.eng.batch() as b:
                put = b.put
                for k, v in items[i:i + size]:
                    put(k, v)
        self.end()

    def getter(self) -> Getter:
        return self.eng.get

    def scan(self, start: bytes | None = None,
             stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        return self.eng.scan(start, stop)

    def scan_counts(self, start: bytes | None = None, stop: bytes | None = None,
                    batch: int = 1024) -> Iterator[int]:
        for keys, _values in self.eng.scan_batches(start, stop, batch=batch):
            yield len(keys)

    def merge(self) -> None:
        self.eng.compact()

    def bytes_written(self) -> int:
        """The engine's own count: the hash engine writes through a memory map,
        which no system-call counter sees."""
        return self.eng.stats()["bytes_written"]

    def close(self) -> None:
        self.eng.close()


def docdb_opener(engine: str, options: dict[str, Any]) -> Opener:
    """An opener for one docdb engine: every engine in storage.ENGINES gets a column."""
    return lambda path, sync: DocdbPeer(path, sync, engine, options)


class SqlitePeer(Peer):
    """File-backed sqlite3 ``WITHOUT ROWID`` table: the B-tree reference."""

    label = "sqlite3"
    PUT = "INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)"
    GET = "SELECT value FROM kv WHERE key = ?"

    def __init__(self, path: str, sync: str) -> None:
        self.conn = sqlite3.connect(os.path.join(path, "kv.sqlite"), isolation_level=None)
        self.wal = sync == "normal"
        if self.wal:
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={sync.upper()}")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID")
        self.cur = self.conn.cursor()

    def putter(self) -> Callable[[bytes, bytes], Any]:
        execute, sql = self.cur.execute, self.PUT
        return lambda k, v: execute(sql, (k, v))

    def begin(self) -> None:
        self.cur.execute("BEGIN")

    def end(self) -> None:
        self.cur.execute("COMMIT")

    def put_batch(self, items: Items, size: int) -> None:
        """Its natural batch: one transaction, one executemany over everything."""
        self.begin()
        self.cur.executemany(self.PUT, items)
        self.end()

    def getter(self) -> Getter:
        execute, sql = self.cur.execute, self.GET

        def get(key: bytes) -> bytes | None:
            row = execute(sql, (key,)).fetchone()
            return None if row is None else row[0]

        return get

    def scan(self, start: bytes | None = None,
             stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        bounds = [(c, b) for c, b in (("key >= ?", start), ("key < ?", stop)) if b is not None]
        where = " WHERE " + " AND ".join(c for c, _ in bounds) if bounds else ""
        return self.conn.execute(f"SELECT key, value FROM kv{where} ORDER BY key",
                                 [b for _, b in bounds])

    def scan_counts(self, start: bytes | None = None, stop: bytes | None = None,
                    batch: int = 1024) -> Iterator[int]:
        """``fetchmany``: rows built in C, a list per call."""
        cursor = self.scan(start, stop)
        while rows := cursor.fetchmany(batch):  # type: ignore[attr-defined]
            yield len(rows)

    def merge(self) -> None:
        """VACUUM, and in WAL mode a truncating checkpoint: VACUUM writes the new
        database into the WAL, so without it the space is not reclaimed yet."""
        self.cur.execute("VACUUM")
        if self.wal:
            self.cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def close(self) -> None:
        self.conn.close()


class PlyvelPeer(Peer):
    """plyvel: LevelDB itself through its C++ binding, the LSM tree docdb's is modelled on."""

    label = "plyvel"

    def __init__(self, path: str, sync: str) -> None:
        import plyvel

        self.db = plyvel.DB(os.path.join(path, "leveldb"), create_if_missing=True)
        self.durable = sync != "off"
        self.syncer = periodic_fsync(sync, self._fsync_log)

    def _fsync_log(self) -> None:
        """LevelDB's only way to fsync its log: a (here empty) write with sync=True."""
        self.db.write_batch(sync=True).write()

    def putter(self) -> Callable[[bytes, bytes], Any]:
        return self.db.put  # sync=False is its default: no wrapper needed

    def end(self) -> None:
        if self.durable:
            self._fsync_log()

    def put_batch(self, items: Items, size: int) -> None:
        for i in range(0, len(items), size):
            with self.db.write_batch() as b:
                put = b.put
                for k, v in items[i:i + size]:
                    put(k, v)
        self.end()

    def getter(self) -> Getter:
        return self.db.get

    def scan(self, start: bytes | None = None,
             stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        return self.db.iterator(start=start, stop=stop)

    def merge(self) -> None:
        """``CompactRange`` over every key; returns when done.

        Not ``compact_range()``: plyvel 1.5 passes empty slices rather than NULL
        for missing bounds (wbolster/plyvel#150), so it compacts the range
        ['', ''] and only flushes the memtable. LevelDB's end bound is inclusive,
        so the last key (found through a reverse iterator) covers everything.
        """
        last = next(self.db.iterator(reverse=True, include_value=False), None)
        if last is not None:
            self.db.compact_range(stop=last)

    def close(self) -> None:
        if self.syncer:
            self.syncer.stop()
        self.db.close()


PEER_OPENERS: dict[str, Opener] = {
    "sqlite3": SqlitePeer,
    "plyvel": PlyvelPeer,
    "semidbm": SemidbmPeer,
    "dict+file": DictFilePeer,
}
