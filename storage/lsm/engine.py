"""The ordered engine: an LSM tree (LevelDB/RocksDB lineage) in pure Python.

Life of a write: its records go to the write-ahead log (fsynced if
``sync="full"``), then into the memtable. A full memtable (``memtable_bytes``)
is rotated out with its log: a background worker writes it to an SSTable,
records the table in the manifest, and only then deletes the log. After each
flush the worker compacts runs of similar-sized tables (``compaction``).

Life of a read: memtable, then the memtable being flushed, then tables newest
first, each skipped by key range and key filter before a block is read.
Reads take no lock: they use ``_view``, a tuple (memtable, flushing memtable,
tables) that every structural change replaces whole. Scans copy the memtable
part of their range and stream the rest; a table a compaction deletes stays
readable by those who hold it (its descriptor closes with the last reference).

Recovery: the manifest names the live tables and the first log still needed;
those logs are replayed (a torn tail of the newest is cut), flushed to a table,
and deleted. Files the manifest does not name are leftovers of a crash and go.

Read-only (``readonly=True``): the tree as the files hold it when it opens --
the manifest's tables, and the logs replayed into a memtable -- with no lock,
no background work and nothing written; writes raise ``StorageError``. It never
changes after opening (tables a writer later deletes stay readable through the
descriptors it holds), so another process's writer may work on the directory
meanwhile, as long as it is not in the middle of a change while this opens.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from typing import Any

from storage.batches import merge_batches
from storage.cache import BlockCache
from storage.engine import Engine, Op, check_entry, check_sync
from storage.errors import ClosedError, CorruptionError, StorageError
from storage.files import (
    TEMP_SUFFIX,
    DurableMark,
    check_readable,
    claim_directory,
    directory_bytes,
    durable_length,
    fsync_dir,
    remove_temp_files,
)
from storage.lsm.compaction import pick_run, smallest_run
from storage.lsm.manifest import NAME as MANIFEST_NAME
from storage.lsm.manifest import Manifest
from storage.lsm.memtable import Memtable
from storage.lsm.reads import TreeReads
from storage.lsm.sstable import SSTable, TableBuilder
from storage.lsm.wal import MappedLog, log_name, replay
from storage.record import PUBLISH_BYTES, encode_batch, encode_parts, value_of_record
from storage.syncer import PeriodicSync

_owners = itertools.count(1)  # one number per engine object: its blocks' keys in a shared cache

FORMAT_VERSION = 1
_FILE = re.compile(r"^(\d{6,})\.(log|sst)$")
MERGE_BATCH = 1024  # entries a compaction merges between two looks at close() and waiting writers


def _owned(name: str) -> bool:
    name = name.removesuffix(TEMP_SUFFIX)
    return name == MANIFEST_NAME or _FILE.match(name) is not None


def table_name(number: int) -> str:
    return f"{number:06d}.sst"


class Cancelled(ClosedError):
    """The engine is closing; a compaction stopped and removed its output."""


class LSMEngine(TreeReads, Engine):
    """LSM tree. Options: ``memtable_bytes`` (4 MiB), ``block_bytes`` (4 KiB),
    ``fanout`` (4 tables of a tier trigger a
    compaction), ``max_tables`` (12: writers wait for compaction beyond it, so a read
    asks no more tables than that besides the inputs of a compaction still running),
    ``block_cache_blocks`` (16384 parsed blocks: up to
    64 MiB of 4 KiB blocks, docdb's default too), ``sync_interval`` (1.0 s),
    ``block_cache`` (a ``BlockCache`` to share with other engines instead of one of its own)."""

    name = "lsm"

    def __init__(self, path: str, sync: str = "normal", *, memtable_bytes: int = 4 << 20,
                 block_bytes: int = 4096, fanout: int = 4, max_tables: int = 12,
                 block_cache_blocks: int = 16384, sync_interval: float = 1.0,
                 block_cache: BlockCache | None = None, readonly: bool = False):
        self.path = os.fspath(path)
        self.readonly = readonly
        self.sync = check_sync(sync)
        if memtable_bytes < 1 or block_bytes < 1 or fanout < 2 or max_tables < 2:
            raise ValueError("memtable_bytes and block_bytes must be positive, "
                             "fanout and max_tables at least 2")
        self.memtable_bytes, self.block_bytes = memtable_bytes, block_bytes
        self.fanout, self.max_tables = fanout, max_tables
        if readonly:
            check_readable(self.path, "lsm", FORMAT_VERSION)
            self._dirlock = None
        else:
            self._dirlock, new = claim_directory(self.path, "lsm", FORMAT_VERSION, _owned)
        self._lock = threading.RLock()  # writes and every change of _view
        self._room = threading.Condition(self._lock)  # a flush finished
        self._flushing = threading.Lock()  # one flush at a time
        self._compacting = threading.Lock()  # one compaction at a time (flushes go on meanwhile)
        self._wake = threading.Event()
        self._closing = False
        self._cache = block_cache if block_cache is not None else BlockCache(block_cache_blocks)
        self._cache_owner = next(_owners)
        self._wal: MappedLog | None = None
        self._imm_wal: MappedLog | None = None
        self._log_name_unsynced = False  # a log made under sync="off" whose name flush must fsync
        self._durable = DurableMark(self.path)  # what flush made durable of the current log
        self._tables: list[SSTable] = []
        self.background_error: BaseException | None = None
        self.flushes = self.compactions = self.stalls = 0
        self._merging = 0  # inputs of the running compaction, less the one table they become
        self._stalled = 0  # writers waiting for a flush or a compaction
        self._bytes_written = self._user_bytes = 0
        self._writes = 0
        self._count: tuple[int, int, int] | None = None  # (writes, keys, bytes) when counted
        self._replayed_bytes = 0  # read-only: the logs replayed into the memtable
        if readonly:
            self._syncer, self._worker = None, None
            try:
                self._load_readonly()
            except BaseException:
                self._release()
                raise
            return
        try:
            if new or self._never_started():
                Manifest().save(self.path)
            self._recover()
        except BaseException:
            self._release()
            raise
        self._syncer = (PeriodicSync(self._lock, lambda: None if self._closed else self._wal,
                                     sync_interval) if sync == "normal" else None)
        self._worker = threading.Thread(target=self._work, name="docdb-lsm", daemon=True)
        self._worker.start()
        self._wake.set()  # compact whatever recovery left

    # ----- opening ---------------------------------------------------------------

    def _file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def _never_started(self) -> bool:
        """A crash between stamping a new directory and writing its first manifest
        leaves no manifest and no log or table: nothing was ever acknowledged."""
        names = os.listdir(self.path)
        return MANIFEST_NAME not in names and not any(_FILE.match(n) for n in names)

    def _recover(self) -> None:
        """Load manifest and tables and replay logs, all checked before anything is removed."""
        manifest = Manifest.load(self.path)
        found: dict[str, set[int]] = {"log": set(), "sst": set()}
        for name in os.listdir(self.path):
            m = _FILE.match(name)
            if m:
                found[m.group(2)].add(int(m.group(1)))
        missing = {n for n, _ in manifest.tables} - found["sst"]
        if missing:
            raise CorruptionError(f"the manifest lists tables that are gone: {sorted(missing)}",
                                  self._file(MANIFEST_NAME))
        self._tables = [self._open_table(n, size) for n, size in manifest.tables]
        manifest.next_file = max([manifest.next_file, *(n + 1 for s in found.values() for n in s)])
        self._manifest = manifest
        logs = sorted(n for n in found["log"] if n >= manifest.log_number)
        memtable, seq = Memtable(), manifest.last_seq
        for number in logs:
            for record in replay(self._file(log_name(number)), number == logs[-1],
                                 durable=durable_length(self.path, log_name(number))):
                memtable.put(record.key, value_of_record(record))
                seq = max(seq, record.seq)
        # Checked; now clear what a crash left: tables no manifest names, temp files.
        for number in found["sst"] - {n for n, _ in manifest.tables}:
            os.unlink(self._file(table_name(number)))
        remove_temp_files(self.path)
        self._seq = seq + 1
        self._mem, self._imm = Memtable(), None
        self._wal = self._open_new_log()
        self._update_view()
        if len(memtable):
            self._write_table(memtable, log_number=self._wal_number)
        else:
            self._manifest.log_number = self._wal_number
            self._bytes_written += self._manifest.save(self.path)
        self._delete_logs_below(self._manifest.log_number)

    def _load_readonly(self) -> None:
        """The tree as the files hold it now; nothing is written or removed."""
        manifest = Manifest.load(self.path) if os.path.exists(self._file(MANIFEST_NAME)) else Manifest()
        self._manifest = manifest
        self._tables = [self._open_table(n, size) for n, size in manifest.tables]
        logs = sorted(int(m.group(1)) for m in map(_FILE.match, os.listdir(self.path))
                      if m and m.group(2) == "log" and int(m.group(1)) >= manifest.log_number)
        memtable, seq = Memtable(), manifest.last_seq
        self._replayed_bytes = sum(os.path.getsize(self._file(log_name(n))) for n in logs)
        for number in logs:
            for record in replay(self._file(log_name(number)), number == logs[-1], repair=False,
                                 durable=durable_length(self.path, log_name(number))):
                memtable.put(record.key, value_of_record(record))
                seq = max(seq, record.seq)
        self._seq = seq + 1
        self._mem, self._imm = memtable, None
        self._update_view()

    def _open_table(self, number: int, size: int) -> SSTable:
        table = SSTable(self._file(table_name(number)), number, self._cache, self._cache_owner)
        if table.size != size:
            table.close()
            raise CorruptionError(f"table {number} is {table.size} bytes; the manifest says {size}",
                                  table.path)
        return table

    def _allocate(self) -> int:
        """The next file number (saved with the next manifest; recovery skips past any used)."""
        number = self._manifest.next_file
        self._manifest.next_file += 1
        return number

    def _open_new_log(self) -> MappedLog:
        self._wal_number = self._allocate()
        wal = MappedLog(self._file(log_name(self._wal_number)))
        # The log's name must survive a power loss with its records: now, or (``off``) at
        # the next ``flush``, which promises everything written so far is durable.
        self._log_name_unsynced = self.sync == "off"
        if not self._log_name_unsynced:
            fsync_dir(self.path)
        return wal

    def _delete_logs_below(self, number: int) -> None:
        for name in os.listdir(self.path):
            m = _FILE.match(name)
            if m and m.group(2) == "log" and int(m.group(1)) < number:
                os.unlink(self._file(name))

    def _update_view(self) -> None:
        self._view = (self._mem, self._imm, tuple(self._tables))

    # ----- writes ----------------------------------------------------------------------

    def put(self, key: bytes, value: bytes) -> None:
        # The hot path: Engine.put's checks and _write, inlined for one record (as the
        # hash engine's put); every other write goes through _write.
        check_entry(key, value)
        with self._lock:
            if self._closed or self.readonly or self.background_error is not None:
                self._check_writable()
            crc, body = encode_parts(self._seq, key, value)
            self._logged(crc, body, 1)
            self._user_bytes += len(key) + len(value)
            mem = self._mem
            mem.put(key, value)
            if mem.bytes >= self.memtable_bytes:
                self._rotate()

    def _write(self, ops: list[Op]) -> None:
        with self._lock:
            self._check_writable()
            data = b"".join(encode_batch(self._seq, ops))
            view = memoryview(data)
            self._logged(view[:PUBLISH_BYTES], view[PUBLISH_BYTES:], len(ops))
            mem = self._mem
            for key, value in ops:
                mem.put(key, value)
                self._user_bytes += len(key) + (len(value) if value is not None else 0)
            if mem.bytes >= self.memtable_bytes:
                self._rotate()

    def _logged(self, head: bytes | memoryview, body: bytes | memoryview, records: int) -> None:
        """Append one batch -- its first record's crc32 ``head``, then the rest -- to the
        log, durably per ``sync``, and count it. Holds the lock."""
        wal = self._wal
        wal.append_parts(head, body)  # type: ignore[union-attr]
        if self.sync == "full":
            wal.sync()  # type: ignore[union-attr]
        self._seq += records
        self._writes += 1
        self._bytes_written += len(body) + PUBLISH_BYTES

    def _check_writable(self) -> None:
        self._check_open()
        if self.readonly:
            raise StorageError(f"the lsm engine at {self.path!r} is open read-only")
        self._raise_background_error()

    def _rotate(self) -> None:
        """Swap in an empty memtable and log; the worker flushes the full one. Holds the lock.

        Backpressure: the previous flush must land first, and a tree of ``max_tables``
        tables must be compacted below that -- the bound on the tables a read asks. A
        background thread gets the interpreter only between the foreground's bytecodes,
        so without the wait a bulk load outruns compaction (40 tables at a million keys).
        The inputs of a running compaction count as the one table they are becoming:
        writers wait for compaction to be possible, not for a long one to finish (a
        full ``compact()`` of a big store held them for seconds).
        """
        waited = False
        while self._imm is not None or len(self._tables) - self._merging >= self.max_tables:
            self._raise_background_error()
            if self._closing:
                raise ClosedError(f"the lsm engine at {self.path!r} is closing")
            self._wake.set()
            self.stalls += not waited  # rotations that had to wait, not rounds of waiting
            waited = True
            self._stalled += 1  # the table builders stop handing the interpreter over
            try:
                self._room.wait(0.1)
            finally:
                self._stalled -= 1
        old = self._wal
        self._wal = self._open_new_log()
        if self.sync != "off":
            old.sync()  # type: ignore[union-attr]
        self._imm_wal = old  # open until its table lands, so flush() can still fsync it
        self._imm, self._mem = self._mem, Memtable()
        self._imm_log = self._wal_number  # logs below it hold nothing but the flushing memtable
        self._update_view()
        self._wake.set()

    def _raise_background_error(self) -> None:
        if self.background_error is not None:
            raise StorageError(f"background work on {self.path!r} failed: {self.background_error}") \
                from self.background_error

    # ----- flush and compaction ---------------------------------------------------------

    def _work(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            try:
                self._flush_rotated()
                while not self._closing and self._compact_once(full=False):
                    pass
            except Cancelled:
                return
            except Exception as error:  # kept, and raised to the next writer
                self.background_error = error
                with self._lock:
                    self._room.notify_all()

    def _flush_rotated(self) -> None:
        with self._flushing:
            if self._closing:
                raise Cancelled()
            imm = self._imm
            if imm is None:
                return
            self._write_table(imm, log_number=self._imm_log)

    def _write_table(self, memtable: Memtable, log_number: int) -> None:
        """Flush ``memtable`` to a new newest table; then logs below ``log_number`` go."""
        with self._lock:
            number = self._allocate()
        builder = TableBuilder(self._file(table_name(number)) + TEMP_SUFFIX, len(memtable),
                               self.block_bytes, pause=self._pause)
        builder.add_lists(*memtable.lists(None, None, False))
        table = self._install(builder, number)
        with self._lock:
            self._tables.insert(0, table)
            self._bytes_written += table.size
            self._manifest.log_number = log_number
            if self._imm is memtable:
                self._imm = None
                if self._imm_wal is not None:
                    self._imm_wal.close()
                    self._imm_wal = None
            self._save_manifest()
            self._room.notify_all()
        self.flushes += 1
        self._delete_logs_below(log_number)

    def _pause(self) -> None:
        """A table builder's pause: hand the interpreter to the foreground, unless a writer is
        waiting for this very work -- a voluntary yield costs the builder up to a switch
        interval (5 ms) to get the interpreter back from a busy reader, which stretched a
        flush a writer waited for to a second."""
        if not self._stalled:
            time.sleep(0)

    def _install(self, builder: TableBuilder, number: int) -> SSTable:
        """Finish, fsync and rename a built table into place (the manifest names it later)."""
        builder.finish()
        final = self._file(table_name(number))
        os.replace(builder.path, final)
        fsync_dir(self.path)
        return SSTable(final, number, self._cache, self._cache_owner)

    def _save_manifest(self) -> None:
        """Record the current tables (holding the lock) and publish them to readers."""
        self._manifest.tables = [(t.file_no, t.size) for t in self._tables]
        self._manifest.last_seq = self._seq - 1
        self._bytes_written += self._manifest.save(self.path)
        self._update_view()

    def _compact_once(self, full: bool) -> bool:
        """Merge one run of tables (all of them if ``full``); False if there was none.

        Flushes may prepend tables while it runs (it even runs them itself, so
        writers never wait for a long compaction); its inputs stay a contiguous
        run, found again by identity when the output is installed.
        """
        with self._compacting:
            if self._closing:
                raise Cancelled()
            with self._lock:
                tables = list(self._tables)
            sizes = [t.size for t in tables]
            run = (0, len(tables)) if full else pick_run(sizes, self.memtable_bytes, self.fanout)
            if run is None and len(tables) >= self.max_tables:  # no tier is due, yet writers wait
                run = smallest_run(sizes, self.fanout)
            if run is None or (full and len(tables) <= 1 and not any(t.tombstones for t in tables)):
                return False
            lo, hi = run
            inputs = tables[lo:hi]
            with self._lock:
                number = self._allocate()
                self._merging = len(inputs) - 1
            try:
                output = self._merge_tables(inputs, number, drop_tombstones=hi == len(tables))
            except BaseException:
                self._merging = 0
                raise
            if self._closing:  # close() is waiting for us: leave the inputs as they are
                self._merging = 0
                if output is not None:
                    output.close()
                    os.unlink(output.path)
                raise Cancelled()
            with self._lock:
                lo = next(i for i, t in enumerate(self._tables) if t is inputs[0])
                assert all(a is b for a, b in zip(self._tables[lo:lo + len(inputs)], inputs))
                self._tables[lo:lo + len(inputs)] = [output] if output is not None else []
                self._merging = 0
                self._bytes_written += output.size if output is not None else 0
                self._save_manifest()
                self._room.notify_all()  # a writer may be waiting for fewer tables
            for table in inputs:  # readers holding one keep reading it; see SSTable
                os.unlink(table.path)
            self.compactions += 1
            return True

    def _merge_tables(self, inputs: list[SSTable], number: int, drop_tombstones: bool) -> SSTable | None:
        builder = TableBuilder(self._file(table_name(number)) + TEMP_SUFFIX,
                               sum(t.entries for t in inputs), self.block_bytes, pause=self._pause)
        try:
            sources = [t.batches(None, None, False, live=False) for t in inputs]
            for keys, values in merge_batches(sources, False, MERGE_BATCH, not drop_tombstones):
                if self._closing:
                    raise Cancelled()
                if self._imm is not None:  # a writer may be waiting for room
                    self._flush_rotated()
                builder.add_lists(keys, values)
            if not builder.entries:
                builder.abandon()
                return None
            return self._install(builder, number)
        except BaseException:
            builder.abandon()
            raise

    def verify(self) -> None:
        """Every block of every table (older versions and tombstones too), then a full scan."""
        self._check_open()
        _mem, _imm, tables = self._view
        for table in tables:
            for _entry in table.items(None, None, False):
                pass
        super().verify()

    def maintain(self) -> None:
        """The flush and tiered compactions the background worker would run, now."""
        self._check_open()
        if self.readonly:
            return
        self._raise_background_error()
        self._flush_rotated()
        while self._compact_once(full=False):
            pass

    def compact(self) -> None:
        """Flush the memtable and merge every table into one, dropping tombstones."""
        if self.readonly:
            self._check_open()
            return
        with self._lock:
            self._check_open()
            self._raise_background_error()
            if len(self._mem):
                self._rotate()
        self._flush_rotated()
        self._compact_once(full=True)

    # ----- durability, stats, closing ---------------------------------------------------

    def flush(self) -> None:
        with self._lock:
            self._check_open()
            if self.readonly:
                return
            self._wal.sync()  # type: ignore[union-attr]
            if self._imm_wal is not None:  # writes whose table has not landed yet
                self._imm_wal.sync()
            if self._log_name_unsynced:
                fsync_dir(self.path)
                self._log_name_unsynced = False
            self._durable.record(self._wal.path, self._wal.size)  # type: ignore[union-attr]
            if self._syncer is not None:
                self._syncer.raise_error(self.path)

    def stats(self) -> dict[str, Any]:
        self._check_open()
        keys, live = self._live()
        with self._lock:
            mem, imm, tables = self._view
            logs = self._wal.size if self._wal is not None else self._replayed_bytes
            total = sum(t.size for t in tables) + logs
            return {
                "engine": self.name,
                "keys": keys,
                "live_bytes": live,
                "dead_bytes": max(total - live, 0),
                "total_bytes": total,
                "tables": len(tables),
                "table_bytes": sum(t.size for t in tables),
                "table_sizes": [t.size for t in tables],
                "memtable_bytes": mem.bytes + (imm.bytes if imm is not None else 0),
                "block_cache_blocks": len(self._cache),  # shared with other engines, if given one
                "block_cache_capacity": self._cache.capacity,
                "wal_bytes": logs,
                "disk_bytes": directory_bytes(self.path),
                "bytes_written": self._bytes_written,
                "user_bytes": self._user_bytes,
                "write_amplification": self._bytes_written / self._user_bytes if self._user_bytes else None,
                "flushes": self.flushes,
                "compactions": self.compactions,
                "stalls": self.stalls,
                "background_error": repr(self.background_error) if self.background_error else None,
                "sync": self.sync,
            }

    def close(self) -> None:
        if self._closed:
            return
        self._closing = True  # a running compaction stops; an unflushed memtable stays in its log
        self._wake.set()
        if self._worker is not None:
            self._worker.join()
        with self._compacting, self._flushing:  # a compact() in another thread has stopped
            pass
        if self._syncer is not None:
            self._syncer.stop()
        with self._lock:
            if self._closed:
                return
            try:
                if self.sync != "off" and self._wal is not None:
                    self._wal.sync()
            finally:
                self._closed = True
                self._release()

    def _release(self) -> None:
        for wal in (self._wal, self._imm_wal):
            if wal is not None:
                wal.close()
        for table in self._tables:
            table.close()
        if self._dirlock is not None:
            self._dirlock.release()
