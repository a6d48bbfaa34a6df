"""The memory engine: the Engine contract held in a sorted dict, with no files at all.

It backs ``docdb.connect(":memory:")``: a private database that lives as long as
its process and leaves nothing on disk. Everything in ``storage.engine``'s
contract holds except what needs a disk: nothing survives ``close`` (or the
process), so the sync modes, ``flush`` and ``compact`` have nothing to do, and
``path`` is only a label (no directory is claimed, so there is no lock).

Snapshot scans: a scan iterates the sorted dict that was current when it
started. While any scan is iterating a dict, a write first copies it and
writes to the copy (copy-on-write), so the running scans never see the write
and the dict they iterate is never mutated under them. A write with no scan
running changes the dict in place.
May import: the standard library, ``storage``'s own modules and ``sortedcontainers``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from sortedcontainers import SortedDict

from storage.engine import Engine, Op, check_sync

NAME = "memory"


class MemoryEngine(Engine):
    name = NAME

    def __init__(self, path: str = ":memory:", sync: str = "off"):
        check_sync(sync)
        self.path = path
        self._lock = threading.Lock()
        self._data: SortedDict = SortedDict()
        self._scans = [0]  # scans iterating ``_data`` now; a fresh counter for each copy
        self._bytes = 0  # of live keys and values

    def _get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def _get_many(self, keys: list[bytes]) -> list[bytes | None]:
        get = self._data.get
        return [get(key) for key in keys]

    def _contains(self, key: bytes) -> bool:
        return key in self._data

    def _len(self) -> int:
        return len(self._data)

    def _write(self, ops: list[Op]) -> None:
        with self._lock:
            data = self._data
            if self._scans[0]:  # a scan iterates this dict: leave it as its snapshot
                data = self._data = data.copy()
                self._scans = [0]
            for key, value in ops:
                old = data.pop(key, None)
                if old is not None:
                    self._bytes -= len(key) + len(old)
                if value is not None:
                    data[key] = value
                    self._bytes += len(key) + len(value)

    def _scan(self, start: bytes | None, stop: bytes | None, reverse: bool,
              contains: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        with self._lock:  # the snapshot is taken now, when scan() is called
            data, scans = self._data, self._scans
            scans[0] += 1
        return self._iterate(data, scans, start, stop, reverse, contains)

    def flush(self) -> None:
        self._check_open()

    def compact(self) -> None:
        self._check_open()

    def stats(self) -> dict[str, Any]:
        self._check_open()
        return {"engine": NAME, "keys": len(self._data), "disk_bytes": 0, "bytes_written": 0,
                "memory_bytes": self._bytes}

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._data = SortedDict()
            self._bytes = 0


    def _iterate(self, data: SortedDict, scans: list[int], start: bytes | None, stop: bytes | None,
                 reverse: bool, contains: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        """Yield from ``data`` (never written while ``scans[0]`` counts this scan), then unpin it."""
        try:
            for key in data.irange(start, stop, inclusive=(True, False), reverse=reverse):
                if self._closed:
                    self._check_open()
                value = data[key]
                if contains is None or contains in value:
                    yield key, value
        finally:
            scans[0] -= 1
