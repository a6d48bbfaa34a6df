"""What every measured system's adapter is: the ``Peer`` base and its helpers.

Kept apart from the adapters themselves (bench.peers, bench.pypeers) so both
modules can share it without importing each other. Besides the timed
operations, a peer says how many bytes it has written to disk so far
(``bytes_written``) and how that was counted (``write_method``): write
amplification is only as honest as that counter, so the method is printed
beside every number. May import: the standard library only.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["SYNC_LEVELS", "Getter", "Items", "Opener", "Peer", "PeriodicFsync",
           "periodic_fsync", "proc_wchar"]

SYNC_LEVELS = ("off", "normal")
Items = Sequence[tuple[bytes, bytes]]
Getter = Callable[[bytes], "bytes | None"]


def proc_wchar() -> int:
    """Bytes this process (all its threads) has passed to write-family system calls.

    ``wchar`` in /proc/self/io counts write, pwrite and writev, so it sees a
    peer's log, journal and compaction writes, including those of background
    threads; it does not see stores through a memory map (hence docdb's own
    counter) and it counts bytes handed to the OS, not bytes the device wrote.
    """
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no wchar line")


class Peer(ABC):
    """Base adapter; ``batch_note`` marks systems without a real batch."""

    label = "?"
    batch_note: str | None = None
    write_method = "wchar"  # how bytes_written counts; see proc_wchar

    @abstractmethod
    def putter(self) -> Callable[[bytes, bytes], Any]:
        """Each adapter implements it."""

    def begin(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Start a write phase (a transaction where the system has them)."""

    def end(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """End a write phase at the configured sync level; timed with the writes."""

    @abstractmethod
    def put_batch(self, items: Items, size: int) -> None:
        """Each adapter implements it."""

    @abstractmethod
    def getter(self) -> Getter:
        """Each adapter implements it."""

    @abstractmethod
    def scan(self, start: bytes | None = None,
             stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` in key order, ``start`` inclusive, ``stop`` exclusive."""

    def scan_counts(self, start: bytes | None = None, stop: bytes | None = None,
                    batch: int = 1024) -> Iterator[int]:
        """The scan read many records per call, yielding how many each call returned: a
        system's own batch interface where it has one, else ``scan`` cut into lists."""
        entries = self.scan(start, stop)
        while n := len(list(itertools.islice(entries, batch))):
            yield n

    @abstractmethod
    def merge(self) -> None:
        """Each adapter implements it."""

    def bytes_written(self) -> int:
        """A counter of bytes written to disk; only differences of it are meaningful."""
        return proc_wchar()

    @abstractmethod
    def close(self) -> None:
        """Each adapter implements it."""


Opener = Callable[[str, str], Peer]


class PeriodicFsync:
    """docdb's sync="normal" background fsync, mirrored for peers that lack one.

    It fsyncs every ``interval`` seconds whether or not anything was written (a
    clean fsync is nearly free), so the peers' put paths need no dirty flag.
    OSError is ignored: a merge may swap the file under the thread for a moment.
    """

    def __init__(self, fsync: Callable[[], None], interval: float = 1.0) -> None:
        self._fsync, self._interval = fsync, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-fsync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with contextlib.suppress(OSError):
                self._fsync()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def periodic_fsync(sync: str, fsync: Callable[[], None]) -> PeriodicFsync | None:
    return PeriodicFsync(fsync) if sync == "normal" else None
