"""SortedOnDemand: a dict whose key ranges come out sorted, against sortedcontainers' SortedDict."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sortedcontainers import SortedDict

from docdb.models.sortedkeys import SortedOnDemand

KEYS = st.binary(max_size=3)
OPS = st.lists(st.one_of(
    st.tuples(st.just("set"), KEYS, st.integers()),
    st.tuples(st.just("del"), KEYS, st.none()),
    st.tuples(st.just("pop"), KEYS, st.none()),
    st.tuples(st.just("range"), st.one_of(st.none(), KEYS), st.one_of(st.none(), KEYS)),
    st.tuples(st.just("clear"), st.none(), st.none())), max_size=60)


@settings(max_examples=300, deadline=None)
@given(ops=OPS, reverse=st.booleans())
def test_ranges_and_items_match_a_sorted_dict(ops, reverse):
    mine, model = SortedOnDemand(), SortedDict()
    for op, a, b in ops:
        if op == "set":
            mine[a] = model[a] = b
        elif op in ("del", "pop") and a in model:
            del model[a]
            if op == "del":
                del mine[a]
            else:
                mine.pop(a)
        elif op == "range":
            want = list(model.irange(a, b, (True, False), reverse))
            assert list(mine.irange(a, b, (True, False), reverse)) == want
        elif op == "clear":
            mine.clear()
            model.clear()
        assert mine == dict(model)
    assert mine.sorted_items() == list(model.items())
