"""The pure-Python log-structured peers: semidbm and the dict + file baseline.

Neither keeps keys in order, so an ordered scan, even of a 1% range, sorts
every key at query time: keeping a sorted copy aside would be building the
index they do not have, and the point of these columns is what they cost as
they are. Their sync levels are in bench.peers' table.
May import: the standard library, semidbm and bench modules.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from bench.dictfile import DictFile
from bench.peerbase import Getter, Items, Peer, periodic_fsync

__all__ = ["DictFilePeer", "SemidbmPeer"]


class SemidbmPeer(Peer):
    """semidbm: a pure-Python log-structured dbm, the closest third-party twin."""

    label = "semidbm"
    batch_note = "no batch API: plain puts"

    def __init__(self, path: str, sync: str) -> None:
        import semidbm

        self.db = semidbm.open(os.path.join(path, "semidbm"), "c")
        self.durable = sync != "off"
        self.syncer = periodic_fsync(sync, self.db.sync)

    def putter(self) -> Callable[[bytes, bytes], Any]:
        return self.db.__setitem__

    def end(self) -> None:
        if self.durable:
            self.db.sync()

    def put_batch(self, items: Items, size: int) -> None:
        put = self.db.__setitem__
        for k, v in items:
            put(k, v)
        self.end()

    def getter(self) -> Getter:
        db = self.db
        return lambda k: db[k] if k in db else None  # noqa: SIM401 (no .get)

    def scan(self, start: bytes | None = None,
             stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """No ordered iteration exists: sort the keys, slice the range, fetch each one."""
        db, keys = self.db, sorted(self.db.keys())
        lo = 0 if start is None else bisect_left(keys, start)
        hi = len(keys) if stop is None else bisect_left(keys, stop)
        return ((k, db[k]) for k in keys[lo:hi])

    def merge(self) -> None:
        self.db.compact()

    def close(self) -> None:
        if self.syncer:
            self.syncer.stop()
        self.db.close()


class DictFilePeer(Peer):
    """The dict + append-only file baseline (see bench.dictfile)."""

    label = "dict+file"

    def __init__(self, path: str, sync: str) -> None:
        self.store = DictFile(os.path.join(path, "data.log"), durable=sync != "off")
        self.syncer = periodic_fsync(sync, self.store.sync)

    def putter(self) -> Callable[[bytes, bytes], Any]:
        return self.store.put

    def end(self) -> None:
        self.store.sync()

    def put_batch(self, items: Items, size: int) -> None:
        self.store.put_many(items)
        self.store.sync()

    def getter(self) -> Getter:
        return self.store.data.get

    def scan(self, start: bytes | None = None,
             stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        return self.store.scan(start, stop)

    def merge(self) -> None:
        self.store.rewrite()

    def close(self) -> None:
        if self.syncer:
            self.syncer.stop()
        self.store.close()
