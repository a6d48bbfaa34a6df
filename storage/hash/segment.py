"""Segment files of the hash engine: a header, then records framed by ``storage.record``.

File name ``<id>-<sub>.seg`` (``%010d-%04d``); segments are ordered by
``(id, sub)`` and records in later segments win. Writers append to the one
*active* segment, ``(id, 0)`` with the highest id. A merge of segments whose
highest id is ``h`` writes its output as ``(h, 1)``, ``(h, 2)``...: after the
inputs and before the active segment, so a crash that leaves inputs and outputs
side by side still replays to the same keydir.

Header (24 bytes, version 1)::

    magic    8 bytes  b"\\x89DocDBhs"
    version  u32      1
    uid      u64      random; hint files name it, so a hint for another
                      incarnation of the same file name is recognised as stale
    crc32    u32      of the 20 bytes before it

May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import zlib
from typing import NoReturn

from storage.errors import CorruptionError, FormatError, StorageError
from storage.record import HEADER_SIZE, Record, decode

MAGIC = b"\x89DocDBhs"
VERSION = 1
_HEADER = struct.Struct("<8sIQ")
SEGMENT_HEADER_SIZE = _HEADER.size + 4
_NAME = re.compile(r"^(\d{10})-(\d{4})\.(seg|hint)$")


def segment_name(seg_id: int, sub: int) -> str:
    return f"{seg_id:010d}-{sub:04d}.seg"


def parse_name(name: str) -> tuple[int, int, str] | None:
    """``(id, sub, "seg"|"hint")`` for a file this engine owns, else None."""
    m = _NAME.match(name)
    return (int(m.group(1)), int(m.group(2)), m.group(3)) if m else None


class Segment:
    """One open segment file. Reads are one ``os.pread`` and a checksum check.

    ``pins`` counts open scans that may still read it; a merge that retires a
    segment unlinks the file at once but closes the descriptor only when the
    last pin goes, so a scan keeps reading its snapshot.
    """

    def __init__(self, path: str, seg_id: int, sub: int, fd: int, uid: int, size: int):
        self.path = path
        self.seg_id = seg_id
        self.sub = sub
        self.fd = fd
        self.uid = uid
        self.size = size
        self.file_no = -1  # assigned by the engine's file table
        self.packed_base = 0  # file_no in a keydir location (storage.hash.keydir.pack)
        self.synced = size  # bytes known to be on disk
        self.pins = 0
        self.retired = False
        self._map: mmap.mmap | None = None
        self._mapped = 0  # bytes of the file the map covers

    @property
    def order(self) -> tuple[int, int]:
        return (self.seg_id, self.sub)

    @property
    def hint_path(self) -> str:
        return self.path[: -len(".seg")] + ".hint"

    @classmethod
    def create(cls, directory: str, seg_id: int, sub: int, path: str | None = None) -> Segment:
        """A new empty segment; ``path`` lets a merge write under a temp name first."""
        path = path or os.path.join(directory, segment_name(seg_id, sub))
        uid = int.from_bytes(os.urandom(8), "little")
        head = _HEADER.pack(MAGIC, VERSION, uid)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        os.write(fd, head + struct.pack("<I", zlib.crc32(head)))
        return cls(path, seg_id, sub, fd, uid, SEGMENT_HEADER_SIZE)

    @classmethod
    def open(cls, directory: str, seg_id: int, sub: int) -> Segment:
        path = os.path.join(directory, segment_name(seg_id, sub))
        fd = os.open(path, os.O_RDWR | os.O_APPEND)
        try:
            raw = os.pread(fd, SEGMENT_HEADER_SIZE, 0)
            magic, version, uid = _HEADER.unpack_from(raw.ljust(SEGMENT_HEADER_SIZE, b"\0"))
            if magic != MAGIC:
                raise FormatError(f"{path!r} is not a docdb hash segment")
            if len(raw) < SEGMENT_HEADER_SIZE or zlib.crc32(raw[:-4]) != int.from_bytes(raw[-4:], "little"):
                raise CorruptionError("segment header is damaged", path, 0)
            if version > VERSION:
                raise FormatError(f"{path!r} has segment format {version}; this docdb reads up to {VERSION}")
            size = os.fstat(fd).st_size
        except BaseException:
            os.close(fd)
            raise
        return cls(path, seg_id, sub, fd, uid, size)

    def append(self, data: bytes) -> int:
        """Write ``data`` at the end; return where it starts."""
        offset = self.size
        try:
            written = os.write(self.fd, data)
        except OSError as error:
            self.undo_append(offset, error)
        if written != len(data):
            self.finish_append(offset, data, written)
        self.size = offset + len(data)
        return offset

    def finish_append(self, offset: int, data: bytes, written: int) -> None:
        """Complete a short write: a record must never be left half on disk."""
        try:
            while written < len(data):
                written += os.write(self.fd, memoryview(data)[written:])
        except OSError as error:
            self.undo_append(offset, error)

    def undo_append(self, offset: int, error: OSError) -> NoReturn:
        """Cut the file back to ``offset`` after a failed write, then report it.

        Records appended later must not follow a partial one (that would read
        as corruption in the middle of the segment).
        """
        os.ftruncate(self.fd, offset)
        raise StorageError(f"could not append to {self.path!r}: {error}") from error

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``: from the memory map where it covers them.

        A slice of the map costs no system call; bytes appended since the map
        was made are read with ``pread`` until enough of them pile up to be
        worth a remap (``REMAP_BYTES``).
        """
        end = offset + size
        if end > self._mapped:
            if self.size - self._mapped < self.REMAP_BYTES:
                return os.pread(self.fd, size, offset)
            self._remap()
        return self._map[offset:end]  # type: ignore[index]

    REMAP_BYTES = 1 << 20

    def _remap(self) -> None:
        if self._map is not None:
            self._map.close()
        self._map = mmap.mmap(self.fd, self.size, access=mmap.ACCESS_READ)
        self._mapped = self.size

    def read_record(self, offset: int, size: int) -> Record:
        return decode(self.read(offset, size), self.path, offset)

    def map(self) -> mmap.mmap | None:
        """A read-only map of the whole file, for scanning it on open."""
        if self.size <= SEGMENT_HEADER_SIZE:
            return None
        return mmap.mmap(self.fd, self.size, access=mmap.ACCESS_READ)

    def truncate(self, size: int) -> None:
        self._unmap()
        os.ftruncate(self.fd, size)
        os.fsync(self.fd)
        self.size = size

    def sync(self) -> None:
        size = self.size
        os.fdatasync(self.fd)
        self.synced = size

    def _unmap(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map, self._mapped = None, 0

    def close(self) -> None:
        self._unmap()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def release(self) -> None:
        """Drop one pin; close a retired segment when nobody reads it any more."""
        self.pins -= 1
        if self.retired and self.pins <= 0:
            self.close()


__all__ = ["Segment", "segment_name", "parse_name", "SEGMENT_HEADER_SIZE", "HEADER_SIZE"]
