"""The storage layer's exceptions, and the root of docdb's whole error hierarchy.

The root lives here, in the lowest layer, because ``storage`` may import nothing
of docdb's; the public API (``docdb.errors``) re-exports it and builds the PEP 249
classes on top. Each class names one thing a caller can act on differently.
May import: the standard library only.
"""

__all__ = [
    "DocDBError",
    "StorageError",
    "CorruptionError",
    "LockedError",
    "FormatError",
    "ClosedError",
]


class DocDBError(Exception):
    """Root of every error docdb raises on purpose."""


class StorageError(DocDBError):
    """Something went wrong below the data models: files, locks, formats."""


class CorruptionError(StorageError):
    """Bytes on disk fail their checksum or framing; never served as data.

    ``path`` and ``offset`` say where, so an operator can inspect the file.
    """

    def __init__(self, message: str, path: str | None = None, offset: int | None = None):
        where = ""
        if path is not None:
            where = f" ({path}" + (f" at offset {offset}" if offset is not None else "") + ")"
        super().__init__(message + where)
        self.reason = message  # what is wrong, without where
        self.path = path
        self.offset = offset


class LockedError(StorageError):
    """Another process (or another open in this one) owns the engine directory."""


class FormatError(StorageError):
    """The path holds something that is not this engine's files, or a newer format."""


class ClosedError(StorageError):
    """The engine was closed; reopen it with ``storage.open``."""
