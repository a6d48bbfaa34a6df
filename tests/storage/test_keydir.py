"""The hash engine's keydir, in both its forms, against a dict."""

import hypothesis.strategies as st
from hypothesis import given, settings

from storage.hash.keydir import SIZE_MASK, KeyDir, pack, unpack

keys = st.binary(min_size=1, max_size=3)
ops = st.lists(
    st.tuples(st.sampled_from(["put", "remove", "relocate"]), keys,
              st.integers(0, 2**40 - 1), st.integers(1, 2**32 - 1)),
    max_size=300,
)


def check(kd: KeyDir, model: dict[bytes, int], start=None, stop=None):
    assert len(kd) == len(model)
    for key, packed in model.items():
        assert kd.get(key) == packed
    assert kd.live_bytes() == sum(p & SIZE_MASK for p in model.values())
    snap = kd.snapshot(start, stop)
    expected = sorted(
        (k, p) for k, p in model.items()
        if (start is None or k >= start) and (stop is None or k < stop)
    )
    got = [(k, (loc << 32) | size) for k, loc, size in zip(snap.keys, snap.locs, snap.sizes)]
    assert got == expected


def apply(kd: KeyDir, model: dict[bytes, int], op: str, key: bytes, offset: int, size: int) -> None:
    """One operation on the keydir and on the model dict, checked."""
    packed = pack(3, offset, size)
    if op == "put":
        kd.put(key, packed)
        model[key] = packed
    elif op == "remove":
        assert kd.remove(key) == model.pop(key, None)
    else:
        old = model.get(key, 0)
        moved = kd.relocate(key, old, packed)
        assert moved == (key in model)
        if moved:
            model[key] = packed
    assert kd.get(key) == model.get(key)


@settings(max_examples=200, deadline=None)
@given(ops=ops, dict_max=st.sampled_from([0, 3, 50, 10_000]), block=st.sampled_from([2, 3, 8]),
       start=st.none() | keys, stop=st.none() | keys)
def test_keydir_matches_a_dict(ops, dict_max, block, start, stop):
    kd = KeyDir(dict_max=dict_max, block=block)
    model: dict[bytes, int] = {}
    for op in ops:
        apply(kd, model, *op)
    check(kd, model, start, stop)
    if len(model) > dict_max:
        assert kd.compact


def test_pack_round_trip():
    assert unpack(pack(7, 2**40 - 1, 2**32 - 1)) == (7, 2**40 - 1, 2**32 - 1)
    assert unpack(pack(0, 0, 1)) == (0, 0, 1)


def test_turns_compact_past_dict_max_and_scans_in_order():
    kd = KeyDir(dict_max=100, block=16)
    for i in range(1000):
        kd.put(b"%05d" % ((i * 7919) % 1000), pack(1, i, 5))
        assert kd.compact == (i >= 100)
    assert len(kd) == 1000
    assert kd.snapshot().keys == [b"%05d" % i for i in range(1000)]
    assert kd.snapshot(b"00100", b"00110").keys == [b"%05d" % i for i in range(100, 110)]


@settings(max_examples=100, deadline=None)
@given(adopted=st.dictionaries(keys, st.integers(1, 2**40)), ops=ops, dict_max=st.sampled_from([0, 3, 50]))
def test_an_adopted_dict_stays_a_dict_until_new_keys_double_it(adopted, ops, dict_max):
    """What an open after a crash does (storage.hash.loader.Replay): the keydir adopts the
    rebuilt dict whatever its size, and behaves as a dict would from there on."""
    kd = KeyDir(dict_max=dict_max, block=2)
    kd.adopt(dict(adopted))
    model = dict(adopted)
    check(kd, model)
    assert not kd.compact
    for op in ops:
        apply(kd, model, *op)
        if len(model) < 2 * len(adopted):
            assert not kd.compact
    check(kd, model)


@settings(max_examples=100, deadline=None)
@given(saved=st.dictionaries(keys, st.integers(1, 2**40)), ops=ops, dict_max=st.sampled_from([0, 3, 50]))
def test_load_all_fills_either_form_from_sorted_columns(saved, ops, dict_max):
    """What an open after a clean close does (storage.hash.saved): sorted columns in, a
    dict (small) or blocks (past dict_max), and a keydir like any other afterwards."""
    from array import array

    ordered = sorted(saved)
    kd = KeyDir(dict_max=dict_max, block=2)
    kd.load_all(ordered, array("Q", [saved[k] >> 32 for k in ordered]),
                array("I", [saved[k] & SIZE_MASK for k in ordered]))
    model = {k: (v >> 32) << 32 | (v & SIZE_MASK) for k, v in saved.items()}
    check(kd, model)
    assert kd.compact == (len(saved) > dict_max)
    for op in ops:
        apply(kd, model, *op)
    check(kd, model)
