"""What a process reads: the stores' engines as the last checkpoint left them, with the
log written since laid over them, as of one commit.

``LogState`` is one log generation as this process has read it so far: per store,
each key's values in commit order, each tagged with the number of the commit that
wrote it (1, 2, ...). It only grows -- a commit read adds versions, nothing is
changed -- so a ``Snapshot`` is just (view, commit number): it sees, for every key
the log holds, the value of the newest commit up to its number, and for every other
key the engines' value. A checkpoint writes the log's latest values into the engines
and starts a new generation: a new ``View`` (new log state, engines reopened), while
older snapshots keep reading their own view, whose read-only engines stay the files as
they were when opened (``storage``'s read-only opens).

Scans lay the log's keys in range over the engine's scan (``overlaid``); point reads
ask the log's dict first. ``lock`` (the database's log lock) is held while a scan
lists the log's keys, so a commit being added meanwhile cannot shift them.
May import: the standard library, ``sortedcontainers``, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import Any

from docdb.models.catalog import Catalog
from docdb.models.rowcache import RowCache
from docdb.models.sortedkeys import SortedOnDemand
from storage.batches import merge_batches
from storage.merge import merge

__all__ = ["EngineUsers", "LogState", "Snapshot", "View", "merged_over"]

_ABSENT = object()
Versions = list  # [(commit number, value or None), ...], oldest first


class LogState:
    def __init__(self) -> None:
        self.commits = 0
        self.bytes = 0  # of the keys and values added: what a checkpoint will write, roughly
        self.stores: dict[int, SortedOnDemand] = {}  # store -> key -> Versions
        self.written: dict[int, list[int]] = {}  # store -> the numbers of the commits that wrote it

    def add(self, writes: list[tuple[int, bytes, bytes | None]]) -> None:
        """One more commit's writes (in the order it made them; the last write of a key wins)."""
        self.commits += 1
        number = self.commits
        written = self.written
        for store, key, value in writes:
            numbers = written.get(store)
            if numbers is None:
                written[store] = [number]
            elif numbers[-1] != number:
                numbers.append(number)
            self.bytes += len(key) + (len(value) if value is not None else 0)
            keys = self.stores.get(store)
            if keys is None:
                keys = self.stores[store] = SortedOnDemand()
            versions = keys.get(key)
            if versions is None:
                keys[key] = [(number, value)]
            elif versions[-1][0] == number:
                versions[-1] = (number, value)
            else:
                versions.append((number, value))

    def version(self, store: int, at: int) -> int:
        """The number of the newest commit up to ``at`` that wrote ``store`` (0: none did)."""
        numbers = self.written.get(store)
        if not numbers:
            return 0
        if numbers[-1] <= at:
            return numbers[-1]
        i = bisect_right(numbers, at)
        return numbers[i - 1] if i else 0

    def latest(self, store: int) -> list[tuple[bytes, bytes | None]]:
        """Every key of ``store`` with its newest value (None: deleted), in key order."""
        keys = self.stores.get(store)
        return [(key, versions[-1][1]) for key, versions in keys.sorted_items()] if keys else []


def _as_of(versions: Versions, at: int) -> Any:
    if versions[-1][0] <= at:
        return versions[-1][1]
    for number, value in reversed(versions):
        if number <= at:
            return value
    return _ABSENT


_SERIALS = itertools.count(1)


class View:
    """One generation: its log state and the read-only engines of the stores (a store a
    checkpoint has not yet written has none: it is all in the log)."""

    def __init__(self, generation: int, log: LogState, engines: dict[int, Any], lock: Any,
                 rows: RowCache | None = None):
        self.generation = generation
        self.log = log
        self.engines = engines
        self.lock = lock
        self.rows = rows  # the database's decoded-row cache, shared by its views
        self.serial = next(_SERIALS)  # names this view in row cache versions: unique in the process


class Snapshot:
    """The committed state as of commit ``at`` of ``view``, with that moment's ``catalog``."""

    __slots__ = ("view", "at", "catalog", "__weakref__")

    def __init__(self, view: View, at: int, catalog: Catalog):
        self.view = view
        self.at = at
        self.catalog = catalog

    @property
    def position(self) -> tuple[int, int]:
        return self.view.generation, self.at

    def get(self, store: int, key: bytes) -> bytes | None:
        keys = self.view.log.stores.get(store)
        if keys is not None:
            versions = keys.get(key)
            if versions is not None:
                value = _as_of(versions, self.at)
                if value is not _ABSENT:
                    return value
        engine = self.view.engines.get(store)
        return engine.get(key) if engine is not None else None

    def get_many(self, store: int, keys: list[bytes]) -> list[bytes | None]:
        engine = self.view.engines.get(store)
        values = engine.get_many(keys) if engine is not None else [None] * len(keys)
        logged = self.view.log.stores.get(store)
        if logged:
            at = self.at
            for i, key in enumerate(keys):
                versions = logged.get(key)
                if versions is not None:
                    value = _as_of(versions, at)
                    if value is not _ABSENT:
                        values[i] = value
        return values

    def scan(self, store: int, start: bytes | None = None, stop: bytes | None = None,
             reverse: bool = False, contains: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        engine = self.view.engines.get(store)
        committed = engine.scan(start, stop, reverse, contains) if engine is not None else iter(())
        return merged_over(self._logged(store, start, stop, reverse), committed, reverse, contains)

    def scan_batches(self, store: int, start: bytes | None = None, stop: bytes | None = None,
                     reverse: bool = False, batch: int = 1024
                     ) -> Iterator[tuple[list[bytes], list[bytes]]]:
        """``scan`` as ``(keys, values)`` lists (the engine's ``scan_batches``): a reader
        that takes every row pays per list, not per entry, for what lies between."""
        engine = self.view.engines.get(store)
        committed = engine.scan_batches(start, stop, reverse, batch) if engine is not None else iter(())
        return batches_over(self._logged(store, start, stop, reverse), committed, reverse, batch)

    def store_version(self, store: int) -> tuple[int, int]:
        """What names the state of ``store``'s rows this snapshot sees (``docdb.models.rowcache``):
        the view, and the newest commit of its log up to this snapshot that wrote the store."""
        return self.view.serial, self.view.log.version(store, self.at)

    def derived(self, store: int, shape: Any, name: Any,
                build: Callable[[list[list]], Any] | None) -> Any | None:
        """``RowCache.derived`` for this snapshot's state of ``store`` (None: not cached)."""
        cache = self.view.rows
        if cache is None:
            return None
        return cache.derived(store, self.store_version(store), shape, name, build)

    def caches(self, store: int) -> bool:
        """Would ``decoded_batches`` of ``store`` go through the row cache?"""
        return self.view.rows is not None and self.view.rows.capacity > 0

    def decoded_batches(self, store: int, shape: Any, decode: Callable[[list[bytes]], list],
                        keep: Callable[[list], bool] | None = None) -> Iterator[list]:
        """Every value of ``store`` in key order, decoded by ``decode`` a list at a time --
        from the row cache when it holds this state decoded as ``shape``, else read and
        kept there if ``keep`` accepts every list. The lists are shared with later readers:
        never change them."""
        def read() -> Iterator[list]:
            return (decode(values) for _, values in self.scan_batches(store))
        cache = self.view.rows
        if cache is None:
            return read()
        return cache.batches(store, self.store_version(store), shape, read, keep)

    def _logged(self, store: int, start: bytes | None, stop: bytes | None,
                reverse: bool) -> list[tuple[bytes, bytes | None]]:
        """The store's writes of ``[start, stop)`` that the log holds and the engine does not
        yet, as of this snapshot, in scan order (None for a delete)."""
        logged = self.view.log.stores.get(store)
        if not logged:
            return []
        at = self.at
        with self.view.lock:
            keys = logged.irange(start, stop, (True, False), reverse)
            if at >= self.view.log.commits:  # the newest state: every key's last version
                return [(key, logged[key][-1][1]) for key in keys]
            mine = []
            for key in keys:
                value = _as_of(logged[key], at)
                if value is not _ABSENT:
                    mine.append((key, value))
        return mine


def merged_over(mine: list[tuple[bytes, bytes | None]], committed: Iterator[tuple[bytes, bytes]],
                reverse: bool, contains: bytes | None) -> Iterator[tuple[bytes, bytes]]:
    """``committed`` (a scan, of values holding ``contains`` if given) with ``mine`` -- newer
    writes in the same order, None for a delete -- laid over it. Every write of ``mine``
    takes part in the merge (one whose value lacks the bytes still hides the older value),
    and the bytes are tested once more on what the merge keeps."""
    if not mine:
        return committed
    merged = merge([mine, committed], reverse=reverse)
    if contains is None:
        return merged
    return (entry for entry in merged if contains in entry[1])


def batches_over(mine: list[tuple[bytes, bytes | None]],
                 committed: Iterator[tuple[list[bytes], list[bytes]]], reverse: bool,
                 batch: int) -> Iterator[tuple[list[bytes], list[bytes]]]:
    """``merged_over`` for batch scans: ``mine`` laid over ``committed`` lists."""
    if not mine:
        return committed
    newer = ([key for key, _ in mine], [value for _, value in mine])
    return merge_batches([[newer], committed], reverse, batch)


class EngineUsers:
    """Which views read each read-only engine: a new view reuses the engines of the stores
    a checkpoint did not write, so an engine is closed when the last view using it is gone
    (when nothing reads that view's snapshots any more)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[int, list] = {}  # id(engine) -> [engine, views using it]

    def hold(self, view: View) -> None:
        engines = list(view.engines.values())
        with self._lock:
            for engine in engines:
                entry = self._users.setdefault(id(engine), [engine, 0])
                entry[1] += 1
        weakref.finalize(view, self._let_go, engines)

    def _let_go(self, engines: list[Any]) -> None:
        unused = []
        with self._lock:
            for engine in engines:
                entry = self._users.get(id(engine))
                if entry is not None:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        del self._users[id(engine)]
                        unused.append(engine)
        for engine in unused:
            try:
                engine.close()
            except Exception:  # noqa: BLE001 - closing a read-only engine has nothing to lose
                pass

    def close_all(self) -> None:
        with self._lock:
            engines = [entry[0] for entry in self._users.values()]
            self._users.clear()
        for engine in engines:
            engine.close()
