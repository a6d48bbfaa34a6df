"""A table's key filter: the CRC-32 fingerprints of its keys, sorted within each block.

"Is this key possibly in the table?" is asked of every table a point read reaches
and of every key a table is built from, so in Python the filter's cost is its
Python steps per key. A bloom filter (storage.lsm.bloom, what format-1 tables
carry) takes a hash object and six probes per key: about 1.8 us to add a key and
1.4 us to ask, for 1 % false positives at 10 bits per key. Fingerprints take
``map(zlib.crc32, keys)`` and a sort per block to build, and one ``crc32`` and one
``bisect`` over the fingerprints of the one block the key could be in to ask --
the read has found that block in the sparse index already, so the bisect is over
some 35 values that lie side by side, not over the whole table's (which cost half
as much again at 300k keys, in cache misses). False positives: about one in
2**32 / (keys per block), 32 bits per key -- three times the bloom filter's bytes.

CRC-32 is linear, which matters for collisions only between keys whose difference
spans more than 32 bits; keys that differ in a counter or a few bytes -- the keys
databases make -- never collide.

Serialized form: ``0xFE | blocks u32 | keys per block, blocks x u32 | fingerprints,
block after block, each block's ascending, u32 each`` (little-endian).
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from bisect import bisect_left
from itertools import accumulate

from storage.columns import from_le, to_le

MARK = 0xFE  # a bloom filter's first byte is its probe count, 1 to 30
_HEAD = struct.Struct("<BI")


class Fingerprints:
    def __init__(self, values: array, counts: array):
        self._values = values  # 'I': each block's fingerprints, ascending within the block
        self._counts = counts  # 'I': keys per block
        self._starts = list(accumulate(counts, initial=0))

    @classmethod
    def collecting(cls) -> Fingerprints:
        return cls(array("I"), array("I"))

    def add_block(self, keys: list[bytes]) -> None:
        """The next block's keys (its fingerprints go in sorted)."""
        self._values.extend(sorted(map(zlib.crc32, keys)))
        self._counts.append(len(keys))

    def may_contain(self, key: bytes, block: int) -> bool:
        """Whether ``key`` may be in block ``block`` (where the sparse index put it)."""
        starts = self._starts
        hi = starts[block + 1]
        fingerprint = zlib.crc32(key)
        i = bisect_left(self._values, fingerprint, starts[block], hi)
        return i < hi and self._values[i] == fingerprint

    def to_bytes(self) -> bytes:
        return _HEAD.pack(MARK, len(self._counts)) + to_le(self._counts) + to_le(self._values)

    @classmethod
    def from_bytes(cls, raw: bytes, blocks: int) -> Fingerprints:
        """The filter of a table of ``blocks`` data blocks."""
        mark, count = _HEAD.unpack_from(raw)
        counts = from_le("I", raw[_HEAD.size:_HEAD.size + 4 * count])
        values = from_le("I", raw[_HEAD.size + 4 * count:])
        if mark != MARK or count != blocks or len(counts) != count or sum(counts) != len(values) \
                or len(raw) != _HEAD.size + 4 * (count + len(values)):
            raise ValueError("fingerprint block is malformed")
        return cls(values, counts)
