"""Ordered scans over the hash engine's keydir snapshot.

A scan copies the keydir entries of its range when it starts (the keydir is
kept in key order, or sorts once and caches it), then reads each value with
one read. The segments it may read are pinned when it starts and released
when it is exhausted, closed or garbage-collected, so a merge that retires
them meanwhile does not pull the files from under it.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from storage.hash.keydir import OFFSET_BITS, OFFSET_MASK, Snapshot
from storage.hash.segment import Segment
from storage.record import value_of


def _entries(snap: Snapshot, reverse: bool) -> Iterator[tuple[bytes, int, int]]:
    """``(key, loc, size)`` in scan order."""
    entries = zip(snap.keys, snap.locs, snap.sizes)
    return reversed(list(entries)) if reverse else entries


class ScanIterator:
    """Iterator of ``(key, value)``; holds pins on segments until it is done."""

    def __init__(self, snap: Snapshot, reverse: bool, files: dict[int, Segment],
                 pinned: list[Segment], unpin: Callable[[list[Segment]], None],
                 check_open: Callable[[], None]):
        self._entries = _entries(snap, reverse)
        self._check_open = check_open
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
        self._check_open()  # a closed engine has closed its files
        segment = self._files[loc >> OFFSET_BITS]
        offset = loc & OFFSET_MASK
        return key, value_of(segment.read(offset, size), key, segment.path, offset)

    def close(self) -> None:
        if self._pinned is not None:
            pinned, self._pinned = self._pinned, None
            self._unpin(pinned)

    def __del__(self) -> None:
        self.close()
