"""$mul, $min, $max, $rename, $pop, $currentDate and $setOnInsert: against mongomock where it
implements them, by hand where it does not (MongoDB's documented behaviour)."""

import re

import mongomock
import pytest

import docdb
from docdb.models.updates import UpdateError, apply_update

AGAINST_MONGOMOCK = [
    ({"a": 5}, {"$min": {"a": 3}}),
    ({"a": 5}, {"$min": {"a": 8}}),
    ({}, {"$min": {"a": 8}}),
    ({"a": 5}, {"$max": {"a": 8}}),
    ({"a": 5.5}, {"$max": {"a": 5}}),
    ({"a": 1, "b": {"c": 2}}, {"$rename": {"a": "z"}}),
    ({"a": 1}, {"$rename": {"q": "r"}}),
    ({"t": [1, 2, 3]}, {"$pop": {"t": 1}}),
    ({"t": [1, 2, 3]}, {"$pop": {"t": -1}}),
    ({"t": []}, {"$pop": {"t": 1}}),
    ({"a": 1}, {"$setOnInsert": {"b": 2}, "$set": {"c": 1}}),
]


@pytest.mark.parametrize("document, update", AGAINST_MONGOMOCK, ids=str)
def test_same_result_as_mongomock(document, update):
    coll = mongomock.MongoClient().db.c
    coll.insert_one(dict(document, _id=1))
    coll.update_one({"_id": 1}, update)
    theirs = coll.find_one({"_id": 1})
    del theirs["_id"]
    mine = apply_update(document, update)
    assert mine == theirs and list(mine) == list(theirs)


@pytest.mark.parametrize(
    "document, update, expected",
    [
        ({"a": 2}, {"$mul": {"a": 3}}, {"a": 6}),
        ({}, {"$mul": {"a": 3}}, {"a": 0}),  # missing: 0 of the factor's type
        ({}, {"$mul": {"a": 1.5}}, {"a": 0.0}),
        ({"a": "x"}, {"$max": {"a": 8}}, {"a": "x"}),  # text sorts above numbers
        ({"a": None}, {"$min": {"a": 0}}, {"a": None}),  # null sorts below numbers
        ({"a": 1, "b": {"c": 2}}, {"$rename": {"b.c": "d.e"}}, {"a": 1, "b": {}, "d": {"e": 2}}),
        ({}, {"$pop": {"t": 1}}, {}),  # missing: nothing to pop
    ],
    ids=str,
)
def test_by_hand(document, update, expected):
    assert apply_update(document, update) == expected


def test_current_date_is_iso_text_or_milliseconds():
    result = apply_update(
        {}, {"$currentDate": {"d": True, "e": {"$type": "date"}, "t": {"$type": "timestamp"}}}
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", result["d"])
    assert isinstance(result["t"], int) and result["t"] > 1_700_000_000_000


@pytest.mark.parametrize(
    "update, message",
    [
        ({"$mul": {"a": "2"}}, "must be a number"),
        ({"$pop": {"t": 2}}, "takes 1"),
        ({"$rename": {"a": 5}}, "new path as text"),
        ({"$rename": {"a": "b", "b": "c"}}, "conflict"),
        ({"$rename": {"a": "_id"}}, "cannot change _id"),
        ({"$currentDate": {"d": "now"}}, "takes true"),
    ],
)
def test_bad_updates_are_refused(update, message):
    with pytest.raises(UpdateError, match=re.escape(message)):
        apply_update({"a": 1, "t": [1]}, update)


def test_pop_of_a_non_array_is_refused():
    with pytest.raises(UpdateError, match="not an array"):
        apply_update({"t": 3}, {"$pop": {"t": 1}})


def test_set_on_insert_applies_only_when_an_upsert_inserts(tmp_path):
    conn = docdb.connect(str(tmp_path / "db"), autocommit=True)
    c = conn.collection("c")
    update = {"$setOnInsert": {"created": 1}, "$inc": {"n": 1}}
    c.update_one({"_id": "k"}, update, upsert=True)
    c.update_one({"_id": "k"}, {"$setOnInsert": {"created": 2}, "$inc": {"n": 1}}, upsert=True)
    assert c.find_one({"_id": "k"}) == {"_id": "k", "created": 1, "n": 2}
    conn.close()


POSITIONAL_DOC = {
    "_id": 1,
    "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}, {"sku": "a", "qty": 3}],
    "tags": ["x", "y"],
}


@pytest.mark.parametrize(
    "filter, update",
    [
        ({"items.sku": "a"}, {"$set": {"items.$.qty": 9}}),
        ({"items.sku": "b"}, {"$inc": {"items.$.qty": 5}}),
        ({"items": {"$elemMatch": {"sku": "a", "qty": 3}}}, {"$set": {"items.$.hit": True}}),
        ({"items.qty": {"$gt": 1}}, {"$unset": {"items.$.sku": ""}}),
    ],
    ids=str,
)
def test_positional_dollar_as_mongomock(filter, update, tmp_path):
    import copy

    coll = mongomock.MongoClient().db.c
    coll.insert_one(copy.deepcopy(POSITIONAL_DOC))
    coll.update_one(filter, update)
    conn = docdb.connect(str(tmp_path / "db"), autocommit=True)
    conn.collection("c").insert_one(copy.deepcopy(POSITIONAL_DOC))
    conn.collection("c").update_one(filter, update)
    assert conn.collection("c").find_one({}) == coll.find_one({})
    conn.close()


def test_positional_forms_mongomock_lacks(tmp_path):
    import copy

    conn = docdb.connect(str(tmp_path / "db"), autocommit=True)
    c = conn.collection("c")
    c.insert_one(copy.deepcopy(POSITIONAL_DOC))
    c.update_one({"tags": "y"}, {"$set": {"tags.$": "z"}})  # a scalar array's matched element
    c.update_many({}, {"$inc": {"items.$[].qty": 10}})  # every element
    assert c.find_one({}) == {
        "_id": 1,
        "tags": ["x", "z"],
        "items": [{"sku": "a", "qty": 11}, {"sku": "b", "qty": 12}, {"sku": "a", "qty": 13}],
    }
    changed = c.find_one_and_update({"items.sku": "b"}, {"$set": {"items.$.sku": "B"}}, return_document=True)
    assert changed["items"][1]["sku"] == "B"
    with pytest.raises(docdb.DataError, match="did not find the match"):
        c.update_one({"_id": 1}, {"$set": {"items.$.qty": 0}})
    with pytest.raises(docdb.DataError, match="not an array"):
        c.update_one({"_id": 1}, {"$set": {"_id2.$[].x": 0}})
    conn.close()
