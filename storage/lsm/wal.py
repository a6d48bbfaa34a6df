"""The LSM engine's write-ahead log (``MappedLog``) and the replay of a log.

Every write reaches the log before the memtable, through a shared memory map (see the
class). A log is named ``<number>.log``; the manifest says which numbers are still
needed. (``storage.log.WriteAheadLog`` is the other log, appended with ``os.write``.)
A batch is atomic across a crash (the CONTINUED flag). On replay, a torn tail
of the newest log (a write the crash cut short) is truncated; damage anywhere else
raises ``CorruptionError`` with file and offset.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator

from storage.errors import CorruptionError, StorageError
from storage.files import preallocate
from storage.record import PUBLISH_BYTES, Record, TornTail, iter_records


def log_name(number: int) -> str:
    return f"{number:06d}.log"


class MappedLog:
    """The LSM engine's own log, written through a shared memory map, as the hash engine
    writes its segments (``storage.hash.segment``): an append is a ``memcpy`` into the
    page cache -- no system call per write -- so it survives a crash of the process as an
    ``os.write`` would. The file grows ahead of the writes by ``posix_fallocate`` (a full
    disk is an error then, never a ``SIGBUS`` in a write), and ``close`` trims the zeros
    past the last record; after a crash they are a zero tail, which ``replay`` cuts.
    A batch is published by its first 4 bytes, stored last: a kill in the middle of the
    copy leaves them zero, and the batch is a torn tail. ``sync`` is ``fdatasync``,
    which on Linux writes the pages dirtied through the map too. Same interface as
    ``WriteAheadLog``, but for ``append_parts``."""

    GROW_BYTES = 1 << 20

    def __init__(self, path: str):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self.size = self.allocated = os.fstat(self.fd).st_size
        self.synced = self.size
        self._map: mmap.mmap | None = None

    def append_parts(self, head: bytes | memoryview, body: bytes | memoryview) -> None:
        """``append`` of ``head + body``, where ``head`` is the first record's crc32."""
        offset = self.size
        start = offset + PUBLISH_BYTES
        end = start + len(body)
        if end > self.allocated or self._map is None:
            self._grow(end)
        mm = self._map
        mm[start:end] = body  # type: ignore[index]
        mm[offset:start] = head  # type: ignore[index]  # published last
        self.size = end

    def _grow(self, end: int) -> None:
        target = max(end, self.allocated + self.GROW_BYTES)
        try:
            preallocate(self.fd, target)
        except OSError as error:
            raise StorageError(f"could not append to {self.path!r}: {error}") from error
        if self._map is not None:
            self._map.close()
        self.allocated = target
        self._map = mmap.mmap(self.fd, target)

    def sync(self) -> None:
        size = self.size
        os.fdatasync(self.fd)
        self.synced = size

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self.fd >= 0:
            try:
                if self.allocated > self.size:
                    os.ftruncate(self.fd, self.size)  # the zeros past the last record
            finally:
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
        crash_tail = damage.zero_fill or (is_newest and (damage.at_end or damage.unpublished))
        if not (crash_tail and damage.offset >= durable):
            raise CorruptionError(damage.reason, path, damage.bad_offset)
        if not repair:
            return
        with open(path, "r+b") as f:
            f.truncate(damage.offset)
            os.fsync(f.fileno())
