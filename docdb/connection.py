"""``docdb.connect`` and the Connection: transactions with PEP 249 semantics over one database.

A connection reads through its open transaction if it has one (so it sees its
own uncommitted writes) and otherwise reads a committed snapshot: the newest
one for each statement, or -- inside an explicit transaction (``BEGIN``) -- the
one taken at its first read, kept to its end (snapshot isolation). Its first
write opens a write transaction, which takes the database's writer lock, shared
with every process that has the database open (waiting up to ``timeout``
seconds, then ``OperationalError: database is locked``). A transaction that read
a snapshot and then wants to write after another connection or process has
committed gets ``SerializationError`` (first committer wins, as SQLite's
``SQLITE_BUSY_SNAPSHOT``): it must roll back and try again. ``commit()`` makes
the writes durable (per ``sync``) and visible, ``rollback()`` and ``close()``
discard them, ``with conn:`` commits on success and rolls back on an exception,
and ``autocommit=True`` commits each write as it returns.

Connections to the same directory in one process share one open database;
other processes open it too (``docdb.models.db``). ``readonly=True`` never
writes. ``":memory:"`` is a private database held in memory engines only:
nothing of it is ever written to disk, and it is gone when its connection is
closed or dropped.
May import: the standard library, ``storage`` and ``docdb.models``; ``docdb.cursor`` (the query
language) only inside ``cursor()``, so importing docdb never loads the parser.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import storage
from docdb.conveniences import Sqlite3Conveniences
from docdb.errors import DatabaseError, InterfaceError, OperationalError, ProgrammingError, SerializationError
from docdb.models.check import check as check_database
from docdb.models.collection import Collection, document_reader
from docdb.models.constraints import check_items, install_check_loader
from docdb.models.db import Database, NotCommitted
from docdb.models.maintenance import describe, object_stats, tree_bytes
from docdb.models.objects import check_name, create_object, create_view, drop_object, rename_object
from docdb.models.repair import salvage
from docdb.models.table import Table, create_table
from docdb.models.txn import Transaction
from storage.engine import check_sync

# a column definition with a constraint the models' spec does not read: the query layer parses it
_CONSTRAINED = re.compile(r"\b(CHECK|REFERENCES|CONSTRAINT|COLLATE)\b", re.I)


def _load_check_compiler() -> None:
    import query.checks  # noqa: F401 - installs the compiler of CHECK constraints in docdb.models


install_check_loader(_load_check_compiler)

MEMORY = ":memory:"
_open_lock = threading.Lock()
_open: dict[tuple[str, bool], list] = {}  # (real path, readonly) -> [Database, number of connections]


def connect(path: str | os.PathLike = MEMORY, *, engine: str = "lsm", sync: str = "normal",
            autocommit: bool = False, timeout: float = 5.0, detect_types: int = 0, readonly: bool = False,
            **options: Any) -> Connection:
    """Open (creating if needed) the database in directory ``path``.

    ``engine`` is the default storage engine of new tables and collections.
    ``options``: ``checkpoint_bytes`` (log size that triggers a checkpoint),
    ``storage_options`` (``{"lsm": {...}, "hash": {...}}`` passed to engines),
    ``cache_blocks`` (the block cache all LSM stores share, in 4 KiB blocks; 16384),
    ``cache_size`` (the most decoded rows and documents kept for full scans to read again,
    shared by the connections to one database; 250,000; 0 keeps none -- see ``stats()``).
    ``detect_types``: ``docdb.PARSE_DECLTYPES | docdb.PARSE_COLNAMES`` run the converters
    of ``docdb.register_converter`` on fetched values, as in sqlite3 (``docdb.converters``).
    ``readonly``: open an existing database without ever taking the writer lock (writes
    raise ``OperationalError``); it works on a directory this process may not write.
    ``timeout``: how long a write waits for another connection's or process's transaction.
    """
    if engine not in storage.ENGINES:
        raise ProgrammingError(f"unknown engine {engine!r}; choose one of {', '.join(storage.ENGINES)}")
    check_sync(sync)
    db = Database(MEMORY, "off", memory=True, **options) if os.fspath(path) == MEMORY \
        else _shared_database(path, sync, bool(readonly), options)
    conn = Connection(db, engine, autocommit, timeout)
    conn.detect_types = detect_types
    return conn


def _shared_database(path: str | os.PathLike, sync: str, readonly: bool, options: dict) -> Database:
    """The open database at ``path``, which this process's connections share."""
    real = os.path.realpath(os.fspath(path))
    parent = os.path.dirname(real)
    if not os.path.isdir(parent):  # as sqlite3: a database is made in a directory that exists
        raise OperationalError(f"unable to open database {os.fspath(path)!r}: "
                               f"the directory {parent!r} does not exist")
    with _open_lock:
        key = (real, readonly)
        if key in _open:
            _open[key][1] += 1
            return _open[key][0]
        db = _open_database(real, sync, options, readonly)
        _open[key] = [db, 1]
        return db


def _open_database(path: str, sync: str, options: dict, readonly: bool) -> Database:
    try:
        return Database(path, sync, readonly=readonly, **options)
    except storage.LockedError as error:
        raise OperationalError(f"database is locked: {error}") from error
    except storage.FormatError as error:
        raise OperationalError(f"cannot open {path!r} as a docdb database: {error}") from error
    except PermissionError as error:
        raise OperationalError(f"unable to open database {path!r}: {error} (readonly=True opens "
                               "a database this process may not write)") from error
    except storage.CorruptionError as error:  # sqlite3's "database disk image is malformed"
        raise DatabaseError(f"cannot open {path!r}: the database is damaged: {error} ('docdb check' "
                            "says where; 'docdb repair' saves what is intact)") from error
    except OSError as error:
        raise OperationalError(f"unable to open database {path!r}: {error}") from error


def _release(db: Database) -> None:
    with _open_lock:
        key = (db.path, db.readonly)
        holders = _open.get(key)
        if holders is not None and holders[0] is db:
            holders[1] -= 1
            if holders[1] > 0:
                return
            del _open[key]
    db.close()


class Connection(Sqlite3Conveniences):
    def __init__(self, db: Database, engine: str, autocommit: bool, timeout: float):
        self._db = db
        self.default_engine = engine
        self.autocommit = bool(autocommit)
        self._isolation = ""
        self._opened_by_savepoint = False  # the open transaction began with SAVEPOINT
        self._savepoints_made = 0
        self.timeout = timeout
        self._txn: Transaction | None = None
        self._explicit = False
        self._pinned: Any = None  # an explicit transaction's snapshot, taken at its first read
        self._depth = 0
        self._lock = threading.RLock()
        self._closed = False
        # CREATE TEMP VIEW: name (lower case) -> (name, SQL, columns), for this connection only
        self.temp_views: dict[str, tuple[str, str, list[str]]] = {}
        self.temp_database: TemporaryTables | None = None  # CREATE TEMP TABLE's, made on first use
        self.query_cache: dict = {}  # the query layer's plans (query.cache)
        self.row_factory: Any = None  # sqlite3's: new cursors start with it (docdb.Row, or any callable)
        self.functions: Any = None  # this connection's own SQL functions (query.udf.Functions)
        self.total_changes = 0  # rows inserted, updated or deleted by this connection's SQL
        self.changes = 0  # ... by its latest INSERT, UPDATE or DELETE (SQL's changes())
        self.last_insert_rowid = 0  # the row id (or INTEGER PRIMARY KEY) its latest INSERT gave
        self.detect_types = 0  # sqlite3's PARSE_DECLTYPES | PARSE_COLNAMES (docdb.converters)
        self._tracer: Any = None

    # ----- the session the models read and write through ----------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("the connection is closed")

    def reading(self) -> Any:
        self._check_open()
        txn = self._txn
        if txn is not None:
            return txn
        if self._explicit:  # BEGIN: every read of the transaction sees its first read's snapshot
            if self._pinned is None:
                self._pinned = self._db.snapshot()
            return self._pinned
        return self._db.snapshot()

    @contextmanager
    def writing(self) -> Iterator[Transaction]:
        with self._lock:
            self._check_open()
            if self._txn is None:
                self._begin()
            txn = self._txn
            assert txn is not None
            self._depth += 1
            try:
                with txn.statement():
                    yield txn
            finally:
                self._depth -= 1
                if self.autocommit and not self._explicit and self._depth == 0:
                    self.commit()  # after a failure the statement is already undone: this ends it

    def _acquire_writer(self) -> None:
        if not self._db.acquire_writer(self.timeout):
            raise OperationalError(f"database is locked: process {self._db.writer_holder()} has been "
                                   f"writing for over {self.timeout} s")

    def _begin(self) -> None:
        self._acquire_writer()
        try:
            base = self._db.begin_write()
            pinned = self._pinned
            if pinned is not None and pinned.position != base.position:
                raise SerializationError(
                    "could not serialize: another connection or process committed after this "
                    "transaction's first read; roll back and run it again")
        except OSError as error:
            self._db.release_writer()
            raise OperationalError(f"disk I/O error: {error}") from error
        except BaseException:
            self._db.release_writer()
            raise
        self._txn = Transaction(self._db, base)

    def begin(self, deferred: bool = False) -> None:
        """Open a transaction explicitly (it lasts until commit or rollback, even in autocommit).
        It takes the writer lock now (SQL's BEGIN IMMEDIATE), or with ``deferred`` (SQL's BEGIN,
        BEGIN DEFERRED) at its first write; its reads all see the snapshot of its first read."""
        with self._lock:
            self._check_open()
            if self._explicit:
                raise ProgrammingError("a transaction is already open")
            self._explicit = True
            if self._txn is None and not deferred:
                try:
                    self._begin()
                except BaseException:
                    self._explicit = False
                    raise

    # ----- savepoints (SQL's SAVEPOINT, RELEASE, ROLLBACK TO, and a context manager) ----------

    def set_savepoint(self, name: str) -> None:
        """SAVEPOINT name: outside a transaction it begins one, which the RELEASE of this
        outermost savepoint commits (as in SQLite)."""
        with self._lock:
            self._check_open()
            if self._txn is None:
                self._begin()  # a savepoint writes (its undo marks): it holds the writer lock
                if not self._explicit:  # not inside a BEGIN: the savepoint is the transaction
                    self._explicit = True
                    self._opened_by_savepoint = True
            self._txn.savepoint(name)

    def _savepoint_txn(self, name: str) -> Transaction:
        self._check_open()
        if self._txn is None:
            raise OperationalError(f"no such savepoint: {name}")
        return self._txn

    def release_savepoint(self, name: str) -> None:
        with self._lock:
            txn = self._savepoint_txn(name)
            txn.release(name)
            if not txn.savepoints and self._opened_by_savepoint:
                self.commit()

    def rollback_to_savepoint(self, name: str) -> None:
        with self._lock:
            self._savepoint_txn(name).rollback_to(name)

    @contextmanager
    def savepoint(self, name: str | None = None) -> Iterator[Connection]:
        """``with conn.savepoint():`` -- the block's writes, or (if it raises) none of them, inside
        the current transaction (or a new one, committed at the end of the outermost block)."""
        name = name or f"_docdb_savepoint_{id(self)}_{self._savepoint_serial()}"
        self.set_savepoint(name)
        try:
            yield self
        except BaseException:
            if self._txn is not None and any(n == name for n, _ in self._txn.savepoints):
                self.rollback_to_savepoint(name)
                self.release_savepoint(name)
            raise
        self.release_savepoint(name)

    def _savepoint_serial(self) -> int:
        self._savepoints_made += 1
        return self._savepoints_made

    @property
    def in_transaction(self) -> bool:
        temp = self.temp_database
        return (self._explicit or self._txn is not None and self._txn.has_writes
                or temp is not None and temp.in_transaction)

    # ----- temporary tables -------------------------------------------------------------

    def temporary_database(self) -> TemporaryTables:
        """Where this connection's temporary tables live (made on first use): an in-memory
        database no other connection sees, committed and rolled back with this one and
        gone when it closes."""
        self._check_open()
        if self.temp_database is None:
            self.temp_database = TemporaryTables(self)
        return self.temp_database

    def catalogs(self) -> tuple[Any, Any]:
        """The catalogs a query plan depends on: the database's and the temporary tables'
        (None without any); a change to either makes new objects."""
        temp = self.temp_database
        return self.reading().catalog, temp.reading().catalog if temp is not None else None

    # ----- PEP 249 --------------------------------------------------------------------

    def commit(self) -> None:
        with self._lock:
            self._check_open()
            txn, self._txn, self._explicit, self._pinned = self._txn, None, False, None
            self._opened_by_savepoint = False
            if txn is None:
                if self.temp_database is not None:
                    self.temp_database.commit()
                return
            try:
                if txn.has_writes:
                    self._db.commit(txn.overlay, txn.catalog)
            except NotCommitted:
                txn.discard()
                raise
            finally:
                self._db.release_writer()
            if self.temp_database is not None:
                self.temp_database.commit()

    def rollback(self) -> None:
        with self._lock:
            self._check_open()
            txn, self._txn, self._explicit, self._pinned = self._txn, None, False, None
            self._opened_by_savepoint = False
            if txn is not None:
                txn.discard()
                self._db.release_writer()
            if self.temp_database is not None:
                self.temp_database.rollback()

    def close(self) -> None:
        """Roll back anything uncommitted and let go of the database; idempotent."""
        with self._lock:
            if self._closed:
                return
            self.rollback()
            self._closed = True
            _release(self._db)
            if self.temp_database is not None:
                self.temp_database.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    @property
    def path(self) -> str:
        return self._db.path

    @property
    def sync(self) -> str:
        """How commits reach the disk: "full", "normal" or "off" (``connect(sync=...)``)."""
        return self._db.sync

    # ----- the query language (PEP 249) ---------------------------------------------------

    def cursor(self) -> Any:
        from docdb.cursor import Cursor  # the query layer loads on first use, not with docdb

        self._check_open()
        return Cursor(self)

    def execute(self, sql: str, params: Any = ()) -> Any:
        """A new cursor that has run ``sql`` (sqlite3's shortcut)."""
        return self.cursor().execute(sql, params)

    def executemany(self, sql: str, seq_of_params: Any) -> Any:
        return self.cursor().executemany(sql, seq_of_params)

    def executescript(self, script: str) -> Any:
        return self.cursor().executescript(script)

    # ----- tables and collections -----------------------------------------------------

    def collection(self, name: str) -> Collection:
        return Collection(self, name)

    def __getitem__(self, name: str) -> Collection:
        return self.collection(name)

    def create_collection(self, name: str, engine: str | None = None, if_not_exists: bool = False
                          ) -> Collection:
        check_name(name, "collection")
        with self.writing() as txn:
            existing = txn.catalog.get(name)
            if existing is None or not if_not_exists or existing["kind"] != "collection":
                create_object(txn, name, "collection", engine or self.default_engine)
        return Collection(self, name)

    def create_table(self, name: str, columns: dict[str, str], primary_key: str | list[str] | None = None,
                     engine: str | None = None, if_not_exists: bool = False, autoincrement: bool = False,
                     checks: Any = None, foreign_keys: Any = None) -> Table:
        """A new table. An INTEGER primary key left out of an insert gets the largest + 1;
        with ``autoincrement`` it never reuses an id the table ever held (SQLite's rules).
        ``checks``: SQL expressions (a list, or a dict of name -> expression) every row must
        not make false. ``foreign_keys``: dicts of ``columns``, ``parent``, ``parent_columns``
        (default: the parent's primary key), ``on_delete``, ``on_update`` (NO ACTION,
        RESTRICT, CASCADE, SET NULL, SET DEFAULT) and ``name``. A column's definition may
        hold its own: ``"INTEGER REFERENCES p(id) ON DELETE CASCADE CHECK (b > 0)"``."""
        checks, foreign_keys = check_items(checks), list(foreign_keys or ())
        if isinstance(columns, dict) and any(_CONSTRAINED.search(str(spec)) for spec in columns.values()):
            from query.ddl import column_definitions  # the query layer reads SQL; loaded when needed
            columns, column_checks, column_keys = column_definitions(name, columns)
            checks, foreign_keys = [*column_checks, *checks], [*column_keys, *foreign_keys]
        with self.writing() as txn:
            existing = txn.catalog.get(name)
            if existing is None or not if_not_exists or existing["kind"] != "table":
                create_table(txn, name, columns, primary_key, engine or self.default_engine, autoincrement,
                             checks, foreign_keys)
        return Table(self, name)

    def table(self, name: str) -> Table:
        self.reading().catalog.require(name, "table")
        return Table(self, name)

    def tables(self) -> list[str]:
        return self.reading().catalog.names("table")

    def collections(self) -> list[str]:
        return self.reading().catalog.names("collection")

    def create_view(self, name: str, sql: str, columns: list[str] | None = None) -> None:
        """Record a view: ``sql`` is a SELECT that ``conn.execute`` will plan where the view
        is read (the query layer checks it before it gets here)."""
        check_name(name, "view")
        with self.writing() as txn:
            create_view(txn, name, sql, list(columns or ()))

    def rename(self, name: str, new_name: str) -> None:
        """Give the table, collection or view ``name`` another name; its data stays."""
        with self.writing() as txn:
            rename_object(txn, txn.catalog.require_any(name), new_name)

    def views(self) -> list[str]:
        return self.reading().catalog.names("view")

    def drop(self, name: str, if_exists: bool = False) -> None:
        """Drop the table, collection or view ``name``, its data and its indexes."""
        with self.writing() as txn:
            entry = txn.catalog.get(name)
            if entry is None:
                if if_exists:
                    return
                raise ProgrammingError(f"no table or collection named {name!r}")
            children = [child for child, _ in txn.catalog.referencing(entry["name"])]
            if any(child.lower() != entry["name"].lower() for child in children):
                Table(self, entry["name"]).delete_all()  # as SQLite: the children's keys answer first
            drop_object(txn, entry)

    def flush(self) -> None:
        """Fsync the log: every commit so far survives a power loss."""
        self._check_open()
        self._db.flush()

    # ----- looking at the database and keeping it small -----------------------------------

    def describe(self, name: str) -> dict[str, Any]:
        """What ``name`` is: ``kind``, ``engine``, ``indexes`` (name -> ``fields``, ``unique``);
        a table's ``columns`` (name -> declaration) and ``primary_key``; a view's ``sql``."""
        return describe(self.reading().catalog.require_any(name))

    def stats(self) -> dict[str, Any]:
        """The database's size: ``objects`` (per table and collection: ``entries``, ``indexes``,
        ``disk_bytes``, ``dead_bytes`` -- what ``compact`` can give back), ``log_bytes`` and
        ``disk_bytes`` (the whole directory), ``checkpoint_error`` (why the last automatic
        checkpoint failed -- the commits stay in the log -- or None), ``row_cache`` (the
        decoded rows full scans keep for the next: ``capacity_rows`` -- ``cache_size`` --
        ``rows`` held, ``stores`` holding them, ``hits`` and ``misses``)."""
        self._check_open()
        with self._lock:
            objects = object_stats(self._db.stores, self.reading().catalog.entries(), self._db.logged_keys)
        log = self._db.log
        return {"path": self.path, "objects": objects, "log_bytes": log.size if log is not None else 0,
                "disk_bytes": tree_bytes(self.path) if not self._db.memory else 0,
                "checkpoint_error": self._db.checkpoint_error, "row_cache": self._db.row_cache.stats()}

    def check(self) -> list[dict[str, Any]]:
        """Every problem in the database's committed state: damaged records, blocks or log,
        rows or documents that do not decode, index entries missing or left over (see
        ``docdb.models.check``); each a dict of ``object``, ``store``, ``where``, ``problem``.
        An empty list: the database is sound. It only reads."""
        self._check_open()

        def records(entry: dict) -> tuple[Any, Any]:
            if entry["kind"] == "table":
                return Table(self, entry["name"]).record_reader(entry)
            return document_reader()

        return check_database(self._db, self._db.snapshot(), records)

    def salvage(self, name: str) -> tuple[list, dict[str, Any] | None]:
        """What can still be read of table or collection ``name`` (rows as value tuples in
        column order, or documents), and what was lost, for ``docdb repair``
        (``docdb.models.repair.salvage``)."""
        self._check_open()
        snapshot = self._db.snapshot()
        entry = snapshot.catalog.require_any(name)
        decode = Table(self, entry["name"]).record_reader(entry)[0] if entry["kind"] == "table" \
            else document_reader()[0]
        return salvage(lambda reverse: snapshot.scan(entry["id"], reverse=reverse), decode)

    def compact(self) -> None:
        """Give back the room of overwritten and deleted data: every store is compacted (LSM)
        or merged (hash) now. It waits for the writer lock, as a transaction does."""
        with self._lock:
            self._check_open()
            if self._txn is not None:
                raise ProgrammingError("commit or roll back the open transaction before compacting")
            self._acquire_writer()
            try:
                self._db.compact()
            finally:
                self._db.release_writer()


class TemporaryTables(Connection):
    """A connection's temporary tables (CREATE TEMP TABLE): a private in-memory database
    whose transactions follow its owner's -- it autocommits when the owner does (outside
    an explicit transaction), and the owner's commit and rollback end it too. The query
    layer sends statements about a temporary table here (``query.ddl.owner``)."""

    def __init__(self, owner: Connection):
        super().__init__(Database(MEMORY, "off", memory=True), owner.default_engine, False, owner.timeout)
        self._owner = owner
        self.query_cache = owner.query_cache  # plans read both; ``catalogs`` keys them on both

    @property
    def autocommit(self) -> bool:  # type: ignore[override]
        return self._owner.autocommit and not self._owner._explicit

    @autocommit.setter
    def autocommit(self, _value: bool) -> None:
        pass  # always the owner's

    def catalogs(self) -> tuple[Any, Any]:
        return self._owner.catalogs()
