"""docdb.models.updates against mongomock, and its refusals."""

import copy

import mongomock
import pytest
from hypothesis import HealthCheck, assume, given, settings

from docdb.models.updates import UpdateError, apply_update, is_operator_update
from tests.models.mongo_strategies import mongomock_deviates, update_untestable, updates
from tests.models.mongo_strategies import update_documents as documents


def mongo_result(document, update):
    collection = mongomock.MongoClient().db.c
    collection.insert_one({"_id": 1, **copy.deepcopy(document)})
    try:
        collection.update_one({"_id": 1}, update)
    except Exception:  # noqa: BLE001 - mongomock refuses: so must we
        return None
    found = collection.find_one({"_id": 1})
    del found["_id"]
    return found


# derandomize: see tests/models/test_filters.py.
@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(documents, updates())
def test_same_result_as_mongomock(document, update):
    assume(not update_untestable(document, update))
    expected = None if mongomock_deviates(document, update) else mongo_result(document, update)
    try:
        got = apply_update(document, update)
    except UpdateError:
        got = None
    assert got == expected
    if got is not None:
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


def test_leaves_its_argument_alone():
    document = {"a": {"b": [1]}}
    result = apply_update(document, {"$push": {"a.b": 2}, "$set": {"c": 1}})
    assert document == {"a": {"b": [1]}} and result == {"a": {"b": [1, 2]}, "c": 1}


def test_paths_into_arrays_and_new_objects():
    doc = {"a": [{"x": 1}, {"x": 2}]}
    assert apply_update(doc, {"$set": {"a.1.x": 9}}) == {"a": [{"x": 1}, {"x": 9}]}
    assert apply_update(doc, {"$set": {"a.3": 0}}) == {"a": [{"x": 1}, {"x": 2}, None, 0]}
    assert apply_update({}, {"$set": {"p.q.r": 1}}) == {"p": {"q": {"r": 1}}}
    assert apply_update({}, {"$inc": {"n": 2}}) == {"n": 2}
    assert apply_update({"t": [1, 1.0, 2]}, {"$pull": {"t": 1}}) == {"t": [2]}
    assert apply_update({"t": [1]}, {"$addToSet": {"t": {"$each": [1, 2, 2]}}}) == {"t": [1, 2]}
    assert apply_update({"t": [1, 5, 9]}, {"$pull": {"t": {"$gte": 5}}}) == {"t": [1]}
    items = {"i": [{"q": 1, "k": "a"}, {"q": 0, "k": "b"}, 3]}
    assert apply_update(items, {"$pull": {"i": {"q": {"$lt": 1}}}}) == {"i": [{"q": 1, "k": "a"}, 3]}
    assert apply_update({"t": ["ax", "b", 1]}, {"$pull": {"t": {"$regex": "x"}}}) == {"t": ["b", 1]}
    with pytest.raises(UpdateError, match="pull condition"):
        apply_update(items, {"$pull": {"i": {"$where": "x"}}})


@pytest.mark.parametrize("update, fragment", [
    ({}, "non-empty"),
    ({"$set": {"a": 1}, "b": 2}, "mixes"),
    ({"$bit": {"a": {"and": 1}}}, "unknown update operator $bit"),
    ({"$set": {"a": 1}, "$inc": {"a": 1}}, "conflict"),
    ({"$set": {"a": 1, "a.b": 2}}, "conflict"),
    ({"$set": {"_id": 2}}, "_id"),
    ({"$inc": {"n": "1"}}, "must be a number"),
    ({"$inc": {"s": 1}}, "is not a number"),
    ({"$push": {"s": 1}}, "not an array"),
    ({"$set": {"s.x": 1}}, "not an object"),
    ({"$set": {"a..b": 1}}, "invalid update path"),
])
def test_refusals_name_the_problem(update, fragment):
    document = {"s": "text"}
    with pytest.raises(UpdateError, match=fragment.replace("$", r"\$")):
        apply_update(document, update)
    assert document == {"s": "text"}


def test_replacement_documents_are_told_apart():
    assert is_operator_update({"$set": {"a": 1}})
    assert not is_operator_update({"a": 1})
