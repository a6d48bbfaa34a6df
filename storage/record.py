"""Record framing shared by the hash engine's segments and the LSM engine's write-ahead log.

Format (version 1), little-endian, one record per key write::

    crc32   u32   zlib.crc32 of every byte after this field (header rest + key + value)
    hcrc    u32   zlib.crc32 of the 17 bytes seq..vlen, so the lengths can be
                  trusted before the body is: a flipped bit in a length is then
                  damage, never mistaken for a record cut short by a crash
    seq     u64   engine-wide sequence number; larger is newer
    flags   u8    bit 0 TOMBSTONE (a delete; value is empty)
                  bit 1 CONTINUED (more records of the same atomic batch follow)
    klen    u32   key length in bytes
    vlen    u32   value length in bytes
    key     klen bytes
    value   vlen bytes

A write that is interrupted by a crash leaves zeros in its first
``PUBLISH_BYTES`` (the crc32 of its first record) when the writer stores those
last, as the hash engine's memory-mapped appends do: a reader that finds a bad
record whose crc32 is zero, and nothing after the batch it starts, knows it for
a write never finished, not for damage (see ``TornTail.unpublished``).

A lone write is one record with CONTINUED clear. A batch of n writes is n
records written with one ``write`` call, the first n-1 with CONTINUED set: a
reader applies records only when it reaches one with CONTINUED clear, so after a
crash a batch is either all there or, its tail torn off, dropped whole.

May import: the standard library and ``storage.errors``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import NamedTuple

from storage.errors import CorruptionError

HEADER = struct.Struct("<IIQBII")
HEADER_SIZE = HEADER.size  # 25
_FIELDS = struct.Struct("<QBII")
PUBLISH_BYTES = 4
_U32 = struct.Struct("<I")
TOMBSTONE = 0x01
CONTINUED = 0x02
_KNOWN_FLAGS = TOMBSTONE | CONTINUED

MAX_KEY = 64 * 1024
MAX_VALUE = 256 * 1024 * 1024


def encode_parts(seq: int, key: bytes, value: bytes | None, flags: int = 0) -> tuple[bytes, bytes]:
    """One framed record as (its crc32, everything after it); ``value=None`` is a tombstone.

    Split so that a writer can store the crc32 last (``PUBLISH_BYTES``)
    without copying the record to slice it.
    """
    if value is None:
        flags |= TOMBSTONE
        value = b""
    fields = _FIELDS.pack(seq, flags, len(key), len(value))
    body = _U32.pack(zlib.crc32(fields)) + fields + key + value
    return _U32.pack(zlib.crc32(body)), body


def encode(seq: int, key: bytes, value: bytes | None, flags: int = 0) -> bytes:
    """One framed record; ``value=None`` makes a tombstone."""
    crc, body = encode_parts(seq, key, value, flags)
    return crc + body


def encode_batch(first_seq: int, ops: list[tuple[bytes, bytes | None]]) -> list[bytes]:
    """Records for an atomic batch: all but the last carry CONTINUED."""
    last = len(ops) - 1
    return [
        encode(first_seq + i, key, value, 0 if i == last else CONTINUED)
        for i, (key, value) in enumerate(ops)
    ]


class Record(NamedTuple):
    offset: int
    size: int
    seq: int
    flags: int
    key: bytes
    value: bytes


def decode(buf: bytes | memoryview, path: str, offset: int) -> Record:
    """Decode and verify one whole record held in ``buf``; corruption raises."""
    if len(buf) < HEADER_SIZE:
        raise CorruptionError("record shorter than its header", path, offset)
    crc, _hcrc, seq, flags, klen, vlen = HEADER.unpack_from(buf, 0)
    size = HEADER_SIZE + klen + vlen
    if len(buf) < size or flags & ~_KNOWN_FLAGS:
        raise CorruptionError("record framing is damaged", path, offset)
    if zlib.crc32(memoryview(buf)[4:size]) != crc:
        raise CorruptionError("record checksum mismatch", path, offset)
    key = bytes(buf[HEADER_SIZE:HEADER_SIZE + klen])
    value = bytes(buf[HEADER_SIZE + klen:size])
    return Record(offset, size, seq, flags, key, value)


def value_of(buf: bytes, key: bytes, path: str, offset: int) -> bytes:
    """The value in ``buf``, which must be one whole, intact record of ``key``.

    The read path's check: cheaper than ``decode`` because it builds nothing
    it does not return, and it refuses a record of another key, so a keydir
    that pointed at the wrong place could never serve a wrong value.
    """
    if len(buf) < HEADER_SIZE:
        raise CorruptionError("record is cut short", path, offset)
    crc, _hcrc, _seq, flags, klen, vlen = HEADER.unpack_from(buf)
    start = HEADER_SIZE + klen
    body = buf[4:] if len(buf) < 8192 else memoryview(buf)[4:]  # copy when cheaper
    if zlib.crc32(body) != crc or start + vlen != len(buf) or flags & TOMBSTONE:
        raise CorruptionError("record checksum mismatch", path, offset)
    if buf[HEADER_SIZE:start] != key:
        raise CorruptionError("record holds another key than the index says", path, offset)
    return buf[start:]


class TornTail(Exception):
    """Raised by ``iter_records`` at the first record that does not decode.

    ``offset`` is where the good prefix ends (the start of the first record of an
    unfinished batch, or of the bad record), ``bad_offset`` where the bad record
    starts. ``at_end`` says whether the damage can be an interrupted final write:
    the record runs past the end, or only zeros follow the part of it that was
    written. ``zero_fill`` says everything from ``bad_offset`` on is zeros:
    space preallocated and never written. ``unpublished`` says the bad record's
    crc32 is zero and nothing follows its batch: a write whose publishing
    store never happened.
    """

    def __init__(self, offset: int, bad_offset: int, reason: str, at_end: bool,
                 zero_fill: bool = False, unpublished: bool = False):
        super().__init__(reason)
        self.offset = offset
        self.bad_offset = bad_offset
        self.reason = reason
        self.at_end = at_end
        self.zero_fill = zero_fill
        self.unpublished = unpublished


def _zeros(view: memoryview) -> bool:
    return not view.tobytes().strip(b"\x00")


def _unpublished(view: memoryview, pos: int, end: int) -> bool:
    """Is the bad record at ``pos`` the start of a write whose publishing store never ran?

    Its crc32 must be zero, and nothing but zeros may follow the batch it
    starts. The batch is followed through the headers whose own checksum
    (hcrc) holds; a header that fails it was itself cut short, so the write
    ends there. A record zeroed by damage in the middle of a segment is
    followed by more writes; an unfinished last write is not.
    """
    if not _zeros(view[pos:pos + PUBLISH_BYTES]):
        return False
    while pos + HEADER_SIZE <= end:
        _crc, hcrc, _seq, flags, klen, vlen = HEADER.unpack_from(view, pos)
        if zlib.crc32(view[pos + 8:pos + HEADER_SIZE]) != hcrc:
            return True
        pos += HEADER_SIZE + klen + vlen
        if not flags & CONTINUED:
            return pos >= end or _zeros(view[pos:end])
    return True


def iter_records(
    buf: bytes | memoryview, start: int, base: int = 0, values: bool = True
) -> Iterator[Record]:
    """Yield the verified records of ``buf[start:]``, grouped into committed batches.

    Records of a batch are yielded only once its last record has been verified.
    At the first bad or incomplete record, or at the end of ``buf`` inside a batch,
    ``TornTail`` is raised (``base`` is added to its offsets, for buffers that
    are a window onto a larger file). The caller decides whether that is a torn
    tail to truncate or corruption. With ``values=False`` the records carry an
    empty value (checksums are still verified), which is all an index rebuild needs.
    """
    view = memoryview(buf)
    end = len(view)
    pos = start
    committed = start
    pending: list[Record] = []

    def torn(reason: str, written_until: int) -> TornTail:
        """Damage at ``pos``; a crash could explain it if only zeros follow ``written_until``."""
        at_end = written_until >= end or _zeros(view[written_until:end])
        unpublished = _unpublished(view, pos, end)
        return TornTail(base + committed, base + pos, reason, at_end, _zeros(view[pos:end]),
                        unpublished)

    while pos < end:
        if end - pos < HEADER_SIZE:
            raise torn("incomplete record header", end)
        crc, hcrc, seq, flags, klen, vlen = HEADER.unpack_from(view, pos)
        if (zlib.crc32(view[pos + 8:pos + HEADER_SIZE]) != hcrc or flags & ~_KNOWN_FLAGS
                or klen == 0 or klen > MAX_KEY or vlen > MAX_VALUE):
            raise torn("record header is damaged", pos + HEADER_SIZE)
        size = HEADER_SIZE + klen + vlen
        if end - pos < size:
            raise torn("incomplete record", end)
        if zlib.crc32(view[pos + 4:pos + size]) != crc:
            raise torn("record checksum mismatch", pos + size)
        key = bytes(view[pos + HEADER_SIZE:pos + HEADER_SIZE + klen])
        value = bytes(view[pos + HEADER_SIZE + klen:pos + size]) if values else b""
        pending.append(Record(base + pos, size, seq, flags, key, value))
        pos += size
        if not flags & CONTINUED:
            yield from pending
            pending.clear()
            committed = pos
    if pending:
        raise TornTail(base + committed, base + committed, "batch without its final record", True)


def value_of_record(record: Record) -> bytes | None:
    """The value a replayed record stands for: None for a delete."""
    return None if record.flags & TOMBSTONE else record.value
