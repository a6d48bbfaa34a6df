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
import zlib
from array import array

from storage.errors import CorruptionError
from storage.hash.hint import SegmentIndex, read_hint
from storage.hash.keydir import OFFSET_BITS, KeyDir
from storage.hash.segment import SEGMENT_HEADER_SIZE, Segment
from storage.record import (
    _KNOWN_FLAGS,
    CONTINUED,
    HEADER,
    HEADER_SIZE,
    MAX_KEY,
    MAX_VALUE,
    TOMBSTONE,
    TornTail,
    iter_records,
)

_TOMBSTONE_FLAGS = frozenset({TOMBSTONE, TOMBSTONE | CONTINUED})  # every flags byte a delete has


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
    # Read into bytes, not a map: an exception's traceback may keep views alive.
    data = os.pread(segment.fd, segment.size - SEGMENT_HEADER_SIZE, SEGMENT_HEADER_SIZE)
    done, max_seq = _index_sound(data, keys, offsets, sizes, flags)
    damage = None
    try:  # what the fast loop stopped at: the end, or a batch iter_records judges
        for record in iter_records(data, done, base=SEGMENT_HEADER_SIZE, values=False):
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


def _index_sound(data: bytes, keys: list[bytes], offsets: array, sizes: array,
                 flags: bytearray) -> tuple[int, int]:
    """Index the whole, intact batches at the start of ``data`` (a segment's records) into
    the columns, in one tight loop: no record objects, no generator, one checksum per
    record. Returns where it stopped -- the end of ``data``, or the start of the first
    batch it could not vouch for, which ``iter_records`` then reads and judges (a torn
    tail or damage, with the offsets a ``TornTail`` names) -- and the largest sequence
    number indexed. A record's checksum covers its header too, so a header that lies
    about its lengths fails it (or points past the end), and the loop stops there.
    """
    unpack, crc32 = HEADER.unpack_from, zlib.crc32
    end, pos, max_seq, batch_max = len(data), 0, 0, 0
    done, indexed = 0, 0  # the end of the last whole batch, and how many records it closed
    while pos + HEADER_SIZE <= end:
        crc, _hcrc, seq, flag, klen, vlen = unpack(data, pos)
        size = HEADER_SIZE + klen + vlen
        if (flag & ~_KNOWN_FLAGS or not 0 < klen <= MAX_KEY or vlen > MAX_VALUE or pos + size > end
                or crc32(data[pos + 4:pos + size]) != crc):
            break
        keys.append(data[pos + HEADER_SIZE:pos + HEADER_SIZE + klen])
        offsets.append(SEGMENT_HEADER_SIZE + pos)
        sizes.append(size)
        flags.append(flag)
        if seq > batch_max:
            batch_max = seq
        pos += size
        if not flag & CONTINUED:
            done, indexed, max_seq = pos, len(keys), batch_max
    del keys[indexed:], offsets[indexed:], sizes[indexed:], flags[indexed:]
    return done, max_seq


class Replay:
    """Segments' records applied oldest first to one dict, the keydir filled from it once.

    A dict store per record is the cheapest way to let newer records win; putting each
    record into a keydir that has turned into sorted blocks (past ``dict_max`` keys) was
    a bisect and a list insertion per record, and most of a million-key open. ``finish``
    hands the dict itself to the keydir (``KeyDir.adopt``).
    """

    def __init__(self) -> None:
        self.entries: dict[bytes, int] = {}

    def add(self, segment: Segment, index: SegmentIndex) -> None:
        """Apply one segment's records, after every older segment's."""
        base = segment.file_no << OFFSET_BITS
        packed = map(int.__or__, map((32).__rlshift__, map(base.__or__, index.offsets)), index.sizes)
        entries = self.entries
        if _TOMBSTONE_FLAGS.isdisjoint(index.flags):
            entries.update(zip(index.keys, packed))
            return
        for key, place, flag in zip(index.keys, packed, index.flags):
            if flag & TOMBSTONE:
                entries.pop(key, None)
            else:
                entries[key] = place

    def finish(self, keydir: KeyDir) -> None:
        """Hand the survivors to the (empty) keydir, which adopts the dict as it is."""
        keydir.adopt(self.entries)
        self.entries = {}
