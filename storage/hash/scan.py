"""Ordered scans over the hash engine's keydir snapshot.

A scan copies the keydir entries of its range when it starts (the keydir is
kept in key order, or sorts once and caches it), then reads each value with
one read. The segments it may read are pinned when it starts and released
when it is exhausted, closed or garbage-collected, so a merge that retires
them meanwhile does not pull the files from under it.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

from storage.hash.keydir import OFFSET_BITS, OFFSET_MASK, Snapshot
from storage.hash.segment import Segment
from storage.record import value_of


def _entries(snap: Snapshot, reverse: bool) -> Iterator[tuple[bytes, int, int]]:
    """``(key, loc, size)`` in scan order."""
    entries = zip(snap.keys, snap.locs, snap.sizes)
    return reversed(list(entries)) if reverse else entries


def scan_values(snap: Snapshot, reverse: bool, files: dict[int, Segment], pinned: list[Segment],
                unpin: Callable[[list[Segment]], None], engine: Any, contains: bytes | None = None
                ) -> Iterator[tuple[bytes, bytes]]:
    """``(key, value)`` in order (only values holding ``contains``, if given); the segments
    stay pinned until the scan is exhausted, closed or garbage-collected (even one never
    started)."""
    release = _Release(unpin, pinned)
    values = _values(snap, reverse, files, engine, release, contains)
    weakref.finalize(values, release)
    return values


class _Release:
    """Unpins the segments once, whichever comes first: the end of the scan or its collection."""

    def __init__(self, unpin: Callable[[list[Segment]], None], pinned: list[Segment]):
        self._unpin = unpin
        self._pinned: list[Segment] | None = pinned

    def __call__(self) -> None:
        pinned, self._pinned = self._pinned, None
        if pinned is not None:
            self._unpin(pinned)


def _values(snap: Snapshot, reverse: bool, files: dict[int, Segment], engine: Any,
            release: _Release, contains: bytes | None) -> Iterator[tuple[bytes, bytes]]:
    """A generator function, not an iterator class: a scan's cost is per key, and a
    ``__next__`` method call per key cost a fifth of it. ``engine._closed`` is read
    inline for the same reason (a closed engine has closed its files)."""
    try:
        for key, loc, size in _entries(snap, reverse):
            if engine._closed:
                engine._check_open()
            segment = files[loc >> OFFSET_BITS]
            offset = loc & OFFSET_MASK
            record = segment.read(offset, size)
            if contains is not None and contains not in record:
                continue  # (a value that holds it passes this test on the whole record too)
            value = value_of(record, key, segment.path, offset)
            if contains is None or contains in value:
                yield key, value
    finally:
        release()
