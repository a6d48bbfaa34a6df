"""find() over the row cache: the generated candidate test keeps every document the filter
matches (MongoDB's array and number rules included), finds give what they give without
the cache, and what they return is a copy."""

from __future__ import annotations

import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

import docdb
from docdb.models.candidates import candidate_test
from docdb.models.filters import compile_filter

LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([1.0, 2.5, "a", "b", ""]))
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.sampled_from(["x", "y"]), inner,
                                                                      max_size=2)), max_leaves=6)
DOCS = st.lists(st.dictionaries(st.sampled_from(["x", "y", "z"]), VALUES, max_size=3), max_size=15)
PATHS = st.sampled_from(["x", "y", "x.x", "x.y", "y.x.y", "z"])
WANTED = st.one_of(st.integers(-2, 2), st.sampled_from([1.0, 2.5, "a", "b", ""]))
FILTERS = st.one_of(
    st.dictionaries(PATHS, WANTED, min_size=1, max_size=2),
    st.builds(lambda p, w: {p: {"$eq": w}}, PATHS, WANTED),
    st.builds(lambda p, w, q: {p: w, q: {"$exists": True}}, PATHS, WANTED, PATHS),
    st.builds(lambda p, w: {p: {"$gt": w}}, PATHS, st.integers(-2, 2)),
)


@settings(max_examples=400, deadline=None)
@given(docs=DOCS, filter=FILTERS)
def test_the_candidate_test_keeps_every_match(docs, filter):
    keep = candidate_test(filter)
    if keep is None:
        return
    matches = compile_filter(filter)
    kept = [id(d) for d in keep([(d,) for d in docs])]
    assert all(id(d) in kept for d in docs if matches(d))


@settings(max_examples=100, deadline=None)
@given(docs=DOCS, filters=st.lists(FILTERS, min_size=1, max_size=3))
def test_finds_through_the_cache_are_finds_without_it(docs, filters):
    with tempfile.TemporaryDirectory() as directory:
        cached = docdb.connect(directory + "/db")
        plain = docdb.connect(":memory:", cache_size=0)
        for conn in (cached, plain):
            conn.collection("c").insert_many([{"_id": i, **d} for i, d in enumerate(docs)])
            conn.commit()
        for filter in filters:
            for _ in range(2):  # the first fills the cache, the second reads it
                got = list(cached.collection("c").find(filter))
                assert got == list(plain.collection("c").find(filter))
                for document in got:
                    document["changed"] = True  # a copy: nothing shared changes
        assert cached.stats()["row_cache"]["hits"] >= len(filters)
        cached.close()


def test_update_and_find_one_and_update_through_the_cache(tmp_path):
    conn = docdb.connect(str(tmp_path / "db"))
    docs = conn.collection("c")
    docs.insert_many([{"_id": i, "k": i % 3, "n": {"v": i}} for i in range(9)])
    conn.commit()
    list(docs.find({"k": 1}))  # fills the cache
    old = docs.find_one_and_update({"k": 1}, {"$inc": {"n.v": 100}})
    old["n"]["v"] = "changed by the caller"
    assert docs.update_many({"k": 2}, {"$set": {"k": 5}}).modified_count == 3
    conn.commit()
    assert [d["n"]["v"] for d in docs.find({"k": 1})] == [101, 4, 7]
    assert sorted(d["_id"] for d in docs.find({"k": 5})) == [2, 5, 8]


@settings(max_examples=400, deadline=None)
@given(docs=DOCS, path=PATHS, wanted=WANTED)
def test_a_value_table_offers_every_match_in_order(docs, path, wanted):
    from docdb.models.candidates import ValueTable
    table = ValueTable([[(d,) for d in docs[:7]], [(d,) for d in docs[7:]]], tuple(path.split(".")))
    found = table.candidates(wanted)
    positions = [next(i for i, d in enumerate(docs) if d is f) for f in found]
    assert positions == sorted(positions)
    matches = compile_filter({path: wanted})
    assert all(any(d is f for f in found) for d in docs if matches(d))
