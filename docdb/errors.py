"""docdb's public exceptions: the PEP 249 hierarchy, rooted in storage's ``DocDBError``.

``Error`` *is* ``storage.DocDBError``, so ``except docdb.Error`` also catches
what the storage layer raises; the API translates storage errors into these
classes where it knows better (a lock into ``OperationalError``...).

    Warning
    Error (= storage.DocDBError)
      InterfaceError
      DatabaseError
        DataError          a value of the wrong type or out of range
        OperationalError   locks, I/O, the database itself
        IntegrityError     a constraint: NOT NULL, UNIQUE, a primary key
        InternalError
        ProgrammingError   bad SQL, unknown names, misuse of the API
        NotSupportedError

May import: the standard library and ``storage.errors``.
"""

from __future__ import annotations

from typing import NoReturn

from storage.errors import CorruptionError, DocDBError, StorageError

__all__ = [
    "Warning",
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "SerializationError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "reraise",
    "translated",
]


class Warning(Exception):  # noqa: A001 - the name PEP 249 gives it
    """Important warnings, such as data truncation."""


Error = DocDBError


class InterfaceError(Error):
    """Misuse of the database interface rather than of the database."""


class DatabaseError(Error):
    """Errors that concern the database."""


class DataError(DatabaseError):
    """A value of the wrong type, or that cannot be stored."""


class OperationalError(DatabaseError):
    """The database could not do its work: a lock, a file, a resource."""


class SerializationError(OperationalError):
    """A transaction read a snapshot, and another connection or process committed before it
    could write (first committer wins): roll back and run it again."""


class IntegrityError(DatabaseError):
    """A constraint would be broken: NOT NULL, UNIQUE, a primary key."""


class InternalError(DatabaseError):
    """docdb found itself in a state it should never be in."""


class ProgrammingError(DatabaseError):
    """A mistake in the request: bad syntax, an unknown table or column, a bad definition."""


class NotSupportedError(DatabaseError):
    """Something docdb does not do."""


def reraise(error: Exception) -> NoReturn:
    """Raise ``error`` -- caught inside a statement, as it ran or as its rows were read -- as
    a PEP 249 error: a docdb error as it is, anything else as ``translated`` says."""
    if isinstance(error, Error) and not isinstance(error, StorageError):
        raise error
    raise translated(error) from error


def translated(error: Exception) -> Error:  # for a storage error, or an exception not an Error
    """The PEP 249 error to raise for an exception from inside a statement -- while it ran or
    while its rows were read: a plan streams its rows, so most of its work happens in the
    fetches. A bug becomes InternalError with its cause attached; the storage layer's own
    errors become their PEP 249 classes (damage, as sqlite3's "database disk image is
    malformed", a DatabaseError; the rest OperationalError)."""
    if isinstance(error, CorruptionError):
        return DatabaseError(f"the database is damaged: {error} ('docdb check' says where)")
    if isinstance(error, StorageError):
        return OperationalError(str(error))
    if isinstance(error, RecursionError):
        return ProgrammingError("statement nests too deeply to run")
    if isinstance(error, OSError):  # the disk failed under the statement, as sqlite3's "disk I/O error"
        return OperationalError(f"disk I/O error: {error}")
    return InternalError(f"internal error running the statement: {type(error).__name__}: {error}")
