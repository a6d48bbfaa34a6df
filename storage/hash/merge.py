"""Merge: rewrite the live records of immutable segments into fresh segments.

The copy runs without the engine lock, from a snapshot of the keydir taken
under it; inputs are immutable, so reading them needs no lock. Output goes to
temp files named after their final ``(id, sub)`` place (after the inputs, before
the active segment), each fsynced, renamed into place, then given a hint file;
only when all of that is durable does the engine repoint the keydir and delete
the inputs, oldest first. A crash at any point leaves a directory that replays
to the same data: outputs alone are copies of values the inputs also hold, and
deleting inputs oldest first never leaves a put without the later tombstone
that cancels it.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import os
import threading
from array import array
from dataclasses import dataclass, field

from storage.errors import ClosedError, CorruptionError
from storage.files import TEMP_SUFFIX, fsync_dir
from storage.hash.hint import SegmentIndex, write_hint
from storage.hash.keydir import OFFSET_BITS, OFFSET_MASK, Snapshot
from storage.hash.segment import SEGMENT_HEADER_SIZE, Segment, segment_name
from storage.record import CONTINUED, decode, encode


@dataclass
class Output:
    """One merge output segment and the index its hint file will hold."""

    segment: Segment
    keys: list[bytes] = field(default_factory=list)
    offsets: array = field(default_factory=lambda: array("Q"))
    sizes: array = field(default_factory=lambda: array("I"))
    max_seq: int = 0
    chunks: list[bytes] = field(default_factory=list)
    pending: int = 0


@dataclass
class MergeResult:
    outputs: list[Segment]
    slots: list[int]  # snapshot slots that were copied
    new_locs: list[tuple[int, int]]  # (output index, offset) for each slot


class MergeCancelled(ClosedError):
    """The engine is closing; the merge removed its output files."""


class Merger:
    """Copies the live records of ``inputs`` (file_no -> Segment) out of ``snap``."""

    WRITE_CHUNK = 1 << 20

    def __init__(self, directory: str, inputs: dict[int, Segment], next_place: tuple[int, int],
                 segment_bytes: int, cancelled: threading.Event):
        self.directory = directory
        self.inputs = inputs
        self.seg_id, self.next_sub = next_place
        self.segment_bytes = segment_bytes
        self.cancelled = cancelled
        self.outputs: list[Output] = []
        self.bytes_written = 0  # segments and hint files

    def run(self, snap: Snapshot) -> MergeResult:
        try:
            return self._copy(snap)
        except BaseException:
            self._discard()
            raise

    def _copy(self, snap: Snapshot) -> MergeResult:
        slots: list[int] = []
        new_locs: list[tuple[int, int]] = []
        locs, sizes, keys = snap.locs, snap.sizes, snap.keys
        for slot in range(len(keys)):
            loc = locs[slot]
            segment = self.inputs.get(loc >> OFFSET_BITS)
            if segment is None:
                continue
            if slot & 0x3FF == 0 and self.cancelled.is_set():
                raise MergeCancelled()
            raw = self._verified(segment, loc & OFFSET_MASK, sizes[slot], keys[slot])
            out = self._output_for(len(raw.data))
            out_offset = out.segment.size + out.pending
            out.chunks.append(raw.data)
            out.pending += len(raw.data)
            out.keys.append(keys[slot])
            out.offsets.append(out_offset)
            out.sizes.append(len(raw.data))
            out.max_seq = max(out.max_seq, raw.seq)
            if out.pending >= self.WRITE_CHUNK:
                self._drain(out)
            slots.append(slot)
            new_locs.append((len(self.outputs) - 1, out_offset))
        for out in self.outputs:
            self._drain(out)
        return MergeResult(self._publish(), slots, new_locs)

    @staticmethod
    def _verified(segment: Segment, offset: int, size: int, key: bytes) -> _Raw:
        data = segment.read(offset, size)
        record = decode(data, segment.path, offset)
        if record.key != key:
            raise CorruptionError("record holds another key than the keydir says", segment.path, offset)
        if record.flags & CONTINUED:  # batch framing means nothing outside its batch
            data = encode(record.seq, record.key, record.value)
        return _Raw(data, record.seq)

    def _output_for(self, size: int) -> Output:
        if self.outputs:
            out = self.outputs[-1]
            used = out.segment.size + out.pending
            if used == SEGMENT_HEADER_SIZE or used + size <= self.segment_bytes:
                return out
            self._drain(out)
        sub = self.next_sub + len(self.outputs)
        final = os.path.join(self.directory, segment_name(self.seg_id, sub))
        segment = Segment.create(self.directory, self.seg_id, sub, path=final + TEMP_SUFFIX)
        self.outputs.append(Output(segment))
        return self.outputs[-1]

    @staticmethod
    def _drain(out: Output) -> None:
        if out.chunks:
            out.segment.append(b"".join(out.chunks), 0)
            out.chunks.clear()
            out.pending = 0

    def _publish(self) -> list[Segment]:
        """fsync, rename into place, write hints, fsync the directory."""
        for out in self.outputs:
            out.segment.seal()
            out.segment.sync()
        for out in self.outputs:
            final = out.segment.path[: -len(TEMP_SUFFIX)]
            os.replace(out.segment.path, final)
            out.segment.path = final
        fsync_dir(self.directory)
        for out in self.outputs:
            index = SegmentIndex(out.keys, out.offsets, out.sizes, bytes(len(out.keys)),
                                 out.max_seq, out.segment.size)
            write_hint(out.segment.hint_path, out.segment.uid, index)
            self.bytes_written += out.segment.size + os.path.getsize(out.segment.hint_path)
        return [out.segment for out in self.outputs]

    def _discard(self) -> None:
        """Close and delete every output, renamed or not.

        Safe because the inputs are still all there; leaving a renamed output
        behind would not be, since a later merge could delete the tombstones
        that hide some of its copies.
        """
        for out in self.outputs:
            out.segment.close()
            hint = out.segment.path.removesuffix(TEMP_SUFFIX)[: -len(".seg")] + ".hint"
            for path in (out.segment.path, hint):
                if os.path.exists(path):
                    os.unlink(path)


@dataclass
class _Raw:
    data: bytes
    seq: int


__all__ = ["Merger", "MergeResult", "MergeCancelled"]
