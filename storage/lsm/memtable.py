"""The memtable: recent writes in key order, on ``sortedcontainers.SortedDict``.

Values are bytes, or ``None`` for a delete (a tombstone must shadow older
tables until compaction drops it). ``bytes`` approximates the memory held, to
decide when to flush. Writers hold the engine lock; a lookup is a plain dict
``get`` (SortedDict is a dict), atomic under the GIL, so readers need no lock.
Once rotated out to be flushed, a memtable is never changed again.
May import: the standard library, sortedcontainers and ``storage``'s own modules.
"""

from __future__ import annotations

from sortedcontainers import SortedDict

from storage.lsm.sstable import MISSING, Entry

_ENTRY_OVERHEAD = 64  # dict slot, list slot, object headers: a rough, fixed cost


class Memtable:
    def __init__(self) -> None:
        self.data: SortedDict = SortedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.data)

    def put(self, key: bytes, value: bytes | None) -> None:
        old = self.data.get(key, MISSING)
        self.data[key] = value
        if old is MISSING:
            self.bytes += len(key) + _ENTRY_OVERHEAD
        else:
            self.bytes -= len(old) if old is not None else 0
        self.bytes += len(value) if value is not None else 0

    def get(self, key: bytes):
        """The value, ``None`` for a tombstone, or ``MISSING``."""
        return self.data.get(key, MISSING)

    def items(self, start: bytes | None = None, stop: bytes | None = None,
              reverse: bool = False) -> list[Entry]:
        """The entries of ``[start, stop)``, copied: a snapshot later writes cannot change."""
        data = self.data
        keys = list(data.irange(start, stop, inclusive=(True, False), reverse=reverse))
        return list(zip(keys, map(data.__getitem__, keys)))
