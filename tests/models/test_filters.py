"""docdb.models.filters: MongoDB filter semantics, operator by operator and against mongomock."""

import hypothesis.strategies as st
import mongomock
import pytest
from hypothesis import HealthCheck, assume, given, settings

from docdb.models.filters import FilterError, compile_filter, get_path_values, matches
from tests.models.mongo_strategies import documents, filter_untestable, filters


def test_empty_and_none_match_everything():
    assert matches({}, None) and matches({"a": 1}, {}) and compile_filter(None)({"x": [1]})


def test_get_path_values():
    doc = {"a": [{"b": 1}, {"b": [2, 3]}, {"c": 4}, 5], "d": {"e": {"f": "x"}}}
    assert get_path_values(doc, "a.b") == [1, [2, 3]]
    assert get_path_values(doc, "d.e.f") == ["x"]
    assert get_path_values(doc, "a.0.b") == [1]
    assert get_path_values(doc, "a.3") == [5]
    assert get_path_values(doc, "a.9") == []
    assert get_path_values(doc, "nope.x") == []
    assert get_path_values({"a": [[{"b": 1}]]}, "a.b") == []  # nested arrays are not walked into


def test_implicit_equality():
    assert matches({"a": 1}, {"a": 1}) and matches({"a": 1.0}, {"a": 1})
    assert not matches({"a": True}, {"a": 1}) and not matches({"a": 1}, {"a": True})
    assert matches({"a": {"b": "x"}}, {"a.b": "x"})
    assert matches({"tags": ["x", "y"]}, {"tags": "x"})
    assert matches({"a": [1, 2]}, {"a": [1, 2]}) and not matches({"a": [2, 1]}, {"a": [1, 2]})
    assert matches({"a": [[1, 2], 3]}, {"a": [1, 2]})
    assert matches({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 2}})
    assert not matches({"a": {"c": 2, "b": 1}}, {"a": {"b": 1, "c": 2}})  # field order matters
    assert matches({"a": [{"b": 1}, {"b": 2}]}, {"a.b": 2})
    assert not matches({"a": 1, "b": 2}, {"a": 1, "b": 3})


def test_null_matches_missing():
    assert matches({}, {"a": None}) and matches({"a": None}, {"a": None})
    assert matches({"a": 1}, {"a.b": None}) and matches({"a": [{"b": 1}, {}]}, {"a.b": None})
    assert not matches({"a": []}, {"a": None}) and not matches({"a": [1, 2]}, {"a.b": None})
    assert matches({"a": [None]}, {"a": None})
    assert matches({}, {"a": {"$gte": None}}) and not matches({}, {"a": {"$gt": None}})


def test_eq_ne():
    assert matches({"a": 2}, {"a": {"$eq": 2}}) and not matches({"a": 2}, {"a": {"$ne": 2}})
    assert matches({}, {"a": {"$ne": 2}}) and matches({"a": "2"}, {"a": {"$ne": 2}})
    assert not matches({"a": [1, 2]}, {"a": {"$ne": 2}})
    assert not matches({}, {"a": {"$ne": None}})


@pytest.mark.parametrize(
    "op, value, doc_value, expected",
    [
        ("$gt", 5, 6, True), ("$gt", 5, 5, False), ("$gte", 5, 5.0, True), ("$lt", 5, 4.5, True),
        ("$lte", 5, 6, False), ("$gt", 5, "z", False), ("$lt", "b", "a", True), ("$gt", 0, True, False),
        ("$gt", False, True, True), ("$gt", 5, [1, 7], True), ("$lt", 5, [6, 7], False),
        ("$gt", 5, None, False), ("$gt", [1], [2], True), ("$gt", {"a": 1}, {"a": 2}, True),
    ],
)
def test_comparisons(op, value, doc_value, expected):
    assert matches({"a": doc_value}, {"a": {op: value}}) is expected
    assert not matches({}, {"a": {op: value}})


def test_in_nin():
    assert matches({"a": 2}, {"a": {"$in": [1, 2]}}) and not matches({"a": 3}, {"a": {"$in": [1, 2]}})
    assert matches({"a": [3, 2]}, {"a": {"$in": [2]}}) and matches({}, {"a": {"$in": [None]}})
    assert matches({"a": 3}, {"a": {"$nin": [1, 2]}}) and matches({}, {"a": {"$nin": [1]}})
    assert not matches({"a": [3, 1]}, {"a": {"$nin": [1]}})
    assert not matches({"a": 1}, {"a": {"$in": []}}) and matches({"a": 1}, {"a": {"$nin": []}})


def test_exists():
    assert matches({"a": None}, {"a": {"$exists": True}}) and not matches({}, {"a": {"$exists": True}})
    assert matches({}, {"a": {"$exists": False}}) and matches({"a": [1]}, {"a.b": {"$exists": False}})
    assert not matches({"a": [{"b": 1}, {}]}, {"a.b": {"$exists": False}})
    assert matches({"a": [5]}, {"a.0": {"$exists": True}})
    assert not matches({"a": [5]}, {"a.1": {"$exists": 1}})


def test_logical():
    doc = {"a": 1, "b": 2}
    assert matches(doc, {"$and": [{"a": 1}, {"b": 2}]}) and not matches(doc, {"$and": [{"a": 1}, {"b": 3}]})
    assert matches(doc, {"$or": [{"a": 9}, {"b": 2}]}) and not matches(doc, {"$or": [{"a": 9}]})
    assert matches(doc, {"$nor": [{"a": 9}]}) and not matches(doc, {"$nor": [{"a": 9}, {"b": 2}]})


def test_not():
    assert matches({"a": 1}, {"a": {"$not": {"$gt": 5}}}) and matches({}, {"a": {"$not": {"$gt": 5}}})
    assert not matches({"a": 6}, {"a": {"$not": {"$gt": 5}}})
    assert not matches({"a": [1, 6]}, {"a": {"$not": {"$gt": 5}}})


def test_size_all():
    assert matches({"a": [1, 2]}, {"a": {"$size": 2}}) and not matches({"a": [1]}, {"a": {"$size": 2}})
    assert matches({"a": []}, {"a": {"$size": 0}}) and not matches({"a": "ab"}, {"a": {"$size": 2}})
    assert matches({"a": [1, 2, 3]}, {"a": {"$all": [3, 1]}})
    assert not matches({"a": [1]}, {"a": {"$all": [1, 2]}})
    assert matches({"a": 1}, {"a": {"$all": [1]}}) and not matches({"a": [1]}, {"a": {"$all": []}})


def test_elem_match():
    assert matches({"a": [1, 7]}, {"a": {"$elemMatch": {"$gt": 5, "$lt": 9}}})
    assert not matches({"a": [1, 10]}, {"a": {"$elemMatch": {"$gt": 5, "$lt": 9}}})
    assert not matches({"a": 7}, {"a": {"$elemMatch": {"$gt": 5}}})  # not an array
    docs = {"a": [{"b": 1, "c": 1}, {"b": 2, "c": 2}]}
    assert matches(docs, {"a": {"$elemMatch": {"b": 2, "c": 2}}})
    assert not matches(docs, {"a": {"$elemMatch": {"b": 1, "c": 2}}})
    assert matches(docs, {"a": {"$elemMatch": {"$or": [{"b": 9}, {"c": 2}]}}})


def test_compiled_once_and_reused():
    pred = compile_filter({"a": {"$in": [1, 2]}, "b.c": {"$exists": True}})
    docs = ({"a": 1, "b": {"c": 0}}, {"a": 3, "b": {"c": 0}}, {"a": 2})
    assert [pred(d) for d in docs] == [True, False, False]


@pytest.mark.parametrize(
    "bad, needle",
    [
        ({"a": {"$where": "x"}}, "$where"), ({"a": {"$in": 1}}, "$in"), ({"a": {"$nin": "ab"}}, "$nin"),
        ({"$or": {}}, "$or"), ({"$and": []}, "$and"), ({"$where": "1"}, "$where"),
        ({"a": {"$size": "2"}}, "$size"), ({"a": {"$size": True}}, "$size"), ({"a": {"$all": 3}}, "$all"),
        ({"a": {"$not": 3}}, "$not"), ({"a": {"$not": {}}}, "$not"), ({"a": {"$elemMatch": 3}}, "$elemMatch"),
        ({"a": {"$gt": 1, "b": 2}}, "cannot mix"), ({"a": {"$eq": object()}}, "$eq"),
        ({"a": {"$in": [{"$gt": 1}]}}, "$in"), ([("a", 1)], "dict"), ({"$or": [1]}, "dict"),
        ({"a": {"$elemMatch": {"$gt": 1, "b": 2}}}, "$gt"),
    ],
)
def test_malformed_filters_raise_filter_error(bad, needle):
    with pytest.raises(FilterError, match=needle.replace("$", r"\$")):
        compile_filter(bad)
    assert issubclass(FilterError, ValueError)


# ---------------------------------------------------------------- differential test against mongomock
# (the generators and the mongomock quirks they avoid are in mongo_strategies)


# derandomize: CI runs the examples that were run here (mongomock has more quirks than any
# generator can list; a new one found at random in CI is a note for later, not a red build).
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(documents, max_size=6), f=filters())
def test_matches_like_mongomock(docs, f):
    assume(not filter_untestable(docs, f))
    coll = mongomock.MongoClient().db.c
    for i, doc in enumerate(docs):
        coll.insert_one({**doc, "_id": i})
    expected = {d["_id"] for d in coll.find(f)}
    pred = compile_filter(f)
    assert {i for i, doc in enumerate(docs) if pred(doc)} == expected
