"""The keydir saved at a clean close, so the next open loads it instead of rebuilding it.

Rebuilding the keydir reads every segment's hint file or, for segments without
one (the active segment, and every segment a merge has not rewritten), every
record: about 2 s for a million keys. A clean close knows the whole keydir, so it
writes it to ``KEYDIR`` in key order, as columns, beside the list of segments it
describes (place, uid and exact length of each). The next open loads it with a few
``frombytes`` calls and no Python work per key, after checking that the segments
on disk are exactly those: same places, same uids, same lengths. Any write appends
to a segment (its length changes) and any merge replaces segments (their uids
change), so a saved keydir that still matches its segments is the keydir they
hold. A writable open removes the file as soon as it has read it anyway, so a
crash later never finds one; the open after a crash rebuilds from the segments.

A location is saved as ``position << 40 | offset``, where ``position`` is the
segment's rank in replay order -- which is the file number an open gives it.

Format (version 1), little-endian::

    magic     8 bytes  b"\\x89DocDBkd"
    version   u32      1
    max_seq   u64      highest record sequence number in the segments
    segments  u32      how many, then for each: seg_id u64, sub u32, uid u64, length u64
    count     u64      keys
    klens     count x u32
    locs      count x u64
    sizes     count x u32
    keys      concatenated
    crc32     u32      of everything before it

May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import os
import struct
from array import array
from typing import NamedTuple

from storage.columns import from_le, split, to_le
from storage.files import read_checked, write_checked

NAME = "KEYDIR"
MAGIC = b"\x89DocDBkd"
VERSION = 1
_HEAD = struct.Struct("<8sIQI")
_SEGMENT = struct.Struct("<QIQQ")
_COUNT = struct.Struct("<Q")

Place = tuple[int, int, int, int]  # seg_id, sub, uid, length


class SavedKeydir(NamedTuple):
    keys: list[bytes]
    locs: array  # 'Q': position << 40 | offset
    sizes: array  # 'I'
    max_seq: int


def save(directory: str, segments: list[Place], max_seq: int, keys: list[bytes],
         locs: array, sizes: array) -> None:
    """Write the keydir of ``segments`` (in replay order) atomically."""
    body = [_HEAD.pack(MAGIC, VERSION, max_seq, len(segments)),
            *(_SEGMENT.pack(*place) for place in segments),
            _COUNT.pack(len(keys)), to_le(array("I", map(len, keys))), to_le(locs), to_le(sizes),
            b"".join(keys)]
    write_checked(os.path.join(directory, NAME), body)


def load(directory: str, segments: list[Place]) -> SavedKeydir | None:
    """The saved keydir if there is one, intact, describing exactly ``segments``; else None
    (and the caller rebuilds the keydir from the segments, as it would without the file)."""
    raw = read_checked(os.path.join(directory, NAME))
    if raw is None:
        return None
    try:
        return _parse(raw, segments)
    except (struct.error, ValueError):  # a checksum that holds over lengths that do not
        return None


def _parse(raw: bytes, segments: list[Place]) -> SavedKeydir | None:
    magic, version, max_seq, n = _HEAD.unpack_from(raw)
    if magic != MAGIC or version != VERSION or n != len(segments):
        return None
    pos = _HEAD.size
    for place in segments:
        if _SEGMENT.unpack_from(raw, pos) != tuple(place):
            return None
        pos += _SEGMENT.size
    (count,) = _COUNT.unpack_from(raw, pos)
    pos += _COUNT.size
    view = memoryview(raw)
    columns = []
    for typecode, width in (("I", 4), ("Q", 8), ("I", 4)):
        columns.append(from_le(typecode, view[pos:pos + width * count]))
        pos += width * count
    klens, locs, sizes = columns
    if len(sizes) != count:
        return None
    keys, end = split(raw, klens, pos)
    if end != len(raw) - 4:
        return None
    return SavedKeydir(keys, locs, sizes, max_seq)


def remove(directory: str) -> None:
    try:
        os.unlink(os.path.join(directory, NAME))
    except FileNotFoundError:
        pass
