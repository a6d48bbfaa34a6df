"""The storage suite's data: generated once per run, so every system sees the same.

N 16-byte random keys (seeded) with 100-byte values; the same pairs in key
order for the sequential put; an independent shuffle for gets; keys known to
be absent; N overwrites of N/10 keys; and ``RANGES`` random ranges of a
contiguous 1% of the sorted keys, each given as ``(start, stop)`` with ``stop``
the next key after the range, so ``scan(start, stop)`` returns exactly 1%.
May import: the standard library only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["KEY_BYTES", "RANGES", "VALUE_BYTES", "Dataset", "logical_bytes", "make_dataset"]

KEY_BYTES, VALUE_BYTES = 16, 100
RANGES = 20  # range scans per trial: enough that one lucky range cannot decide the row
RANGE_FRACTION = 0.01


@dataclass(frozen=True)
class Dataset:
    """Everything a trial feeds the systems."""

    items: list[tuple[bytes, bytes]]  # keys are random, so this order is random
    sequential: list[tuple[bytes, bytes]]  # the same items in ascending key order
    get_order: list[bytes]  # the same keys, shuffled independently
    misses: list[bytes]  # keys known to be absent
    overwrites: list[tuple[bytes, bytes]]  # N writes over N/10 keys, 10 each
    ranges: list[tuple[bytes, bytes]]  # (start, stop): each holds range_keys keys
    range_keys: int

    def count(self, op: str) -> int:
        """How many operations a rate row divides by (a range scan is one operation)."""
        if op.startswith("overwrite"):
            return len(self.overwrites)
        if op.startswith("range scan"):
            return len(self.ranges)
        return len(self.misses) if op == "get miss" else len(self.items)


def logical_bytes(items: list[tuple[bytes, bytes]]) -> int:
    """What the user wrote or holds: keys plus values, no framing of any engine."""
    return sum(len(k) + len(v) for k, v in items)


def _split(blob: bytes, size: int) -> list[bytes]:
    return [blob[i:i + size] for i in range(0, len(blob), size)]


def _ranges(sorted_keys: list[bytes], rng: random.Random) -> tuple[list[tuple[bytes, bytes]], int]:
    """Random contiguous runs of 1% of the keys; ``stop`` exists, so no range is open-ended."""
    m = max(1, int(len(sorted_keys) * RANGE_FRACTION))
    if len(sorted_keys) <= m:
        raise ValueError("too few keys for a 1% range scan; use --keys 100 or more")
    firsts = [rng.randrange(len(sorted_keys) - m) for _ in range(RANGES)]
    return [(sorted_keys[i], sorted_keys[i + m]) for i in firsts], m


def make_dataset(n: int, seed: int) -> Dataset:
    """Seeded data, so every run (and every system) sees identical keys."""
    rng = random.Random(seed)
    keys = list(dict.fromkeys(_split(rng.randbytes(KEY_BYTES * n), KEY_BYTES)))
    values = _split(rng.randbytes(VALUE_BYTES * n), VALUE_BYTES)
    present = set(keys)
    misses = [k for k in _split(rng.randbytes(KEY_BYTES * n), KEY_BYTES) if k not in present]
    order = keys[:]
    rng.shuffle(order)
    writes = [k for k in keys[:max(1, n // 10)] for _ in range(10)]
    rng.shuffle(writes)
    items = list(zip(keys, values[:len(keys)], strict=True))
    ranges, m = _ranges(sorted(keys), rng)
    return Dataset(items, sorted(items), order, misses,
                   list(zip(writes, values[:len(writes)], strict=True)), ranges, m)
