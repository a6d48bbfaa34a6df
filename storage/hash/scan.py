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
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import Any

from storage.batches import entries_of
from storage.hash.keydir import OFFSET_BITS, OFFSET_MASK, Snapshot
from storage.hash.segment import SEGMENT_HEADER_SIZE, Segment
from storage.record import HEADER, HEADER_SIZE, TOMBSTONE, value_of
from storage.search import occurrences

SCAN_BATCH = 256  # records a scan reads and checks in one go before handing them out


def _entries(snap: Snapshot, reverse: bool, files: dict[int, Segment],
             contains: bytes | None) -> Iterator[tuple[bytes, int, int]]:
    """``(key, loc, size)`` in scan order: all of them, or with ``contains`` only those
    whose record may hold it (see ``_holding``)."""
    chosen = _holding(snap, files, contains) if contains is not None else None
    if chosen is None:
        entries = zip(snap.keys, snap.locs, snap.sizes)
    else:
        keys, locs, sizes = snap.keys, snap.locs, snap.sizes
        entries = ((keys[i], locs[i], sizes[i]) for i in chosen)
    return reversed(list(entries)) if reverse else entries


def _holding(snap: Snapshot, files: dict[int, Segment], needle: bytes) -> list[int] | None:
    """Ascending indexes of the snapshot entries whose records hold ``needle``, found
    by searching each segment's map once and placing each hit in the record around it;
    ``None`` (test every record) when a segment has no map or hits outnumber records."""
    locs = snap.locs.tolist()
    starts = sorted(locs)  # records in file order
    if starts == locs:  # keys that grow with time were written in key order
        order: list[int] | range = range(len(locs))
    else:
        order = sorted(range(len(locs)), key=locs.__getitem__)
        starts = [locs[i] for i in order]
    hits: list[int] = []
    for number, segment in files.items():
        mm = segment.mm
        if mm is None or len(mm) < segment.size:  # every record of the snapshot must be mapped
            if segment.size <= SEGMENT_HEADER_SIZE:
                continue  # no records
            return None
        found = occurrences(mm, needle, limit=len(locs))  # type: ignore[arg-type]
        if found is None:
            return None
        base = number << OFFSET_BITS
        hits += [base | at for at in found]
    hits.sort()
    chosen: set[int] = set()
    sizes, span = snap.sizes, len(needle)
    for hit in hits:
        j = bisect_right(starts, hit) - 1
        if j >= 0 and hit + span <= starts[j] + sizes[order[j]]:
            chosen.add(order[j])
    return sorted(chosen)


def scan_values(snap: Snapshot, reverse: bool, files: dict[int, Segment], pinned: list[Segment],
                unpin: Callable[[list[Segment]], None], engine: Any, contains: bytes | None = None
                ) -> Iterator[tuple[bytes, bytes]]:
    """``(key, value)`` in order (only values holding ``contains``, if given); the segments
    stay pinned until the scan is exhausted, closed or garbage-collected (even one never
    started)."""
    release = _Release(unpin, pinned)
    values = entries_of(_batches(snap, reverse, files, engine, release, contains, SCAN_BATCH), engine)
    weakref.finalize(values, release)
    return values


def scan_batches(snap: Snapshot, reverse: bool, files: dict[int, Segment], pinned: list[Segment],
                 unpin: Callable[[list[Segment]], None], engine: Any, batch: int
                 ) -> Iterator[tuple[list[bytes], list[bytes]]]:
    """``scan_values`` as ``(keys, values)`` lists of ``batch`` entries (the last may be short)."""
    release = _Release(unpin, pinned)
    batches = _batches(snap, reverse, files, engine, release, None, batch)
    weakref.finalize(batches, release)
    return batches


class _Release:
    """Unpins the segments once, whichever comes first: the end of the scan or its collection."""

    def __init__(self, unpin: Callable[[list[Segment]], None], pinned: list[Segment]):
        self._unpin = unpin
        self._pinned: list[Segment] | None = pinned

    def __call__(self) -> None:
        pinned, self._pinned = self._pinned, None
        if pinned is not None:
            self._unpin(pinned)


def _batches(snap: Snapshot, reverse: bool, files: dict[int, Segment], engine: Any,
             release: _Release, contains: bytes | None, batch: int
             ) -> Iterator[tuple[list[bytes], list[bytes]]]:
    """The values of the snapshot's entries, read and checked ``batch`` at a time in one
    tight loop (``value_of``'s checks inlined: a call per record cost a third of a scan);
    a record that fails them goes to ``value_of`` for the error it raises."""
    try:
        entries = list(_entries(snap, reverse, files, contains))
        last_no, segment, mm = -1, None, None
        unpack, crc32 = HEADER.unpack_from, zlib.crc32
        for lo in range(0, len(entries), batch):
            if engine._closed:  # a closed engine has closed its files
                engine._check_open()
            keys, values = [], []
            for key, loc, size in entries[lo:lo + batch]:
                offset = loc & OFFSET_MASK
                if loc >> OFFSET_BITS != last_no:  # runs of keys share a segment: look it up once
                    last_no = loc >> OFFSET_BITS
                    segment = files[last_no]
                    mm = segment.mm
                record = mm[offset:offset + size] if mm is not None else b""
                if len(record) != size:
                    record = segment.read(offset, size)  # type: ignore[union-attr]
                if contains is not None and contains not in record:
                    continue  # (a value that holds it passes this test on the whole record too)
                if size >= HEADER_SIZE:
                    crc, _hcrc, _seq, flags, klen, vlen = unpack(record)
                    start = HEADER_SIZE + klen
                if (size < HEADER_SIZE or crc32(record[4:]) != crc or start + vlen != size
                        or flags & TOMBSTONE or record[HEADER_SIZE:start] != key):
                    if keys:  # what came before the damage is served, as a scan by key would
                        yield keys, values
                        keys, values = [], []
                    value_of(record, key, segment.path, offset)  # type: ignore[union-attr]  # raises
                value = record[start:]
                if contains is None or contains in value:
                    keys.append(key)
                    values.append(value)
            if keys:
                yield keys, values
    finally:
        release()
