"""The write-ahead log: every write reaches it before the memtable.

Records are framed by ``storage.record``; one batch is its records written by
one ``os.write``, so a batch is atomic across a crash (the CONTINUED flag).
A log is named ``<number>.log``; the manifest says which numbers are still
needed. On replay, a torn tail of the newest log (a write the crash cut short)
is truncated; damage anywhere else raises ``CorruptionError`` with file and
offset.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from storage.errors import CorruptionError, StorageError
from storage.files import write_all
from storage.record import TOMBSTONE, Record, TornTail, iter_records


def log_name(number: int) -> str:
    return f"{number:06d}.log"


class WriteAheadLog:
    def __init__(self, path: str):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self.fd).st_size
        self.synced = self.size
        self.epoch = 0  # counts resets, so a background fsync of the old content is not trusted

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

    def reset(self) -> None:
        """Empty the log durably, to be written again from the start (the caller holds the lock)."""
        os.ftruncate(self.fd, 0)
        os.fsync(self.fd)
        self.size = self.synced = 0
        self.epoch += 1

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def replay(path: str, is_newest: bool, repair: bool = True, durable: int = 0) -> Iterator[Record]:
    """The committed records of the log at ``path``; cuts a torn tail off the newest (only
    stops before it when not ``repair``: a read-only open changes no file) -- if the tail
    lies past ``durable``, what ``flush`` last made durable; before it, it is damage."""
    with open(path, "rb") as f:
        data = f.read()
    damage = None
    try:
        yield from iter_records(data, 0)
    except TornTail as torn:
        damage = torn
    if damage is not None:
        if not ((damage.zero_fill or (is_newest and damage.at_end)) and damage.offset >= durable):
            raise CorruptionError(damage.reason, path, damage.bad_offset)
        if not repair:
            return
        with open(path, "r+b") as f:
            f.truncate(damage.offset)
            os.fsync(f.fileno())


def value_of_record(record: Record) -> bytes | None:
    return None if record.flags & TOMBSTONE else record.value
