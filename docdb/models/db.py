"""A database directory: its stores, its catalog, its log, and how processes share them.

Layout of a database directory::

    DOCDB            identity: "docdb-storage database <format version>"
    LOCK             held shared by every process with the database open
    WRITER           held by the one writer (its pid inside), across processes
    CHECKPOINT       held while a checkpoint writes the engines
    txlog, txlog.<n> the write-ahead log, one file per generation (``docdb.models.txlog``)
    objects/<id>-<engine>/   one storage engine per table, collection and index;
                     store 0 (``objects/0-hash``) holds the catalog

The model is SQLite's WAL mode. Any number of processes open the directory; each
reads the stores' engines *read-only* -- the files as the last checkpoint left
them -- with the log since then laid over them (``docdb.models.snapshot``), and
follows the log as other processes append to it (``refresh``: one ``fstat`` when
nothing changed). A reader takes no lock and never waits for the writer.

Writing: one writer at a time, across processes: a transaction takes ``WRITER``
(after this process's thread lock) at its first write and holds it to its commit
or rollback; another waits up to its ``timeout``, then gets ``OperationalError:
database is locked`` naming the holder's pid. The kernel releases the lock of a
process that dies. Having the lock, the writer reads the log to its end (cutting
off a batch a crashed writer left unfinished) and starts from the newest commit.
A commit is one batch appended to the log (fsynced first with ``sync="full"``);
once appended it is committed, and readers see it at their next refresh.

Checkpoint: when the log passes ``checkpoint_bytes``, the writer (still holding
``WRITER``) takes ``CHECKPOINT`` exclusive -- which only waits for processes that
are opening engines -- writes the log's latest values into each store's engine
(opened for writing just for this, then closed), removes the directories of
dropped stores, starts the next generation's empty log and seals the old one,
then reopens the engines it wrote. Readers move to the new generation when they
read the seal; until then, and for as long as a snapshot of theirs needs it, they
read the old generation, whose engines they hold open as they were (a file a
checkpoint replaces stays readable to whoever has it open). A crash anywhere in a
checkpoint leaves the old generation's log whole, and its writes are idempotent.

``readonly=True`` opens without creating anything and never writes (it also
works on a directory the process may not write). In memory (``memory=True``,
for ``connect(":memory:")``) there are no files: the stores are memory engines,
a commit goes to the log state only, and a checkpoint writes the memory engines.
May import: the standard library, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import storage
from docdb.errors import OperationalError
from docdb.models.catalog import SYSTEM, Catalog
from docdb.models.locks import FileLock
from docdb.models.rowcache import DEFAULT_CACHE_SIZE, RowCache
from docdb.models.snapshot import EngineUsers, LogState, Snapshot, View
from docdb.models.txlog import NAME as LOG_NAME
from docdb.models.txlog import LogReader, LogWriter, create_log, generations, log_path
from storage.cache import BlockCache
from storage.errors import StorageError
from storage.files import IDENTITY_NAME, fsync_dir, make_directories, prepare_directory, write_identity

FORMAT_VERSION = 1
OBJECTS = "objects"
_STORE_DIR = re.compile(r"^(\d+)-(hash|lsm)$")
_LOCKS = ("WRITER", "CHECKPOINT")
_APPLY_BATCH = 10_000  # writes per engine batch at a checkpoint


def _owned(name: str) -> bool:
    return name in (OBJECTS, *_LOCKS) or name == LOG_NAME or (
        name.startswith(LOG_NAME + ".") and name[len(LOG_NAME) + 1:].isdigit())


class NotCommitted(OperationalError):
    """A commit failed before the log held it: nothing of it was committed."""


class Database:
    def __init__(self, path: str, sync: str = "normal", *, checkpoint_bytes: int = 16 << 20,
                 storage_options: dict[str, dict[str, Any]] | None = None, sync_interval: float = 1.0,
                 cache_blocks: int = 16384, cache_size: int = DEFAULT_CACHE_SIZE, memory: bool = False,
                 readonly: bool = False):
        self.path = path
        self.sync = sync
        self.memory = memory
        self.readonly = readonly
        self.checkpoint_bytes = checkpoint_bytes
        self.sync_interval = sync_interval
        self._options = storage_options or {}
        # One block cache for every LSM store (up to 64 MiB of 4 KiB blocks): the budget goes
        # to whichever tables and indexes are being read, not a fixed slice to each.
        self._block_cache = BlockCache(cache_blocks)
        # Decoded rows of full scans, kept for the next scan of the same committed state
        # (docdb.models.rowcache): shared by this process's connections to the database.
        self.row_cache = RowCache(cache_size)
        self.writer = threading.Lock()  # this process's threads, in front of the WRITER file lock
        self._log_lock = threading.RLock()  # reading the log and publishing what was read
        # flock belongs to a descriptor, which this process's threads share: they take turns
        # at CHECKPOINT through this lock, and the file lock orders the processes
        self._checkpoint_turn = threading.Lock()
        self.closed = False
        self.checkpoint_error: str | None = None  # why the last automatic checkpoint failed
        self._reader: LogReader | None = None
        self.log: LogWriter | None = None
        self._memory_engines: dict[int, storage.Engine] = {}
        self._engine_users = EngineUsers()  # closes a read-only engine when no view reads it
        if memory:
            self._dir_lock = self._writer_lock = self._checkpoint_lock = None
            self._start_view(0, {})
            return
        self._open_directory()
        try:
            with self._checkpointing(exclusive=False):
                found = generations(path)
                if not found and not readonly:
                    create_log(path, 0)
                    found = [0]
                self._start_view(found[-1] if found else 0, {})
        except BaseException:
            self._release_locks()
            raise

    # ----- opening ------------------------------------------------------------------

    def _open_directory(self) -> None:
        path = self.path
        if self.readonly:
            if not os.path.exists(os.path.join(path, IDENTITY_NAME)):
                raise storage.FormatError(f"{path!r} is not a docdb database (a read-only open creates "
                                          "nothing)")
            prepare_directory(path, "database", FORMAT_VERSION, _owned)  # checks; creates nothing here
            self._dir_lock = FileLock(os.path.join(path, "LOCK"), create=False)
            self._dir_lock.acquire(exclusive=False)
            self._writer_lock = None
            self._checkpoint_lock = FileLock(os.path.join(path, "CHECKPOINT"), create=False)
            return
        if os.path.exists(path) and not os.path.isdir(path):
            raise storage.FormatError(f"{path!r} is a file, not a docdb database directory")
        make_directories(path)
        self._dir_lock = FileLock(os.path.join(path, "LOCK"))
        if not os.path.exists(os.path.join(path, IDENTITY_NAME)):
            self._dir_lock.acquire(exclusive=True)  # one process stamps a new directory
            try:
                if prepare_directory(path, "database", FORMAT_VERSION, _owned):
                    write_identity(path, "database", FORMAT_VERSION)
                make_directories(os.path.join(path, OBJECTS))
            finally:
                self._dir_lock.release()
        self._dir_lock.acquire(exclusive=False)
        prepare_directory(path, "database", FORMAT_VERSION, _owned)  # whose it is, and its version
        self._writer_lock = FileLock(os.path.join(path, "WRITER"))
        self._checkpoint_lock = FileLock(os.path.join(path, "CHECKPOINT"))

    @contextmanager
    def _checkpointing(self, exclusive: bool) -> Iterator[None]:
        """Hold CHECKPOINT (shared: opening engines; exclusive: writing them) for a block."""
        with self._checkpoint_turn:
            if self._checkpoint_lock is not None:
                self._checkpoint_lock.acquire(exclusive=exclusive)
            try:
                yield
            finally:
                if self._checkpoint_lock is not None:
                    self._checkpoint_lock.release()

    def _store_path(self, store: int, engine: str) -> str:
        return os.path.join(self.path, OBJECTS, f"{store}-{engine}")

    def _open_engine(self, store: int, engine: str) -> storage.Engine | None:
        """A read-only engine of ``store`` (None if no checkpoint has written it yet)."""
        if self.memory:
            return self._memory_engines.get(store)
        path = self._store_path(store, engine)
        if not os.path.exists(os.path.join(path, IDENTITY_NAME)):  # not made, or its making cut short
            return None
        options = dict(self._options.get(engine, {}))
        if engine == "lsm":
            options["block_cache"] = self._block_cache
        return storage.open(path, engine, "off", readonly=True, **options)

    def _start_view(self, generation: int, keep: dict[int, storage.Engine],
                    reopen: set[int] | None = None) -> None:
        """Make ``generation`` the current view: its log read from the start, the catalog's
        stores opened (``keep``'s engines reused, except those in ``reopen``)."""
        reader = None
        if not self.memory and os.path.exists(log_path(self.path, generation)):
            reader = LogReader(self.path, generation)
        log = LogState()
        engines: dict[int, storage.Engine] = {}
        view = View(generation, log, engines, self._log_lock, self.row_cache)
        opened: list[storage.Engine] = []

        def engine_of(store: int, kind: str) -> None:
            engine = keep.get(store) if reopen is None or store not in reopen else None
            if engine is None:
                engine = self._open_engine(store, kind)
                if engine is not None and not self.memory:
                    opened.append(engine)
            if engine is not None:
                engines[store] = engine

        try:
            engine_of(SYSTEM, "hash")
            if reader is not None:
                for writes in reader.read():
                    log.add(writes)
            catalog = Catalog.load(Snapshot(view, log.commits, Catalog.load(iter(()))).scan(SYSTEM))
            for store, kind in catalog.stores().items():
                if store != SYSTEM:
                    engine_of(store, kind)
        except BaseException:
            for engine in opened:
                engine.close()
            if reader is not None:
                reader.close()
            raise
        self._reader = reader  # the old one closes when nobody holds it (LogReader.__del__)
        self.view, self.catalog = view, catalog
        self._latest = Snapshot(view, log.commits, catalog)
        if not self.memory:
            self._engine_users.hold(view)

    # ----- reading -------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The newest committed state: the log is read to its end first (one ``fstat`` when no
        process has committed since)."""
        reader = self._reader
        if reader is not None and reader.size() != reader.offset:
            self.refresh()
        return self._latest

    def refresh(self) -> None:
        """Read what other processes appended to the log; follow a seal to the next generation."""
        with self._log_lock:
            while True:
                reader = self._reader
                if reader is None:
                    return
                transactions = reader.read()
                if transactions:
                    log = self.view.log
                    catalog_changed = False
                    for writes in transactions:
                        log.add(writes)
                        catalog_changed = catalog_changed or any(w[0] == SYSTEM for w in writes)
                    if catalog_changed:
                        read = Snapshot(self.view, log.commits, self.catalog)
                        self.catalog = Catalog.load(read.scan(SYSTEM))
                    self._latest = Snapshot(self.view, log.commits, self.catalog)
                if reader.sealed is None:
                    return
                self._next_generation(reader.sealed)

    def _next_generation(self, generation: int) -> None:
        """Move to ``generation``, whose checkpoint wrote the stores the old log touched -- or,
        if later checkpoints have passed too (their logs gone), to the newest, reopening every
        store: which ones those checkpoints wrote is in logs this process never read."""
        old = self.view
        with self._checkpointing(exclusive=False):  # no checkpoint starts a generation meanwhile
            newest = max(generations(self.path), default=generation)
            if newest == generation and os.path.exists(log_path(self.path, generation)):
                self._start_view(generation, old.engines, set(old.log.stores))
            else:
                self._start_view(newest, {})

    def log_damage(self) -> tuple[str, str] | None:
        """(what, where) if the current log is damaged before its end (a batch cut short at
        the end is a commit a crash or a writer in progress left, not damage)."""
        if self.memory or not os.path.exists(log_path(self.path, self.view.generation)):
            return None
        reader = LogReader(self.path, self.view.generation)
        try:
            while reader.read():
                pass
            if reader.torn and not reader.torn_at_end:
                return "a damaged record before the end of the log", f"{reader.path} at byte {reader.offset}"
            return None
        finally:
            reader.close()

    @property
    def stores(self) -> dict[int, storage.Engine]:
        """The current view's engines (for sizes and statistics)."""
        return self.view.engines

    def logged_keys(self, store: int) -> int:
        """How many more keys ``store`` holds than its engine: the log's inserts less its deletes."""
        snapshot = self.snapshot()
        logged = snapshot.view.log.stores.get(store)
        if not logged:
            return 0
        engine = snapshot.view.engines.get(store)
        keys = list(logged)
        before = engine.get_many(keys) if engine is not None else [None] * len(keys)
        now = snapshot.get_many(store, keys)
        return sum((b is None) - (n is None) for b, n in zip(before, now))

    # ----- writing -------------------------------------------------------------------

    def acquire_writer(self, timeout: float) -> bool:
        """The writer lock: this process's threads first, then the other processes."""
        self._check_writable()
        if not self.writer.acquire(timeout=timeout):
            return False
        if self._writer_lock is None:
            return True
        if not self._writer_lock.acquire(exclusive=True, timeout=timeout):
            self.writer.release()
            return False
        self._writer_lock.write_holder()
        return True

    def release_writer(self) -> None:
        if self._writer_lock is not None:
            self._writer_lock.release()
        self.writer.release()

    def writer_holder(self) -> str:
        return self._writer_lock.holder() if self._writer_lock is not None else "unknown"

    def _check_writable(self) -> None:
        if self.readonly:
            raise OperationalError("attempt to write a readonly database")

    def begin_write(self) -> Snapshot:
        """With the writer lock held: the newest state, the log read to its end and ready for
        this process to append to."""
        with self._log_lock:
            self.refresh()  # follows the seals to the newest generation
            following = self.view.generation + 1
            if not self.memory and os.path.exists(log_path(self.path, following)):
                # a checkpoint died between making the next log and sealing this one (only a
                # writer of this generation can have made the next): seal it for its readers
                unsealed = LogWriter(self.path, self.view.generation, "off")
                unsealed.seal(following)
                unsealed.close()
                self.refresh()
            reader = self._reader
            if self.log is None or self.log.generation != self.view.generation:
                if self.log is not None:
                    self.log.close()
                self.log = None if self.memory else LogWriter(self.path, self.view.generation, self.sync,
                                                              self.sync_interval)
            if reader is not None and reader.torn:
                if not reader.torn_at_end:
                    raise OperationalError(f"the log {reader.path!r} is damaged at byte {reader.offset}")
                self.log.cut(reader.offset)  # a crashed writer's unfinished commit
            return self._latest

    def commit(self, overlay: dict, catalog: Catalog) -> None:
        """Make a transaction's writes durable (per ``sync``) and visible; the writer lock is
        held and ``begin_write`` was called. ``NotCommitted`` if the log did not take it."""
        writes = [(store, key, value) for store, pending in overlay.items()
                  for key, value in pending.items()]
        if not writes:
            return
        try:
            end = self.log.append(writes) if self.log is not None else 0
        except (OSError, StorageError) as error:
            raise NotCommitted(f"commit failed, nothing was committed: {error}") from error
        with self._log_lock:
            self.view.log.add(writes)
            if self._reader is not None:
                self._reader.offset = end  # what this process wrote is read already
            self.catalog = catalog
            self._latest = Snapshot(self.view, self.view.log.commits, catalog)
        if self._log_bytes() > self.checkpoint_bytes:
            # As SQLite's automatic checkpoint: the commit stands (the log holds it) whatever
            # happens here, so a failure is kept for stats() and tried again next commit.
            try:
                self._checkpoint(False)
                self.checkpoint_error = None
            except (OSError, StorageError) as error:
                self.checkpoint_error = f"{type(error).__name__}: {error}"

    def _log_bytes(self) -> int:
        if self.memory:
            return self.view.log.bytes
        return self.log.size if self.log is not None else 0

    # ----- checkpoint ------------------------------------------------------------------

    def checkpoint(self, compact: bool = False) -> None:
        """With the writer lock held: write the log into the engines and start a new
        generation (``compact``: also compact every store). A failure loses nothing: the
        log stays whole, and the next checkpoint writes it again."""
        try:
            self._checkpoint(compact)
        except (OSError, StorageError) as error:
            raise OperationalError(f"the checkpoint failed (nothing is lost: the log keeps every "
                                   f"commit): {error}") from error

    def _checkpoint(self, compact: bool) -> None:
        self._check_writable()
        self.begin_write()
        view, catalog = self.view, self.catalog
        if not view.log.stores and not compact:
            return
        live = catalog.stores()
        next_generation = view.generation + 1
        if self.log is not None:  # the log first: a power loss mid-checkpoint must find it whole
            self.log.sync_now()
        with self._checkpointing(exclusive=True):
            for store in sorted(set(view.log.stores) | (set(live) if compact else set())):
                if store in live:
                    self._write_engine(store, live[store], view.log.latest(store), compact)
            if self.memory:
                for store in list(self._memory_engines):
                    if store not in live:
                        self._memory_engines.pop(store).close()
            else:
                self._remove_dropped(live)
                create_log(self.path, next_generation)
                self.log.seal(next_generation)  # type: ignore[union-attr]
        old_log = self.log
        self.log = None
        if old_log is not None:
            old_log.close()
        written = set(view.log.stores) | (set(live) if compact else set())
        with self._log_lock:
            self._start_view(next_generation, view.engines, written)
        if not self.memory:  # readers still on them keep their descriptors
            for generation in generations(self.path):
                if generation < next_generation:
                    try:
                        os.unlink(log_path(self.path, generation))
                    except FileNotFoundError:
                        pass

    def _write_engine(self, store: int, kind: str, latest: list, compact: bool) -> None:
        if self.memory:
            engine = self._memory_engines.get(store)
            if engine is None:
                engine = self._memory_engines[store] = storage.open(f":memory:#{store}", storage.MEMORY)
            _apply(engine, latest)
            return
        engine = storage.open(self._store_path(store, kind), kind, "off", **self._options.get(kind, {}))
        try:
            _apply(engine, latest)
            if compact:
                engine.compact()
            else:
                engine.maintain()  # the merges its background work would have run
            engine.flush()
        finally:
            engine.close()

    def _remove_dropped(self, live: dict[int, str]) -> None:
        """Directories of stores no catalog names: dropped (readers may still hold their files)."""
        objects = os.path.join(self.path, OBJECTS)
        removed = False
        for name in os.listdir(objects):
            match = _STORE_DIR.match(name)
            if match and int(match.group(1)) not in live:
                shutil.rmtree(os.path.join(objects, name), ignore_errors=True)
                removed = True
        if removed:
            fsync_dir(objects)

    def compact(self) -> None:
        """With the writer lock held: checkpoint, then compact (LSM) or merge (hash) every store."""
        self.checkpoint(compact=True)

    def flush(self) -> None:
        if self.log is not None:
            self.log.sync_now()

    # ----- closing -------------------------------------------------------------------

    def close(self) -> None:
        """Let go of the database. The last process to close it (when it may write) first
        checkpoints, so a quiet directory holds everything in its engines."""
        if self.closed:
            return
        self.closed = True
        try:
            if not self.memory and not self.readonly and self._dir_lock is not None:
                self._dir_lock.release()
                last = self._dir_lock.acquire(exclusive=True, timeout=0)
                healthy = self.log is None or self.log.failed is None  # else the disk decides
                if last and healthy and self.acquire_writer(timeout=0):
                    try:
                        self.checkpoint()
                    finally:
                        self.release_writer()
        finally:
            if self.log is not None:
                self.log.close()
            if self._reader is not None:
                self._reader.close()
            if self.memory:
                for engine in self._memory_engines.values():
                    engine.close()
            self._engine_users.close_all()
            self._release_locks()

    def _release_locks(self) -> None:
        for lock in (self._dir_lock, self._writer_lock, self._checkpoint_lock):
            if lock is not None:
                lock.close()


def _apply(engine: storage.Engine, latest: list[tuple[bytes, bytes | None]]) -> None:
    for start in range(0, len(latest), _APPLY_BATCH):
        with engine.batch() as batch:
            for key, value in latest[start:start + _APPLY_BATCH]:
                if value is None:
                    batch.delete(key)
                else:
                    batch.put(key, value)
