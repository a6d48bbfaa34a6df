"""A database directory: its stores, its catalog, its log, and the commit protocol.

Layout of a database directory::

    DOCDB            identity: "docdb-storage database <format version>"
    LOCK             flock held by the owning process (a second process is refused)
    txlog            the write-ahead log of transactions (``docdb.models.txlog``)
    objects/<id>-<engine>/   one storage engine per table, collection and index;
                     store 0 (``objects/0-hash``) holds the catalog

Commit (``commit``): the transaction's writes are appended to ``txlog`` as one
atomic batch (fsynced first with ``sync="full"``), then applied to each engine,
which runs with ``sync="off"`` because the log is what makes a commit durable.
When the log passes ``checkpoint_bytes``, every engine is fsynced and the log
emptied. Opening replays the log's whole transactions into the engines (so a
commit interrupted half-applied is finished) and removes store directories the
catalog does not know (a table created by a transaction that never committed).

One writer at a time: a transaction holds ``writer`` (a lock) from its first
write to its commit or rollback; committed reads need no lock.
May import: the standard library, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import storage
from docdb.errors import OperationalError
from docdb.models.catalog import SYSTEM, Catalog
from docdb.models.txlog import TxLog, replay_log
from storage.files import claim_directory, fsync_dir

FORMAT_VERSION = 1
OBJECTS = "objects"
_STORE_DIR = re.compile(r"^(\d+)-(hash|lsm)$")
_OWNED = ("txlog", OBJECTS)


class Database:
    def __init__(self, path: str, sync: str = "normal", *, checkpoint_bytes: int = 16 << 20,
                 storage_options: dict[str, dict[str, Any]] | None = None, sync_interval: float = 1.0):
        self.path = path
        self.sync = sync
        self.checkpoint_bytes = checkpoint_bytes
        self._options = storage_options or {}
        self._lock, _new = claim_directory(path, "database", FORMAT_VERSION, lambda n: n in _OWNED)
        self.stores: dict[int, storage.Engine] = {}
        self.writer = threading.Lock()
        self._apply_lock = threading.Lock()
        try:
            os.makedirs(os.path.join(path, OBJECTS), exist_ok=True)
            self._recover()
            self.log = TxLog(path, sync, sync_interval)
        except BaseException:
            self._close_stores()
            self._lock.release()
            raise
        self.closed = False

    # ----- stores --------------------------------------------------------------------

    def _store_path(self, store: int, engine: str) -> str:
        return os.path.join(self.path, OBJECTS, f"{store}-{engine}")

    def _existing_stores(self) -> dict[int, str]:
        found = {}
        for name in os.listdir(os.path.join(self.path, OBJECTS)):
            match = _STORE_DIR.match(name)
            if match:
                found[int(match.group(1))] = match.group(2)
        return found

    def create_store(self, store: int, engine: str) -> storage.Engine:
        if engine not in storage.ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(storage.ENGINES)}")
        opened = storage.open(self._store_path(store, engine), engine, "off", **self._options.get(engine, {}))
        self.stores[store] = opened
        return opened

    def remove_store(self, store: int) -> None:
        engine = self.stores.pop(store, None)
        if engine is not None:
            engine.close()
            shutil.rmtree(engine.path, ignore_errors=True)

    def _close_stores(self) -> None:
        for engine in self.stores.values():
            engine.close()
        self.stores.clear()

    # ----- committed reads -----------------------------------------------------------

    def get(self, store: int, key: bytes) -> bytes | None:
        return self.stores[store].get(key)

    def scan(self, store: int, start: bytes | None = None, stop: bytes | None = None,
             reverse: bool = False) -> Iterator[tuple[bytes, bytes]]:
        return self.stores[store].scan(start, stop, reverse)

    # ----- recovery ------------------------------------------------------------------

    def _recover(self) -> None:
        existing = self._existing_stores()
        self.create_store(SYSTEM, existing.get(SYSTEM, "hash"))
        replayed = False
        for writes in replay_log(self.path):
            replayed = True
            self._apply(writes, existing)
        self.catalog = Catalog.load(self.stores[SYSTEM].scan())
        for entry in self.catalog.entries():
            self._open_known(entry["id"], entry["engine"], existing)
            for index in entry["indexes"].values():
                self._open_known(index["id"], "lsm", existing)
        for store, engine in existing.items():  # created by transactions that never committed
            if store not in self.stores:
                shutil.rmtree(self._store_path(store, engine), ignore_errors=True)
        if replayed:
            for engine in self.stores.values():
                engine.flush()
            with open(os.path.join(self.path, "txlog"), "r+b") as f:
                f.truncate(0)
                os.fsync(f.fileno())

    def _open_known(self, store: int, engine: str, existing: dict[int, str]) -> None:
        if store not in self.stores:
            if existing.get(store) != engine:
                raise OperationalError(f"database {self.path!r}: the catalog names store {store} "
                                       f"({engine}), but its directory is missing")
            self.create_store(store, engine)

    def _apply(self, writes: list[tuple[int, bytes, bytes | None]], existing: dict[int, str]) -> None:
        """Replay one logged transaction; stores dropped since are skipped."""
        by_store: dict[int, list] = {}
        for store, key, value in writes:
            by_store.setdefault(store, []).append((key, value))
        for store, ops in by_store.items():
            if store not in self.stores:
                if store not in existing:
                    continue
                self.create_store(store, existing[store])
            self._write(store, ops)

    def _write(self, store: int, ops: list[tuple[bytes, bytes | None]]) -> None:
        with self.stores[store].batch() as batch:
            for key, value in ops:
                if value is None:
                    batch.delete(key)
                else:
                    batch.put(key, value)

    # ----- commit --------------------------------------------------------------------

    def commit(self, overlay: dict, catalog: Catalog, dropped: list[int]) -> None:
        """Make a transaction's writes durable (per ``sync``) and visible."""
        writes = [(store, key, value) for store, pending in overlay.items()
                  for key, value in pending.items()]
        if writes:
            self.log.append(writes)
        with self._apply_lock:
            for store, pending in overlay.items():
                self._write(store, list(pending.items()))
            self.catalog = catalog
        if dropped:
            self.log.sync_now()  # the drop is durable before its files go
            for store in dropped:
                self.remove_store(store)
        if self.log.size > self.checkpoint_bytes:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Fsync every engine, then empty the log (the engines now hold everything in it)."""
        for engine in list(self.stores.values()):
            engine.flush()
        self.log.truncate()

    def flush(self) -> None:
        self.log.sync_now()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.checkpoint()
        finally:
            self.log.close()
            self._close_stores()
            fsync_dir(os.path.join(self.path, OBJECTS))
            self._lock.release()
