"""A transaction: its uncommitted writes, read through, and undone per statement.

Writes wait in an overlay, one dict per store sorted when scanned (``SortedOnDemand``;
value ``None`` = deleted),
which every read of the transaction consults first -- so a ``find`` after an
``insert_one`` sees the new document -- over ``base``, the committed state the
transaction started from (a ``docdb.models.snapshot.Snapshot``), while other
connections keep reading committed snapshots. ``Database.commit`` turns the
overlay into one log record.

Each public operation runs inside ``statement()``: if it raises, everything it
wrote (data, index entries, catalog changes, stores it created) is undone, so a
failed ``insert_many`` or a unique violation halfway through an ``update_many``
leaves the transaction exactly as it was before the call.

The committed state offers the same two reads (``get``, ``scan``) and a
``catalog``; models read through whichever applies and never need to know.
May import: the standard library, ``sortedcontainers``, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from docdb.errors import OperationalError
from docdb.models.catalog import Catalog
from docdb.models.snapshot import Snapshot, batches_over, merged_over
from docdb.models.sortedkeys import SortedOnDemand

if TYPE_CHECKING:
    from docdb.models.db import Database

_ABSENT = object()
_CATALOG = "catalog"


def overlaid(pending: SortedOnDemand | None, committed: Iterator[tuple[bytes, bytes]], start: bytes | None,
             stop: bytes | None, reverse: bool, contains: bytes | None = None
             ) -> Iterator[tuple[bytes, bytes]]:
    """``committed`` (a scan from ``start`` to ``stop``, of values holding ``contains`` if
    given) with ``pending`` writes laid over it. Every pending write takes part in the
    merge -- one whose value lacks the bytes still hides the committed value -- and the
    bytes are tested once more on what the merge keeps."""
    if not pending:
        return committed
    return merged_over(pending_entries(pending, start, stop, reverse), committed, reverse, contains)


def pending_entries(pending: SortedOnDemand | None, start: bytes | None, stop: bytes | None,
                    reverse: bool) -> list[tuple[bytes, bytes | None]]:
    """A transaction's writes to one store in ``[start, stop)``, in scan order."""
    if not pending:
        return []
    return [(k, pending[k]) for k in pending.irange(start, stop, (True, False), reverse)]


class Transaction:
    def __init__(self, db: Database, base: Snapshot | None = None):
        self.db = db
        self.base = base if base is not None else db.snapshot()
        self.catalog: Catalog = self.base.catalog
        self.overlay: dict[int, SortedOnDemand] = {}
        self._undo: list[tuple] = []
        self._depth = 0
        # store -> the next hidden row id to hand out (the largest + 1, as SQLite's rowid): found
        # by one reverse scan per table, not one per insert (that scan re-sorts the overlay:
        # quadratic in a bulk load). A delete in the table or an undone statement forgets it.
        self.next_rowids: dict[int, int] = {}
        # SAVEPOINT names with the undo-log length when each was set, oldest first; while any
        # is set, finished statements keep their undo entries so ROLLBACK TO can use them
        self.savepoints: list[tuple[str, int]] = []

    # ----- reads ---------------------------------------------------------------------

    def get(self, store: int, key: bytes) -> bytes | None:
        pending = self.overlay.get(store)
        if pending is not None:
            value = pending.get(key, _ABSENT)
            if value is not _ABSENT:
                return value
        return self.base.get(store, key)

    def get_many(self, store: int, keys: list[bytes]) -> list[bytes | None]:
        values = self.base.get_many(store, keys)
        pending = self.overlay.get(store)
        if pending:
            values = [pending.get(k, v) for k, v in zip(keys, values)]
        return values

    def scan(self, store: int, start: bytes | None = None, stop: bytes | None = None,
             reverse: bool = False, contains: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        return overlaid(self.overlay.get(store), self.base.scan(store, start, stop, reverse, contains),
                        start, stop, reverse, contains)

    def scan_batches(self, store: int, start: bytes | None = None, stop: bytes | None = None,
                     reverse: bool = False, batch: int = 1024
                     ) -> Iterator[tuple[list[bytes], list[bytes]]]:
        """``scan`` as ``(keys, values)`` lists, this transaction's writes laid over them."""
        mine = pending_entries(self.overlay.get(store), start, stop, reverse)
        return batches_over(mine, self.base.scan_batches(store, start, stop, reverse, batch),
                            reverse, batch)

    def derived(self, store: int, shape: Any, name: Any,
                build: Callable[[list[list]], Any] | None) -> Any | None:
        return None if store in self.overlay else self.base.derived(store, shape, name, build)

    def caches(self, store: int) -> bool:
        return store not in self.overlay and self.base.caches(store)

    def decoded_batches(self, store: int, shape: Any, decode: Callable[[list[bytes]], list],
                        keep: Callable[[list], bool] | None = None) -> Iterator[list]:
        """``Snapshot.decoded_batches`` as this transaction sees the store: past the row cache
        once the transaction has written it (its rows are nobody else's to share)."""
        if store in self.overlay:
            return (decode(values) for _, values in self.scan_batches(store))
        return self.base.decoded_batches(store, shape, decode, keep)

    # ----- writes --------------------------------------------------------------------

    def put(self, store: int, key: bytes, value: bytes | None) -> None:
        """Write ``value`` under ``key`` (``None`` deletes it)."""
        pending = self.overlay.get(store)
        if pending is None:
            pending = self.overlay[store] = SortedOnDemand()
        self._undo.append((store, key, pending.get(key, _ABSENT)))
        pending[key] = value

    def delete(self, store: int, key: bytes) -> None:
        self.put(store, key, None)

    def set_catalog(self, catalog: Catalog) -> None:
        self._undo.append((_CATALOG, self.catalog))
        self.catalog = catalog

    @property
    def has_writes(self) -> bool:
        return bool(self.overlay) or self.catalog is not self.base.catalog

    # ----- statements ----------------------------------------------------------------

    @contextmanager
    def statement(self) -> Iterator[Transaction]:
        """All of the block's writes, or (if it raises) none of them."""
        mark = len(self._undo)
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._undo_to(mark)
            raise
        finally:
            self._depth -= 1
        if self._depth == 0 and not self.savepoints:
            self._undo.clear()  # a finished statement is undone only by a rollback

    def _undo_to(self, mark: int) -> None:
        self.next_rowids.clear()
        while len(self._undo) > mark:
            entry = self._undo.pop()
            if entry[0] == _CATALOG:
                self.catalog = entry[1]
            else:
                store, key, previous = entry
                if previous is _ABSENT:
                    del self.overlay[store][key]
                    if not self.overlay[store]:
                        del self.overlay[store]  # so a wholly undone statement leaves no writes
                else:
                    self.overlay[store][key] = previous

    # ----- savepoints -----------------------------------------------------------------

    def savepoint(self, name: str) -> None:
        self.savepoints.append((name, len(self._undo)))

    def _find_savepoint(self, name: str) -> int:
        """The position of the newest savepoint called ``name`` (any case), as SQLite finds it."""
        for i in range(len(self.savepoints) - 1, -1, -1):
            if self.savepoints[i][0].lower() == name.lower():
                return i
        raise OperationalError(f"no such savepoint: {name}")

    def release(self, name: str) -> None:
        """Forget ``name`` and every savepoint set after it; their writes stay."""
        del self.savepoints[self._find_savepoint(name):]
        if not self.savepoints:
            self._undo.clear()

    def rollback_to(self, name: str) -> None:
        """Undo every write since ``name`` was set; it stays set (as in SQL), later ones go."""
        i = self._find_savepoint(name)
        self._undo_to(self.savepoints[i][1])
        del self.savepoints[i + 1:]

    def discard(self) -> None:
        """Roll back: forget the writes (a store it made or dropped is only a catalog change:
        stores get their files at a checkpoint, and lose them at the next after a drop)."""
        self.overlay.clear()
        self._undo.clear()
        self.savepoints.clear()
        self.catalog = self.base.catalog
