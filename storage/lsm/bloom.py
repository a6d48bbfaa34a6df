"""Bloom filters for SSTables: "is this key possibly in the table?" in a few bytes per key.

About 10 bits per key and 6 probes give ~1% false positives (measured in
``tests/storage/test_lsm_units.py``). The probes are double hashing over the
two halves of an 8-byte BLAKE2b digest: stable across processes (unlike
``hash()``) and well mixed (unlike two CRCs, which are linear in each other).

Serialized form: ``probes u8 | bits u32 | bitmap`` (little-endian).
May import: the standard library only.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from hashlib import blake2b

_HEAD = struct.Struct("<BI")


def hashes(key: bytes) -> tuple[int, int]:
    """The two probe hashes of ``key``: compute once, test against many filters."""
    h = int.from_bytes(blake2b(key, digest_size=8).digest(), "little")
    return h & 0xFFFFFFFF, (h >> 32) | 1


class BloomFilter:
    def __init__(self, bits: int, probes: int, bitmap: bytearray | bytes):
        self.bits = bits
        self.probes = probes
        self.bitmap = bitmap

    @classmethod
    def build(cls, keys, count: int, bits_per_key: int = 10) -> BloomFilter:
        bits = max(64, count * bits_per_key)
        probes = max(1, min(30, int(bits_per_key * math.log(2))))  # 6 for 10 bits: ~0.84%
        bloom = cls(bits, probes, bytearray((bits + 7) // 8))
        bloom.add_many(keys)
        return bloom

    def add(self, key: bytes) -> None:
        self.add_many((key,))

    def add_many(self, keys: Iterable[bytes]) -> None:
        bitmap, bits, probes = self.bitmap, self.bits, self.probes
        for key in keys:
            h1, h2 = hashes(key)
            for pos in range(h1, h1 + probes * h2, h2):  # h1 + i*h2, without multiplying
                pos %= bits
                bitmap[pos >> 3] |= 1 << (pos & 7)

    def may_contain(self, key: bytes, key_hashes: tuple[int, int] | None = None) -> bool:
        h1, h2 = key_hashes or hashes(key)
        bitmap, bits = self.bitmap, self.bits
        for pos in range(h1, h1 + self.probes * h2, h2):
            pos %= bits
            if not bitmap[pos >> 3] >> (pos & 7) & 1:
                return False
        return True

    def to_bytes(self) -> bytes:
        return _HEAD.pack(self.probes, self.bits) + bytes(self.bitmap)

    @classmethod
    def from_bytes(cls, raw: bytes) -> BloomFilter:
        probes, bits = _HEAD.unpack_from(raw)
        bitmap = raw[_HEAD.size:]
        if not probes or len(bitmap) * 8 < bits:
            raise ValueError("bloom filter block is malformed")
        return cls(bits, probes, bitmap)
