"""Ordered scans over the hash engine's keydir snapshot.

A scan merges the frozen slice of the keydir with the overlay's sorted items
(the overlay wins; ``None`` there is a delete), and reads each value with one
``pread``. The segments it may read are pinned when it starts and released when
it is exhausted, closed or garbage-collected, so a merge that retires them
meanwhile does not pull the files from under it.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from storage.errors import CorruptionError
from storage.hash.keydir import OFFSET_BITS, OFFSET_MASK, SIZE_MASK, Snapshot
from storage.hash.segment import Segment
from storage.record import decode


def _entries(snap: Snapshot, overlay: list, reverse: bool) -> Iterator[tuple[bytes, int, int]]:
    """``(key, loc, size)`` of live entries in order, overlay merged in."""
    keys, locs, sizes = snap.keys, snap.locs, snap.sizes
    n = len(keys)
    order = range(n - 1, -1, -1) if reverse else range(n)
    if not overlay:
        for i in order:
            if sizes[i]:
                yield keys[i], locs[i], sizes[i]
        return
    items = reversed(overlay) if reverse else iter(overlay)
    pending = next(items, None)
    for i in order:
        key = keys[i]
        while pending is not None and (pending[0] > key if reverse else pending[0] < key):
            if pending[1] is not None:
                yield pending[0], pending[1] >> 32, pending[1] & SIZE_MASK
            pending = next(items, None)
        if pending is not None and pending[0] == key:
            if pending[1] is not None:
                yield key, pending[1] >> 32, pending[1] & SIZE_MASK
            pending = next(items, None)
        elif sizes[i]:
            yield key, locs[i], sizes[i]
    while pending is not None:
        if pending[1] is not None:
            yield pending[0], pending[1] >> 32, pending[1] & SIZE_MASK
        pending = next(items, None)


class ScanIterator:
    """Iterator of ``(key, value)``; holds pins on segments until it is done."""

    def __init__(self, snap: Snapshot, overlay: list, reverse: bool, files: dict[int, Segment],
                 pinned: list[Segment], unpin: Callable[[list[Segment]], None]):
        self._entries = _entries(snap, overlay, reverse)
        self._files = files
        self._pinned: list[Segment] | None = pinned
        self._unpin = unpin

    def __iter__(self) -> ScanIterator:
        return self

    def __next__(self) -> tuple[bytes, bytes]:
        try:
            key, loc, size = next(self._entries)
        except StopIteration:
            self.close()
            raise
        segment = self._files[loc >> OFFSET_BITS]
        offset = loc & OFFSET_MASK
        record = decode(os.pread(segment.fd, size, offset), segment.path, offset)
        if record.key != key:
            raise CorruptionError("record holds another key than the keydir says", segment.path, offset)
        return key, record.value

    def close(self) -> None:
        if self._pinned is not None:
            pinned, self._pinned = self._pinned, None
            self._unpin(pinned)

    def __del__(self) -> None:
        self.close()
