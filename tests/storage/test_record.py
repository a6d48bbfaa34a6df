"""Record framing (storage/record.py): the format byte for byte, and how damage is classified."""

import struct
import zlib

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from storage.errors import CorruptionError
from storage.record import (
    CONTINUED,
    HEADER_SIZE,
    PUBLISH_BYTES,
    TOMBSTONE,
    TornTail,
    decode,
    encode,
    encode_batch,
    iter_records,
    value_of,
)

keys = st.binary(min_size=1, max_size=20)
values = st.binary(max_size=60)
writes = st.lists(st.tuples(keys, st.none() | values), min_size=1, max_size=4)


def test_layout_byte_for_byte():
    record = encode(7, b"key", b"value")
    fields = struct.pack("<QBII", 7, 0, 3, 5)
    body = struct.pack("<I", zlib.crc32(fields)) + fields + b"key" + b"value"
    assert record == struct.pack("<I", zlib.crc32(body)) + body
    assert HEADER_SIZE == 25 and len(record) == 25 + 8
    tomb = encode(8, b"k", None)
    assert tomb[16] == TOMBSTONE and decode(tomb, "p", 0).value == b""


def test_batch_marks_all_but_last_continued():
    records = encode_batch(10, [(b"a", b"1"), (b"b", None), (b"c", b"3")])
    flags = [r[16] for r in records]
    assert flags == [CONTINUED, CONTINUED | TOMBSTONE, 0]
    assert [decode(r, "p", 0).seq for r in records] == [10, 11, 12]


def test_value_of_refuses_another_key_and_damage():
    record = encode(1, b"key", b"value")
    assert value_of(record, b"key", "p", 0) == b"value"
    with pytest.raises(CorruptionError):
        value_of(record, b"kez", "p", 0)
    with pytest.raises(CorruptionError):
        value_of(record[:-1] + b"X", b"key", "p", 0)
    with pytest.raises(CorruptionError):
        value_of(encode(1, b"key", None), b"key", "p", 0)


def segment_of(groups):
    """Committed writes (each a list of ops) as bytes, and where each write starts."""
    data, starts, seq = b"", [], 1
    for ops in groups:
        starts.append(len(data))
        data += b"".join(encode_batch(seq, ops))
        seq += len(ops)
    return data, starts


@settings(max_examples=300, deadline=None)
@given(groups=st.lists(writes, min_size=1, max_size=5), data=st.data())
def test_unfinished_last_write_is_always_recognised(groups, data):
    """A kill mid-memcpy leaves any subset of the last write's bytes, its crc32 still zero."""
    committed, starts = segment_of(groups)
    last = starts[-1]
    write = bytearray(committed[last:])
    written = data.draw(st.lists(st.booleans(), min_size=len(write), max_size=len(write)))
    for i in range(len(write)):
        if i < PUBLISH_BYTES or not written[i]:
            write[i] = 0
    tail = bytes(data.draw(st.integers(0, 64)))  # preallocated zeros after the write
    buf = committed[:last] + bytes(write) + tail
    with pytest.raises(TornTail) as torn:
        list(iter_records(buf, 0))
    assert torn.value.offset == last
    assert torn.value.unpublished or torn.value.at_end or torn.value.zero_fill


@settings(max_examples=300, deadline=None)
@given(groups=st.lists(writes, min_size=2, max_size=5), data=st.data())
def test_damage_before_a_later_write_is_never_taken_for_a_torn_tail(groups, data):
    """One flipped bit, or a zeroed crc32, in any write but the last: corruption."""
    committed, starts = segment_of(groups)
    victim = data.draw(st.integers(0, len(groups) - 2))
    lo, hi = starts[victim], starts[victim + 1]
    buf = bytearray(committed)
    if data.draw(st.booleans()):
        at = data.draw(st.integers(lo, hi - 1))
        buf[at] ^= 1 << data.draw(st.integers(0, 7))
    else:
        buf[lo:lo + PUBLISH_BYTES] = bytes(PUBLISH_BYTES)
    with pytest.raises(TornTail) as torn:
        list(iter_records(bytes(buf), 0))
    assert not torn.value.at_end and not torn.value.unpublished and not torn.value.zero_fill


@given(groups=st.lists(writes, max_size=5))
def test_intact_records_round_trip(groups):
    committed, _ = segment_of(groups)
    expected = [op for ops in groups for op in ops]
    got = [(r.key, None if r.flags & TOMBSTONE else r.value) for r in iter_records(committed, 0)]
    assert got == expected
