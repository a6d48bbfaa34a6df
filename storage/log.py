"""A log of framed records (``storage.record``) appended with ``os.write``.

One batch, one write: for a log that other processes read as it grows (docdb's
transaction log, ``docdb.models.txlog``), where the LSM engine's preallocated, memory-
mapped log (``storage.lsm.wal.MappedLog``) would show a tail of zeros that looks like a
write in progress. A batch is atomic across a crash (the CONTINUED flag); ``replay``
in ``storage.lsm.wal`` and ``storage.record.iter_records`` read it back.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import os

from storage.errors import StorageError
from storage.files import write_all


class WriteAheadLog:
    def __init__(self, path: str):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self.fd).st_size
        self.synced = self.size

    def append(self, data: bytes) -> None:
        """Write whole records; a failed write is cut back so no partial record stays."""
        offset = self.size
        try:
            write_all(self.fd, data)
        except OSError as error:
            os.ftruncate(self.fd, offset)
            raise StorageError(f"could not append to {self.path!r}: {error}") from error
        self.size = offset + len(data)

    def sync(self) -> None:
        size = self.size
        os.fdatasync(self.fd)
        self.synced = size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
