"""The database's write-ahead log: one atomic record batch per committed transaction.

A transaction may touch several tables, collections and indexes, each held by
its own storage engine, and engines only make their *own* batches atomic. So a
commit is first appended here, as one batch of records in storage's record
format (``storage.record``: crc32 per record, the CONTINUED flag making the
batch all-or-nothing across a crash), and only then applied to the engines,
which are opened with ``sync="off"``. After a crash, ``replay`` yields every
whole committed transaction since the last checkpoint and the database applies
them again (puts and deletes are idempotent, and replay keeps their order); a
torn last batch -- a commit that was never acknowledged -- is cut off.

A checkpoint (``Database.checkpoint``) fsyncs every engine and then empties
this log, which bounds both its size and the work of a reopen.

Record key: the store id as 4 big-endian bytes, then the engine key; a delete
is a tombstone record. The ``sync`` mode is the database's: ``full`` fsyncs
before a commit returns, ``normal`` at least once a second, ``off`` only at a
checkpoint.
May import: the standard library, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Iterator

from storage.files import fsync_dir
from storage.lsm.wal import WriteAheadLog, replay, value_of_record
from storage.record import CONTINUED, encode_batch
from storage.syncer import PeriodicSync

NAME = "txlog"
_STORE = struct.Struct(">I")
Write = tuple[int, bytes, "bytes | None"]  # (store id, key, value or None to delete)


def encode_key(store: int, key: bytes) -> bytes:
    return _STORE.pack(store) + key


class TxLog:
    def __init__(self, directory: str, sync: str, sync_interval: float = 1.0):
        self.path = os.path.join(directory, NAME)
        self.sync = sync
        self._lock = threading.Lock()
        self._log = WriteAheadLog(self.path)
        self._seq = 0
        self._syncer = (PeriodicSync(self._lock, lambda: self._log, sync_interval, "docdb-txlog")
                        if sync == "normal" else None)

    @property
    def size(self) -> int:
        return self._log.size

    def append(self, writes: list[Write]) -> None:
        """Append one transaction; durable on return when ``sync="full"``. If it raises,
        nothing of it stays in the log (a failed fsync takes the batch back out)."""
        if self._syncer is not None:  # before writing: a commit that raises is not in the log
            self._syncer.raise_error(self.path)
        ops = [(encode_key(store, key), value) for store, key, value in writes]
        with self._lock:
            offset = self._log.size
            self._log.append(b"".join(encode_batch(self._seq, ops)))
            if self.sync == "full":
                try:
                    self._log.sync()
                except OSError:
                    os.ftruncate(self._log.fd, offset)  # not durable: take it back out
                    self._log.size = offset
                    raise
            self._seq += len(ops)

    def sync_now(self) -> None:
        with self._lock:
            self._log.sync()

    def truncate(self) -> None:
        """Forget every transaction: the caller has made the engines durable first."""
        with self._lock:
            self._log.reset()

    def close(self) -> None:
        if self._syncer is not None:
            self._syncer.stop()
        with self._lock:
            self._log.close()


class NoLog:
    """The log of an in-memory database: nothing outlives the process, so a commit
    needs no record; the engines alone hold it."""

    size = 0

    def append(self, writes: list[Write]) -> None:
        pass

    def sync_now(self) -> None:
        pass

    def truncate(self) -> None:
        pass

    def close(self) -> None:
        pass


def replay_log(directory: str) -> Iterator[list[Write]]:
    """The committed transactions in the log of ``directory``, oldest first."""
    path = os.path.join(directory, NAME)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            os.fsync(f.fileno())
        fsync_dir(directory)
        return
    pending: list[Write] = []
    for record in replay(path, is_newest=True):
        store = _STORE.unpack_from(record.key)[0]
        pending.append((store, record.key[_STORE.size:], value_of_record(record)))
        if not record.flags & CONTINUED:  # the last record of its transaction
            yield pending
            pending = []
