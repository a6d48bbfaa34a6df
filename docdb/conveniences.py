"""sqlite3's conveniences on a connection, apart from its transactions and objects.

``Connection`` inherits them: ``isolation_level``, ``create_function``,
``create_aggregate``, ``set_trace_callback``, ``user_version``, ``backup`` and
``iterdump`` -- what a sqlite3 user reaches for, each a thin door to the module that
does the work (the query layer for functions, ``docdb.backup``, ``docdb.dump``).
May import: the standard library and ``docdb``'s models (the query layer only inside
methods, as ``Connection.cursor`` does).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from docdb.errors import OperationalError, ProgrammingError
from docdb.models.catalog import SYSTEM, USER_VERSION_KEY

__all__ = ["Sqlite3Conveniences"]


class Sqlite3Conveniences:
    """Mixed into ``docdb.connection.Connection``; it provides ``autocommit``, ``_txn``,
    ``commit``, ``reading``, ``writing``, ``path`` and ``_check_open``."""

    autocommit: bool
    _isolation: str
    _tracer: Any
    _txn: Any

    @property
    def isolation_level(self) -> str | None:
        """sqlite3's switch: ``None`` is autocommit (each statement commits); ``""`` (or
        ``"DEFERRED"``, ``"IMMEDIATE"``, ``"EXCLUSIVE"``: docdb has one kind of transaction)
        opens a transaction at the first write, kept until ``commit()``."""
        return None if self.autocommit else self._isolation

    @isolation_level.setter
    def isolation_level(self, level: str | None) -> None:
        if level is not None and (not isinstance(level, str)
                                  or level.upper() not in ("", "DEFERRED", "IMMEDIATE", "EXCLUSIVE")):
            raise ValueError(f"isolation_level must be None, '', 'DEFERRED', 'IMMEDIATE' or 'EXCLUSIVE', "
                             f"not {level!r}")
        if level is None and self._txn is not None:
            self.commit()  # as sqlite3: switching to autocommit commits what is pending
        self.autocommit = level is None
        self._isolation = level.upper() if level is not None else ""

    def create_function(self, name: str, narg: int, func: Any, *, deterministic: bool = False) -> None:
        """Make ``func`` callable as ``name(...)`` in this connection's SQL, with ``narg``
        arguments (-1: any number), as sqlite3's; ``func=None`` removes it. NULL arrives as
        None; an exception in ``func`` is an ``OperationalError`` naming it."""
        from docdb.cursor import add_function  # the query layer loads on first use

        self._check_open()
        add_function(self, name, narg, func)

    def create_aggregate(self, name: str, narg: int, aggregate_class: Any) -> None:
        """An aggregate ``name(...)`` for this connection's SQL: a new ``aggregate_class()`` per
        group, ``step(*values)`` per row, ``finalize()`` for the result, as sqlite3's."""
        from docdb.cursor import add_aggregate

        self._check_open()
        add_aggregate(self, name, narg, aggregate_class)

    def create_collation(self, name: str, callable: Any) -> None:  # noqa: A002 - sqlite3's name
        """``COLLATE name`` in this connection's SQL compares text by ``callable(a, b)``: negative,
        zero or positive, as sqlite3's; ``callable=None`` removes it."""
        from docdb.cursor import add_collation

        self._check_open()
        add_collation(self, name, callable)

    def set_trace_callback(self, callback: Any) -> None:
        """Call ``callback(sql)`` with the text of each statement before it runs (None: stop)."""
        self._tracer = callback

    def _trace(self, sql: str) -> None:
        if self._tracer is not None:
            self._tracer(sql)

    @property
    def user_version(self) -> int:
        """A number kept in the database for its user (SQLite's ``PRAGMA user_version``),
        0 until set: migrations record the schema version here."""
        raw = self.reading().get(SYSTEM, USER_VERSION_KEY)
        return int(raw) if raw is not None else 0

    @user_version.setter
    def user_version(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProgrammingError(f"user_version is an integer, not {value!r}")
        with self.writing() as txn:
            txn.put(SYSTEM, USER_VERSION_KEY, str(value).encode())

    def backup(self, target: Any, *, pages: int = -1, progress: Any = None, name: str = "main",
               sleep: float = 0.25) -> None:
        """Copy this whole database into ``target`` (another connection), replacing what it
        held, in one transaction of the target, as sqlite3's ``backup``; ``progress(status,
        remaining, total)`` after each table or collection. ``pages`` and ``sleep`` are
        accepted for sqlite3's sake: the copy is made in one go."""
        from docdb.backup import backup

        self._check_open()
        if name != "main":
            raise OperationalError(f"unknown database {name}: docdb has one, called main")
        backup(self, target, progress)

    def iterdump(self) -> Iterator[str]:
        """The statements that recreate the database (DDL, data, indexes, views), as sqlite3's."""
        from docdb.dump import iterdump

        return iterdump(self)
