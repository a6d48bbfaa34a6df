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

from storage.errors import CorruptionError, FormatError, StorageError
from storage.files import TEMP_SUFFIX, preallocate, write_all
from storage.record import PUBLISH_BYTES

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
    """One open segment file: appends and reads go through a shared memory map.

    Writing a record is a ``memcpy`` into a ``MAP_SHARED`` map of the file: the
    bytes are in the kernel's page cache when ``append`` returns, so they
    survive a crash of the process exactly as an ``os.write`` would, without a
    system call per record. A write is published by its first 4 bytes, stored
    last (see ``append`` and ``storage.record.PUBLISH_BYTES``). The file grows ahead of the writes by
    ``posix_fallocate`` in steps of ``GROW_BYTES`` (so a full disk is an
    ``OSError`` at growth time, never a ``SIGBUS`` in a write), and ``seal``
    trims the unused tail when the segment stops being the active one. After a
    crash that tail is zeros, which no record can start with: the loader cuts it.

    ``pins`` counts open scans that may still read it; a merge that retires a
    segment unlinks the file at once but closes the descriptor only when the
    last pin goes, so a scan keeps reading its snapshot. A remap never closes
    the previous map: a reader still holding it keeps it alive.
    """

    GROW_BYTES = 1 << 20

    def __init__(self, path: str, seg_id: int, sub: int, fd: int, uid: int, size: int):
        self.path = path
        self.seg_id = seg_id
        self.sub = sub
        self.fd = fd
        self.uid = uid
        self.size = size  # bytes of header and records
        self.allocated = size  # bytes of the file, zeros past ``size``
        self.file_no = -1  # assigned by the engine's file table
        self.packed_base = 0  # file_no in a keydir location (storage.hash.keydir.pack)
        self.synced = size  # bytes known to be on disk
        self.pins = 0
        self.retired = False
        self.mm: mmap.mmap | None = None  # writable while active, else read-only
        self.mapped = 0  # bytes the writable map covers; 0 when there is none

    @property
    def hint_path(self) -> str:
        return self.path[: -len(".seg")] + ".hint"

    @classmethod
    def create(cls, directory: str, seg_id: int, sub: int, path: str | None = None) -> Segment:
        """A new empty segment; ``path`` lets a merge write under a temp name first."""
        final = path or os.path.join(directory, segment_name(seg_id, sub))
        # Header first, under a temp name: a crash never leaves a headerless segment.
        building = final + TEMP_SUFFIX if not final.endswith(TEMP_SUFFIX) else final
        uid = int.from_bytes(os.urandom(8), "little")
        head = _HEADER.pack(MAGIC, VERSION, uid)
        fd = os.open(building, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            write_all(fd, head + struct.pack("<I", zlib.crc32(head)))
            os.fdatasync(fd)  # the header is on disk before the name: never a headerless segment
            if building != final:
                os.rename(building, final)
        except OSError as error:
            os.close(fd)
            os.unlink(building)
            raise StorageError(f"could not create {final!r}: {error}") from error
        return cls(final, seg_id, sub, fd, uid, SEGMENT_HEADER_SIZE)

    @classmethod
    def open(cls, directory: str, seg_id: int, sub: int, readonly: bool = False) -> Segment:
        path = os.path.join(directory, segment_name(seg_id, sub))
        fd = os.open(path, os.O_RDONLY if readonly else os.O_RDWR)
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

    def append(self, data: bytes, limit: int) -> int:
        """Copy whole records to the end; return where they start. Writers hold the lock.

        The file is preallocated up to ``limit`` (the rollover size) at most,
        unless ``data`` itself needs more.
        """
        return self.append_parts(data[:PUBLISH_BYTES], data[PUBLISH_BYTES:], limit)

    def append_parts(self, head: bytes, body: bytes, limit: int) -> int:
        """``append`` of ``head + body``, where ``head`` is the first record's crc32."""
        offset = self.size
        start = offset + PUBLISH_BYTES
        end = start + len(body)
        if end > self.mapped:
            self.grow(end, limit)
        mm = self.mm
        # Publish last: a memcpy may store its bytes in any order, so a kill in
        # the middle could leave any of them unwritten. The first record's
        # crc32 goes in last, as one store: until then it is zero, which marks
        # the write as never completed (storage.record.TornTail.unpublished).
        mm[start:end] = body  # type: ignore[index]
        mm[offset:start] = head  # type: ignore[index]
        self.size = end
        return offset

    def grow(self, end: int, limit: int) -> None:
        """Make the file and the writable map reach at least ``end`` bytes."""
        if end > self.allocated:
            target = max(end, min(self.allocated + self.GROW_BYTES, limit))
            try:
                preallocate(self.fd, target)
            except OSError as error:
                os.ftruncate(self.fd, self.allocated)
                raise StorageError(f"could not grow {self.path!r}: {error}") from error
            self.allocated = target
        self.mm = mmap.mmap(self.fd, self.allocated)
        self.mapped = self.allocated

    def seal(self) -> None:
        """No more appends: map read-only what was written, trim the preallocated rest."""
        self.map_for_reading()
        self.mapped = 0
        if self.allocated > self.size:
            os.ftruncate(self.fd, self.size)
            self.allocated = self.size

    def map_for_reading(self) -> None:
        """Give readers a read-only map of the records (a header-only file has none).

        Readers never create or replace maps themselves: they read ``mm`` once,
        so a map swapped under them stays valid for the slice they take.
        """
        if self.size > SEGMENT_HEADER_SIZE:
            self.mm = mmap.mmap(self.fd, self.size, access=mmap.ACCESS_READ)
        else:
            self.mm = None

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``, from the map (``pread`` if it has none)."""
        mm = self.mm
        if mm is not None:
            buf = mm[offset:offset + size]
            if len(buf) == size:
                return buf
        return os.pread(self.fd, size, offset)

    def truncate(self, size: int, repair: bool = True) -> None:
        """Cut a torn tail off (when opening: nobody reads it yet); without ``repair`` (a
        read-only open) only stop reading there, leaving the file as it is."""
        if not repair:
            self.size = self.allocated = size
            return
        self.mm, self.mapped = None, 0
        os.ftruncate(self.fd, size)
        os.fsync(self.fd)
        self.size = self.allocated = size

    def sync(self) -> None:
        """fsync; on Linux this also writes pages dirtied through the map."""
        size = self.size
        os.fdatasync(self.fd)
        self.synced = size

    def close(self) -> None:
        if self.mm is not None:
            self.mm.close()
            self.mm, self.mapped = None, 0
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def release(self) -> None:
        """Drop one pin; close a retired segment when nobody reads it any more."""
        self.pins -= 1
        if self.retired and self.pins <= 0:
            self.close()


__all__ = ["Segment", "segment_name", "parse_name", "SEGMENT_HEADER_SIZE"]
