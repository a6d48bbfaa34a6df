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

from storage.errors import DocDBError

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
