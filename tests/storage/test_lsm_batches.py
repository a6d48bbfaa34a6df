"""The LSM engine's batch-scan parts: the windowed newest-wins merge and the block cutter.

* ``merge_batches`` against a dict model, with hypothesis: sources of random sorted
  lists cut into random pieces, tombstones included, both directions, any batch size;
  no batch is empty and the output equals ``merge`` flattened.
* ``entries_at``, the scan's block reader, gives what ``decode_block`` gives for blocks
  of fixed and of varying lengths, with tombstones, on the first sight of a layout
  (sliced) and after it (one compiled ``Struct``), and refuses a block whose length
  columns lie about its size.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import CorruptionError
from storage.batches import merge_batches
from storage.cache import BlockCache
from storage.lsm.sstable import _U32, decode_block, encode_block, entries_at
from storage.merge import merge

values_st = st.one_of(st.none(), st.binary(max_size=6))


def cut(entries: list, sizes: list[int]) -> list:
    """``entries`` as ``(keys, values)`` lists of the given sizes (the rest in one)."""
    pieces, at = [], 0
    for size in sizes:
        if at >= len(entries):
            break
        chunk = entries[at:at + size]
        pieces.append(([k for k, _ in chunk], [v for _, v in chunk]))
        at += size
    if at < len(entries):
        rest = entries[at:]
        pieces.append(([k for k, _ in rest], [v for _, v in rest]))
    return pieces


@settings(max_examples=300, deadline=None)
@given(
    sources=st.lists(st.dictionaries(st.binary(min_size=1, max_size=3), values_st, max_size=30),
                     max_size=5),
    sizes=st.lists(st.integers(1, 8), max_size=10),
    reverse=st.booleans(),
    batch=st.integers(1, 40),
)
def test_merge_batches_is_newest_wins_in_lists(sources, sizes, reverse, batch):
    ordered = [sorted(s.items(), reverse=reverse) for s in sources]
    model: dict = {}
    for source in reversed(sources):  # oldest first: newer overwrite
        model.update(source)
    expected = sorted(((k, v) for k, v in model.items() if v is not None), reverse=reverse)
    assert list(merge([list(o) for o in ordered], reverse)) == expected
    found = []
    for keys, values in merge_batches([cut(o, sizes) for o in ordered], reverse, batch):
        assert keys and len(keys) == len(values)
        found += zip(keys, values)
    assert found == expected


@pytest.mark.parametrize("shape", ["fixed", "varying"])
def test_entries_at_matches_decode_block(shape):
    for round_ in range(3):  # a layout is compiled the second time it is seen
        keys = [b"k%05d" % i for i in range(40)]
        values = [None if i % 7 == 3 else (b"v" * (10 if shape == "fixed" else i + round_))
                  for i in range(40)]
        raw = encode_block(keys, values)
        padded = b"xyz" + raw[:-4] + b"tail"
        assert entries_at(padded, 3, len(padded) - 4, "x.sst", 0) == decode_block(raw, "x.sst", 0)
        assert entries_at(padded, 3, len(padded) - 4, "x.sst", 0) == (keys, values)


def test_entries_at_refuses_lengths_that_do_not_add_up():
    keys, values = [b"a", b"b"], [b"1", b"2"]
    payload = encode_block(keys, values)[:-4]
    for _ in range(2):
        entries_at(payload, 0, len(payload), "x.sst", 0)  # the layout is now compiled
    bad = payload[:4] + _U32.pack(2) + payload[8:]  # key 0 claims two bytes
    with pytest.raises(CorruptionError):
        entries_at(bad, 0, len(bad), "x.sst", 0)
    with pytest.raises(CorruptionError):
        entries_at(payload + b"!", 0, len(payload) + 1, "x.sst", 0)


@settings(max_examples=100, deadline=None)
@given(
    entries=st.dictionaries(st.binary(min_size=1, max_size=12), values_st, max_size=120),
    cuts=st.lists(st.integers(1, 50), max_size=6),
    block=st.integers(16, 300),
)
def test_add_lists_builds_one_table_however_the_entries_are_split(tmp_path_factory, entries, cuts,
                                                                  block):
    """Block boundaries found by bisect over the running sizes carry over from one call to
    the next: entries one at a time, in one call or in lists of any sizes make the same
    file, byte for byte; every block but the last holds at least ``block`` bytes of entries
    and would hold fewer without its last entry."""
    from storage.lsm.sstable import ENTRY_OVERHEAD, SSTable, TableBuilder

    ordered = sorted(entries.items())
    d = tmp_path_factory.mktemp("tables")
    one = TableBuilder(str(d / "one.sst"), len(ordered), block)
    for key, value in ordered:
        one.add(key, value)
    one.finish()
    two = TableBuilder(str(d / "two.sst"), len(ordered), block)
    for keys, values in cut(ordered, cuts):
        two.add_lists(keys, values)
    two.add_lists([], [])
    two.finish()
    assert (d / "one.sst").read_bytes() == (d / "two.sst").read_bytes()
    if not ordered:
        return
    table = SSTable(str(d / "one.sst"), 1, BlockCache(0))
    sizes = [len(k) + len(v or b"") + ENTRY_OVERHEAD for k, v in ordered]
    keys = [k for k, _ in ordered]
    starts = [keys.index(first) for first in table._firsts]
    for a, b in zip(starts, starts[1:]):  # every block but the last
        assert sum(sizes[a:b]) >= block > sum(sizes[a:b - 1])
    table.close()


def test_a_damaged_source_ends_the_lists_after_what_came_before_it():
    def damaged():
        yield [b"a", b"b"], [b"1", b"2"]
        raise CorruptionError("block checksum mismatch", "x.sst", 0)

    found = []
    with pytest.raises(CorruptionError):
        for keys, values in merge_batches([damaged()], False, 1000):
            found += zip(keys, values)
    assert found == [(b"a", b"1"), (b"b", b"2")]
