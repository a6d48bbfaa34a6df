"""distinct, find_one(id), cursor[i] and slices, find_one_and_*, bulk_write: each beside mongomock
(which implements pymongo's behaviour), on both engines."""

import mongomock
import pymongo
import pytest

import docdb

DOCS = [
    {"_id": i, "n": i % 3, "tags": ["a", "b"] if i % 2 else [1, 1.0], "sub": {"k": i % 2}} for i in range(8)
]


@pytest.fixture(params=["lsm", "hash"])
def pair(request, tmp_path):
    conn = docdb.connect(str(tmp_path / "db"), engine=request.param, autocommit=True)
    mine = conn.collection("c")
    mine.insert_many([dict(d) for d in DOCS])
    theirs = mongomock.MongoClient().db.c
    theirs.insert_many([dict(d) for d in DOCS])
    yield mine, theirs
    conn.close()


def _all(collection):
    """The documents, a generated _id (docdb's text, mongomock's ObjectId) shown as "<new>"."""
    found = [{**d, "_id": d["_id"] if isinstance(d["_id"], int) else "<new>"} for d in collection.find()]
    return sorted(found, key=lambda d: (isinstance(d["_id"], str), str(d["_id"])))


@pytest.mark.parametrize(
    "key, filter",
    [
        ("n", None),
        ("tags", None),
        ("sub", None),
        ("sub.k", {"n": 1}),
        ("nope", None),
        ("n", {"_id": {"$gt": 5}}),
    ],
)
def test_distinct(pair, key, filter):
    mine, theirs = pair
    assert sorted(map(repr, mine.distinct(key, filter))) == sorted(map(repr, theirs.distinct(key, filter)))


def test_find_one_by_id_value(pair):
    mine, theirs = pair
    assert mine.find_one(3) == theirs.find_one(3) and mine.find_one("none") is theirs.find_one("none") is None


@pytest.mark.parametrize("index", [0, 3, slice(1, 4), slice(2, None), slice(6, 20)], ids=str)
def test_cursor_indexing(pair, index):
    mine, theirs = pair
    found = mine.find({}, sort=[("n", 1), ("_id", -1)], skip=1)[index]
    expected = theirs.find({}, sort=[("n", 1), ("_id", -1)], skip=1)[index]
    assert (found if isinstance(index, int) else list(found)) == (
        expected if isinstance(index, int) else list(expected)
    )


def test_cursor_index_past_the_end(pair):
    mine, _ = pair
    with pytest.raises(IndexError):
        mine.find({"n": 0})[10]
    assert list(mine.find(limit=2)[1:3]) == DOCS[1:3]  # a slice overrides skip and limit
    assert list(mine.find()[4:4]) == []  # (mongomock returns everything here; pymongo nothing)
    assert mine.find(limit=2)[5] == DOCS[5]  # an index ignores the limit
    with pytest.raises(IndexError, match="greater than start"):
        mine.find()[3:1]


@pytest.mark.parametrize(
    "call",
    [
        ("update", {"n": 0}, {"$inc": {"n": 5}}, {"sort": [("_id", -1)]}),
        ("update", {"n": 0}, {"$inc": {"n": 5}}, {"return_document": True, "projection": {"n": 1}}),
        ("update", {"n": 9}, {"$set": {"x": 1}}, {"upsert": True}),
        ("update", {"_id": 42}, {"$set": {"x": 1}}, {"upsert": True, "return_document": True}),
        ("update", {"n": 9}, {"$set": {"x": 1}}, {}),
        ("replace", {"n": 2}, {"r": 1}, {"sort": [("_id", -1)], "return_document": True}),
        ("replace", {"_id": 50}, {"r": 1}, {"upsert": True, "return_document": True}),
        ("delete", {"n": 1}, None, {"sort": [("_id", -1)], "projection": {"_id": 1}}),
        ("delete", {"n": 7}, None, {}),
    ],
    ids=str,
)
def test_find_one_and(pair, call):
    kind, filter, change, options = call
    results = []
    for collection in pair:
        method = getattr(collection, f"find_one_and_{kind}")
        if "return_document" in options and collection is pair[1]:
            options = {**options, "return_document": pymongo.ReturnDocument.AFTER}
        results.append(method(filter, change, **options) if change is not None else method(filter, **options))
    assert results[0] == results[1]
    assert _all(pair[0]) == _all(pair[1])


def test_bulk_write(pair):
    """(mongomock's bulk_write does not run with this pymongo: the expected result is MongoDB's,
    worked out by hand.)"""
    mine, _ = pair
    result = mine.bulk_write(
        [
            docdb.InsertOne({"_id": 100, "n": 1}),
            docdb.UpdateOne({"_id": 100}, {"$inc": {"n": 1}}),
            docdb.UpdateMany({"n": 1}, {"$set": {"seen": True}}),
            docdb.ReplaceOne({"_id": 101}, {"b": 2}, upsert=True),
            docdb.DeleteOne({"n": 0}),
            docdb.DeleteMany({"n": 2}),
        ]
    )
    assert result.bulk_api_result == {
        "nInserted": 1,
        "nMatched": 4,
        "nModified": 4,
        "nRemoved": 4,
        "nUpserted": 1,
        "upserted": [{"index": 3, "_id": 101}],
    }
    assert sorted(d["_id"] for d in mine.find()) == [1, 3, 4, 6, 7, 101]
    assert mine.find_one(1)["seen"] is True and mine.find_one(101) == {"_id": 101, "b": 2}


def test_bulk_write_is_all_or_nothing(pair):
    mine, _ = pair
    before = _all(mine)
    with pytest.raises(docdb.IntegrityError, match="duplicate _id 1"):
        mine.bulk_write([docdb.DeleteMany({}), docdb.InsertOne({"_id": 1}), docdb.InsertOne({"_id": 1})])
    assert _all(mine) == before
    with pytest.raises(docdb.ProgrammingError, match="not one of"):
        mine.bulk_write([{"insert": 1}])
    with pytest.raises(docdb.ProgrammingError, match="at least one"):
        mine.bulk_write([])
