"""PEP 249 cursors: the query language reached through the DB-API.

``Cursor.execute(sql, params)`` parses the statement (cached by text), runs it
through ``query.executor`` and exposes the result the DB-API way: ``fetchone``,
``fetchmany``, ``fetchall``, iteration, ``description``, ``rowcount``,
``lastrowid``, ``arraysize``. Parameters are ``?`` (a sequence) or ``:name``
(a mapping); a dict or list binds as a whole JSON value. This module is the only
one of ``docdb`` that imports ``query``: the models below never see SQL.
May import: anything in docdb, ``query``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from itertools import islice
from typing import Any, Protocol

from docdb.adapters import PLAIN_TYPES, adapt
from docdb.converters import column_converters, converted
from docdb.errors import (
    InterfaceError,
    ProgrammingError,
    reraise,
)
from query import ast
from query.decltypes import declared_types
from query.executor import Result, execute, execute_many
from query.params import Slots, parameter_slots
from query.parser import parse, parse_one
from query.udf import BUILTINS, user_aggregate, user_collation, user_scalar


class Connection(Protocol):
    """What a cursor asks of its connection (``docdb.connection.Connection``, which makes
    cursors: naming the protocol here keeps the import one way)."""

    row_factory: Any
    detect_types: int
    total_changes: int
    changes: int
    last_insert_rowid: int
    _lock: Any

    def _check_open(self) -> None: ...

    def _trace(self, sql: str) -> None: ...

    def writing(self) -> AbstractContextManager[Any]: ...

__all__ = ["Cursor"]


def _params(params: Any, slots: Slots) -> Any:
    """The values to bind, checked against what the statement reads and adapted
    (``docdb.adapters``): a wrong count or a missing name is a ProgrammingError, as in sqlite3."""
    if params is None:
        params = ()
    if isinstance(params, Mapping):
        if slots.positions:
            raise ProgrammingError("the statement uses ? parameters: give a sequence, not a mapping")
        missing = sorted(slots.names - set(params))
        if missing:
            raise ProgrammingError(f"you did not supply a value for binding parameter :{missing[0]}")
        return {name: value if type(value := params[name]) in PLAIN_TYPES
                else adapt(value, f"parameter :{name}") for name in slots.names}
    if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
        raise ProgrammingError("parameters are a sequence (for ?) or a mapping (for :name), "
                               f"not {type(params).__name__}")
    if slots.names:
        raise ProgrammingError(f"the statement uses named parameters (:{min(slots.names)}): give a mapping")
    if len(params) != slots.positions:
        raise ProgrammingError(f"incorrect number of bindings supplied: the statement uses "
                               f"{slots.positions}, and there are {len(params)} supplied")
    # most values bind as they are: no error text is made for them on each execute
    return tuple(value if type(value) in PLAIN_TYPES else adapt(value, f"parameter {i}")
                 for i, value in enumerate(params, 1))


def run(conn: Any, statement: Any, params: Any) -> Result:
    """One statement, every failure a docdb error (a bug inside becomes InternalError); an
    INSERT, UPDATE or DELETE counts its rows in the connection's changes (as SQLite's
    changes(), total_changes() and last_insert_rowid() read them)."""
    try:
        result = execute(conn, statement, params)
    except Exception as error:
        reraise(error)
    _count(conn, statement, result)
    return result


def _count(conn: Any, statement: Any, result: Result) -> None:
    if isinstance(statement, (ast.Insert, ast.Update, ast.Delete)) and result.rowcount >= 0:
        conn.changes = result.rowcount
        conn.total_changes += result.rowcount
        if isinstance(statement, ast.Insert) and isinstance(result.lastrowid, int):
            conn.last_insert_rowid = result.lastrowid


def drain(rows: Iterator[Any]) -> None:
    """Run a statement's rows to the end, its failures docdb errors."""
    try:
        for _ in rows:
            pass
    except Exception as error:
        reraise(error)


def add_function(conn: Any, name: str, narg: int, func: Any) -> None:
    """``conn.create_function``: ``func`` callable as ``name(...)`` in this connection's
    statements (``func=None`` removes it); plans already made are dropped."""
    functions = conn.functions or BUILTINS
    conn.functions = functions.without_scalar(str(name)) if func is None else \
        functions.with_scalar(user_scalar(name, narg, func))
    conn.query_cache.clear()


def add_aggregate(conn: Any, name: str, narg: int, aggregate_class: Any) -> None:
    """``conn.create_aggregate``: a class with ``step(*values)`` and ``finalize()``."""
    conn.functions = (conn.functions or BUILTINS).with_aggregate(
        str(name).lower(), user_aggregate(name, narg, aggregate_class))
    conn.query_cache.clear()


def add_collation(conn: Any, name: str, compare: Any) -> None:
    """``conn.create_collation``: ``COLLATE name`` compares text by ``compare(a, b)``."""
    fold = None if compare is None else user_collation(name, compare)
    conn.functions = (conn.functions or BUILTINS).with_collation(str(name), fold)
    conn.query_cache.clear()


class Cursor:
    arraysize = 1

    def __init__(self, connection: Connection):
        self.connection = connection
        self._result: Result | None = None
        self._rows: Iterator[tuple] = iter(())
        self.description: tuple | None = None
        self.rowcount = -1
        self.lastrowid: Any = None
        self._closed = False
        # sqlite3's: a callable (cursor, row tuple) -> row, applied as rows are fetched
        self.row_factory: Any = connection.row_factory

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        self.connection._check_open()

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        self._check()
        self.connection._trace(sql)
        statement = parse_one(sql)
        bound = _params(params, parameter_slots(statement))
        with self.connection._lock:
            result = run(self.connection, statement, bound)
        self._take(result, statement)
        return self

    def executemany(self, sql: str, seq_of_params: Any) -> Cursor:
        self._check()
        self.connection._trace(sql)
        statement = parse_one(sql)
        slots = parameter_slots(statement)
        total = 0
        last = None
        with self.connection.writing():  # all of them, or (if one fails) none
            try:  # an INSERT of one row of values: planned once, its rows written in one loop
                batched = execute_many(self.connection, statement, (_params(p, slots) for p in seq_of_params))
            except Exception as error:
                reraise(error)
            if batched is not None:
                _count(self.connection, statement, batched)
                self._take(batched)
                return self
            for params in seq_of_params:
                result = run(self.connection, statement, _params(params, slots))
                drain(result.rows)
                total += max(result.rowcount, 0)
                last = result.lastrowid if result.lastrowid is not None else last
        self._take(Result(None, iter(()), total, last))
        return self

    def executescript(self, script: str) -> Cursor:
        self._check()
        self.connection._trace(script)
        for statement in parse(script):
            result = run(self.connection, statement, ())
            drain(result.rows)
        self._take(Result())
        return self

    def _take(self, result: Result, statement: Any = None) -> None:
        self._result = result
        self._rows = iter(result.rows)
        self.rowcount = result.rowcount
        if result.lastrowid is not None:
            self.lastrowid = result.lastrowid
        names = result.columns
        if names is not None and self.connection.detect_types:  # sqlite3's converters
            conn = self.connection
            names, converters = column_converters(conn.detect_types, names,
                                                  lambda: declared_types(conn, statement, len(names)))
            if any(converters):
                self._rows = converted(self._rows, converters)
        self.description = None if names is None else tuple(
            (name, None, None, None, None, None, None) for name in names)

    def _shaped(self, rows: Iterable[tuple]) -> Iterable[Any]:
        factory = self.row_factory
        return rows if factory is None else (factory(self, row) for row in rows)

    # The rows are read inside ``try``: a plan streams them, so a failure of the statement
    # may surface here, and it must be a docdb error as it would be in ``execute``. A
    # ``row_factory`` is the caller's code, applied outside: its exceptions stay its own.

    def fetchone(self) -> Any:
        self._check()
        try:
            row = next(self._rows, None)
        except Exception as error:
            reraise(error)
        return row if row is None or self.row_factory is None else self.row_factory(self, row)

    def fetchmany(self, size: int | None = None) -> list:
        self._check()
        count = self.arraysize if size is None else size
        try:
            rows = list(islice(self._rows, max(count, 0)))
        except Exception as error:
            reraise(error)
        return list(self._shaped(rows))

    def fetchall(self) -> list:
        self._check()
        try:
            rows = list(self._rows)
        except Exception as error:
            reraise(error)
        return rows if self.row_factory is None else list(self._shaped(rows))

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        self._check()
        try:
            row = next(self._rows)
        except StopIteration:
            raise
        except Exception as error:
            reraise(error)
        return row if self.row_factory is None else self.row_factory(self, row)

    def close(self) -> None:
        self._closed = True
        self._rows = iter(())

    def setinputsizes(self, sizes: Any) -> None:
        """PEP 249: may do nothing; docdb needs no size hints."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """PEP 249: may do nothing; docdb needs no size hints."""
