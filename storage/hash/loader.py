"""Rebuilding the keydir when a hash engine opens.

Segments are replayed oldest first. Each is read from its hint file where one
is valid (and only the bytes after what the hint covers are scanned), otherwise
scanned record by record with every checksum verified. A record that fails at
the very end of the newest segment is the torn tail of an interrupted write and
is cut off, as is a tail of zeros (preallocated space never written) in any
segment -- unless it lies before what ``flush`` last made durable; anything else
is corruption and opening fails with ``CorruptionError`` naming the file and
offset.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import os
from array import array

from storage.errors import CorruptionError
from storage.hash.hint import SegmentIndex, read_hint
from storage.hash.keydir import OFFSET_BITS, KeyDir, pack
from storage.hash.segment import SEGMENT_HEADER_SIZE, Segment
from storage.record import TOMBSTONE, TornTail, iter_records


def is_crash_tail(torn: TornTail, is_newest: bool, durable: int) -> bool:
    """Whether a segment's torn end is what a crash leaves rather than damage: zeros (space
    preallocated and never written) in any segment, or a last write cut short or never
    published in the newest -- and either only past ``durable``, the length the newest
    segment had when ``flush`` last made it durable (``storage.files.DurableMark``)."""
    return (torn.zero_fill or (is_newest and (torn.at_end or torn.unpublished))) and torn.offset >= durable


def index_segment(segment: Segment, is_newest: bool, repair: bool = True, durable: int = 0) -> SegmentIndex:
    """The segment's records as columns: from its hint if valid, else by reading them all."""
    hint = read_hint(segment.hint_path, segment.uid, segment.size)
    if hint is not None:
        return hint
    keys: list[bytes] = []
    offsets, sizes, flags = array("Q"), array("I"), bytearray()
    max_seq = 0
    # Read into bytes, not a map: an exception's traceback may keep views alive.
    data = os.pread(segment.fd, segment.size - SEGMENT_HEADER_SIZE, SEGMENT_HEADER_SIZE)
    damage = None
    try:
        for record in iter_records(data, 0, base=SEGMENT_HEADER_SIZE, values=False):
            keys.append(record.key)
            offsets.append(record.offset)
            sizes.append(record.size)
            flags.append(record.flags)
            max_seq = max(max_seq, record.seq)
    except TornTail as torn:
        damage = torn
    if damage is not None:
        if not is_crash_tail(damage, is_newest, durable):
            raise CorruptionError(damage.reason, segment.path, damage.bad_offset)
        segment.truncate(damage.offset, repair)
    return SegmentIndex(keys, offsets, sizes, bytes(flags), max_seq, segment.size)


def replay(keydir: KeyDir, segment: Segment, index: SegmentIndex) -> None:
    """Apply one segment's records to the keydir, newest segment last."""
    file_no = segment.file_no
    if not any(f & TOMBSTONE for f in index.flags):
        base = file_no << OFFSET_BITS
        locs = array("Q", [base | off for off in index.offsets])
        if keydir.load_sorted(index.keys, locs, index.sizes):
            return
    put, remove = keydir.put, keydir.remove
    for key, offset, size, flag in zip(index.keys, index.offsets, index.sizes, index.flags):
        if flag & TOMBSTONE:
            remove(key)
        else:
            put(key, pack(file_no, offset, size))
