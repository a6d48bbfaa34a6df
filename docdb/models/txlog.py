"""The database's write-ahead log: one atomic record batch per committed transaction.

A transaction may touch several tables, collections and indexes, each held by
its own storage engine, and engines only make their *own* batches atomic. So a
commit is one batch of records appended here, in storage's record format
(``storage.record``: crc32 per record, the CONTINUED flag making the batch
all-or-nothing across a crash). The engines receive it only at a checkpoint
(``docdb.models.db``); until then every process reads it from here, as SQLite's
WAL mode reads its ``-wal`` file.

The log has generations: ``txlog`` is generation 0 (and a database of the earlier
single-process format), ``txlog.<n>`` generation n. A checkpoint writes the
engines, then starts the next generation's empty log, then appends a *seal* to
the old one -- one record naming the next generation, so a process reading the
old log as it grows learns to move on -- and removes the old log (a process still
reading it keeps its descriptor). The newest log on disk is the current one.

``LogReader`` follows one generation's log as other processes append to it and
returns only whole transactions: a batch being written, or cut short by a writer's
crash, is left until it is whole (the next writer cuts a crash's tail off before it
appends). ``LogWriter`` appends, under the database's writer lock. Record key: the
store id as 4 big-endian bytes, then the engine key; a delete is a tombstone. The
``sync`` mode is the database's: ``full`` fsyncs before a commit returns,
``normal`` at least once a second, ``off`` only at a checkpoint.

A failed fsync of the log is final for this writer, as PostgreSQL learned: the kernel
may already have dropped the unwritten pages, so a later fsync that succeeds proves
nothing. Every later append raises until the database is opened again and reads what
the disk really holds. A log deleted or cut shorter behind the database's back is
refused the same way, rather than written into a file no one will read.
May import: the standard library, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

import os
import struct
import threading

from storage.errors import StorageError
from storage.files import fsync_dir
from storage.log import WriteAheadLog
from storage.record import CONTINUED, TornTail, encode_batch, iter_records, value_of_record
from storage.syncer import PeriodicSync

NAME = "txlog"
_STORE = struct.Struct(">I")
SEAL = 0xFFFFFFFF  # the store id of a seal record: this log is finished, read the next
Write = tuple[int, bytes, "bytes | None"]  # (store id, key, value or None to delete)


def encode_key(store: int, key: bytes) -> bytes:
    return _STORE.pack(store) + key


def log_path(directory: str, generation: int) -> str:
    return os.path.join(directory, NAME if generation == 0 else f"{NAME}.{generation}")


def generations(directory: str) -> list[int]:
    """The generations whose log is on disk, oldest first."""
    found = []
    for name in os.listdir(directory):
        if name == NAME:
            found.append(0)
        elif name.startswith(NAME + ".") and name[len(NAME) + 1:].isdigit():
            found.append(int(name[len(NAME) + 1:]))
    return sorted(found)


def create_log(directory: str, generation: int) -> None:
    """A new empty log, durable with its name before anything is written to it."""
    fd = os.open(log_path(directory, generation), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(directory)


class LogReader:
    """One generation's log, read as it grows: whole transactions only."""

    def __init__(self, directory: str, generation: int):
        self.generation = generation
        self.path = log_path(directory, generation)
        self._fd = os.open(self.path, os.O_RDONLY)
        self.offset = 0  # the end of the whole transactions read so far
        self.sealed: int | None = None  # the next generation, once its seal is read
        self.torn = False  # bytes past ``offset`` that are not (yet) a whole transaction
        self.torn_at_end = True  # ... and nothing whole after them: a write cut short

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def read(self) -> list[list[Write]]:
        """The transactions appended since the last call, oldest first."""
        size = self.size()
        if size <= self.offset or self.sealed is not None:
            self.torn = False
            return []
        data = os.pread(self._fd, size - self.offset, self.offset)
        transactions: list[list[Write]] = []
        pending: list[Write] = []
        end = self.offset + len(data)
        try:
            for record in iter_records(data, 0, base=self.offset):
                store = _STORE.unpack_from(record.key)[0]
                if store == SEAL:
                    self.sealed = int(record.value)
                    break
                pending.append((store, record.key[_STORE.size:], value_of_record(record)))
                if not record.flags & CONTINUED:  # the last record of its transaction
                    transactions.append(pending)
                    pending = []
            self.torn = False
        except TornTail as torn:
            end = torn.offset
            self.torn = True
            self.torn_at_end = torn.at_end
        self.offset = end
        return transactions

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:  # a reader of an old generation, let go of by its last user
        self.close()


class LogWriter:
    """Appends transactions to one generation's log; the caller holds the writer lock."""

    def __init__(self, directory: str, generation: int, sync: str, sync_interval: float = 1.0):
        self.generation = generation
        self.path = log_path(directory, generation)
        self.sync = sync
        self._lock = threading.Lock()
        self._log = WriteAheadLog(self.path)
        self._seq = 0
        self.failed: StorageError | None = None  # set for good by a failed fsync (see above)
        self._syncer = (PeriodicSync(self._lock, lambda: self._log, sync_interval, "docdb-txlog")
                        if sync == "normal" else None)

    @property
    def size(self) -> int:
        return self._log.size

    def cut(self, offset: int) -> None:
        """Take a crashed writer's unfinished batch off the end: the log is whole to ``offset``."""
        with self._lock:
            os.ftruncate(self._log.fd, offset)
            os.fsync(self._log.fd)
            self._log.size = self._log.synced = offset

    def append(self, writes: list[Write]) -> int:
        """Append one transaction (after whatever other processes appended); durable on
        return when ``sync="full"``. If it raises, nothing of it stays in the log (a failed
        fsync takes the batch back out). Returns where the log now ends."""
        ops = [(encode_key(store, key), value) for store, key, value in writes]
        return self._append(ops, self.sync == "full")

    def seal(self, next_generation: int) -> None:
        """The last record of this log: readers move on to ``next_generation``."""
        self._append([(encode_key(SEAL, b"next"), str(next_generation).encode())], True)

    def _append(self, ops: list, durable: bool) -> int:
        with self._lock:
            self._check_healthy()  # before writing: a commit that raises is not in the log
            info = os.fstat(self._log.fd)
            if info.st_nlink == 0 or info.st_size < self._log.size:
                what = "deleted" if info.st_nlink == 0 else "cut short"
                self.failed = StorageError(f"the log {self.path!r} was {what} behind the database's back")
                raise self.failed
            offset = self._log.size = info.st_size  # others may have appended
            self._log.append(b"".join(encode_batch(self._seq, ops)))
            if durable:
                try:
                    self._log.sync()
                except OSError as error:
                    os.ftruncate(self._log.fd, offset)  # not durable: take it back out
                    self._log.size = offset
                    self._fail(error)
            self._seq += len(ops)
            return self._log.size

    def sync_now(self) -> None:
        with self._lock:
            self._check_healthy()
            try:
                self._log.sync()
            except OSError as error:
                self._fail(error)

    def _check_healthy(self) -> None:
        if self.failed is None and self._syncer is not None and self._syncer.error is not None:
            self._fail(self._syncer.error, raise_now=False)
        if self.failed is not None:
            raise StorageError(f"this database takes no more writes until it is opened again: "
                               f"{self.failed}") from self.failed

    def _fail(self, error: BaseException, raise_now: bool = True) -> None:
        self.failed = StorageError(f"an fsync of the log {self.path!r} failed ({error}), so what it "
                                   "holds is uncertain")
        if raise_now:
            raise self.failed from error

    def close(self) -> None:
        if self._syncer is not None:
            self._syncer.stop()
        with self._lock:
            self._log.close()
