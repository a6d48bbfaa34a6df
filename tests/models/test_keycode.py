"""docdb.models.keycode: byte order equals value order, and values round-trip."""

import math

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from docdb.models.keycode import (
    KeyEncodingError,
    decode,
    decode_tuple,
    encode,
    encode_tuple,
    prefix_end,
    sort_key,
)

scalars = (
    st.none() | st.booleans()
    | st.integers() | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=False) | st.sampled_from([0, 0.0, 1, 1.0, -1, -1.0, 2**53, 2.0**53, 0.5])
    | st.text() | st.binary()
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=8)


def same(a, b):
    """Equal, of the same types all the way down (-0.0 is allowed to come back as 0.0)."""
    if isinstance(a, (list, tuple)):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=500, deadline=None)
@given(st.lists(values, max_size=12))
def test_sorting_bytes_sorts_values(items):
    by_value = sorted(items, key=sort_key)
    by_bytes = sorted(items, key=encode)
    assert [sort_key(v) for v in by_value] == [sort_key(v) for v in by_bytes]


@settings(max_examples=500, deadline=None)
@given(values, values)
def test_pairwise_order_and_equality(a, b):
    ka, kb = sort_key(a), sort_key(b)
    ea, eb = encode(a), encode(b)
    assert (ea < eb) == (ka < kb)
    assert (ea == eb) == (ka == kb)


@settings(max_examples=500, deadline=None)
@given(values)
def test_round_trip(value):
    assert same(decode(encode(value)), value)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=4), st.lists(values, max_size=4))
def test_tuples_order_and_round_trip(a, b):
    assert (encode_tuple(a) < encode_tuple(b)) == ([sort_key(v) for v in a] < [sort_key(v) for v in b])
    assert same(list(decode_tuple(encode_tuple(a))), a)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, min_size=1, max_size=3), st.lists(values, max_size=3))
def test_prefix_range_holds_exactly_the_extensions(prefix, rest):
    start = encode_tuple(prefix)
    stop = prefix_end(start)
    key = encode_tuple(prefix + rest)
    assert start <= key and (stop is None or key < stop)


def test_numbers_compare_across_int_and_float():
    ordered = [-math.inf, -(2**200), -1e60, -2.5, -2, -1, -0.5, 0, 0.0, 2**-1074 * 1.0, 0.5,
               1, 1.0, 2, 2.5, 3, 2**53, 2.0**53, 2**53 + 1, 1e60, 2**200, math.inf]
    encoded = [encode(v) for v in ordered]
    assert encoded == sorted(encoded)
    assert len(set(encoded)) == len(encoded)
    assert type(decode(encode(1))) is int and type(decode(encode(1.0))) is float
    assert decode(encode(2**300 + 1)) == 2**300 + 1
    assert decode(encode(-0.0)) == 0.0


def test_cross_type_order():
    ordered = [None, False, True, -1, 0, 7.5, "", "a", "b", b"", b"\x00", [], [None], [1, 2]]
    assert [encode(v) for v in ordered] == sorted(encode(v) for v in ordered)


def test_refusals():
    with pytest.raises(KeyEncodingError):
        encode(math.nan)
    with pytest.raises(KeyEncodingError):
        encode({"a": 1})
    with pytest.raises(KeyEncodingError):
        decode(b"\x99")
    with pytest.raises(KeyEncodingError):
        decode(encode(1) + b"\x05")
    assert prefix_end(b"\xff\xff") is None
    assert prefix_end(b"ab\xff") == b"ac"
