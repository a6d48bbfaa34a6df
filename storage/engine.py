"""The Engine interface every storage engine implements, and its contract.

An engine maps non-empty ``bytes`` keys (at most 64 KiB) to ``bytes`` values (at
most 256 MiB) inside one directory that it owns. The contract, which
``tests/storage/test_contract.py`` checks for every engine:

* ``get(key)`` returns the value of the newest acknowledged ``put`` of ``key``, or
  ``None`` after a ``delete`` or if it was never written; ``engine[key]`` raises
  ``KeyError`` instead of returning ``None``; ``key in engine``; ``len(engine)``
  counts live keys. ``engine[key] = value`` is ``put``; ``del engine[key]`` is
  ``delete`` but raises ``KeyError`` for a missing key, as a dict does.
* ``with engine.batch() as b: ...`` collects puts and deletes and applies them
  atomically when the block exits without an exception: readers, and a reopen
  after a crash, see all of the batch or none of it. An exception inside the
  block discards the batch. Writes in a batch are not visible until it exits.
* ``get_many(keys)`` is ``[get(k) for k in keys]`` in one call: a list of values
  (``None`` where absent) in the order of ``keys``. An engine may answer it faster
  than key by key, most of all for keys in ascending order.
* ``scan(start, stop, reverse, contains)`` yields ``(key, value)`` in ascending byte
  order (descending with ``reverse``), ``start`` inclusive, ``stop`` exclusive; with
  ``contains``, only the entries whose value holds those bytes (an engine may skip
  whole blocks that lack them). It reads a snapshot taken when it starts: writes
  made while it runs are not seen.
* ``scan_batches(start, stop, reverse, batch)`` is ``scan`` handed over in lists: it
  yields ``(keys, values)`` pairs of non-empty lists, about ``batch`` entries each (an
  engine may hand over a whole block at once), whose concatenation is exactly what
  ``scan`` with the same bounds and order yields, from the same kind of snapshot. The
  layers above read rows a list at a time instead of one generator step per entry.
* Durability (``sync``):
  ``"full"``   fsync before ``put``/``delete``/a batch returns: an acknowledged write
               survives a process crash and a power loss.
  ``"normal"`` each write is handed to the OS before it returns and fsynced at
               least once a second and on ``flush``/``close``: survives a process
               crash; a power loss may lose the last second of writes.
  ``"off"``    handed to the OS, fsynced only by ``flush``: survives a process
               crash; a power loss may lose anything not flushed.
  In every mode a crash never leaves a torn record or half a batch visible.
* Bad input raises before anything is written: ``TypeError`` for keys or values
  that are not ``bytes``, ``ValueError`` for empty or oversize ones.
* One process owns a directory (``LockedError`` for a second opener); an engine
  object is safe to share between threads of that process.

Subclasses implement the underscored hooks; validation lives here, once.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

from storage.batches import chunked
from storage.errors import ClosedError, CorruptionError
from storage.record import MAX_KEY, MAX_VALUE

SYNC_MODES = ("full", "normal", "off")
Op = tuple[bytes, "bytes | None"]


def check_key(key: object) -> None:
    if not isinstance(key, bytes):
        raise TypeError(f"keys must be bytes, not {type(key).__name__}")
    if not key:
        raise ValueError("keys must not be empty")
    if len(key) > MAX_KEY:
        raise ValueError(f"key of {len(key)} bytes is longer than the limit of {MAX_KEY}")


def check_value(value: object) -> None:
    if not isinstance(value, bytes):
        raise TypeError(f"values must be bytes, not {type(value).__name__}")
    if len(value) > MAX_VALUE:
        raise ValueError(f"value of {len(value)} bytes is longer than the limit of {MAX_VALUE}")


def check_entry(key: object, value: object) -> None:
    """``check_key`` and ``check_value`` for a put's hot path: one test when all is well."""
    if (key.__class__ is not bytes or value.__class__ is not bytes
            or not 0 < len(key) <= MAX_KEY or len(value) > MAX_VALUE):  # type: ignore[arg-type]
        check_key(key)
        check_value(value)


def check_sync(sync: object) -> str:
    if sync not in SYNC_MODES:
        raise ValueError(f"sync must be one of {', '.join(SYNC_MODES)}; got {sync!r}")
    return sync  # type: ignore[return-value]


def check_bound(name: str, bound: object) -> None:
    if bound is not None and not isinstance(bound, bytes):
        raise TypeError(f"scan {name} must be bytes or None, not {type(bound).__name__}")


class Batch:
    """Puts and deletes collected for one atomic write; see ``Engine.batch``."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._ops: list[Op] = []
        self._done = False

    def put(self, key: bytes, value: bytes) -> None:
        check_key(key)
        check_value(value)
        self._check_open()
        self._ops.append((key, value))

    def delete(self, key: bytes) -> None:
        check_key(key)
        self._check_open()
        self._ops.append((key, None))

    def __len__(self) -> int:
        return len(self._ops)

    def _check_open(self) -> None:
        if self._done:
            raise ValueError("this batch has already been applied or discarded")

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._done = True
        if exc_type is None and self._ops:
            self._engine._check_open()
            self._engine._write(self._ops)
        self._ops = []


class Engine(ABC):
    """Base of every engine: argument checks and the Python protocols."""

    name = "engine"
    _closed = False

    def get(self, key: bytes) -> bytes | None:
        check_key(key)
        self._check_open()
        return self._get(key)

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        keys = list(keys)
        for key in keys:
            if key.__class__ is not bytes or not 0 < len(key) <= MAX_KEY:
                check_key(key)
        self._check_open()
        return self._get_many(keys)

    def put(self, key: bytes, value: bytes) -> None:
        check_key(key)
        check_value(value)
        self._check_open()
        self._write([(key, value)])

    def delete(self, key: bytes) -> None:
        check_key(key)
        self._check_open()
        self._write([(key, None)])

    def batch(self) -> Batch:
        self._check_open()
        return Batch(self)

    def scan(
        self, start: bytes | None = None, stop: bytes | None = None, reverse: bool = False,
        contains: bytes | None = None,
    ) -> Iterator[tuple[bytes, bytes]]:
        check_bound("start", start)
        check_bound("stop", stop)
        check_bound("contains", contains)
        if contains == b"":
            contains = None  # every value holds the empty string
        self._check_open()
        return self._scan(start, stop, bool(reverse), contains)

    def scan_batches(
        self, start: bytes | None = None, stop: bytes | None = None, reverse: bool = False,
        batch: int = 1024,
    ) -> Iterator[tuple[list[bytes], list[bytes]]]:
        check_bound("start", start)
        check_bound("stop", stop)
        if not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a positive int, not {batch!r}")
        self._check_open()
        return self._scan_batches(start, stop, bool(reverse), batch)

    def __getitem__(self, key: bytes) -> bytes:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.put(key, value)

    def __delitem__(self, key: bytes) -> None:
        if key not in self:
            raise KeyError(key)
        self.delete(key)

    def __contains__(self, key: object) -> bool:
        check_key(key)
        self._check_open()
        return self._contains(key)  # type: ignore[arg-type]

    def __len__(self) -> int:
        self._check_open()
        return self._len()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(f"the {self.name} engine at {self.path!r} is closed")

    path: str

    @abstractmethod
    def _get(self, key: bytes) -> bytes | None: ...

    def _get_many(self, keys: list[bytes]) -> list[bytes | None]:
        get = self._get
        return [get(key) for key in keys]

    @abstractmethod
    def _contains(self, key: bytes) -> bool: ...

    @abstractmethod
    def _len(self) -> int: ...

    @abstractmethod
    def _write(self, ops: list[Op]) -> None:
        """Apply ``ops`` (value ``None`` = delete) atomically and durably per ``sync``."""

    @abstractmethod
    def _scan(
        self, start: bytes | None, stop: bytes | None, reverse: bool, contains: bytes | None
    ) -> Iterator[tuple[bytes, bytes]]: ...

    def _scan_batches(
        self, start: bytes | None, stop: bytes | None, reverse: bool, batch: int
    ) -> Iterator[tuple[list[bytes], list[bytes]]]:
        """``_scan`` cut into lists; an engine with whole blocks at hand does better."""
        for chunk in chunked(self._scan(start, stop, reverse, None), batch):
            yield [key for key, _ in chunk], [value for _, value in chunk]

    @abstractmethod
    def flush(self) -> None:
        """Make every acknowledged write durable (fsync), whatever the sync mode."""

    @abstractmethod
    def compact(self) -> None:
        """Reclaim the space of overwritten and deleted data; returns when done."""

    def verify(self) -> None:
        """Read everything the engine holds, checking every checksum on the way: returns when
        all is sound, raises ``CorruptionError`` (with the file and offset) at the first damage.
        This default reads every live entry; engines read their dead data too."""
        self._check_open()
        count = sum(1 for _ in self.scan())
        if count != len(self):
            raise CorruptionError(f"a scan finds {count} keys but the engine counts {len(self)}",
                                  getattr(self, "path", ""))

    def maintain(self) -> None:
        """Do now, in this thread, the upkeep background work would do (flush, merge runs of
        tables or dead segments), for a writer that opens the engine only briefly."""
        self._check_open()

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counters; every engine has ``engine``, ``keys``, ``disk_bytes`` (its files'
        sizes now) and ``bytes_written`` (to its files since it was opened, for
        write amplification), plus its own."""

    @abstractmethod
    def close(self) -> None:
        """Flush, stop background work and release the directory; idempotent."""
