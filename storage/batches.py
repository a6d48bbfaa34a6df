"""Batch scans over the whole LSM tree: newest-wins merging a slice at a time, not a key at a time.

``merge`` (storage.merge) pays a heap push and pop and a tuple per entry: fine for a
scan that hands out one entry per call anyway, too slow for ``scan_batches``, whose
point is that the caller takes hundreds of records per call. Here every source yields
``(keys, values)`` lists in scan order (a block of a table, a slice of a memtable;
values ``None`` for tombstones), and the merge works on *windows*: the window ends at
the smallest last key any source has in hand (the largest, scanning in reverse), so
every source holds all of its keys up to there, and no key of the window can turn up
later. Inside a window:

* one source with keys: its slice is the answer (the common case -- most windows
  of a tree whose tables cover different key ranges, or of a single table);
* several: a dict filled from the oldest source to the newest (``dict.update`` at C
  speed, a newer value overwriting an older one), then sorted once.

Tombstones are dropped last, after they have hidden what they hide.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

Lists = tuple[list[bytes], list]


class _Source:
    """One source's lists in hand and where the merge has got to in them."""

    __slots__ = ("batches", "keys", "values", "pos")

    def __init__(self, batches: Iterator[Lists]):
        self.batches = batches
        self.keys: list[bytes] = []
        self.values: list = []
        self.pos = 0

    def fill(self) -> bool:
        """Have unread keys in hand; False once the source is exhausted."""
        while self.pos >= len(self.keys):
            nxt = next(self.batches, None)
            if nxt is None:
                return False
            self.keys, self.values = nxt
            self.pos = 0
        return True


def chunked(items: Iterable[Any], size: int) -> Iterator[list]:
    """``items`` as lists of ``size`` (the last shorter), read lazily: a reader that stops
    early has taken at most one list more than it used."""
    items = iter(items)
    return iter(lambda: list(islice(items, size)), [])


def _cut(keys: list[bytes], pos: int, bound: bytes, reverse: bool) -> int:
    """The end of the keys from ``pos`` on that do not pass ``bound`` in scan order."""
    if not reverse:
        return bisect_right(keys, bound, pos)
    return bisect_left(keys, True, pos, key=bound.__gt__)  # descending: first key below it


def live_only(keys: list[bytes], values: list) -> Lists:
    """The lists without their tombstones (``None`` values)."""
    if None not in values:
        return keys, values
    return [k for k, v in zip(keys, values) if v is not None], [v for v in values if v is not None]


def gathered(pieces: Iterable[Lists], size: int, first: int | None = None) -> Iterator[Lists]:
    """``pieces`` joined into lists of at least ``size`` entries (the last may be short,
    none is empty); with ``first``, the first list is cut at ``first`` and each next one
    at four times the last, up to ``size`` -- so a scan of which a caller takes one entry
    (the last row id, a LIMIT 1) reads one block, and a long one still gets long lists.
    A piece that raises (a damaged block) ends the lists after what came before it, as
    an entry-at-a-time scan would."""
    out_keys: list[bytes] = []
    out_values: list = []
    target = min(first or size, size)
    pieces = iter(pieces)
    while True:
        try:
            keys, values = next(pieces)
        except StopIteration:
            break
        except Exception:  # damage ahead: what was read before it is handed over first
            if out_keys:
                yield out_keys, out_values
            raise
        out_keys += keys
        out_values += values
        if len(out_keys) >= target:
            yield out_keys, out_values
            out_keys, out_values = [], []
            target = min(target * 4, size)
    if out_keys:
        yield out_keys, out_values


def merge_batches(sources: list[Iterable[Lists]], reverse: bool, batch: int,
                  keep_tombstones: bool = False, first: int | None = None) -> Iterator[Lists]:
    """Live entries of ``sources`` (newest first) in scan order, newest wins per key, as
    ``(keys, values)`` lists of about ``batch`` entries (at least one, never empty; the
    first of about ``first``, see ``gathered``); with ``keep_tombstones``, the deletes
    that win too (a compaction that must keep them)."""
    return gathered(_windows(sources, reverse, batch, keep_tombstones), batch, first)


def _windows(sources: list[Iterable[Lists]], reverse: bool, batch: int,
             keep_tombstones: bool) -> Iterator[Lists]:
    """The merged live entries, a window at a time (see the module's docstring)."""
    live = [_Source(iter(s)) for s in sources]
    while True:
        live = [s for s in live if s.fill()]
        if not live:
            break
        if len(live) == 1:
            s = live[0]
            end = s.pos + batch
            keys, values = s.keys[s.pos:end], s.values[s.pos:end]
            s.pos = end
        else:
            lasts = [s.keys[-1] for s in live]
            bound = max(lasts) if reverse else min(lasts)
            pieces = []
            for s in live:
                end = _cut(s.keys, s.pos, bound, reverse)
                if end > s.pos:
                    pieces.append((s.keys[s.pos:end], s.values[s.pos:end]))
                    s.pos = end
            if len(pieces) == 1:
                keys, values = pieces[0]
            else:
                window: dict = {}
                for piece_keys, piece_values in reversed(pieces):  # oldest first: newer overwrite
                    window.update(zip(piece_keys, piece_values))
                keys = sorted(window, reverse=reverse)
                values = list(map(window.__getitem__, keys))
        yield (keys, values) if keep_tombstones else live_only(keys, values)


def entries_of(batches: Iterable[Lists], engine: Any) -> Iterator[tuple[bytes, bytes]]:
    """The lists' entries one at a time: an engine's ``scan`` over its batch path. A
    generator function, not an iterator class (a ``__next__`` call per entry cost a fifth
    of a scan); ``engine._closed`` is read inline for the same reason, so that a scan of
    a closed engine raises at its next entry."""
    for keys, values in batches:
        for entry in zip(keys, values):
            if engine._closed:
                engine._check_open()
            yield entry
