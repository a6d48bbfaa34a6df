"""One adapter per measured system, so the storage suite times them all alike.

Every adapter hands the timing loops the system's own raw callables (``putter``,
``getter``) so a loop pays no adapter overhead where the system itself has none;
the adapters only decide what "begin a write phase", "end a write phase", "a
batch", "an ordered scan" and "a merge" mean for each system.

How the sync levels map onto the peers, mirroring docdb's contract
(``storage.engine``: "off" hands each write to the OS and fsyncs only on
``flush``; "normal" also fsyncs at least once a second and on ``flush``):

=======  ===============================  ========================================
level    sqlite3                          semidbm, dict+file
=======  ===============================  ========================================
off      ``synchronous=OFF``, rollback    a write per put, never fsync
         journal
normal   ``journal_mode=WAL``,            a write per put, an fsync every second
         ``synchronous=NORMAL``           from a thread, and one at phase end
=======  ===============================  ========================================

A timed write phase ends with each system's own "make it count" call: sqlite3
``COMMIT`` at both levels; under "normal" docdb ``flush()`` and an fsync for
semidbm and dict+file; under "off" nothing more for those three, since every
write has already reached the OS, which is all "off" promises.
May import: the standard library, semidbm, docdb's ``storage`` and bench modules.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bench.dictfile import DictFile

__all__ = ["PEER_OPENERS", "SYNC_LEVELS", "Opener", "Peer", "docdb_opener"]

SYNC_LEVELS = ("off", "normal")
Items = Sequence[tuple[bytes, bytes]]
Getter = Callable[[bytes], "bytes | None"]


class Peer:
    """Base adapter; ``batch_note`` marks systems without a real batch."""

    label = "?"
    batch_note: str | None = None

    def putter(self) -> Callable[[bytes, bytes], Any]:
        raise NotImplementedError

    def begin(self) -> None:
        """Start a write phase (a transaction where the system has them)."""

    def end(self) -> None:
        """End a write phase at the configured sync level; timed with the writes."""

    def put_batch(self, items: Items, size: int) -> None:
        raise NotImplementedError

    def getter(self) -> Getter:
        raise NotImplementedError

    def scan(self) -> Iterator[tuple[bytes, bytes]]:
        raise NotImplementedError

    def merge(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


Opener = Callable[[str, str], Peer]


class PeriodicFsync:
    """docdb's sync="normal" background fsync, mirrored for peers that lack one.

    It fsyncs every ``interval`` seconds whether or not anything was written (a
    clean fsync is nearly free), so the peers' put paths need no dirty flag.
    OSError is ignored: a merge may swap the file under the thread for a moment.
    """

    def __init__(self, fsync: Callable[[], None], interval: float = 1.0) -> None:
        self._fsync, self._interval = fsync, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-fsync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with contextlib.suppress(OSError):
                self._fsync()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def periodic_fsync(sync: str, fsync: Callable[[], None]) -> PeriodicFsync | None:
    return PeriodicFsync(fsync) if sync == "normal" else None


class DocdbPeer(Peer):
    """docdb's storage engine, called exactly as docdb's models will call it."""

    def __init__(self, path: str, sync: str, engine: str, options: dict[str, Any]) -> None:
        import storage  # the real package; imported late so --help works without it

        self.label = f"docdb-{engine}"
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

    def scan(self) -> Iterator[tuple[bytes, bytes]]:
        return self.eng.scan()

    def merge(self) -> None:
        self.eng.compact()

    def close(self) -> None:
        self.eng.close()


def docdb_opener(engine: str, options: dict[str, Any]) -> Opener:
    """An opener for one docdb engine; adding "lsm" is adding it to the engine list."""
    return lambda path, sync: DocdbPeer(path, sync, engine, options)


class SqlitePeer(Peer):
    """File-backed sqlite3 ``WITHOUT ROWID`` table: the B-tree reference."""

    label = "sqlite3"
    PUT = "INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)"
    GET = "SELECT value FROM kv WHERE key = ?"

    def __init__(self, path: str, sync: str) -> None:
        self.conn = sqlite3.connect(os.path.join(path, "kv.sqlite"), isolation_level=None)
        if sync == "normal":
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

    def scan(self) -> Iterator[tuple[bytes, bytes]]:
        return self.conn.execute("SELECT key, value FROM kv ORDER BY key")

    def merge(self) -> None:
        self.cur.execute("VACUUM")

    def close(self) -> None:
        self.conn.close()


class SemidbmPeer(Peer):
    """semidbm: a pure-Python log-structured dbm, the closest third-party twin."""

    label = "semidbm"
    batch_note = "no batch API: plain puts"

    def __init__(self, path: str, sync: str) -> None:
        import semidbm

        self.db = semidbm.open(os.path.join(path, "semidbm"), "c")
        self.durable = sync != "off"
        self.syncer = periodic_fsync(sync, self.db.sync)

    def putter(self) -> Callable[[bytes, bytes], Any]:
        return self.db.__setitem__

    def end(self) -> None:
        if self.durable:
            self.db.sync()

    def put_batch(self, items: Items, size: int) -> None:
        put = self.db.__setitem__
        for k, v in items:
            put(k, v)
        self.end()

    def getter(self) -> Getter:
        db = self.db
        return lambda k: db[k] if k in db else None  # noqa: SIM401 (no .get)

    def scan(self) -> Iterator[tuple[bytes, bytes]]:
        """No ordered iteration exists: sort the keys, then fetch each one."""
        db = self.db
        return ((k, db[k]) for k in sorted(db.keys()))

    def merge(self) -> None:
        self.db.compact()

    def close(self) -> None:
        if self.syncer:
            self.syncer.stop()
        self.db.close()


class DictFilePeer(Peer):
    """The dict + append-only file baseline (see bench.dictfile)."""

    label = "dict+file"

    def __init__(self, path: str, sync: str) -> None:
        self.store = DictFile(os.path.join(path, "data.log"), durable=sync != "off")
        self.syncer = periodic_fsync(sync, self.store.sync)

    def putter(self) -> Callable[[bytes, bytes], Any]:
        return self.store.put

    def end(self) -> None:
        self.store.sync()

    def put_batch(self, items: Items, size: int) -> None:
        self.store.put_many(items)
        self.store.sync()

    def getter(self) -> Getter:
        return self.store.data.get

    def scan(self) -> Iterator[tuple[bytes, bytes]]:
        return self.store.scan()

    def merge(self) -> None:
        self.store.rewrite()

    def close(self) -> None:
        if self.syncer:
            self.syncer.stop()
        self.store.close()


PEER_OPENERS: dict[str, Opener] = {
    "sqlite3": SqlitePeer,
    "semidbm": SemidbmPeer,
    "dict+file": DictFilePeer,
}
