"""The "dict + append-only file" baseline: the floor a Python key-value store sits on.

A plain dict holds every key and value in memory; every put appends one record
to a log with ``os.write``; reopening replays the log. It has no checksums, no
segments and no index on disk, so it shows how much of docdb's time is the
unavoidable cost of Python calls plus a system call per write, and how much is
docdb's own machinery.

Record format (bench-only, never read by docdb): ``<u32 key length><u32 value
length><key><value>``, little-endian. May import: the standard library only.
"""

from __future__ import annotations

import os
import struct
from bisect import bisect_left
from collections.abc import Iterable, Iterator

__all__ = ["DictFile"]

_HEADER = struct.Struct("<II")


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked; loop so a big batch is never cut short."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _encode(key: bytes, value: bytes) -> bytes:
    return _HEADER.pack(len(key), len(value)) + key + value


class DictFile:
    """In-memory dict mirrored by an append-only log file.

    ``durable`` says whether write phases end in an fsync (sync="normal");
    without it (sync="off") records reach the OS but never the disk on purpose.
    """

    def __init__(self, path: str, durable: bool) -> None:
        self.path = path
        self.durable = durable
        self.data: dict[bytes, bytes] = {}
        self._replay()
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def _replay(self) -> None:
        """Rebuild the dict from the log: the whole cost of reopening this baseline."""
        try:
            with open(self.path, "rb") as f:
                buf = f.read()
        except FileNotFoundError:
            return
        pos, end, data, unpack = 0, len(buf), self.data, _HEADER.unpack_from
        while pos + 8 <= end:
            klen, vlen = unpack(buf, pos)
            kend = pos + 8 + klen
            data[buf[pos + 8:kend]] = buf[kend:kend + vlen]
            pos = kend + vlen

    def put(self, key: bytes, value: bytes) -> None:
        """One record, one system call: the same shape as a naive log-structured put."""
        os.write(self.fd, _HEADER.pack(len(key), len(value)) + key + value)
        self.data[key] = value

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        """Its natural batch: all records joined and written at once."""
        items = list(items)
        _write_all(self.fd, b"".join([_encode(k, v) for k, v in items]))
        self.data.update(items)

    def scan(self, start: bytes | None = None,
             stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Ordered iteration has to sort every key, even for a short range:
        a dict has no order by key, and a sorted copy kept aside would be an index."""
        data = self.data
        keys = sorted(data)
        lo = 0 if start is None else bisect_left(keys, start)
        hi = len(keys) if stop is None else bisect_left(keys, stop)
        for key in keys[lo:hi]:
            yield key, data[key]

    def sync(self) -> None:
        if self.durable:
            os.fsync(self.fd)

    def rewrite(self) -> None:
        """Merge: write only live records to a new file and swap it in atomically."""
        tmp = self.path + ".merge"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, b"".join([_encode(k, v) for k, v in self.data.items()]))
            if self.durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.close(self.fd)
        os.replace(tmp, self.path)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def close(self) -> None:
        os.close(self.fd)
