"""Hint files: a segment's index, so reopening need not read every record.

A merge writes a hint file beside each segment it outputs (``<id>-<sub>.hint``),
listing every record's key, offset, size and flags in key order, which lets the
keydir load them without sorting. It is written once, atomically, and trusted
only if its checksum holds and it names the segment's uid and exact length
(merge outputs never grow): otherwise it is *stale* and the segment is read
instead -- except that a segment shorter than its intact hint says has lost
records, which is ``CorruptionError``.

Format (version 1), little-endian, laid out in columns so loading is a few
``array.frombytes`` calls rather than a loop per entry::

    magic    8 bytes  b"\\x89DocDBht"
    version  u32      1
    uid      u64      the segment's uid
    covered  u64      the length of the segment it describes
    count    u32      entries
    max_seq  u64      highest record sequence number among them
    klens    count x u32
    offsets  count x u64
    sizes    count x u32
    flags    count x u8
    keys     sum(klens) bytes, concatenated
    crc32    u32      of everything before it

May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import os
import struct
from array import array
from typing import NamedTuple

from storage.columns import from_le, split, to_le
from storage.errors import CorruptionError
from storage.files import read_checked, write_checked

MAGIC = b"\x89DocDBht"
VERSION = 1
_HEAD = struct.Struct("<8sIQQIQ")


class SegmentIndex(NamedTuple):
    """Columns describing a segment's records, from a hint file or a scan."""

    keys: list[bytes]
    offsets: array  # 'Q'
    sizes: array  # 'I'
    flags: bytes
    max_seq: int
    covered: int


def write_hint(path: str, uid: int, index: SegmentIndex) -> None:
    head = _HEAD.pack(MAGIC, VERSION, uid, index.covered, len(index.keys), index.max_seq)
    body = [
        head,
        to_le(array("I", map(len, index.keys))),
        to_le(index.offsets),
        to_le(index.sizes),
        bytes(index.flags),
        b"".join(index.keys),
    ]
    write_checked(path, body)


def read_hint(path: str, uid: int, segment_size: int) -> SegmentIndex | None:
    """The hint at ``path`` if present, intact and about this segment; else None."""
    raw = read_checked(path)
    if raw is None or len(raw) < _HEAD.size + 4:
        return None
    magic, version, hint_uid, covered, count, max_seq = _HEAD.unpack_from(raw)
    if magic == MAGIC and version == VERSION and hint_uid == uid and covered > segment_size:
        # merge outputs never shrink, and are on disk before their hint: records are gone
        raise CorruptionError(f"the segment is {segment_size} bytes; its hint file says {covered}",
                              path[: -len(".hint")] + ".seg", segment_size)
    if magic != MAGIC or version != VERSION or hint_uid != uid or covered != segment_size:
        return None
    view = memoryview(raw)
    pos = _HEAD.size
    columns = []
    for typecode, width in (("I", 4), ("Q", 8), ("I", 4)):
        columns.append(from_le(typecode, view[pos:pos + width * count]))
        pos += width * count
    klens, offsets, sizes = columns
    flags = bytes(view[pos:pos + count])
    pos += count
    keys, end = split(raw, klens, pos)
    if end != len(raw) - 4:
        return None
    return SegmentIndex(keys, offsets, sizes, flags, max_seq, covered)


def remove_hint(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
