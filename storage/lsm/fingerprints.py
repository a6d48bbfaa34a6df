"""A table's key filter: the sorted CRC-32 fingerprints of its keys.

"Is this key possibly in the table?" is asked of every table a point read reaches
and of every key a table is built from, so in Python the filter's cost is its
Python steps per key. A bloom filter (storage.lsm.bloom, what format-1 tables
carry) takes a hash object and six probes per key: about 1.8 us to add a key and
1.4 us to ask, for 1 % false positives at 10 bits per key. Fingerprints take
``map(zlib.crc32, keys)`` and one sort to build, and one ``crc32`` and one
``bisect`` to ask (about 0.7 us at 300k keys), for n / 2**32 false positives
(0.02 % at a million keys) at 32 bits per key -- the price is three times the
bytes of the bloom filter, on disk and in memory.

CRC-32 is linear, which matters for collisions only between keys whose difference
spans more than 32 bits; keys that differ in a counter or a few bytes -- the keys
databases make -- never collide.

Serialized form: ``0xFF | count u32 | count x u32`` (ascending, little-endian).
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable

from storage.columns import from_le, to_le

MARK = 0xFF  # a bloom filter's first byte is its probe count, 1 to 30
_HEAD = struct.Struct("<BI")


class Fingerprints:
    def __init__(self, values: array):
        self._values = values  # 'I', ascending once built

    @classmethod
    def collecting(cls) -> Fingerprints:
        return cls(array("I"))

    def add_many(self, keys: Iterable[bytes]) -> None:
        self._values.extend(map(zlib.crc32, keys))

    def may_contain(self, key: bytes) -> bool:
        fingerprint = zlib.crc32(key)
        values = self._values
        i = bisect_left(values, fingerprint)
        return i < len(values) and values[i] == fingerprint

    def to_bytes(self) -> bytes:
        ordered = array("I", sorted(self._values))
        self._values = ordered
        return _HEAD.pack(MARK, len(ordered)) + to_le(ordered)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Fingerprints:
        mark, count = _HEAD.unpack_from(raw)
        if mark != MARK or len(raw) != _HEAD.size + 4 * count:
            raise ValueError("fingerprint block is malformed")
        return cls(from_le("I", raw[_HEAD.size:]))
