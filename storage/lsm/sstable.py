"""SSTables: immutable sorted files of key/value entries (tombstones included).

Format (version 1), little-endian. Every block is its payload followed by the
payload's ``zlib.crc32`` (u32), checked on every read::

    data block*   ~block_bytes of entries, in key order, as columns:
                  count u32 | klens count x u32 | vlens count x u32 (0xFFFFFFFF:
                  tombstone) | keys concatenated | values concatenated
    meta block    entries u64 | tombstones u64 | smallest klen u32 + key |
                  largest klen u32 + key
    index block   the sparse index, one entry per data block, as columns:
                  count u32 | klens u32 | offsets u64 | sizes u32 | first keys
    filter block  version 2: storage.lsm.fingerprints (32 bits per key, per block);
                  version 1: storage.lsm.bloom (about 10 bits per key), still read
    footer        meta, index, filter: (offset u64, size u32) each | magic 8 bytes
                  b"\\x89DocDBst" | version u32 | crc32 u32 of the footer before it

Columns make a block one ``frombytes`` and one ``accumulate`` to parse (``Block``); parsed
blocks are kept in a shared ``BlockCache``. ``TableBuilder`` and
``SSTable`` are the writer and reader pair, as in LevelDB's table/.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import os
import struct
import time
import weakref
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate, islice

from storage.batches import gathered, live_only
from storage.cache import BlockCache
from storage.columns import from_le, split, to_le
from storage.errors import ClosedError, CorruptionError, FormatError
from storage.lsm.bloom import BloomFilter
from storage.lsm.fingerprints import Fingerprints
from storage.merge import Entry
from storage.search import occurrences

MAGIC = b"\x89DocDBst"
VERSION = 2  # 1: bloom filters; 2: fingerprints (both read)
TOMBSTONE_LEN = 0xFFFFFFFF
ENTRY_OVERHEAD = 8  # an entry's two lengths in its data block
READAHEAD = 64 << 10  # a scan reads adjacent blocks up to this many bytes at a time
BATCH_ENTRIES = 512  # a batch scan hands over whole blocks, at least this many entries a list
MISSING = object()  # "this table knows nothing of the key" (None is a tombstone)
_FOOTER = struct.Struct("<QIQIQI8sI")
FOOTER_SIZE = _FOOTER.size + 4
_U32 = struct.Struct("<I")
_META = struct.Struct("<QQ")



def _framed(payload: bytes) -> bytes:
    return payload + _U32.pack(zlib.crc32(payload))


def encode_block(keys: list[bytes], values: list[bytes | None]) -> bytes:
    vlens = array("I", [TOMBSTONE_LEN if v is None else len(v) for v in values])
    return _framed(b"".join([
        _U32.pack(len(keys)), to_le(array("I", map(len, keys))), to_le(vlens),
        b"".join(keys), b"".join(v for v in values if v is not None),
    ]))


class Block:
    """A checked data block, cut up lazily: its first point read slices out only the keys
    its binary search compares and the one value it returns, so a block-cache miss costs
    a read, a crc32 and two ``frombytes``, not a list of every entry. A block read a
    second time (it is in the cache) becomes a dict of its entries: a warm point read is
    then one hash probe, which touches far less memory than a binary search over cold
    key objects -- and memory latency, not bytecode, is what a warm read mostly costs.

    ``_state`` is either ``(payload, ends, vlens)`` or that dict, swapped in one
    assignment so a thread reading the block meanwhile sees one or the other whole.
    """

    __slots__ = ("_state", "count", "_reads")

    def __init__(self, payload: bytes, count: int, ends: list[int], vlens: array):
        # key i is [ends[i], ends[i+1]); value i is [ends[count+i], ends[count+i+1])
        self._state: tuple[bytes, list[int], array] | dict = (payload, ends, vlens)
        self.count = count
        self._reads = 0

    @classmethod
    def of_entries(cls, keys: list[bytes], values: list[bytes | None]) -> Block:
        """A block already cut into its entries (its layout was known): a dict at once."""
        block = cls.__new__(cls)
        block._state = dict(zip(keys, values))
        block.count = len(keys)
        block._reads = 0
        return block

    def key(self, i: int) -> bytes:
        state = self._state
        if state.__class__ is dict:
            return next(islice(state, i, None))  # type: ignore[call-overload]
        payload, ends, _ = state  # type: ignore[misc]
        return payload[ends[i]:ends[i + 1]]

    def get(self, key: bytes):
        """The value, ``None`` for a tombstone, or ``MISSING``."""
        state = self._state
        if state.__class__ is dict:
            return state.get(key, MISSING)  # type: ignore[union-attr]
        self._reads += 1
        if self._reads > 1:
            entries = self._state = dict(zip(*self.entries()))
            return entries.get(key, MISSING)
        payload, ends, vlens = state  # type: ignore[misc]
        count = self.count
        i = bisect_left(range(count), key, key=lambda j: payload[ends[j]:ends[j + 1]])
        if i == count or payload[ends[i]:ends[i + 1]] != key:
            return MISSING
        if vlens[i] == TOMBSTONE_LEN:
            return None
        return payload[ends[count + i]:ends[count + i + 1]]

    def entries(self) -> tuple[list[bytes], list[bytes | None]]:
        state = self._state
        if state.__class__ is dict:
            return list(state), list(state.values())  # type: ignore[union-attr]
        payload, ends, vlens = state  # type: ignore[misc]
        count = self.count
        cut = _by_layout(payload, 0, len(payload))
        if cut is not None:
            return cut
        pieces = [payload[a:b] for a, b in zip(ends, ends[1:])]
        values: list = pieces[count:]
        if TOMBSTONE_LEN in vlens:
            values = [None if n == TOMBSTONE_LEN else v for n, v in zip(vlens, values)]
        return pieces[:count], values


_LAYOUTS: dict[bytes, struct.Struct | None] = {}  # a block's length columns -> its Struct
_LAYOUTS_MAX = 4096


def _layout(signature: bytes) -> struct.Struct | None:
    """A ``Struct`` that cuts a block whose length columns are ``signature`` into its keys
    and values in one C call (three times faster than slicing entry by entry), or None.

    Records of fixed sizes give many blocks the same lengths; a layout is compiled the
    second time its lengths are seen, so blocks of all different lengths (documents of
    every size) do not pay for a compile they never reuse. The cache is bounded by
    being emptied when full; a reader racing that sees a miss and slices.
    """
    layout = _LAYOUTS.get(signature, MISSING)
    if layout is MISSING or layout is None:
        if len(_LAYOUTS) >= _LAYOUTS_MAX:
            _LAYOUTS.clear()
        if layout is MISSING:
            _LAYOUTS[signature] = None
            return None
        lengths = from_le("I", signature)
        lengths = array("I", [0 if n == TOMBSTONE_LEN else n for n in lengths])
        layout = _LAYOUTS[signature] = struct.Struct("<" + "".join(map("%ds".__mod__, lengths)))
    return layout  # type: ignore[return-value]


def entries_at(buf: bytes, start: int, end: int, path: str, offset: int
               ) -> tuple[list[bytes], list[bytes | None]]:
    """The entries of the block whose checked payload is ``buf[start:end]``: a scan's way
    to read a block, without a ``Block`` or a copy of the payload when its layout is known."""
    cut = _by_layout(buf, start, end)
    return cut if cut is not None else parse_payload(buf[start:end], path, offset).entries()


def _by_layout(buf: bytes, start: int, end: int) -> tuple[list[bytes], list[bytes | None]] | None:
    """The entries of the checked payload ``buf[start:end]`` cut by its compiled layout, or
    None when its layout is not compiled (yet) or the block does not add up."""
    if end - start >= 4:
        (count,) = _U32.unpack_from(buf, start)
        head = start + 4 + 8 * count
        if head <= end:
            signature = buf[start + 4:head]
            layout = _layout(signature)
            if layout is not None and layout.size == end - head:
                pieces = layout.unpack_from(buf, head)
                keys, values = list(pieces[:count]), list(pieces[count:])
                if b"\xff\xff\xff\xff" in signature[4 * count:]:
                    vlens = from_le("I", signature[4 * count:])
                    values = [None if n == TOMBSTONE_LEN else v for n, v in zip(vlens, values)]
                return keys, values
    return None


def parse_block(raw: bytes, path: str, offset: int) -> Block:
    """The block whose bytes (with their crc32) are ``raw``, checked: a dict of its entries
    when its layout is known (cut in one call), else cut lazily."""
    payload = _checked(raw, path, offset)
    cut = _by_layout(payload, 0, len(payload))
    if cut is not None:
        return Block.of_entries(*cut)
    return parse_payload(payload, path, offset)


def parse_payload(payload: bytes, path: str, offset: int) -> Block:
    """A block from its payload, whose checksum the caller has checked."""
    try:
        (count,) = _U32.unpack_from(payload)
        lengths = from_le("I", payload[4:4 + 8 * count])  # klens, then vlens
        vlens = lengths[count:]
        if len(vlens) != count:
            raise ValueError("short block")
        if TOMBSTONE_LEN in vlens:
            lengths = lengths[:count] + array("I", [0 if n == TOMBSTONE_LEN else n for n in vlens])
        ends = list(accumulate(lengths, initial=4 + 8 * count))  # keys and values are contiguous
    except (struct.error, ValueError):
        raise CorruptionError("data block is malformed", path, offset) from None
    if ends[-1] != len(payload):
        raise CorruptionError("data block is malformed", path, offset)
    return Block(payload, count, ends, vlens)


def decode_block(raw: bytes, path: str, offset: int) -> tuple[list[bytes], list[bytes | None]]:
    return parse_block(raw, path, offset).entries()


def _checked(raw: bytes, path: str, offset: int) -> bytes:
    if len(raw) < 4 or zlib.crc32(memoryview(raw)[:-4]) != _U32.unpack_from(raw, len(raw) - 4)[0]:
        raise CorruptionError("block checksum mismatch", path, offset)
    return raw[:-4]


WRITE_BUFFER = 1 << 20
YIELD_BLOCKS = 4  # blocks a table builder writes between two yields of the interpreter


class TableBuilder:
    """Writes one SSTable from entries given in ascending key order."""

    def __init__(self, path: str, expected_keys: int, block_bytes: int = 4096, bloom_bits: int = 10,
                 version: int = VERSION, pause: Callable[[], None] = lambda: time.sleep(0)):
        """``version`` 1 (a bloom filter of ``bloom_bits`` per key) is for tests of old tables.
        ``pause`` is called every ``YIELD_BLOCKS`` blocks to hand the interpreter over."""
        self.path = path
        self._pause = pause
        # A big buffer, because tables are written by the background thread: every write
        # syscall gives up the GIL, and getting it back from a busy foreground thread can
        # take a switch interval (5 ms) -- per 8 KiB block with the default buffer.
        self._file = open(path, "wb", buffering=WRITE_BUFFER)  # noqa: SIM115 - closed in finish/abandon
        self._block_bytes = block_bytes
        self._version = version
        self._filter: BloomFilter | Fingerprints = (
            Fingerprints.collecting() if version >= 2
            else BloomFilter.build((), max(expected_keys, 1), bloom_bits))
        self._keys: list[bytes] = []
        self._values: list[bytes | None] = []
        self._pending = 0
        self._index_keys: list[bytes] = []
        self._index_offsets = array("Q")
        self._index_sizes = array("I")
        self._offset = 0
        self.entries = self.tombstones = 0
        self.smallest = self.largest = b""

    def add(self, key: bytes, value: bytes | None) -> None:
        self.add_lists([key], [value])

    def add_all(self, entries: Iterable[tuple[bytes, bytes | None]]) -> None:
        """``add`` each of ``entries``, given as pairs."""
        pairs = list(entries)
        self.add_lists([key for key, _ in pairs], [value for _, value in pairs])

    def add_lists(self, keys: list[bytes], values: list[bytes | None]) -> None:
        """``add_all`` for entries as two lists: where each block ends is found by a bisect
        over the running sizes (``accumulate``, in C), not by a Python step per entry. Tables
        are built on the background thread, and every bytecode it runs is taken from the
        foreground."""
        if not keys:
            return
        tombstones = values.count(None)
        lengths = map(len, values) if not tombstones else (0 if v is None else len(v) for v in values)
        ends = list(accumulate(map(int.__add__, map(len, keys), map((8).__add__, lengths)), initial=0))
        start, pending, total = 0, self._pending, len(keys)
        while start < total:
            stop = bisect_left(ends, ends[start] + self._block_bytes - pending, start + 1)
            if stop > total:  # the rest does not fill a block: it waits for more entries
                self._keys += keys[start:]
                self._values += values[start:]
                self._pending = pending + ends[total] - ends[start]
                break
            self._keys += keys[start:stop]
            self._values += values[start:stop]
            self._flush_block()
            start, pending = stop, 0
        if not self.entries:
            self.smallest = keys[0]
        self.largest = keys[-1]
        self.entries += total
        self.tombstones += tombstones

    def _flush_block(self) -> None:
        if not self._keys:
            return
        block = encode_block(self._keys, self._values)
        if isinstance(self._filter, Fingerprints):
            self._filter.add_block(self._keys)
        else:
            self._filter.add_many(self._keys)
        self._index_keys.append(self._keys[0])
        self._index_offsets.append(self._offset)
        self._index_sizes.append(len(block))
        self._write(block)
        self._keys, self._values, self._pending = [], [], 0
        if len(self._index_keys) % YIELD_BLOCKS == 0:
            # Tables are built on the background thread: hand the interpreter to the
            # foreground now and then, or reads wait behind a whole flush (a yield after
            # every block halved batched writes, which then wait for the flush).
            self._pause()

    def _write(self, data: bytes) -> tuple[int, int]:
        offset = self._offset
        self._file.write(data)
        self._offset += len(data)
        return offset, len(data)

    def finish(self) -> int:
        """Write meta, index, bloom and footer; fsync; return the file size."""
        self._flush_block()
        meta = self._write(_framed(b"".join([
            _META.pack(self.entries, self.tombstones),
            _U32.pack(len(self.smallest)), self.smallest, _U32.pack(len(self.largest)), self.largest,
        ])))
        index = self._write(_framed(b"".join([
            _U32.pack(len(self._index_keys)), to_le(array("I", map(len, self._index_keys))),
            to_le(self._index_offsets), to_le(self._index_sizes), b"".join(self._index_keys),
        ])))
        key_filter = self._write(_framed(self._filter.to_bytes()))
        footer = _FOOTER.pack(*meta, *index, *key_filter, MAGIC, self._version)
        self._write(footer + _U32.pack(zlib.crc32(footer)))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return self._offset

    def abandon(self) -> None:
        self._file.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


class SSTable:
    """An open SSTable. Its descriptor closes when the last reference goes (or on ``close``),
    so a scan holding it keeps reading after a compaction has deleted the file."""

    def __init__(self, path: str, file_no: int, cache: BlockCache, owner: int = 0):
        self.path = path
        self.file_no = file_no
        self._cache = cache
        self._owner = owner  # tells apart the tables of engines that share one cache
        self.fd = os.open(path, os.O_RDONLY)
        self._finalizer = weakref.finalize(self, os.close, self.fd)
        try:
            self.size = os.fstat(self.fd).st_size
            self._load_footer()
        except BaseException:
            self.close()
            raise

    def _read(self, offset: int, size: int) -> bytes:
        if not self._finalizer.alive:
            raise ClosedError(f"{self.path!r} is closed")
        data = os.pread(self.fd, size, offset)
        if len(data) != size:
            raise CorruptionError("table is shorter than its index says", self.path, offset)
        return data

    def _load_footer(self) -> None:
        if self.size < FOOTER_SIZE:
            raise CorruptionError("table is too short for its footer", self.path, 0)
        raw = self._read(self.size - FOOTER_SIZE, FOOTER_SIZE)
        *places, magic, version = _FOOTER.unpack_from(raw)
        if magic != MAGIC:
            raise FormatError(f"{self.path!r} is not a docdb SSTable")
        if zlib.crc32(raw[:-4]) != _U32.unpack_from(raw, len(raw) - 4)[0]:
            raise CorruptionError("table footer checksum mismatch", self.path, self.size - FOOTER_SIZE)
        if version > VERSION:
            raise FormatError(f"{self.path!r} has table format {version}; this docdb reads up to {VERSION}")
        (meta_off, meta_size, index_off, index_size, bloom_off, bloom_size) = places
        try:
            self._parse_meta(_checked(self._read(meta_off, meta_size), self.path, meta_off))
            self._parse_index(_checked(self._read(index_off, index_size), self.path, index_off))
            raw = _checked(self._read(bloom_off, bloom_size), self.path, bloom_off)
            if version >= 2:
                self.may_contain = Fingerprints.from_bytes(raw, len(self._firsts)).may_contain
            else:
                bloom = BloomFilter.from_bytes(raw)
                self.may_contain = lambda key, _block: bloom.may_contain(key)
        except (struct.error, ValueError):
            raise CorruptionError("table metadata is malformed", self.path, index_off) from None

    def _parse_meta(self, payload: bytes) -> None:
        self.entries, self.tombstones = _META.unpack_from(payload)
        pos = _META.size
        (n,) = _U32.unpack_from(payload, pos)
        self.smallest = payload[pos + 4:pos + 4 + n]
        pos += 4 + n
        (n,) = _U32.unpack_from(payload, pos)
        self.largest = payload[pos + 4:pos + 4 + n]

    def _parse_index(self, payload: bytes) -> None:
        (count,) = _U32.unpack_from(payload)
        klens = from_le("I", payload[4:4 + 4 * count])
        self._offsets = from_le("Q", payload[4 + 4 * count:4 + 12 * count])
        self._sizes = from_le("I", payload[4 + 12 * count:4 + 16 * count])
        self._firsts, end = split(payload, klens, 4 + 16 * count)
        if end != len(payload) or len(self._firsts) != count:
            raise ValueError("index block is malformed")

    def _block(self, i: int) -> Block:
        key = (self._owner, self.file_no, i)
        block = self._cache.get(key)
        if block is None:
            offset = self._offsets[i]
            block = self._placed(parse_block(self._read(offset, self._sizes[i]), self.path, offset), i)
            self._cache.put(key, block)
        return block

    def _placed(self, block: Block, i: int) -> Block:
        if not block.count or block.key(0) != self._firsts[i]:  # a block from elsewhere
            raise CorruptionError("data block does not start with the key its index says",
                                  self.path, self._offsets[i])
        return block

    def _runs(self, lo: int, hi: int) -> Iterator[tuple[int, int]]:
        """Blocks ``lo..hi-1`` as runs of adjacent blocks of at most ``READAHEAD`` bytes."""
        first, size = lo, 0
        for j in range(lo, hi):
            adjacent = self._offsets[j] == self._offsets[j - 1] + self._sizes[j - 1] if j > lo else True
            if j > first and (not adjacent or size + self._sizes[j] > READAHEAD):
                yield first, j
                first, size = j, 0
            size += self._sizes[j]
        if first < hi:
            yield first, hi

    def _scan_blocks(self, lo: int, hi: int, reverse: bool, needle: bytes | None
                     ) -> Iterator[tuple[list[bytes], list[bytes | None]]]:
        """The entries of the blocks a scan reads, one ``pread`` per run, checked; with ``needle``, only
        those whose bytes hold it (found in the run's buffer, so others are never copied).
        Scans bypass the block cache: a scan would evict what point reads keep there."""
        runs = list(self._runs(lo, hi))
        for first, end in (reversed(runs) if reverse else runs):
            base = self._offsets[first]
            chunk = self._read(base, self._offsets[end - 1] + self._sizes[end - 1] - base)
            view = memoryview(chunk)
            hits = (occurrences(chunk, needle) or []) if needle is not None else []
            for i in (range(end - 1, first - 1, -1) if reverse else range(first, end)):
                a = self._offsets[i] - base
                b = a + self._sizes[i] - 4
                if b < a or zlib.crc32(view[a:b]) != _U32.unpack_from(chunk, b)[0]:
                    raise CorruptionError("block checksum mismatch", self.path, self._offsets[i])
                if needle is not None:  # does one occurrence lie wholly inside this payload?
                    j = bisect_left(hits, a)
                    if j == len(hits) or hits[j] + len(needle) > b:
                        continue
                keys, values = entries_at(chunk, a, b, self.path, self._offsets[i])
                if not keys or keys[0] != self._firsts[i]:
                    raise CorruptionError("data block does not start with the key its index says",
                                          self.path, self._offsets[i])
                yield keys, values

    def get(self, key: bytes):
        """The value, ``None`` for a tombstone, or ``MISSING``."""
        if key < self.smallest or key > self.largest:
            return MISSING
        i = bisect_right(self._firsts, key) - 1
        if i < 0:
            return MISSING
        # The key filter first: most tables a read asks lack the key, and the filter looks
        # at a few values side by side, where the cache would hash a tuple into a big dict.
        if not self.may_contain(key, i):
            return MISSING
        block = self._cache.get((self._owner, self.file_no, i))
        if block is None:
            block = self._block(i)
        return block.get(key)

    def get_many(self, keys: list[bytes], results: list) -> None:
        """``get`` for every key whose ``results`` slot is still ``MISSING``, in place.
        Keys in ascending order reuse the block the previous key found."""
        smallest, largest, firsts = self.smallest, self.largest, self._firsts
        cached, owner, file_no, may_contain = self._cache.get, self._owner, self.file_no, self.may_contain
        last, block = -1, None
        for j, key in enumerate(keys):
            if results[j] is not MISSING or key < smallest or key > largest:
                continue
            i = bisect_right(firsts, key) - 1
            if not may_contain(key, i):
                continue
            if i != last:
                block = cached((owner, file_no, i))
                if block is None:
                    block = self._block(i)
                last = i
            results[j] = block.get(key)  # type: ignore[union-attr]

    def items(self, start: bytes | None, stop: bytes | None, reverse: bool, live: bool = False,
              contains: bytes | None = None) -> Iterator[Entry]:
        """Entries with ``start <= key < stop`` in order, a block at a time; tombstones too
        unless ``live``. With ``contains`` (implies ``live``), only entries whose value holds
        those bytes, and a block whose bytes lack them is skipped before it is parsed."""
        firsts = self._firsts
        lo = 0 if start is None else max(bisect_right(firsts, start) - 1, 0)
        hi = len(firsts) if stop is None else bisect_left(firsts, stop)
        for keys, values in self._scan_blocks(lo, hi, reverse, contains):
            a = 0 if start is None else bisect_left(keys, start)
            b = len(keys) if stop is None else bisect_left(keys, stop)
            pairs = zip(keys[a:b], values[a:b])
            if contains is not None:
                pairs = [pair for pair in pairs if pair[1] is not None and contains in pair[1]]
            elif live:
                pairs = [pair for pair in pairs if pair[1] is not None]
            yield from (reversed(list(pairs)) if reverse else pairs)

    def batches(self, start: bytes | None, stop: bytes | None, reverse: bool,
                live: bool = True, first: int | None = None) -> Iterator[tuple[list[bytes], list]]:
        """The entries of ``[start, stop)`` as ``(keys, values)`` lists of whole blocks, at
        least ``BATCH_ENTRIES`` a list but the last (the first list of ``first``, growing
        from there: see ``gathered``): ``items`` without a tuple per entry; tombstones
        (``None``) too unless ``live``."""
        return gathered(self._block_lists(start, stop, reverse, live), BATCH_ENTRIES, first)

    def _block_lists(self, start: bytes | None, stop: bytes | None, reverse: bool,
                     live: bool) -> Iterator[tuple[list[bytes], list]]:
        firsts = self._firsts
        lo = 0 if start is None else max(bisect_right(firsts, start) - 1, 0)
        hi = len(firsts) if stop is None else bisect_left(firsts, stop)
        for keys, values in self._scan_blocks(lo, hi, reverse, None):
            if start is not None or stop is not None:
                a = 0 if start is None else bisect_left(keys, start)
                b = len(keys) if stop is None else bisect_left(keys, stop)
                keys, values = keys[a:b], values[a:b]
            if live:
                keys, values = live_only(keys, values)
            if reverse:
                keys.reverse()
                values.reverse()
            yield keys, values

    def close(self) -> None:
        self._finalizer()
