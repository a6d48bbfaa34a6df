"""docdb.models.documents: what a document may hold, and generated ids."""

import math
import threading
import time

import hypothesis.strategies as st
import pytest
from hypothesis import given

from docdb.models.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentError,
    decode_document,
    encode_document,
    new_id,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=5), json_values, max_size=5))
def test_round_trip(document):
    assert decode_document(encode_document(document)) == document


@pytest.mark.parametrize("document, fragment", [
    ([1, 2], "must be a JSON object"),
    ({"a": {1, 2}}, "a is a set"),
    ({"a": {"b": [1, b"x"]}}, "a.b.1 is a bytes"),
    ({"a": math.nan}, "a is nan"),
    ({"a": [math.inf]}, "a.0 is inf"),
    ({"a": {1: "x"}}, "key 1 in a is not a string"),
    ({"a": object()}, "which JSON cannot hold"),
    ({"a": 2**70}, "cannot be encoded"),
    ({"big": "x" * MAX_DOCUMENT_BYTES}, "the limit is"),
])
def test_refusals_say_what_and_where(document, fragment):
    with pytest.raises(DocumentError, match=fragment):
        encode_document(document)


def test_ids_sort_by_creation_and_never_repeat():
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 26 and i.isalnum() and i.isupper() for i in ids)


def test_ids_carry_the_time_in_crockford_base32():
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    millis = 0
    for char in made[:10]:  # the first 10 digits are the 48-bit millisecond timestamp
        millis = millis * 32 + digits.index(char)
    assert before <= millis <= after + 1 and set(made) <= set(digits)


def test_ids_are_unique_across_threads():
    seen: list[str] = []

    def make():
        seen.extend(new_id() for _ in range(2000))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 8000
