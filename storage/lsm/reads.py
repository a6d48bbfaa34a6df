"""The read side of the LSM engine: point reads, scans and counts over its view of the tree.

Readers take no lock for long: they read ``_view`` -- a tuple of the memtable, the
memtable being flushed (or None) and the SSTables, newest first -- which writers
replace whole, so a read sees one consistent tree. A point read asks each part
newest first (key filters spare the tables that cannot hold the key); a scan
merges the parts with newest-wins (``storage.merge``), or, when no two parts
share a key range, reads them one after the other (see ``_disjoint``).
``LSMEngine`` inherits these methods; this module only reads its state.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from storage.batches import entries_of, merge_batches
from storage.engine import check_key
from storage.lsm.sstable import ENTRY_OVERHEAD, MISSING
from storage.merge import merge
from storage.record import MAX_KEY

SCAN_BATCH = 1024  # entries a scan merges at a time, once past its first short lists


class TreeReads:
    """Mixed into ``LSMEngine``: expects ``_view``, ``_lock``, ``_closed``, ``_writes``,
    ``_count`` and ``_check_open`` from it."""

    _view: tuple
    _lock: Any
    _closed: bool
    _writes: int
    _count: tuple[int, int, int] | None
    _check_open: Any  # Engine's: raises ClosedError once the engine is closed

    def get(self, key: bytes) -> bytes | None:
        # The hot path: Engine.get's checks inlined, and the memtables' dicts read directly.
        if key.__class__ is not bytes or not 0 < len(key) <= MAX_KEY:
            check_key(key)
        if self._closed:
            self._check_open()
        mem, imm, tables = self._view
        value = mem.data.get(key, MISSING)
        if value is MISSING:
            if imm is not None:
                value = imm.data.get(key, MISSING)
            if value is MISSING:
                for table in tables:
                    value = table.get(key)
                    if value is not MISSING:
                        break
        return None if value is MISSING else value

    def _get(self, key: bytes) -> bytes | None:
        return self.get(key)

    def _get_many(self, keys: list[bytes]) -> list[bytes | None]:
        """``_get`` for each key, from one view of the tree, one part at a time: a table
        answers all its keys in one loop, and a run of keys in one block finds it once."""
        mem, imm, tables = self._view
        results = [mem.get(key) for key in keys]
        if imm is not None:
            results = [imm.get(key) if value is MISSING else value for key, value in zip(keys, results)]
        for table in tables:
            if MISSING not in results:
                break
            table.get_many(keys, results)
        return [None if value is MISSING else value for value in results]

    def _contains(self, key: bytes) -> bool:
        return self._get(key) is not None

    def _scan(self, start: bytes | None, stop: bytes | None, reverse: bool,
              contains: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        if contains is None:  # the batch merge, handed out an entry at a time
            return entries_of(self._batches(start, stop, reverse, SCAN_BATCH, first=1), self)
        with self._lock:
            mem, imm, tables = self._view
            recent = mem.items(start, stop, reverse)
        flushing = imm.items(start, stop, reverse) if imm is not None else []
        disjoint = self._disjoint((recent, flushing), tables, start, stop, reverse, contains)
        if disjoint is not None:
            return disjoint
        sources: list = [part for part in (recent, flushing) if part]
        sources.extend(table.items(start, stop, reverse) for table in tables)
        entries = merge(sources, reverse)
        if contains is not None:  # after the merge: a newer value hides an older one that matches
            entries = (entry for entry in entries if contains in entry[1])
        return self._while_open(entries)  # type: ignore[arg-type]

    def _disjoint(self, memtables: tuple[list, list], tables: tuple, start: bytes | None,
                  stop: bytes | None, reverse: bool, contains: bytes | None
                  ) -> Iterator[tuple[bytes, bytes]] | None:
        """The scan as a plain chain when no two parts of the tree share a key range.

        Keys that grow with time (generated ids, timestamps) put every flush in a range of
        its own; then no entry can shadow another, so the parts are read one after the
        other, with no heap merge, and a table skips whole blocks without ``contains``.
        None otherwise.
        """
        parts = [(t.smallest, t.largest, t) for t in tables]
        for entries in memtables:  # entries copied from the memtable and the one being flushed
            if entries:
                first, last = entries[0][0], entries[-1][0]
                parts.append((min(first, last), max(first, last), entries))
        parts.sort(key=lambda part: part[0])
        if any(a[1] >= b[0] for a, b in zip(parts, parts[1:])):
            return None
        if reverse:
            parts.reverse()
        live = [([e for e in p[2] if e[1] is not None and (contains is None or contains in e[1])]
                 if isinstance(p[2], list) else p[2].items(start, stop, reverse, True, contains))
                for p in parts]
        return self._while_open(itertools.chain.from_iterable(live))

    def _scan_batches(self, start: bytes | None, stop: bytes | None, reverse: bool,
                      batch: int) -> Iterator[tuple[list[bytes], list[bytes]]]:
        return self._while_open(self._batches(start, stop, reverse, batch))

    def _batches(self, start: bytes | None, stop: bytes | None, reverse: bool, batch: int,
                 first: int | None = None) -> Iterator[tuple[list[bytes], list[bytes]]]:
        """Whole blocks and memtable slices, merged a window at a time
        (``storage.batches``); the memtables are copied now, so the scan is a
        snapshot. With ``first``, the first lists are short (``gathered``)."""
        with self._lock:
            mem, imm, tables = self._view
            recent = mem.lists(start, stop, reverse)
        sources: list = [[recent]] if recent[0] else []
        if imm is not None:
            sources.append([imm.lists(start, stop, reverse)])
        sources.extend(table.batches(start, stop, reverse, live=False, first=first) for table in tables)
        return merge_batches(sources, reverse, batch, first=first)

    def _while_open(self, entries: Iterator) -> Iterator:
        for entry in entries:
            if self._closed:
                self._check_open()
            yield entry

    def _len(self) -> int:
        return self._live()[0]

    def _live(self) -> tuple[int, int]:
        """(live keys, their bytes as stored) by merging everything: O(n), cached until
        the next write (flushes and compactions do not change them)."""
        writes = self._writes
        if self._count is None or self._count[0] != writes:
            keys = size = 0
            for batch_keys, values in self._batches(None, None, False, SCAN_BATCH):
                keys += len(batch_keys)
                size += sum(map(len, batch_keys)) + sum(map(len, values)) + ENTRY_OVERHEAD * len(values)
            self._count = (writes, keys, size)
        return self._count[1], self._count[2]  # type: ignore[return-value]

