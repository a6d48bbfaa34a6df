"""The hash-index engine: Bitcask (Basho, 2010), with improvements.

Life of a write: the record (or a batch's records) is encoded and copied into
the active segment's shared memory map (``storage.hash.segment``), its crc32
stored last; with ``sync="full"`` it is fsynced; only then is the keydir
pointed at it. Life of a read: one keydir lookup, one slice of a map, one
checksum check. The active segment rolls over at ``segment_bytes``; when the
dead bytes (overwritten or deleted records) pass ``merge_ratio`` of all bytes
at a rollover, a merge starts in a background thread (``compact()`` runs one
and waits for it).

Improvements on the paper: batches are atomic across crashes and interrupted
writes are told apart from damage (``storage.record``); the keydir turns from a
dict into a sorted blocked array of under 100 bytes per key when it grows, and
gives ordered scans (``storage.hash.keydir``); merge outputs are ordered by
their names so a crash mid-merge needs no recovery step.

Read-only (``readonly=True``): the keydir of the segments as the files hold them when
it opens, with no lock, no merges and nothing written (a torn tail is only not read);
writes raise ``StorageError``. It never changes after opening (segments a writer later
merges away stay mapped), so another process's writer may work on the directory
meanwhile, as long as it is not in the middle of a change while this opens.

Locking: one ``RLock`` guards the keydir, the file table and appends. Gets skip
it while the keydir is a dict (see ``get``); a merge copies without it.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import os
import threading
from array import array
from collections.abc import Iterator
from typing import Any

from storage.engine import Engine, Op, check_entry, check_key, check_sync
from storage.errors import CorruptionError, StorageError
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
from storage.hash.hint import remove_hint
from storage.hash.keydir import (
    BLOCK,
    DICT_MAX,
    OFFSET_BITS,
    OFFSET_MASK,
    SIZE_MASK,
    KeyDir,
    Snapshot,
    pack,
    unpack,
)
from storage.hash.loader import Replay, index_segment, is_crash_tail
from storage.hash.merge import MergeCancelled, Merger
from storage.hash.saved import NAME as SAVED_KEYDIR
from storage.hash.saved import load as load_saved
from storage.hash.saved import remove as remove_saved
from storage.hash.saved import save as save_keydir
from storage.hash.scan import scan_batches, scan_values
from storage.hash.segment import SEGMENT_HEADER_SIZE, Segment, parse_name, segment_name
from storage.record import (
    MAX_KEY,
    PUBLISH_BYTES,
    TornTail,
    encode_batch,
    encode_parts,
    iter_records,
    value_of,
)
from storage.syncer import PeriodicSync

FORMAT_VERSION = 1
_RELOCATE_CHUNK = 8192  # keys repointed per hold of the lock


def _owned(name: str) -> bool:
    name = name.removesuffix(TEMP_SUFFIX)
    return name == SAVED_KEYDIR or parse_name(name) is not None


class HashEngine(Engine):
    """Bitcask. Options: ``segment_bytes`` (64 MiB), ``merge_ratio`` (0.5),
    ``merge_min_bytes`` (16 MiB of dead data before an automatic merge),
    ``sync_interval`` (1.0 s, for ``sync="normal"``), ``keydir_dict_max`` (2**18
    keys kept in a dict before the keydir turns compact) and ``keydir_block``
    (1024, the compact keydir's block size); see ``storage.hash.keydir``."""

    name = "hash"

    def __init__(self, path: str, sync: str = "normal", *, segment_bytes: int = 64 << 20,
                 merge_ratio: float = 0.5, merge_min_bytes: int = 16 << 20,
                 sync_interval: float = 1.0, keydir_dict_max: int = DICT_MAX,
                 keydir_block: int = BLOCK, readonly: bool = False):
        self.path = os.fspath(path)
        self.readonly = readonly
        self.sync = check_sync(sync)
        self._sync_full = sync == "full"
        if not SEGMENT_HEADER_SIZE < segment_bytes <= OFFSET_MASK:
            raise ValueError(f"segment_bytes must be between {SEGMENT_HEADER_SIZE + 1} and {OFFSET_MASK}")
        if not 0.0 < merge_ratio <= 1.0:
            raise ValueError("merge_ratio must be in (0, 1]")
        self.segment_bytes = segment_bytes
        self.merge_ratio = merge_ratio
        self.merge_min_bytes = merge_min_bytes
        if readonly:
            check_readable(self.path, "hash", FORMAT_VERSION)
            self._dirlock = None
        else:
            self._dirlock, _ = claim_directory(self.path, "hash", FORMAT_VERSION, _owned)
        self._lock = threading.RLock()
        self._merge_lock = threading.Lock()
        self._closing = threading.Event()
        self._merge_thread: threading.Thread | None = None
        self._files: dict[int, Segment] = {}
        self._next_file_no = 0
        self._segments: list[Segment] = []  # live segments in replay order
        self._keydir = KeyDir(keydir_dict_max, keydir_block)
        self._bytes_written = 0  # to segments and hints since open: write amplification
        self._durable = DurableMark(self.path)  # what flush made durable of the active segment
        self.merges = 0
        try:
            self._load()
        except BaseException:
            self._release_files()
            raise
        if readonly:
            self._syncer = None
            return
        self._syncer = (PeriodicSync(self._lock, lambda: None if self._closed else self._active,
                                     sync_interval) if sync == "normal" else None)
        self._maybe_merge()

    # ----- opening -------------------------------------------------------------

    def _register(self, segment: Segment) -> Segment:
        segment.file_no = self._next_file_no
        segment.packed_base = pack(segment.file_no, 0, 0)
        self._next_file_no += 1
        self._files[segment.file_no] = segment
        return segment

    def _load(self) -> None:
        places, hints = set(), set()
        for name in os.listdir(self.path):
            parsed = parse_name(name)
            if parsed is not None:
                (places if parsed[2] == "seg" else hints).add(parsed[:2])
        newest = max(places, default=None)
        if newest is not None and newest[1] == 0 and self._headerless(newest):
            places.discard(newest)  # its creation was cut short: it holds no records
        max_seq = 0
        ordered = sorted(places)
        for place in ordered:
            self._segments.append(self._register(Segment.open(self.path, *place, readonly=self.readonly)))
        saved = load_saved(self.path, self._places())
        if saved is not None:  # a clean close saved the keydir of exactly these segments
            for segment in self._segments:
                segment.map_for_reading()
            self._keydir.load_all(saved.keys, saved.locs, saved.sizes)
            max_seq = saved.max_seq
        else:
            replay = Replay()
            for segment in self._segments:
                is_newest = segment is self._segments[-1] and segment.sub == 0
                index = index_segment(segment, is_newest, repair=not self.readonly,
                                      durable=durable_length(self.path, os.path.basename(segment.path))
                                      if is_newest else 0)
                segment.map_for_reading()
                replay.add(segment, index)
                max_seq = max(max_seq, index.max_seq)
            replay.finish(self._keydir)
        self._seq = max_seq + 1
        if self.readonly:
            self._active = None
            return
        # Only now that everything checked out: a refused open leaves the crash's files.
        remove_saved(self.path)  # the first write makes it stale: a crash must not find it
        remove_temp_files(self.path)
        for seg_id, sub in sorted(hints - places):  # a hint whose segment a merge deleted
            remove_hint(os.path.join(self.path, f"{seg_id:010d}-{sub:04d}.hint"))
        if not self._segments or self._segments[-1].sub != 0:
            self._new_active()
        self._active = self._segments[-1]

    def _places(self) -> list[tuple[int, int, int, int]]:
        """Each segment's place, uid and length, in replay order: what a saved keydir names."""
        return [(s.seg_id, s.sub, s.uid, s.size) for s in self._segments]

    def _save_keydir(self) -> None:
        """At a clean close: the keydir, for the next open to load (``storage.hash.saved``).
        The segments are made durable first, so the file never names records a power loss
        could take back (with ``sync="off"`` this is the one fsync a close pays)."""
        try:
            if self.sync == "off":
                self._active.sync()
            snap = self._keydir.snapshot()
            locs = snap.locs
            rank = {s.file_no: i for i, s in enumerate(self._segments)}
            if any(no != i for no, i in rank.items()):  # rolls and merges numbered files since open
                locs = array("Q", [rank[loc >> OFFSET_BITS] << OFFSET_BITS | loc & OFFSET_MASK
                                   for loc in locs])
            save_keydir(self.path, self._places(), self._seq - 1, snap.keys, locs, snap.sizes)
        except OSError:
            pass  # only the next open's speed depends on it: it rebuilds the keydir instead

    def _headerless(self, place: tuple[int, int]) -> bool:
        """Remove the newest segment if a power loss left it shorter than its header (a
        read-only open only skips it)."""
        path = os.path.join(self.path, segment_name(*place))
        if os.path.getsize(path) >= SEGMENT_HEADER_SIZE:
            return False
        if durable_length(self.path, segment_name(*place)):
            raise CorruptionError("the segment is shorter than its header, yet it was flushed", path, 0)
        if not self.readonly:
            os.unlink(path)
        return True

    def _new_active(self) -> Segment:
        seg_id = max((s.seg_id for s in self._segments), default=0) + 1
        segment = self._register(Segment.create(self.path, seg_id, 0))
        fsync_dir(self.path)
        self._segments.append(segment)
        self._active = segment
        return segment

    # ----- reads ---------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        # The hot path, without the lock while the keydir is a dict: a dict
        # lookup is atomic, a file_no is never reused, and a segment's bytes
        # never change once a keydir entry points at them. Whatever a race can
        # do to this path (a map sealed or closed under it, a short slice, a
        # retired file) makes it fall back to the locked path, which decides.
        if key.__class__ is not bytes or not 0 < len(key) <= MAX_KEY:
            check_key(key)
        lookup = self._keydir.dict_get
        if lookup is not None and not self._closed:
            packed = lookup(key)
            if packed is None:
                return None
            loc = packed >> 32
            segment = self._files.get(loc >> OFFSET_BITS)
            offset = loc & OFFSET_MASK
            size = packed & SIZE_MASK
            try:
                buf = segment.mm[offset:offset + size]  # type: ignore[union-attr]
                if len(buf) == size:
                    return value_of(buf, key, segment.path, offset)  # type: ignore[union-attr]
            except (AttributeError, TypeError, ValueError, CorruptionError):
                pass
        return self._locked_get(key)

    def _locked_get(self, key: bytes) -> bytes | None:
        with self._lock:
            self._check_open()
            packed = self._keydir.get(key)
            if packed is None:
                return None
            file_no, offset, size = unpack(packed)
            segment = self._files[file_no]
            buf = segment.read(offset, size)
        return value_of(buf, key, segment.path, offset)

    def _get(self, key: bytes) -> bytes | None:
        return self.get(key)

    def _contains(self, key: bytes) -> bool:
        with self._lock:
            return self._keydir.get(key) is not None

    def _len(self) -> int:
        with self._lock:
            return len(self._keydir)

    def _scan(self, start: bytes | None, stop: bytes | None, reverse: bool,
              contains: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        snap, files, pinned = self._pinned_snapshot(start, stop)
        return scan_values(snap, reverse, files, pinned, self._unpin, self, contains)

    def _scan_batches(self, start: bytes | None, stop: bytes | None, reverse: bool,
                      batch: int) -> Iterator[tuple[list[bytes], list[bytes]]]:
        snap, files, pinned = self._pinned_snapshot(start, stop)
        return scan_batches(snap, reverse, files, pinned, self._unpin, self, batch)

    def _pinned_snapshot(self, start: bytes | None, stop: bytes | None
                         ) -> tuple[Snapshot, dict[int, Segment], list[Segment]]:
        """The keydir entries of ``[start, stop)`` and the segments they lie in, pinned
        (a merge then cannot pull the files from under the scan)."""
        with self._lock:
            snap = self._keydir.snapshot(start, stop)
            pinned = list(self._files.values())
            for segment in pinned:
                segment.pins += 1
            return snap, dict(self._files), pinned

    def _unpin(self, segments: list[Segment]) -> None:
        with self._lock:
            for segment in segments:
                segment.release()

    # ----- writes --------------------------------------------------------------

    def put(self, key: bytes, value: bytes) -> None:
        # The hot path: Engine.put's checks and _append(), inlined for one
        # record; every other write goes through _write.
        if self.readonly:
            self._refuse()
        check_entry(key, value)
        with self._lock:
            if self._closed:
                self._check_open()
            seq = self._seq
            crc, body = encode_parts(seq, key, value)
            active = self._active
            size = len(body) + PUBLISH_BYTES
            if active.size + size > self.segment_bytes or self._sync_full:  # roll over, fsync
                file_no, offset = self._append(crc + body)
                packed = pack(file_no, offset, size)
            else:
                offset = active.append_parts(crc, body, self.segment_bytes)
                packed = active.packed_base | offset << 32 | size
            self._bytes_written += size
            self._seq = seq + 1
            self._keydir.put(key, packed)

    def _refuse(self) -> None:
        raise StorageError(f"the hash engine at {self.path!r} is open read-only")

    def _write(self, ops: list[Op]) -> None:
        if self.readonly:
            self._refuse()
        with self._lock:
            self._check_open()
            keydir = self._keydir
            if len(ops) == 1 and ops[0][1] is None and keydir.get(ops[0][0]) is None:
                return  # deleting a missing key: nothing to record
            records = encode_batch(self._seq, ops)
            file_no, offset = self._append(b"".join(records))
            self._seq += len(records)
            for (key, value), record in zip(ops, records):
                if value is None:
                    keydir.remove(key)
                else:
                    keydir.put(key, pack(file_no, offset, len(record)))
                offset += len(record)

    def _append(self, data: bytes) -> tuple[int, int]:
        """Append whole records to the active segment, honouring ``sync``."""
        active = self._active
        if active.size + len(data) > self.segment_bytes and active.size > SEGMENT_HEADER_SIZE:
            active = self._roll()
        offset = active.append(data, self.segment_bytes)
        self._bytes_written += len(data)
        if self._sync_full:
            active.sync()
        return active.file_no, offset

    def _roll(self) -> Segment:
        """Seal the active segment and start the next; may start a merge."""
        active = self._roll_without_merge()
        self._maybe_merge()
        return active

    # ----- durability ------------------------------------------------------------

    def flush(self) -> None:
        with self._lock:
            self._check_open()
            if self.readonly:
                return
            self._active.sync()
            self._durable.record(self._active.path, self._active.size)
            if self._syncer is not None:
                self._syncer.raise_error(self.path)

    # ----- merge -------------------------------------------------------------------

    def _merge_due(self) -> bool:
        total = self._data_bytes()
        dead = total - self._keydir.live_bytes()
        return dead >= self.merge_min_bytes and dead > self.merge_ratio * total and len(self._segments) > 1

    def verify(self) -> None:
        """Every record of every segment, dead ones too (their checksums), then a full scan."""
        with self._lock:
            self._check_open()
            segments = list(self._segments)
        newest = segments[-1] if segments else None
        for segment in segments:
            data = os.pread(segment.fd, segment.size - SEGMENT_HEADER_SIZE, SEGMENT_HEADER_SIZE)
            try:
                for _record in iter_records(data, 0, base=SEGMENT_HEADER_SIZE, values=True):
                    pass
            except TornTail as torn:
                is_newest = segment is newest
                durable = durable_length(self.path, os.path.basename(segment.path)) if is_newest else 0
                if not is_crash_tail(torn, is_newest, durable):
                    raise CorruptionError(torn.reason, segment.path, torn.bad_offset) from None
        super().verify()

    def maintain(self) -> None:
        """The merge a rollover would start in the background, now (if one is due)."""
        self._check_open()
        if not self.readonly and self._merge_due():
            self._merge(roll=False)

    def _maybe_merge(self) -> None:
        if self._merge_due() and not self._merge_lock.locked() and not self._closing.is_set():
            self._merge_thread = threading.Thread(target=self._merge_quietly, name="docdb-merge",
                                                  daemon=True)
            self._merge_thread.start()

    def _merge_quietly(self) -> None:
        try:
            self._merge(roll=False)
        except MergeCancelled:
            pass
        except Exception as error:  # reported by stats(); the data is unharmed
            self.last_merge_error = error

    last_merge_error: Exception | None = None

    def compact(self) -> None:
        self._check_open()
        if not self.readonly:
            self._merge(roll=True)

    def _merge(self, roll: bool) -> None:
        with self._merge_lock:
            with self._lock:
                self._check_open()
                if roll and self._active.size > SEGMENT_HEADER_SIZE:
                    self._roll_without_merge()
                inputs = [s for s in self._segments if s is not self._active]
                if not inputs:
                    return
                snap = self._keydir.snapshot()
            top = max(s.seg_id for s in inputs)
            next_sub = max(s.sub for s in inputs if s.seg_id == top) + 1
            merger = Merger(self.path, {s.file_no: s for s in inputs}, (top, next_sub),
                            self.segment_bytes, self._closing)
            result = merger.run(snap)
            self._bytes_written += merger.bytes_written
            with self._lock:
                if self._closed:  # outputs are durable; the next open replays them
                    return
                outputs = [self._register(s) for s in result.outputs]
                self._segments[len(inputs):len(inputs)] = outputs  # after inputs, before active
            new_locs = [(outputs[i].file_no << OFFSET_BITS) | off for i, off in result.new_locs]
            self._relocate(snap, result.slots, new_locs)
            self._retire(inputs, outputs)

    def _roll_without_merge(self) -> Segment:
        self._active.seal()  # before the next exists: only the newest may have a tail
        if self.sync != "off":
            self._active.sync()
        return self._new_active()

    def _relocate(self, snap, slots: list[int], new_locs: list[int]) -> None:
        """Repoint the keydir at the copies, a chunk at a time, losing no race.

        A key written or deleted since the snapshot keeps its newer state.
        """
        for lo in range(0, len(slots), _RELOCATE_CHUNK):
            with self._lock:
                for slot, loc in zip(slots[lo:lo + _RELOCATE_CHUNK], new_locs[lo:lo + _RELOCATE_CHUNK]):
                    size = snap.sizes[slot]
                    self._keydir.relocate(snap.keys[slot], (snap.locs[slot] << 32) | size,
                                          (loc << 32) | size)

    def _retire(self, inputs: list[Segment], outputs: list[Segment]) -> None:
        with self._lock:
            gone = {s.file_no for s in inputs}
            self._segments = [s for s in self._segments if s.file_no not in gone]
            for segment in inputs:  # oldest first: see storage.hash.merge
                del self._files[segment.file_no]
                os.unlink(segment.path)
                remove_hint(segment.hint_path)
                segment.retired = True
                if segment.pins <= 0:
                    segment.close()
            fsync_dir(self.path)
            self.merges += 1

    # ----- stats and closing ----------------------------------------------------

    def _data_bytes(self) -> int:
        """Bytes of records in all live segments."""
        return sum(s.size - SEGMENT_HEADER_SIZE for s in self._segments)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            self._check_open()
            total, live = self._data_bytes(), self._keydir.live_bytes()  # O(n): once
            return {
                "engine": self.name,
                "keys": len(self._keydir),
                "live_bytes": live,
                "dead_bytes": total - live,
                "total_bytes": total,
                "disk_bytes": directory_bytes(self.path),
                "bytes_written": self._bytes_written,
                "segments": len(self._segments),
                "hint_files": sum(os.path.exists(s.hint_path) for s in self._segments),
                "active_segment": os.path.basename(self._active.path) if self._active else None,
                "merges": self.merges,
                "merge_running": self._merge_lock.locked(),
                "last_merge_error": repr(self.last_merge_error) if self.last_merge_error else None,
                "sync": self.sync,
            }

    def close(self) -> None:
        if self._closed:
            return
        self._closing.set()
        with self._merge_lock:  # a running merge sees _closing and stops at once
            pass
        if self._syncer is not None:
            self._syncer.stop()
        with self._lock:
            if self._closed:
                return
            try:
                if not self.readonly:
                    self._active.seal()
                if self.sync != "off" and not self.readonly:
                    self._active.sync()
                if not self.readonly:
                    self._save_keydir()
            finally:
                self._closed = True
                self._release_files()

    def _release_files(self) -> None:
        for segment in self._files.values():
            segment.close()
        if self._dirlock is not None:
            self._dirlock.release()
