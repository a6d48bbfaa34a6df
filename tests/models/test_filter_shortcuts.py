"""The shortcuts a scan takes must never change an answer.

``filters`` decides plain equalities without listing reached values, and
``raw_prefilter`` rejects documents from their JSON bytes before decoding.
Both are checked here against the general matcher on random documents.
"""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from docdb.models.filters import _compile_document, compile_filter, raw_prefilter

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 2.5, -0.0]),
                     st.sampled_from(["a", "b", "é", 'q"uote', "\\", ""]))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)),
    max_leaves=8)
_documents = st.dictionaries(st.sampled_from(["a", "b", "c"]), _values, max_size=3)
_paths = st.sampled_from(["a", "b", "a.b", "a.c", "b.a", "a.0", "a.b.c", "c.1.a"])
_conditions = st.one_of(
    _scalars,
    _scalars.map(lambda v: {"$eq": v}),
    st.lists(st.sampled_from(["a", "b", "é", ""]), min_size=1, max_size=3).map(lambda v: {"$in": v}),
    st.lists(_scalars, max_size=2),
)
_filters = st.dictionaries(_paths, _conditions, min_size=1, max_size=3)


def _general(filter: dict):
    """The same filter compiled without the plain-equality shortcut."""
    return _compile_document({k: {"$eq": v} if not isinstance(v, dict) else v for k, v in filter.items()})


@settings(max_examples=600, deadline=None, derandomize=True)
@given(document=_documents, filter=_filters)
def test_plain_equality_shortcut_agrees_with_the_general_test(document, filter):
    assert compile_filter(filter)(document) == _general(filter)(document)


@settings(max_examples=600, deadline=None, derandomize=True)
@given(document=_documents, filter=_filters)
def test_raw_prefilter_never_rejects_a_match(document, filter):
    needles = raw_prefilter(filter)
    if needles is not None and compile_filter(filter)(document):
        assert any(needle in orjson.dumps(document) for needle in needles)


def test_raw_prefilter_rejects_documents_without_the_string():
    assert raw_prefilter({"city": "Paris", "n": {"$gt": 1}}) == (b'"Paris"',)
    assert raw_prefilter({"n": 1}) is None and raw_prefilter({"$or": [{"a": "x"}]}) is None
    assert raw_prefilter({"tag": {"$in": ["x", "y"]}, "name": {"$in": ["a", "b", "c"]}}) == (b'"x"', b'"y"')
    import docdb

    conn = docdb.connect()  # a scan decodes only the documents holding the string
    conn.collection("c").insert_many([{"city": "Paris"}, {"city": "Lyon", "note": "Paris"},
                                      {"city": "Oslo"}])
    cursor = conn.collection("c").find({"city": "Paris"})
    assert [d["city"] for d in cursor] == ["Paris"] and cursor.stats["decoded"] == 2
    conn.close()


_index_conditions = st.one_of(
    _scalars.filter(lambda v: v is not None),
    _scalars.filter(lambda v: v is not None).map(lambda v: {"$eq": v}),
    st.lists(_scalars.filter(lambda v: v is not None), min_size=1, max_size=3).map(lambda v: {"$in": v}),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(documents=st.lists(_documents, max_size=12), path=_paths, conditions=st.lists(_index_conditions,
                                                                                     min_size=1, max_size=4))
def test_an_index_that_answers_exactly_returns_the_matches(documents, path, conditions):
    import docdb

    conn = docdb.connect()
    try:
        collection = conn.collection("c")
        collection.insert_many([dict(d, _id=i) for i, d in enumerate(documents)])
        collection.create_index(path)
        for condition in conditions:
            cursor = collection.find({path: condition})
            found = sorted(d["_id"] for d in cursor)
            expected = sorted(d["_id"] for d in collection.find({path: condition, "$and": [{}]}))
            assert cursor.explain()["index"] == f"{path}_1"
            assert found == expected
    finally:
        conn.close()


def test_a_scan_by_bytes_sees_the_transactions_own_writes():
    import docdb

    conn = docdb.connect()
    c = conn.collection("c")
    c.insert_many([{"_id": i, "city": "Paris" if i % 2 else "Lyon"} for i in range(10)])
    conn.commit()
    c.update_one({"_id": 1}, {"$set": {"city": "Oslo"}})  # a pending value without the bytes
    c.update_one({"_id": 2}, {"$set": {"city": "Paris"}})  # a pending value with them
    c.delete_one({"_id": 3})
    assert sorted(d["_id"] for d in c.find({"city": "Paris"})) == [2, 5, 7, 9]
    conn.rollback()
    assert sorted(d["_id"] for d in c.find({"city": "Paris"})) == [1, 3, 5, 7, 9]
    conn.close()


def test_pymongo_conveniences():
    import docdb

    conn = docdb.connect()
    c = conn.collection("c")
    assert c.estimated_document_count() == 0
    c.insert_many([{"_id": i, "n": i, "tags": [i]} for i in range(5)])
    c.create_index([("n", -1), ("tags", 1)], unique=True)
    assert c.estimated_document_count() == 5 == c.count_documents({})
    assert c.index_information() == {"_id_": {"key": [("_id", 1)], "unique": True},
                                     "n_-1_tags_1": {"key": [("n", -1), ("tags", 1)], "unique": True}}
    conn.close()
