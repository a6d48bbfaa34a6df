"""A dict whose keys are put in order only when a range of them is asked for.

A transaction's pending writes and the log's versions are written far more often
than they are scanned: a bulk load puts hundreds of thousands of keys and scans
none of them until it commits. Keeping them in a sorted container costs a
logarithmic Python-level insert per write; a plain dict costs one hash insert,
and the keys are sorted when a scan first needs them -- Timsort merging the keys
added since into the list sorted last time, in about linear time. The storage
engines' memtable makes the same trade.
May import: the standard library only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

__all__ = ["SortedOnDemand"]


class SortedOnDemand(dict):
    """``dict`` plus ``irange`` (as ``sortedcontainers.SortedDict``'s, start included and
    stop excluded) and ``sorted_items``; keys must be mutually orderable (bytes here)."""

    __slots__ = ("_order", "_added")

    def __init__(self) -> None:
        super().__init__()
        self._order: list = []  # every key, sorted, as of the last range asked for
        self._added: list | None = []  # keys added since; None: a key was removed, sort afresh

    def __setitem__(self, key: Any, value: Any) -> None:
        if self._added is not None and key not in self:
            self._added.append(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._added = None

    def pop(self, key: Any, *default: Any) -> Any:
        self._added = None
        return super().pop(key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def popitem(self) -> tuple[Any, Any]:
        self._added = None
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        self._order, self._added = [], []

    def _sorted(self) -> list:
        if self._added is None:
            self._order, self._added = sorted(self), []
        elif self._added:
            self._added.sort()
            self._order += self._added
            self._order.sort()  # two sorted runs: Timsort merges them in linear time
            self._added = []
        return self._order

    def irange(self, start: Any = None, stop: Any = None, inclusive: tuple[bool, bool] = (True, False),
               reverse: bool = False) -> Iterator[Any]:
        if inclusive != (True, False):
            raise ValueError("only [start, stop) ranges are asked for here")
        keys = self._sorted()
        low = 0 if start is None else bisect_left(keys, start)
        high = len(keys) if stop is None else bisect_left(keys, stop)
        chosen = keys[low:high]
        return reversed(chosen) if reverse else iter(chosen)

    def sorted_items(self) -> list[tuple[Any, Any]]:
        return [(key, self[key]) for key in self._sorted()]
