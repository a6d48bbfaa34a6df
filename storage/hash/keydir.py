"""The hash engine's keydir: every live key and where its newest record lies.

Bitcask keeps ``key -> (file, offset, size)`` in a hash table. A Python dict
with a tuple or int per key costs about 140 bytes of RSS per 16-byte key (the
key object, the dict slot and a 32-byte value object), over our budget of 120.
So the keydir has two parts:

* the *frozen* part: a sorted ``list`` of keys with two parallel ``array``\\ s,
  ``locs`` (``file_no << 40 | offset``, 8 bytes) and ``sizes`` (record size,
  4 bytes; 0 marks a deleted slot) -- about 84 bytes per key, and already in
  key order, so a scan needs no sort and a lookup is one ``bisect``;
* the *overlay*: a dict of keys written since the last fold, ``key -> packed``
  (``loc << 32 | size``) or ``None`` for a delete. Lookups try it first.

``fold`` merges the overlay into the frozen part. It runs when the overlay
passes a quarter of the frozen size (so its cost, linear in the frozen size, is
spread over that many writes), and before a scan or a merge if the overlay is
big enough to be worth it. Scan cost: O(log n) to seek plus the keys returned,
plus sorting the overlay's keys when it was not folded (at most n/16 of them).

A *packed* location is an int ``file_no << 72 | offset << 32 | size``.
May import: the standard library only.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

OFFSET_BITS = 40
OFFSET_MASK = (1 << OFFSET_BITS) - 1
SIZE_MASK = 0xFFFFFFFF
_MISSING = object()


def pack(file_no: int, offset: int, size: int) -> int:
    return (((file_no << OFFSET_BITS) | offset) << 32) | size


def unpack(packed: int) -> tuple[int, int, int]:
    loc = packed >> 32
    return loc >> OFFSET_BITS, loc & OFFSET_MASK, packed & SIZE_MASK


class Snapshot:
    """Frozen columns copied at one moment, plus the ``version`` they belong to."""

    __slots__ = ("keys", "locs", "sizes", "version")

    def __init__(self, keys: list[bytes], locs: array, sizes: array, version: int):
        self.keys, self.locs, self.sizes, self.version = keys, locs, sizes, version


class KeyDir:
    """``key -> packed location`` for live keys. Not thread-safe: the engine locks."""

    def __init__(self, fold_min: int = 65536):
        self._keys: list[bytes] = []
        self._locs = array("Q")
        self._sizes = array("I")
        self._dead_slots = 0
        self._overlay: dict[bytes, int | None] = {}
        self._len = 0
        self._fold_min = fold_min
        self.version = 0  # changes whenever frozen slots move or change

    def __len__(self) -> int:
        return self._len

    def get(self, key: bytes) -> int | None:
        packed = self._overlay.get(key, _MISSING)
        if packed is not _MISSING:
            return packed  # type: ignore[return-value]
        keys = self._keys
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            size = self._sizes[i]
            if size:
                return (self._locs[i] << 32) | size
        return None

    def put(self, key: bytes, packed: int) -> int | None:
        """Point ``key`` at ``packed``; return where it pointed before, if anywhere."""
        old = self.get(key)
        if old is None:
            self._len += 1
        self._overlay[key] = packed
        if len(self._overlay) > self._fold_threshold(4):
            self.fold()
        return old

    def remove(self, key: bytes) -> int | None:
        old = self.get(key)
        if old is not None:
            self._len -= 1
            self._overlay[key] = None
        return old

    def _fold_threshold(self, divisor: int) -> int:
        return max(self._fold_min, len(self._keys) // divisor)

    def fold(self) -> None:
        """Merge the overlay into the frozen columns."""
        overlay = self._overlay
        if not overlay:
            return
        keys, locs, sizes = self._keys, self._locs, self._sizes
        n = len(keys)
        new_keys: list[bytes] = []
        new_packed: list[int] = []
        lo = 0
        for key in sorted(overlay):
            packed = overlay[key]
            i = lo = bisect_left(keys, key, lo)
            if i < n and keys[i] == key:
                if sizes[i] == 0:
                    self._dead_slots -= 1
                if packed is None:
                    sizes[i] = 0
                    self._dead_slots += 1
                else:
                    locs[i] = packed >> 32
                    sizes[i] = packed & SIZE_MASK
            elif packed is not None:
                new_keys.append(key)
                new_packed.append(packed)
        overlay.clear()
        self.version += 1
        if new_keys or self._dead_slots > n // 4:
            self._rebuild(new_keys, new_packed)

    def _rebuild(self, new_keys: list[bytes], new_packed: list[int]) -> None:
        all_keys = self._keys + new_keys
        all_locs = self._locs + array("Q", [p >> 32 for p in new_packed])
        all_sizes = self._sizes + array("I", [p & SIZE_MASK for p in new_packed])
        # Two sorted runs: timsort merges them in linear time.
        order = sorted(range(len(all_keys)), key=all_keys.__getitem__)
        if self._dead_slots:
            order = [i for i in order if all_sizes[i]]
        self._keys = list(map(all_keys.__getitem__, order))
        self._locs = array("Q", map(all_locs.__getitem__, order))
        self._sizes = array("I", map(all_sizes.__getitem__, order))
        self._dead_slots = 0

    def load_sorted(self, keys: list[bytes], packed: Iterable[int]) -> bool:
        """Bulk-add strictly ascending new keys greater than every known key.

        Returns False (adding nothing) when the fast path does not apply, and the
        caller falls back to ``put`` per key. Used when reopening from the sorted
        hint files that a merge writes.
        """
        if self._overlay or (self._keys and keys and keys[0] <= self._keys[-1]):
            return False
        if any(a >= b for a, b in zip(keys, keys[1:])):
            return False
        packed = list(packed)
        self._keys.extend(keys)
        self._locs.extend(p >> 32 for p in packed)
        self._sizes.extend(p & SIZE_MASK for p in packed)
        self._len += len(keys)
        self.version += 1
        return True

    def snapshot(self, start: bytes | None, stop: bytes | None) -> tuple[Snapshot, list]:
        """Frozen columns for ``[start, stop)`` and the overlay's sorted items there.

        Folds first when the overlay is large, so the items list stays short.
        """
        if len(self._overlay) > max(1024, len(self._keys) // 16):
            self.fold()
        keys = self._keys
        lo = 0 if start is None else bisect_left(keys, start)
        hi = len(keys) if stop is None else bisect_left(keys, stop)
        lo = min(lo, hi)
        snap = Snapshot(keys[lo:hi], self._locs[lo:hi], self._sizes[lo:hi], self.version)
        items = sorted(
            (k, p) for k, p in self._overlay.items()
            if (start is None or k >= start) and (stop is None or k < stop)
        )
        return snap, items

    def full_snapshot(self) -> Snapshot:
        """Every live entry, folded, with the version to check before relocating."""
        self.fold()
        return Snapshot(self._keys[:], self._locs[:], self._sizes[:], self.version)

    def relocate_slots(self, version: int, slots: list[int], new_locs: list[int]) -> bool:
        """Move frozen slots to new locations if nothing moved them since ``version``."""
        if version != self.version:
            return False
        locs = self._locs
        for slot, loc in zip(slots, new_locs):
            locs[slot] = loc
        return True

    def relocate_key(self, key: bytes, old: int, new: int) -> None:
        """Point ``key`` at ``new`` if it still points at ``old`` (a merge lost no race)."""
        if self.get(key) == old:
            self._overlay[key] = new
            if len(self._overlay) > self._fold_threshold(4):
                self.fold()
