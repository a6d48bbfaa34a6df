"""The memtable: recent writes, in a plain dict, put in key order only when read in order.

A put is a dict store (and, for a new key, an append to ``_pending``): O(1), the same
work the hash engine's keydir does, where a sorted container would pay a search and a
list insertion per put. Order is made when a scan or a flush asks for it: ``_pending``
is appended to the sorted keys and the list sorted again, which Timsort does in about
linear time (it finds the two sorted runs and merges them) -- so a flush sorts once, and
scans between puts pay for the new keys only.

Values are bytes, or ``None`` for a delete (a tombstone must shadow older tables until
compaction drops it). ``bytes`` approximates the memory held, to decide when to flush.
Writers hold the engine lock, and so does a reader asking the active memtable for order;
a lookup is a plain dict ``get``, atomic under the GIL, so point readers need no lock.
Once rotated out to be flushed, a memtable is never changed again; readers then order
it without the engine lock, one at a time (``_ordering``).
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import threading
from bisect import bisect_left

from storage.lsm.sstable import MISSING
from storage.merge import Entry

_ENTRY_OVERHEAD = 64  # dict slot, list slot, object headers: a rough, fixed cost


class Memtable:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes | None] = {}
        self.bytes = 0
        self._ordered: list[bytes] = []  # every key but the pending ones, in order
        self._pending: list[bytes] = []  # keys added since _ordered was made, in no order
        self._ordering = threading.Lock()  # readers of a frozen memtable order it once

    def __len__(self) -> int:
        return len(self.data)

    def put(self, key: bytes, value: bytes | None) -> None:
        data = self.data
        old = data.get(key, MISSING)
        data[key] = value
        if old is MISSING:
            self._pending.append(key)
            self.bytes += len(key) + _ENTRY_OVERHEAD
        elif old is not None:
            self.bytes -= len(old)
        if value is not None:
            self.bytes += len(value)

    def get(self, key: bytes):
        """The value, ``None`` for a tombstone, or ``MISSING``."""
        return self.data.get(key, MISSING)

    def keys_in_order(self) -> list[bytes]:
        """Every key, sorted (the list is shared: do not change it)."""
        if not self._pending:  # _ordered is assigned before _pending is emptied
            return self._ordered
        with self._ordering:
            if self._pending:
                ordered = self._ordered + self._pending
                ordered.sort()
                self._ordered = ordered
                self._pending = []
            return self._ordered

    def keys_between(self, start: bytes | None, stop: bytes | None, reverse: bool) -> list[bytes]:
        """The keys of ``[start, stop)`` in scan order, a new list."""
        keys = self.keys_in_order()
        lo = 0 if start is None else bisect_left(keys, start)
        hi = len(keys) if stop is None else bisect_left(keys, stop)
        chosen = keys[lo:hi]
        if reverse:
            chosen.reverse()
        return chosen

    def items(self, start: bytes | None = None, stop: bytes | None = None,
              reverse: bool = False) -> list[Entry]:
        """The entries of ``[start, stop)``, copied: a snapshot later writes cannot change."""
        data = self.data
        return [(key, data[key]) for key in self.keys_between(start, stop, reverse)]

    def lists(self, start: bytes | None, stop: bytes | None,
              reverse: bool) -> tuple[list[bytes], list[bytes | None]]:
        """``items`` as a list of keys and one of values (tombstones ``None``), copied."""
        keys = self.keys_between(start, stop, reverse)
        return keys, list(map(self.data.__getitem__, keys))
