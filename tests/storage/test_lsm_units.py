"""Unit tests of the LSM engine's parts: bloom filter, SSTable builder/reader, merge, compaction policy.

* The bloom filter's measured false-positive rate at 10 bits per key is about 1%
  (between 0.3% and 2.5% for 20k keys against 20k absent keys), with no false
  negatives, before and after serialization.
* ``TableBuilder``/``SSTable`` round trip, with hypothesis: random sorted entries
  (tombstones included), random block sizes, both table formats (1: bloom filter,
  2: fingerprints); ``get`` and ``items(start, stop,
  reverse)`` agree with a dict and a sorted list (LevelDB's harness, in small).
* ``merge``: newest wins, tombstones hide older entries, in both directions.
* ``pick_run``: the size-tiered policy of ``storage/lsm/compaction.py``.
"""

from __future__ import annotations

import os
import random
import tempfile
from bisect import bisect_right

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storage
from storage import ClosedError
from storage.cache import BlockCache
from storage.lsm.bloom import BloomFilter
from storage.lsm.compaction import pick_run, tier
from storage.lsm.memtable import Memtable
from storage.lsm.sstable import MISSING, SSTable, TableBuilder, decode_block, encode_block
from storage.merge import merge

# ----- bloom filter ------------------------------------------------------------------------------------


def false_positive_rate(bloom: BloomFilter, absent: list[bytes]) -> float:
    return sum(bloom.may_contain(k) for k in absent) / len(absent)


@pytest.mark.parametrize("shape", ["sequential", "random"])
def test_bloom_false_positive_rate_is_about_one_percent(shape):
    n = 20_000
    if shape == "sequential":  # keys as a table of documents would have them
        present = [b"user:%08d" % i for i in range(n)]
        absent = [b"user:%08d" % i for i in range(n, 2 * n)]
    else:
        rng = random.Random(42)
        keys = list({rng.randbytes(rng.randint(4, 24)) for _ in range(2 * n + 100)})
        present, absent = keys[:n], keys[n:2 * n]
    bloom = BloomFilter.build(present, n, 10)
    missed = [k for k in present if not bloom.may_contain(k)]
    assert not missed, f"false negatives: {missed[:3]}"
    rate = false_positive_rate(bloom, absent)
    assert 0.003 <= rate <= 0.025, f"false-positive rate {rate:.4f} at 10 bits per key"

    again = BloomFilter.from_bytes(bloom.to_bytes())  # as a table stores and loads it
    assert all(again.may_contain(k) for k in present)
    assert false_positive_rate(again, absent) == rate


def test_bloom_rate_falls_with_more_bits():
    keys = [b"k%06d" % i for i in range(5000)]
    absent = [b"a%06d" % i for i in range(20_000)]
    rates = [false_positive_rate(BloomFilter.build(keys, len(keys), bits), absent) for bits in (4, 10, 16)]
    assert rates[0] > rates[1] > rates[2]
    assert rates[2] < 0.005


def test_bloom_is_stable_across_processes():
    """Filters are stored on disk: the hashes must not depend on PYTHONHASHSEED."""
    bloom = BloomFilter.build([b"alpha", b"beta"], 2, 10)
    assert bloom.to_bytes() == BloomFilter.build([b"beta", b"alpha"], 2, 10).to_bytes()
    import subprocess
    import sys

    code = ("import sys; from storage.lsm.bloom import BloomFilter; "
            "sys.stdout.write(BloomFilter.build([b'alpha', b'beta'], 2, 10).to_bytes().hex())")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, cwd=root,
                             env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        assert bytes.fromhex(out.decode()) == bloom.to_bytes()


def test_bloom_tiny_and_empty():
    empty = BloomFilter.build([], 1, 10)
    assert not any(empty.may_contain(b"k%d" % i) for i in range(100))
    one = BloomFilter.build([b"only"], 1, 10)
    assert one.may_contain(b"only")


@pytest.mark.parametrize("raw", [b"", b"\x00\x40\x00\x00\x00" + bytes(8), b"\x07\x00\x01\x00\x00" + bytes(8)],
                         ids=["empty", "no-probes", "bitmap-too-short"])
def test_bloom_malformed_bytes_raise(raw):
    import struct

    with pytest.raises((ValueError, struct.error)):
        BloomFilter.from_bytes(raw)


# ----- SSTable builder and reader ---------------------------------------------------------------------


def build_table(directory: str, entries: list[tuple[bytes, bytes | None]], block_bytes: int,
                bloom_bits: int | None = None, cache_blocks: int = 8, number: int = 1) -> SSTable:
    """A table of the present format, or with ``bloom_bits`` one of format 1 (bloom filters)."""
    path = os.path.join(directory, f"{number:06d}.sst")
    builder = (TableBuilder(path + ".tmp", len(entries), block_bytes) if bloom_bits is None
               else TableBuilder(path + ".tmp", len(entries), block_bytes, bloom_bits, version=1))
    for k, v in entries:
        builder.add(k, v)
    size = builder.finish()
    os.replace(path + ".tmp", path)
    assert os.path.getsize(path) == size
    return SSTable(path, number, BlockCache(cache_blocks))


def expected_items(entries, start, stop, reverse):
    out = [(k, v) for k, v in entries if (start is None or k >= start) and (stop is None or k < stop)]
    return out[::-1] if reverse else out


keys_st = st.binary(min_size=1, max_size=12)
values_st = st.one_of(st.none(), st.binary(max_size=300))
bounds_st = st.one_of(st.none(), st.binary(min_size=0, max_size=12))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=st.dictionaries(keys_st, values_st, max_size=250),
    block_bytes=st.one_of(st.integers(1, 64), st.integers(65, 4096)),
    bloom_bits=st.one_of(st.none(), st.integers(1, 16)),  # None: fingerprints (format 2)
    cache_blocks=st.integers(0, 4),
    probes=st.lists(keys_st, max_size=30),
    ranges=st.lists(st.tuples(bounds_st, bounds_st, st.booleans()), min_size=1, max_size=8),
)
def test_sstable_round_trip(table, block_bytes, bloom_bits, cache_blocks, probes, ranges):
    entries = sorted(table.items())
    with tempfile.TemporaryDirectory() as directory:
        t = build_table(directory, entries, block_bytes, bloom_bits, cache_blocks)
        try:
            assert t.entries == len(entries)
            assert t.tombstones == sum(v is None for _, v in entries)
            if entries:
                assert (t.smallest, t.largest) == (entries[0][0], entries[-1][0])
            for _ in range(2):  # the second time from the block cache, when it holds them
                for k, v in entries:
                    assert t.get(k) == v if v is not None else t.get(k) is None
            for k in probes:
                got = t.get(k)
                assert got is MISSING if k not in table else got == table[k]
            assert list(t.items(None, None, False)) == entries
            assert list(t.items(None, None, True)) == entries[::-1]
            for start, stop, reverse in ranges:
                assert list(t.items(start, stop, reverse)) == expected_items(entries, start, stop, reverse)
            for k, _ in entries[:: max(1, len(entries) // 10)]:  # bounds that are keys, and their neighbours
                for start, stop in ((k, None), (None, k), (k, k + b"\x00"), (k + b"\x00", None)):
                    for reverse in (False, True):
                        assert list(t.items(start, stop, reverse)) == expected_items(
                            entries, start, stop, reverse)
        finally:
            t.close()


def test_sstable_blocks_are_small_when_asked(tmp_path):
    entries = [(b"k%05d" % i, b"v" * (i % 40) if i % 7 else None) for i in range(2000)]
    t = build_table(str(tmp_path), entries, 256)
    try:
        assert len(t._firsts) > 100, "256-byte blocks: the table should have many of them"
        assert list(t.items(None, None, False)) == entries
    finally:
        t.close()


def test_sstable_keys_of_extreme_sizes(tmp_path):
    entries = sorted({b"\x00": b"", b"\xff" * 300: b"x" * 70_000, b"a": None, b"a\x00": b"z",
                      b"\x7f" * 65_536: b"max key"}.items())
    t = build_table(str(tmp_path), entries, 64)
    try:
        for k, v in entries:
            assert t.get(k) == v if v is not None else t.get(k) is None
        assert list(t.items(b"a", b"b", False)) == [(b"a", None), (b"a\x00", b"z")]
        assert t.get(b"") is MISSING or t.get(b"") is None
    finally:
        t.close()


def test_sstable_stays_readable_after_unlink_until_closed(tmp_path):
    entries = [(b"k%03d" % i, b"v%d" % i) for i in range(300)]
    t = build_table(str(tmp_path), entries, 128)
    it = t.items(None, None, False)
    first = next(it)
    os.unlink(t.path)
    assert [first, *it] == entries
    assert t.get(b"k150") == b"v150"
    t.close()
    with pytest.raises(ClosedError):  # a closed table reads no more blocks
        list(t.items(None, None, False))


@given(
    keys=st.lists(st.binary(min_size=1, max_size=10), max_size=40, unique=True),
    data=st.data(),
)
def test_block_encoding_round_trip(keys, data):
    keys = sorted(keys)
    values = [data.draw(values_st) for _ in keys]
    raw = encode_block(keys, values)
    assert decode_block(raw, "x.sst", 0) == (keys, values)


# ----- merge -----------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    sources=st.lists(st.dictionaries(st.binary(min_size=1, max_size=3), values_st, max_size=20),
                     max_size=5),
    reverse=st.booleans(),
    keep=st.booleans(),
)
def test_merge_newest_wins(sources, reverse, keep):
    """``sources`` are newest first; the model applies them oldest first."""
    model: dict[bytes, bytes | None] = {}
    for source in reversed(sources):
        model.update(source)
    expected = sorted(((k, v) for k, v in model.items() if keep or v is not None), reverse=reverse)
    streams = [sorted(s.items(), reverse=reverse) for s in sources]
    assert list(merge(streams, reverse, keep_tombstones=keep)) == expected


def test_memtable_items_are_a_snapshot():
    mem = Memtable()
    for i in range(10):
        mem.put(b"k%d" % i, b"v")
    mem.put(b"k3", None)
    items = mem.items(b"k2", b"k5")
    mem.put(b"k2", b"changed")
    mem.put(b"k4", None)
    assert items == [(b"k2", b"v"), (b"k3", None), (b"k4", b"v")]
    assert mem.get(b"k3") is None and mem.get(b"nope") is MISSING
    assert mem.items(b"k5", b"k2") == []


# ----- compaction policy -------------------------------------------------------------------------------

BASE = 4096


@pytest.mark.parametrize("sizes, fanout, expected", [
    ([], 2, None),
    ([100], 2, None),
    ([100, 200], 2, (0, 2)),  # two fresh flushes
    ([100, 200], 4, None),
    ([100, 200, 300, 400], 4, (0, 4)),
    ([100, 200, 300, 400, 500], 4, (0, 5)),  # the whole run, not just fanout of it
    ([0, 0], 2, (0, 2)),  # empty tables are tier 0 too
    ([BASE, BASE - 1], 2, (0, 2)),  # a table of one memtable is still tier 0
    ([100, 3 * BASE, 100], 2, None),  # same tier, but not adjacent
    ([100, 3 * BASE, 2 * BASE], 2, (1, 3)),  # the run need not start at the newest table
    ([100, 200, 3 * BASE, 2 * BASE], 2, (0, 2)),  # the newest run comes first
    ([100, 2 * BASE, 3 * BASE, 100, 200], 2, (1, 3)),
    ([100, 5 * BASE, 4 * BASE, 9 * BASE], 2, (1, 3)),  # tiers 0, 2, 2, 3
    ([100, 200, 300, 17 * BASE, 20 * BASE, 30 * BASE, 60 * BASE], 4, (3, 7)),  # tier 2 at fanout 4
])
def test_pick_run(sizes, fanout, expected):
    assert pick_run(sizes, BASE, fanout) == expected


@pytest.mark.parametrize("fanout", [2, 4, 10])
def test_tier_boundaries(fanout):
    assert tier(0, BASE, fanout) == 0
    assert tier(1, BASE, fanout) == 0
    assert tier(BASE, BASE, fanout) == 0
    assert tier(BASE * fanout - 1, BASE, fanout) == 0
    assert tier(BASE * fanout + 1, BASE, fanout) == 1
    assert tier(BASE * fanout ** 2 - 1, BASE, fanout) == 1
    assert tier(BASE * fanout ** 2 + 1, BASE, fanout) == 2


def test_tier_of_exact_powers_of_fanout():
    """tier() is floor(log_T(size / base)) exactly, so a table of exactly base * T**k is in
    tier k, not grouped with tables a tier smaller. Floating point does not give that:
    math.log(1000, 10) == 2.9999999999999996 would put base * 10**3 in tier 2, and likewise
    T=3 k=5, T=9 k=5, T=10 k=6, so tier() must compute it in integers."""
    wrong = {(fanout, k): tier(BASE * fanout ** k, BASE, fanout)
             for fanout in range(2, 11) for k in range(1, 8)
             if tier(BASE * fanout ** k, BASE, fanout) != k}
    assert not wrong, f"tier(base * T**k) != k for (T, k): got {wrong}"


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.integers(0, BASE * 300), max_size=14), fanout=st.integers(2, 6))
def test_pick_run_properties(sizes, fanout):
    tiers = [tier(s, BASE, fanout) for s in sizes]
    runs = []  # maximal runs of one tier: (lo, hi)
    lo = 0
    for i in range(1, len(tiers) + 1):
        if i == len(tiers) or tiers[i] != tiers[lo]:
            runs.append((lo, i))
            lo = i
    qualifying = [r for r in runs if r[1] - r[0] >= fanout]
    assert pick_run(sizes, BASE, fanout) == (qualifying[0] if qualifying else None)


def test_pick_run_keeps_tables_few_as_they_accumulate():
    """Simulate flushes of one memtable each, merging as the policy says: the number of
    tables stays logarithmic in the data, and every byte is rewritten only ~log_T times."""
    for fanout in (2, 4):
        sizes: list[int] = []
        rewritten = 0
        for _ in range(500):
            sizes.insert(0, BASE)
            while (run := pick_run(sizes, BASE, fanout)) is not None:
                lo, hi = run
                merged = sum(sizes[lo:hi])
                rewritten += merged
                sizes[lo:hi] = [merged]
            assert len(sizes) <= (fanout - 1) * 12, sizes
        assert sum(sizes) == 500 * BASE
        assert rewritten / (500 * BASE) <= 12, "write amplification above log_T(500) + slack"



def test_engines_sharing_a_block_cache_keep_their_tables_apart(tmp_path):
    import storage

    cache = BlockCache(64)
    engines = [storage.open(tmp_path / name, "lsm", "off", block_cache=cache, block_bytes=256)
               for name in ("a", "b")]
    for n, engine in enumerate(engines):  # same table numbers, same keys, different values
        for i in range(300):
            engine.put(b"k%04d" % i, b"%d-%d" % (n, i))
        engine.compact()
    assert engines[0].stats()["table_sizes"] == engines[1].stats()["table_sizes"]
    for _ in range(2):  # the second round reads through the cache
        for n, engine in enumerate(engines):
            assert all(engine.get(b"k%04d" % i) == b"%d-%d" % (n, i) for i in range(300))
    for engine in engines:
        engine.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.booleans(), st.integers(0, 400)), max_size=300),
       bounds=st.tuples(st.none() | st.integers(0, 400), st.none() | st.integers(0, 400)),
       reverse=st.booleans())
def test_scans_over_ranges_that_grow_with_time_match_a_dict(tmp_path_factory, ops, bounds, reverse):
    """Mostly increasing keys put each flush in a range of its own (the chained scan);
    the occasional delete or rewrite of an old key makes ranges overlap (the merge)."""
    import storage

    engine = storage.open(tmp_path_factory.mktemp("lsm") / "e", "lsm", "off", memtable_bytes=512)
    model: dict[bytes, bytes] = {}
    for clock, (delete, old) in enumerate(ops, 1):
        key = b"k%05d" % (old if delete or old % 7 == 0 else 1000 + clock)
        if delete:
            engine.delete(key)
            model.pop(key, None)
        else:
            engine.put(key, b"v%d" % clock)
            model[key] = b"v%d" % clock
    start, stop = (None if b is None else b"k%05d" % b for b in bounds)
    expected = sorted((k, v) for k, v in model.items()
                      if (start is None or k >= start) and (stop is None or k < stop))
    assert list(engine.scan(start, stop, reverse)) == (expected[::-1] if reverse else expected)
    engine.close()


def test_disjoint_tables_are_chained_in_order_both_ways(tmp_path):
    import time

    import storage

    engine = storage.open(tmp_path / "e", "lsm", "off", memtable_bytes=512)
    for i in range(300):
        engine.put(b"k%05d" % (1000 + i), b"v%d" % i)
    engine.delete(b"k01299")  # a tombstone in the memtable, above every table's range
    deadline = time.monotonic() + 10
    while engine._view[1] is not None and time.monotonic() < deadline:  # let the last flush land
        time.sleep(0.01)
    mem, imm, tables = engine._view
    recent = mem.items(None, None, False)
    assert len(tables) > 2 and engine._disjoint((recent, []), tables, None, None, False, None) is not None
    # a memtable being flushed is one more part: chained when its range is its own, not otherwise
    above = [(b"k09000", b"x"), (b"k09001", b"y")]
    assert list(engine._disjoint((recent, above), tables, None, None, False, None))[-2:] == above
    inside = [(b"k01000", b"shadowing")]
    assert engine._disjoint((recent, inside), tables, None, None, False, None) is None
    expected = [(b"k%05d" % (1000 + i), b"v%d" % i) for i in range(299)]
    assert list(engine.scan()) == expected
    assert list(engine.scan(reverse=True)) == expected[::-1]
    assert list(engine.scan(b"k01100", b"k01200", reverse=True)) == expected[100:200][::-1]
    engine.close()


def test_sstable_get_many_after_a_bloom_miss_in_another_block(tmp_path):
    """A key whose block is not cached and whose bloom says no must not leave the next key,
    in the block looked at before, reading a block that was never loaded (a stateful-test
    find: keys [b"\\x05", b"\\x00\\x00\\x00", b"\\x05"] after a compaction)."""
    entries = [(bytes([i]), b"v%d" % i) for i in range(0, 40, 2)]
    table = build_table(str(tmp_path), entries, block_bytes=8, cache_blocks=0)
    try:
        absent = next(bytes([i]) for i in range(1, 40, 2)
                      if not table.may_contain(bytes([i]), bisect_right(table._firsts, bytes([i])) - 1))
        keys = [bytes([30]), absent, bytes([30]), bytes([2]), absent, bytes([2])]
        results = [MISSING] * len(keys)
        table.get_many(keys, results)
        assert results == [b"v30", MISSING, b"v30", b"v2", MISSING, b"v2"]
    finally:
        table.close()


def test_fingerprints_have_no_false_negatives_and_few_false_positives():
    from storage.lsm.fingerprints import Fingerprints

    rng = random.Random(7)
    keys = sorted([rng.randbytes(16) for _ in range(50_000)] + [b"k%08d" % i for i in range(50_000)])
    blocks = [keys[i:i + 40] for i in range(0, len(keys), 40)]
    built = Fingerprints.collecting()
    for block in blocks:
        built.add_block(block)
    loaded = Fingerprints.from_bytes(built.to_bytes(), len(blocks))
    assert all(loaded.may_contain(k, b) for b, block in enumerate(blocks) for k in block)
    absent = [rng.randbytes(16) for _ in range(50_000)] + [b"k%08d" % i for i in range(50_000, 100_000)]
    firsts = [block[0] for block in blocks]
    asked = [(k, max(bisect_right(firsts, k) - 1, 0)) for k in absent]
    assert sum(loaded.may_contain(k, b) for k, b in asked) <= 5  # 40 / 2**32 of 100k asks: ~0
    with pytest.raises(ValueError):
        Fingerprints.from_bytes(built.to_bytes()[:-1], len(blocks))
    with pytest.raises(ValueError):
        Fingerprints.from_bytes(built.to_bytes(), len(blocks) + 1)


def test_smallest_run_is_the_lightest_window():
    from storage.lsm.compaction import smallest_run

    assert smallest_run([9, 1, 1, 1, 9, 9], 3) == (1, 4)
    assert smallest_run([5, 5], 4) == (0, 2)
    assert smallest_run([3, 2, 1, 1], 2) == (2, 4)


def test_max_tables_bounds_the_tables_a_read_asks(tmp_path):
    """With a fanout no tier ever reaches, only the forced compaction keeps the count down.
    Writers wait for it at max_tables tables, where the inputs of a compaction still
    running count as the one table they become -- so the tree holds at most max_tables
    plus those inputs less one (here all of at most 4), and no more than max_tables once
    the compactions are done."""
    model = {}
    with storage.open(tmp_path / "db", engine="lsm", sync="off", memtable_bytes=2048,
                      fanout=64, max_tables=4) as db:
        seen = 0
        for i in range(3000):
            key, value = b"k%05d" % (i * 7919 % 3000), b"v%d" % i * 8
            db.put(key, value)
            model[key] = value
            seen = max(seen, db.stats()["tables"])
            assert db.stats()["tables"] <= 4 + 4 - 1
        db.maintain()
        assert db.stats()["tables"] <= 4
        assert dict(db.scan()) == model
        assert db.stats()["compactions"] > 0
    assert seen >= 4
