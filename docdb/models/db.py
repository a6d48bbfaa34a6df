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
catalog does not know (a table created by a transaction that never committed,
or dropped by a replayed one).

One writer at a time: a transaction holds ``writer`` (a lock) from its first
write to its commit or rollback; committed reads need no lock. For readers the
commit point is when its overlay is published as ``_applying`` with the new
catalog: committed reads consult it before the engines until every engine
holds the commit, so no read sees a commit half applied (each read sees the
state before or after a commit; successive reads may see different commits).

In memory (``memory=True``, for ``connect(":memory:")``) there is no directory, no
lock and no log: every store is a ``storage`` memory engine and a commit is
applied to them directly, by the same protocol.

Failures: a commit the log did not take raises ``NotCommitted`` (the caller
discards the transaction). Once the log holds it, a failure to apply it leaves
the database refusing commits and checkpoints (the log must stay whole) and
``close`` skipping its checkpoint, so the next open replays the commit.
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
from docdb.models.txlog import NoLog, TxLog, replay_log
from docdb.models.txn import overlaid
from storage.errors import StorageError
from storage.files import claim_directory, fsync_dir
from storage.lsm.sstable import BlockCache

FORMAT_VERSION = 1
OBJECTS = "objects"
_STORE_DIR = re.compile(r"^(\d+)-(hash|lsm)$")
_OWNED = ("txlog", OBJECTS)
_ABSENT = object()
_NOTHING: dict = {}


class NotCommitted(OperationalError):
    """A commit failed before the log held it: nothing of it was committed."""


class Database:
    def __init__(self, path: str, sync: str = "normal", *, checkpoint_bytes: int = 16 << 20,
                 storage_options: dict[str, dict[str, Any]] | None = None, sync_interval: float = 1.0,
                 cache_blocks: int = 16384, memory: bool = False):
        self.path = path
        self.memory = memory
        self.sync = sync
        self.checkpoint_bytes = checkpoint_bytes
        self._options = storage_options or {}
        # One block cache for every LSM store (up to 64 MiB of 4 KiB blocks): the budget goes
        # to whichever tables and indexes are being read, not a fixed slice to each.
        self._block_cache = BlockCache(cache_blocks)
        self.stores: dict[int, storage.Engine] = {}
        self.writer = threading.Lock()
        self._apply_lock = threading.Lock()
        self._applying: dict | None = None
        self.failed: BaseException | None = None  # a logged commit could not be applied
        self.closed = False
        if memory:
            self._lock = None
            self.create_store(SYSTEM, "hash")
            self.catalog = Catalog.load(iter(()))
            self.log: TxLog | NoLog = NoLog()
            return
        self._lock, _new = claim_directory(path, "database", FORMAT_VERSION, lambda n: n in _OWNED)
        try:
            os.makedirs(os.path.join(path, OBJECTS), exist_ok=True)
            self._recover()
            self.log = TxLog(path, sync, sync_interval)
        except BaseException:
            self._close_stores()
            self._lock.release()
            raise

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
        if self.memory:
            opened = self.stores[store] = storage.open(f"{self.path}#{store}", storage.MEMORY)
            return opened
        options = dict(self._options.get(engine, {}))
        if engine == "lsm":
            options.setdefault("block_cache", self._block_cache)
        opened = storage.open(self._store_path(store, engine), engine, "off", **options)
        self.stores[store] = opened
        return opened

    def remove_store(self, store: int) -> None:
        engine = self.stores.pop(store, None)
        if engine is not None:
            engine.close()
            if not self.memory:
                shutil.rmtree(engine.path, ignore_errors=True)

    def _close_stores(self) -> None:
        for engine in self.stores.values():
            engine.close()
        self.stores.clear()

    # ----- committed reads -----------------------------------------------------------

    # A commit being applied is read from its overlay (``_applying``) until every engine holds
    # it, so a reader never sees it half applied. A store dropped under a reader reads empty.

    def get(self, store: int, key: bytes) -> bytes | None:
        applying = self._applying
        if applying is not None:
            value = applying.get(store, _NOTHING).get(key, _ABSENT)
            if value is not _ABSENT:
                return value
        engine = self.stores.get(store)
        return engine.get(key) if engine is not None else None

    def get_many(self, store: int, keys: list[bytes]) -> list[bytes | None]:
        applying = self._applying  # before the engines, as in ``get``
        engine = self.stores.get(store)
        values = engine.get_many(keys) if engine is not None else [None] * len(keys)
        pending = applying.get(store) if applying is not None else None
        if pending:
            values = [pending.get(k, v) for k, v in zip(keys, values)]
        return values

    def scan(self, store: int, start: bytes | None = None, stop: bytes | None = None,
             reverse: bool = False, contains: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        applying = self._applying
        engine = self.stores.get(store)
        committed = engine.scan(start, stop, reverse, contains) if engine is not None else iter(())
        return overlaid(applying.get(store) if applying is not None else None, committed,
                        start, stop, reverse, contains)

    # ----- recovery ------------------------------------------------------------------

    def _recover(self) -> None:
        """Replay the log: the catalog's writes first, then the writes of the stores that
        catalog names (a store a logged commit dropped is never opened: its directory may
        be half removed), then remove every directory the catalog does not name."""
        existing = self._existing_stores()
        self.create_store(SYSTEM, existing.get(SYSTEM, "hash"))
        transactions = list(replay_log(self.path))
        self._replay(transactions, {SYSTEM})
        self.catalog = Catalog.load(self.stores[SYSTEM].scan())
        for entry in self.catalog.entries():
            if "id" not in entry:
                continue  # a view: no store
            self._open_known(entry["id"], entry["engine"], existing)
            for index in entry["indexes"].values():
                self._open_known(index["id"], "lsm", existing)
        self._replay(transactions, set(self.stores) - {SYSTEM})
        for store, engine in existing.items():  # dropped, or made by a transaction never committed
            if store not in self.stores:
                shutil.rmtree(self._store_path(store, engine), ignore_errors=True)
        if transactions:
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

    def _replay(self, transactions: list[list[tuple[int, bytes, bytes | None]]], stores: set[int]) -> None:
        """Apply the logged transactions' writes to ``stores``, in order (puts and deletes are
        idempotent, so writes the engines already hold do no harm)."""
        for writes in transactions:
            by_store: dict[int, list] = {}
            for store, key, value in writes:
                if store in stores:
                    by_store.setdefault(store, []).append((key, value))
            for store, ops in by_store.items():
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
        """Make a transaction's writes durable (per ``sync``) and visible.

        ``NotCommitted`` if nothing was; once the log holds the commit, a failure to
        apply it leaves the database refusing commits and checkpoints (its log must
        stay whole) until a reopen replays it."""
        if self.failed is not None:
            raise NotCommitted(f"commit refused, nothing was committed: an earlier commit could not be "
                               f"applied ({self.failed}); close and reopen the database")
        writes = [(store, key, value) for store, pending in overlay.items()
                  for key, value in pending.items()]
        try:
            if writes:
                self.log.append(writes)
        except (OSError, StorageError) as error:
            raise NotCommitted(f"commit failed, nothing was committed: {error}") from error
        with self._apply_lock:
            self._applying = overlay  # the commit point for readers in this process
            self.catalog = catalog
            try:
                for store, pending in overlay.items():
                    self._write(store, list(pending.items()))
            except BaseException as error:
                self.failed = error  # readers keep seeing the whole commit through _applying
                raise OperationalError(f"the commit is in the log but could not be applied ({error}); "
                                       "close and reopen the database to finish it") from error
            self._applying = None
        try:
            if dropped:
                self.log.sync_now()  # the drop is durable before its files go
                for store in dropped:
                    self.remove_store(store)
            if self.log.size > self.checkpoint_bytes:
                self.checkpoint()
        except (OSError, StorageError) as error:
            raise OperationalError(f"committed, but removing dropped stores or the checkpoint "
                                   f"after it failed: {error}") from error

    def checkpoint(self) -> None:
        """Fsync every engine, then empty the log (the engines now hold everything in it)."""
        if self.failed is not None:
            raise OperationalError("no checkpoint: a commit in the log could not be applied; reopen")
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
            if self.failed is None:  # else the log must stay whole, for a reopen to replay
                self.checkpoint()
        finally:
            self.log.close()
            self._close_stores()
            if self._lock is not None:
                fsync_dir(os.path.join(self.path, OBJECTS))
                self._lock.release()
