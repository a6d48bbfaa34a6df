"""The decoded-row cache: a store's committed rows, decoded once and read again by every scan.

A full scan of a table or collection spends most of its time decoding stored
bytes into Python values (``orjson.loads`` of a row costs more than filtering
it). The cache keeps what a full scan decoded -- the store's rows in key order,
as the lists of values the scan produced -- so the next full scan of the same
committed state replays them instead of reading and decoding again.

Correctness rests on the *version* a snapshot gives each store
(``Snapshot.store_version``): the number of the newest commit, up to the
snapshot's, that wrote the store, in its log generation (``View.serial``). Every
commit, this process's or another's (read when the log is followed), goes
through ``LogState.add``, which records the stores it wrote; so a version names
exactly one state of the store's rows. An entry is kept under the version it was
read at and the *shape* its rows were decoded with (a table's catalog entry: an
added column changes how rows decode), and is only handed to a reader asking for
that same (version, shape). Nothing is filled from a transaction's own writes: a
transaction that has written a store reads it past the cache, so uncommitted rows
never reach another reader, and a rollback has nothing to undo here.

The cache is bounded by ``capacity`` rows across all stores (``cache_size`` of
``docdb.connect``); a scan of a store bigger than that is simply not kept, and the
least recently used stores are dropped to make room. Cached lists are shared: a
reader must never change them or the rows in them.
May import: the standard library and ``docdb.errors``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

from docdb.errors import ProgrammingError

__all__ = ["DEFAULT_CACHE_SIZE", "RowCache"]

DEFAULT_CACHE_SIZE = 250_000  # rows and documents, across every table and collection


class RowCache:
    """Per store, the decoded rows of one committed version, least recently used first."""

    def __init__(self, capacity: int = DEFAULT_CACHE_SIZE):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise ProgrammingError(f"cache_size is a number of rows, 0 or more, not {capacity!r}")
        self.capacity = capacity
        self._lock = threading.Lock()
        # store -> (version, shape, batches, rows, derived: name -> what was computed from them)
        self._entries: dict[int, tuple[Hashable, Any, list[list], int, dict]] = {}
        self._rows = 0
        self.hits = self.misses = 0

    def derived(self, store: int, version: Hashable, shape: Any, name: Hashable,
                build: Callable[[list[list]], Any] | None) -> Any | None:
        """``build(batches)`` of the store's cached rows at ``version`` (an index of their
        values, say), computed once and kept with them -- dropped with them when the store
        changes; None if the cache does not hold those rows (or, with no ``build``, if it
        was not made yet)."""
        with self._lock:
            found = self._entries.get(store)
            if found is None or found[0] != version or found[1] is not shape:
                return None
            made = found[4].get(name)
        if made is None and build is not None:
            made = build(found[2])
            with self._lock:
                found[4][name] = made
        if made is not None:
            with self._lock:
                self.hits += 1  # a read of the cached rows, through what was made of them
        return made

    def batches(self, store: int, version: Hashable, shape: Any, read: Callable[[], Iterable[list]],
                keep: Callable[[list], bool] | None = None) -> Iterator[list]:
        """The store's decoded rows at ``version`` as lists: the cached ones if they are that
        version's and were decoded as ``shape`` (compared by identity), else ``read()``'s --
        which are kept for the next scan if the caller reads them to the end, they fit, and
        ``keep`` (if given) accepts every list."""
        with self._lock:
            found = self._entries.get(store)
            if found is not None and found[0] == version and found[1] is shape:
                self._entries[store] = self._entries.pop(store)  # most recently used
                self.hits += 1
                return iter(found[2])
            self.misses += 1
        if self.capacity == 0:
            return iter(read())
        return self._filling(store, version, shape, read(), keep)

    def _filling(self, store: int, version: Hashable, shape: Any, lists: Iterable[list],
                 keep: Callable[[list], bool] | None) -> Iterator[list]:
        kept: list[list] | None = []
        count = 0
        for rows in lists:
            if kept is not None:
                count += len(rows)
                if count > self.capacity or (keep is not None and not keep(rows)):
                    kept = None  # bigger than the whole cache, or refused: not held
                else:
                    kept.append(rows)
            yield rows
        if kept is not None:
            self._keep(store, version, shape, kept, count)

    def _keep(self, store: int, version: Hashable, shape: Any, batches: list[list], count: int) -> None:
        with self._lock:
            old = self._entries.pop(store, None)
            if old is not None:
                self._rows -= old[3]
            while self._entries and self._rows + count > self.capacity:
                evicted = self._entries.pop(next(iter(self._entries)))
                self._rows -= evicted[3]
            self._entries[store] = (version, shape, batches, count, {})
            self._rows += count

    def forget(self, store: int) -> None:
        with self._lock:
            old = self._entries.pop(store, None)
            if old is not None:
                self._rows -= old[3]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._rows = 0

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"capacity_rows": self.capacity, "rows": self._rows, "stores": len(self._entries),
                    "hits": self.hits, "misses": self.misses}
