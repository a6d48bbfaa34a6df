"""The hash engine's keydir: every live key and where its newest record lies.

Bitcask keeps ``key -> (file, offset, size)`` in a hash table, and so do we
while the keydir is small: a dict lookup is the fastest thing Python has. But a
dict with an int per key costs about 140 bytes of RSS per 16-byte key (the key
object, the dict slot and a 32-byte int), over our budget of 120. So past
``dict_max`` keys (default 2**18) the keydir turns, once, into a *blocked sorted
array*, the layout of ``sortedcontainers.SortedList`` with two parallel arrays
beside each list:

* blocks of ``block`` to ``2 * block`` keys, each a sorted ``list`` of keys with
  an ``array('Q')`` of locations (``file_no << 40 | offset``) and an
  ``array('I')`` of record sizes -- about 90 bytes of RSS per 16-byte key in all
  (``python -m bench storage`` measures it at a million keys);
* ``firsts``, the first key of every block, to find a block by ``bisect``.

There a lookup is two bisects (slower than the dict by their cache misses) and
an insert adds a short ``memmove`` in one block.

Scans need key order. The blocked form has it (O(log n + keys returned)); the
dict form sorts its keys on the first scan after a key was added or removed
(O(n log n), cached until the next such change; overwrites keep the cache).

A *packed* location is an int ``(file_no << 40 | offset) << 32 | size``.
May import: the standard library only.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

OFFSET_BITS = 40
OFFSET_MASK = (1 << OFFSET_BITS) - 1
SIZE_MASK = 0xFFFFFFFF
BLOCK = 1024
DICT_MAX = 1 << 18


def pack(file_no: int, offset: int, size: int) -> int:
    return (((file_no << OFFSET_BITS) | offset) << 32) | size


def unpack(packed: int) -> tuple[int, int, int]:
    loc = packed >> 32
    return loc >> OFFSET_BITS, loc & OFFSET_MASK, packed & SIZE_MASK


class Snapshot:
    """Keydir columns for a key range, copied at one moment."""

    __slots__ = ("keys", "locs", "sizes")

    def __init__(self, keys: list[bytes], locs: array, sizes: array):
        self.keys, self.locs, self.sizes = keys, locs, sizes


class KeyDir:
    """``key -> packed location`` for live keys. Not thread-safe: the engine locks."""

    def __init__(self, dict_max: int = DICT_MAX, block: int = BLOCK) -> None:
        self._dict: dict[bytes, int] | None = {}  # None once in blocked form
        self._sorted: list[bytes] | None = None  # the dict's keys, sorted, when known
        self._dict_max = dict_max
        self._block = max(block, 2)
        self._firsts: list[bytes] = []
        self._keys: list[list[bytes]] = []
        self._locs: list[array] = []
        self._sizes: list[array] = []
        self._len = 0  # keys in blocked form
        # The dict's own ``get`` while the keydir is a dict, else None. One call
        # of it is atomic under the GIL, so readers may use it without the
        # engine's lock; the dict is never changed again once replaced.
        self.dict_get = self._dict.get

    def __len__(self) -> int:
        return len(self._dict) if self._dict is not None else self._len

    def live_bytes(self) -> int:
        """Bytes of the records that live keys point at: O(n), at C speed.

        Computed when asked (at a rollover, for ``stats()``) rather than kept
        up to date, so that a put does not have to look up what it replaces.
        """
        if self._dict is not None:
            return sum(map(SIZE_MASK.__and__, self._dict.values()))
        return sum(map(sum, self._sizes))

    @property
    def compact(self) -> bool:
        """True once the keydir is in its blocked sorted form."""
        return self._dict is None

    def get(self, key: bytes) -> int | None:
        if self._dict is not None:
            return self._dict.get(key)
        b = bisect_right(self._firsts, key) - 1
        if b < 0:
            return None
        keys = self._keys[b]
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return (self._locs[b][i] << 32) | self._sizes[b][i]
        return None

    def put(self, key: bytes, packed: int) -> None:
        """Point ``key`` at ``packed``."""
        d = self._dict
        if d is not None:
            n = len(d)
            d[key] = packed
            if len(d) != n:  # a new key: the sorted cache is stale
                self._sorted = None
                if n >= self._dict_max:
                    self._to_blocks()
            return
        self._block_put(key, packed)

    def _block_put(self, key: bytes, packed: int) -> None:
        b = bisect_right(self._firsts, key) - 1
        if b < 0:
            if not self._keys:
                self._new_block(0, [key], packed)
                return
            b = 0
            self._firsts[0] = key
        keys = self._keys[b]
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            self._locs[b][i] = packed >> 32
            self._sizes[b][i] = packed & SIZE_MASK
            return
        keys.insert(i, key)
        self._locs[b].insert(i, packed >> 32)
        self._sizes[b].insert(i, packed & SIZE_MASK)
        self._len += 1
        if len(keys) > 2 * self._block:
            self._split(b)

    def remove(self, key: bytes) -> int | None:
        """Forget ``key``; return where it pointed, if anywhere."""
        if self._dict is not None:
            old = self._dict.pop(key, None)
            if old is not None:
                self._sorted = None
            return old
        b = bisect_right(self._firsts, key) - 1
        if b < 0:
            return None
        keys = self._keys[b]
        i = bisect_left(keys, key)
        if i == len(keys) or keys[i] != key:
            return None
        del keys[i]
        old = (self._locs[b].pop(i) << 32) | self._sizes[b].pop(i)
        self._len -= 1
        if not keys:
            for column in (self._firsts, self._keys, self._locs, self._sizes):
                del column[b]
        elif i == 0:
            self._firsts[b] = keys[0]
        return old

    def relocate(self, key: bytes, old: int, new: int) -> bool:
        """Point ``key`` at ``new`` if it still points at ``old`` (a merge lost no race)."""
        if self.get(key) != old:
            return False
        self.put(key, new)
        return True

    def _to_blocks(self) -> None:
        """Turn the dict into blocks: one sort, then no per-key object but the key."""
        d = self._dict
        assert d is not None
        keys = sorted(d)
        packed = list(map(d.__getitem__, keys))
        self._dict, self._sorted, self.dict_get = None, None, None
        self._len = 0
        locs = array("Q", [p >> 32 for p in packed])
        sizes = array("I", [p & SIZE_MASK for p in packed])
        del packed, d
        self._append_blocks(keys, locs, sizes)

    def _new_block(self, b: int, keys: list[bytes], packed: int) -> None:
        self._firsts.insert(b, keys[0])
        self._keys.insert(b, keys)
        self._locs.insert(b, array("Q", [packed >> 32]))
        self._sizes.insert(b, array("I", [packed & SIZE_MASK]))
        self._len += 1

    def _split(self, b: int) -> None:
        keys, locs, sizes = self._keys[b], self._locs[b], self._sizes[b]
        half = len(keys) // 2
        self._keys[b:b + 1] = [keys[:half], keys[half:]]
        self._locs[b:b + 1] = [locs[:half], locs[half:]]
        self._sizes[b:b + 1] = [sizes[:half], sizes[half:]]
        self._firsts.insert(b + 1, keys[half])

    def load_all(self, keys: list[bytes], locs: array, sizes: array) -> None:
        """Fill this empty keydir with strictly ascending ``keys`` (a saved keydir): a dict,
        its sorted keys known, or blocks, with no Python work per key either way."""
        if len(self):
            raise ValueError("load_all fills an empty keydir")
        d = self._dict
        if d is not None and len(keys) <= self._dict_max:
            d.update(zip(keys, map(int.__or__, map((32).__rlshift__, locs), sizes)))
            self._sorted = keys
            return
        self._dict = self.dict_get = None
        self._sorted = None
        self._append_blocks(keys, locs, sizes)

    def adopt(self, entries: dict[bytes, int]) -> None:
        """Become ``entries`` (``key -> packed``), as a dict whatever its size: an open that
        rebuilt the keydir record by record (after a crash) must not also sort a million
        keys and gather their places (about 1.3 s of its 3.5). The dict holds more
        bytes a key than blocks (about 140 against 90) until the next clean close saves
        the keydir sorted and the open after it loads blocks; it turns into blocks itself
        when new keys double it (not at the first new key: that would only move the sort
        from the open to the first insert)."""
        if len(self):
            raise ValueError("adopt fills an empty keydir")
        self._dict, self.dict_get, self._sorted = entries, entries.get, None
        self._dict_max = max(self._dict_max, 2 * len(entries))

    def _append_blocks(self, keys: Sequence[bytes], locs: array, sizes: array) -> None:
        step = self._block
        for lo in range(0, len(keys), step):
            block = list(keys[lo:lo + step])
            self._firsts.append(block[0])
            self._keys.append(block)
            self._locs.append(locs[lo:lo + step])
            self._sizes.append(sizes[lo:lo + step])
        self._len += len(keys)

    def snapshot(self, start: bytes | None = None, stop: bytes | None = None) -> Snapshot:
        """The entries with ``start <= key < stop``, copied."""
        if self._dict is not None:
            return self._dict_snapshot(start, stop)
        firsts = self._firsts
        b0 = 0 if start is None else max(bisect_right(firsts, start) - 1, 0)
        b1 = len(firsts) if stop is None else bisect_left(firsts, stop)
        keys: list[bytes] = []
        locs, sizes = array("Q"), array("I")
        for b in range(b0, b1):
            block = self._keys[b]
            lo = 0 if start is None or b != b0 else bisect_left(block, start)
            hi = len(block) if stop is None or b != b1 - 1 else bisect_left(block, stop)
            keys += block[lo:hi]
            locs += self._locs[b][lo:hi]
            sizes += self._sizes[b][lo:hi]
        return Snapshot(keys, locs, sizes)

    def _dict_snapshot(self, start: bytes | None, stop: bytes | None) -> Snapshot:
        d = self._dict
        assert d is not None
        if self._sorted is None:
            self._sorted = sorted(d)
        ordered = self._sorted
        lo = 0 if start is None else bisect_left(ordered, start)
        hi = len(ordered) if stop is None else bisect_left(ordered, stop)
        keys = ordered[lo:max(lo, hi)]
        packed = list(map(d.__getitem__, keys))
        return Snapshot(keys, array("Q", [p >> 32 for p in packed]),
                        array("I", [p & SIZE_MASK for p in packed]))
