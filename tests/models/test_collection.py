"""Collections through ``docdb.connect()``: the pymongo-shaped API, indexes and the planner, on both engines.

Every test runs on the LSM and the hash engine, with autocommit (so reads go through the
engines, not only a transaction's overlay) and tiny engine thresholds (so flushes, rollovers
and compactions happen). The last test is a property: for random documents and filters an
index can serve, find with the index == find by a full scan == mongomock, before and after
random updates and deletes.
"""

from __future__ import annotations

import datetime

import hypothesis.strategies as st
import mongomock
import orjson
import pytest
from hypothesis import HealthCheck, given, settings

import docdb
from docdb.models.collection import _document_values
from docdb.models.documents import MAX_DOCUMENT_BYTES
from docdb.models.index import entry_keys
from tests.models.mongo_strategies import documents, filter_untestable, index_filters, updates

ENGINES = ("lsm", "hash")
TINY = {"lsm": {"memtable_bytes": 4096, "fanout": 2},
        "hash": {"segment_bytes": 16384, "merge_min_bytes": 4096}}


@pytest.fixture(params=ENGINES)
def conn(request, tmp_path):
    conn = docdb.connect(str(tmp_path / "db"), engine=request.param, autocommit=True, storage_options=TINY)
    yield conn
    conn.close()


@pytest.fixture
def coll(conn):
    return conn.collection("c")


def ids(cursor) -> list:
    return [d["_id"] for d in cursor]


# ----- inserts ------------------------------------------------------------------------------


def test_generated_ids_sort_by_insertion_time(coll):
    first = {"n": 0}
    result = coll.insert_one(first)
    assert first["_id"] == result.inserted_id and isinstance(result.inserted_id, str)
    many = coll.insert_many({"n": n} for n in range(1, 300)).inserted_ids
    generated = [result.inserted_id, *many]
    assert len(set(generated)) == 300 and all(len(i) == 26 for i in generated)
    assert sorted(generated) == generated
    assert [d["n"] for d in coll.find()] == list(range(300))  # natural order is _id order


def test_caller_ids_are_any_scalar_in_key_order(coll):
    scalars = ["text", 7, -2.5, True, None, False, 10**15]
    for value in scalars:
        assert coll.insert_one({"_id": value, "v": repr(value)}).inserted_id == value
    for value in scalars:
        assert coll.find_one({"_id": value})["v"] == repr(value)
    assert ids(coll.find()) == [None, False, True, -2.5, 7, 10**15, "text"]
    for bad in ({"x": 1}, [1], (1, 2)):
        with pytest.raises(docdb.DataError, match="_id"):
            coll.insert_one({"_id": bad})
    assert coll.count_documents({}) == len(scalars)
    coll.insert_one({"v": 0, "_id": "z"})
    assert list(coll.find_one({"_id": "z"})) == ["_id", "v"]  # _id is stored first, as in MongoDB


def test_duplicate_ids_are_refused_and_1_is_1_0(coll):
    coll.insert_one({"_id": 1, "v": "first"})
    for dup in (1, 1.0):
        with pytest.raises(docdb.IntegrityError, match="duplicate _id"):
            coll.insert_one({"_id": dup})
    coll.insert_one({"_id": True})  # a boolean is not the number 1
    with pytest.raises(docdb.IntegrityError):
        coll.insert_many([{"_id": 2}, {"_id": 3}, {"_id": 2}])
    assert ids(coll.find()) == [True, 1] and coll.find_one({"_id": 1.0})["v"] == "first"


@pytest.mark.parametrize("bad", [
    {"s": {1, 2}}, {"b": b"bytes"}, {"n": float("nan")}, {"i": float("-inf")}, {1: "key"},
    {"deep": [{"x": {2: 1}}]}, {"o": object()}, {"t": datetime.date(2024, 1, 1)}, {"big": 2**64},
    {"_id": b"x"}, {"_id": float("nan")}, [("a", 1)], "text",
])
def test_non_json_values_are_refused_and_nothing_is_written(coll, bad):
    coll.create_index("a")
    with pytest.raises(docdb.DataError):
        coll.insert_one(bad)
    with pytest.raises(docdb.DataError):
        coll.insert_many([{"_id": 1, "a": 1}, bad])
    assert coll.count_documents({}) == 0
    assert coll.find({"a": 1}).explain()["keys_examined"] == 0


def test_documents_over_16_mib_are_refused(coll):
    with pytest.raises(docdb.DataError, match="limit"):
        coll.insert_one({"_id": 1, "x": "a" * MAX_DOCUMENT_BYTES})
    coll.insert_one({"_id": 1, "x": "a" * (MAX_DOCUMENT_BYTES // 2)})
    with pytest.raises(docdb.DataError, match="limit"):
        coll.update_one({"_id": 1}, {"$set": {"y": "b" * (MAX_DOCUMENT_BYTES // 2)}})
    assert list(coll.find_one({"_id": 1})) == ["_id", "x"]


# ----- find: projection, sort, skip, limit ----------------------------------------------------

PEOPLE = [
    {"_id": 1, "name": "ada", "age": 36, "tags": ["x", "y"], "addr": {"city": "london", "zip": "n1"},
     "kids": [{"name": "byron", "age": 3}, {"name": "anne", "age": 1}, 7]},
    {"_id": 2, "name": "bob", "age": 25.5, "tags": [], "addr": {"city": "paris"}},
    {"_id": 3, "name": "cy", "tags": "z", "kids": []},
]


@pytest.mark.parametrize("projection, expected", [
    ({"name": 1}, [{"_id": 1, "name": "ada"}, {"_id": 2, "name": "bob"}, {"_id": 3, "name": "cy"}]),
    (["name"], [{"_id": 1, "name": "ada"}, {"_id": 2, "name": "bob"}, {"_id": 3, "name": "cy"}]),
    ({"name": 1, "_id": 0}, [{"name": "ada"}, {"name": "bob"}, {"name": "cy"}]),
    ({"_id": 1}, [{"_id": 1}, {"_id": 2}, {"_id": 3}]),
    ({"_id": 0, "tags": 0, "kids": 0, "addr": 0}, [{"name": "ada", "age": 36}, {"name": "bob", "age": 25.5},
                                                  {"name": "cy"}]),
    ({"addr.city": 1, "_id": 0}, [{"addr": {"city": "london"}}, {"addr": {"city": "paris"}}, {}]),
    ({"kids.name": 1, "_id": 0}, [{"kids": [{"name": "byron"}, {"name": "anne"}]}, {}, {"kids": []}]),
    ({"kids.age": 0, "addr.zip": 0, "name": 0, "age": 0, "tags": 0, "_id": 0},
     [{"addr": {"city": "london"}, "kids": [{"name": "byron"}, {"name": "anne"}, 7]},
      {"addr": {"city": "paris"}}, {"kids": []}]),
])
def test_projection(coll, projection, expected):
    coll.insert_many(PEOPLE)
    assert list(coll.find({}, projection)) == expected


@pytest.mark.parametrize("bad", [{"a": 1, "b": 0}, {"a": 1, "a.b": 1}, {"a.b": 0, "a": 0},
                                 {"a": 1, "a-x": 1, "a.b": 1}, {"": 1}, 5])
def test_bad_projections(coll, bad):
    with pytest.raises(docdb.ProgrammingError):
        coll.find({}, bad)


def test_sort_multi_key_arrays_missing_and_mixed_types(coll):
    coll.insert_many([
        {"_id": 1, "a": 2, "b": "x"}, {"_id": 2, "a": 1, "b": "y"}, {"_id": 3, "a": 2, "b": "a"},
        {"_id": 4, "a": [0, 9]}, {"_id": 5, "a": None}, {"_id": 6}, {"_id": 7, "a": []},
        {"_id": 8, "a": "s"}, {"_id": 9, "a": {"k": 1}}, {"_id": 10, "a": True}, {"_id": 11, "a": 1.5},
    ])
    # [] < null = missing < numbers < text < objects < booleans; arrays by min (asc) / max (desc)
    assert ids(coll.find(sort=[("a", 1), ("b", 1)])) == [7, 5, 6, 4, 2, 11, 3, 1, 8, 9, 10]
    assert ids(coll.find(sort=[("a", -1), ("b", -1)])) == [10, 9, 8, 4, 1, 3, 11, 2, 5, 6, 7]
    assert ids(coll.find(sort="b")) == [4, 5, 6, 7, 8, 9, 10, 11, 3, 1, 2]
    assert ids(coll.find({}, sort={"b": -1, "_id": -1})) == [2, 1, 3, 11, 10, 9, 8, 7, 6, 5, 4]
    with pytest.raises(docdb.ProgrammingError):
        coll.find(sort=[("a", 2)])
    coll.delete_many({})
    coll.insert_many([{"_id": 1, "k": [{"v": 5}, {"v": 1}]}, {"_id": 2, "k": [{"v": 3}]},
                      {"_id": 3, "k": {"v": 4}}])  # through arrays: the smallest / largest reached
    assert ids(coll.find(sort=[("k.v", 1)])) == [1, 2, 3] and ids(coll.find(sort=[("k.v", -1)])) == [1, 3, 2]


def test_skip_limit_and_cursor_chaining(coll):
    coll.insert_many([{"_id": i, "g": i % 3} for i in range(10)])
    assert ids(coll.find(skip=2, limit=3)) == [2, 3, 4]
    assert ids(coll.find({"g": {"$ne": 1}}).sort("_id", -1).skip(1).limit(2)) == [8, 6]
    assert ids(coll.find().sort([("g", 1), ("_id", -1)]).limit(4)) == [9, 6, 3, 0]
    assert ids(coll.find().skip(8).limit(0)) == [8, 9] and ids(coll.find().skip(20)) == []
    cursor = coll.find()
    assert next(cursor)["_id"] == 0 and cursor.to_list() == [{"_id": i, "g": i % 3} for i in range(1, 10)]
    with pytest.raises(docdb.InterfaceError):
        cursor.limit(1)
    for bad in (-1, 1.5, True):
        with pytest.raises(docdb.ProgrammingError):
            coll.find().skip(bad)


def test_find_is_lazy_and_find_one(conn, coll):
    cursor = coll.find({"x": 1})
    coll.insert_many([{"_id": 1, "x": 2}, {"_id": 2, "x": 1}, {"_id": 3, "x": 1}])
    assert ids(cursor) == [2, 3]  # read when iterated, not when created
    assert coll.find_one({"x": 1}) == {"_id": 2, "x": 1} and coll.find_one({"x": 9}) is None
    assert coll.find_one({"x": 1}, {"_id": 0}, sort=[("_id", -1)]) == {"x": 1}
    assert coll.count_documents({"x": 1}) == 2 and coll.count_documents({}) == 3
    assert conn.collection("never").find_one() is None and "never" not in conn.collections()


# ----- updates, replacements, deletes ---------------------------------------------------------


def test_update_operators(coll):
    coll.insert_many([{"_id": 1, "n": 1, "tags": ["a"], "sub": {"x": 1}}, {"_id": 2, "n": 5, "tags": []}])
    r = coll.update_one({"_id": 1}, {"$set": {"sub.y": 2}, "$inc": {"n": 2}, "$push": {"tags": "b"}})
    assert (r.matched_count, r.modified_count, r.upserted_id) == (1, 1, None)
    coll.update_one({"_id": 1}, {"$addToSet": {"tags": {"$each": ["a", "c"]}}, "$unset": {"sub.x": ""}})
    coll.update_one({"_id": 1}, {"$pull": {"tags": {"$in": ["b"]}}})
    assert coll.find_one({"_id": 1}) == {"_id": 1, "n": 3, "tags": ["a", "c"], "sub": {"y": 2}}
    r = coll.update_many({"n": {"$gt": 2}}, {"$inc": {"n": 10}})
    assert (r.matched_count, r.modified_count) == (2, 2)
    r = coll.update_many({}, {"$set": {"n": 13}})
    assert (r.matched_count, r.modified_count) == (2, 1)  # _id 1 already had n: 13
    assert coll.update_one({"n": 13}, {"$set": {"first": True}}).modified_count == 1
    assert coll.find_one({"first": True})["_id"] == 1  # update_one takes the first in _id order


@pytest.mark.parametrize("update, error", [
    ({"$set": {"_id": 9}}, docdb.DataError), ({"$inc": {"n": 1}}, docdb.DataError),
    ({"$push": {"n": 1}}, docdb.DataError), ({"$mul": {"n": 2}}, docdb.DataError),
    ({"n": 1}, docdb.ProgrammingError), ({}, docdb.DataError), ({"$set": {"s": {1}}}, docdb.DataError),
    ({"$set": {"m": {}, "m-x": 2, "m.y": 1}}, docdb.DataError),  # "m-x" sorts between "m" and "m.y"
])
def test_refused_update_changes_nothing(coll, update, error):
    coll.create_index("n")
    coll.insert_many([{"_id": 1, "n": 1, "tags": []}, {"_id": 2, "n": "x", "tags": []}])
    with pytest.raises(error):
        coll.update_many({}, update)
    assert list(coll.find()) == [{"_id": 1, "n": 1, "tags": []}, {"_id": 2, "n": "x", "tags": []}]
    assert ids(coll.find({"n": 1})) == [1]


def test_upsert_seeds_from_equality_conditions(coll):
    r = coll.update_one({"a.b": 1, "c": {"$eq": "x"}, "d": {"$gt": 5}, "$and": [{"e": 2}],
                         "f": {"$in": [3]}}, {"$set": {"z": 0}}, upsert=True)
    assert (r.matched_count, r.modified_count) == (0, 0) and isinstance(r.upserted_id, str)
    assert coll.find_one({"z": 0}) == {"_id": r.upserted_id, "a": {"b": 1}, "c": "x", "e": 2, "f": 3, "z": 0}
    assert coll.update_one({"z": 0}, {"$inc": {"z": 1}}, upsert=True).upserted_id is None
    r = coll.update_many({"_id": 7, "k": {"$in": [1, 2]}}, {"$push": {"l": 1}}, upsert=True)
    assert r.upserted_id == 7 and coll.find_one({"_id": 7}) == {"_id": 7, "l": [1]}
    assert coll.update_one({"_id": 8}, {"$set": {"x": 1}}).upserted_id is None
    assert coll.count_documents({}) == 2


def test_replace_one(coll):
    coll.insert_many([{"_id": 1, "a": 1, "b": 2}, {"_id": 2, "a": 1}])
    r = coll.replace_one({"a": 1}, {"c": 3})
    assert (r.matched_count, r.modified_count) == (1, 1)
    assert list(coll.find()) == [{"_id": 1, "c": 3}, {"_id": 2, "a": 1}]
    assert coll.replace_one({"_id": 1}, {"_id": 1, "c": 3}).modified_count == 0
    with pytest.raises(docdb.DataError, match="_id"):
        coll.replace_one({"_id": 1}, {"_id": 5})
    with pytest.raises(docdb.ProgrammingError):
        coll.replace_one({"_id": 1}, {"$set": {"c": 4}})
    r = coll.replace_one({"_id": 9, "q": 1}, {"w": 2}, upsert=True)
    assert r.upserted_id == 9 and coll.find_one({"_id": 9}) == {"_id": 9, "w": 2}  # only _id is seeded
    assert coll.replace_one({"q": 1}, {"w": 3}).matched_count == 0


def test_delete_one_and_many(coll):
    coll.insert_many([{"_id": i, "odd": i % 2 == 1} for i in range(6)])
    assert coll.delete_one({"odd": True}).deleted_count == 1
    assert ids(coll.find()) == [0, 2, 3, 4, 5]
    assert coll.delete_many({"odd": True}).deleted_count == 2
    assert coll.delete_many({"odd": True}).deleted_count == 0
    assert coll.delete_many({}).deleted_count == 3 and coll.count_documents({}) == 0


# ----- indexes ------------------------------------------------------------------------------


def plan(cursor) -> tuple[str, str | None]:
    explained = cursor.explain()
    return explained["plan"], explained["index"]


def test_create_list_and_drop_indexes(conn, coll):
    coll.insert_many([{"_id": i, "a": {"b": i % 4}, "tags": [i, i + 1], "c": -i} for i in range(20)])
    assert coll.create_index("a.b") == "a.b_1"
    assert coll.create_index([("c", -1), ("tags", 1)], name="mixed") == "mixed"
    assert coll.create_index([("a.b", 1)]) == "a.b_1"  # the same index again: nothing new
    assert coll.list_indexes() == [{"name": "_id_", "key": {"_id": 1}, "unique": True},
                                   {"name": "a.b_1", "key": {"a.b": 1}, "unique": False},
                                   {"name": "mixed", "key": {"c": -1, "tags": 1}, "unique": False}]
    assert ids(coll.find({"a.b": 3})) == [3, 7, 11, 15, 19]  # built on the existing data
    assert plan(coll.find({"a.b": 3})) == ("IXSCAN", "a.b_1")
    coll.drop_index("a.b_1")
    assert plan(coll.find({"a.b": 3})) == ("COLLSCAN", None) and ids(coll.find({"a.b": 3}))[0] == 3
    for bad in ("a.b_1", "_id_"):
        with pytest.raises(docdb.ProgrammingError):
            coll.drop_index(bad)
    for bad_keys in ([], [("a", 2)], [("a", 1), ("a", -1)], 5):
        with pytest.raises(docdb.ProgrammingError):
            coll.create_index(bad_keys)
    coll.drop()
    assert conn.collections() == [] and coll.count_documents({}) == 0 and len(coll.list_indexes()) == 1


def test_multikey_nested_and_compound_indexes_are_maintained(conn, coll):
    coll.create_index("tags")
    coll.create_index("a.b")
    coll.create_index([("g", 1), ("a.b", 1)])
    coll.insert_many([{"_id": 1, "tags": ["x", "y"], "a": [{"b": 1}, {"b": 2}], "g": 1},
                      {"_id": 2, "tags": "y", "a": {"b": 2}, "g": 1},
                      {"_id": 3, "tags": [], "a": [1, 2], "g": 1}])  # a.b reaches nothing in doc 3
    assert ids(coll.find({"tags": "y"})) == [1, 2] and plan(coll.find({"tags": "y"})) == ("IXSCAN", "tags_1")
    assert ids(coll.find({"a.b": 2})) == [1, 2] and plan(coll.find({"a.b": 1})) == ("IXSCAN", "a.b_1")
    # an index scan returns documents in index order (doc 3's a.b is null): not _id order
    assert ids(coll.find({"g": 1})) == [3, 1, 2] and plan(coll.find({"g": 1})) == ("IXSCAN", "g_1_a.b_1")
    coll.update_one({"_id": 1}, {"$pull": {"tags": "y"}, "$set": {"a": {"b": 5}}})
    coll.delete_one({"_id": 2})
    assert ids(coll.find({"tags": "y"})) == [] and ids(coll.find({"tags": "x"})) == [1]
    assert ids(coll.find({"a.b": 2})) == [] and ids(coll.find({"g": 1, "a.b": {"$gte": 5}})) == [1]
    assert coll.find({"tags": {"$in": ["x", "y"]}}).explain()["keys_examined"] == 1
    assert_indexes_agree(conn, "c")


def test_unique_index_violation_names_index_and_value_and_changes_nothing(coll):
    coll.insert_many([{"_id": 1, "email": "a@x", "n": [1, 2]}, {"_id": 2, "email": "b@x", "n": [3]}])
    coll.create_index("email", unique=True)
    coll.create_index("n", unique=True)  # multikey: unique across documents
    coll.insert_one({"_id": 9, "email": "z@x", "n": [[1], 9]})
    before = list(coll.find())
    attempts = [
        (lambda: coll.insert_one({"_id": 3, "email": "a@x"}), "email_1.*'a@x'"),
        (lambda: coll.insert_many([{"_id": 3, "email": "c@x"}, {"email": "c@x"}]), "email_1.*'c@x'"),
        (lambda: coll.update_many({}, {"$set": {"email": "same"}}), "email_1.*'same'"),
        (lambda: coll.update_one({"_id": 2}, {"$push": {"n": 2.0}}), "n_1.*2"),
        (lambda: coll.replace_one({"_id": 2}, {"email": "a@x"}), "email_1.*'a@x'"),
        (lambda: coll.insert_one({"_id": 3, "email": "d@x", "n": [[1.0]]}), r"n_1.*\[1\]"),  # [1.0] is [1]
    ]
    for attempt, message in attempts:
        with pytest.raises(docdb.IntegrityError, match=message):
            attempt()
    assert list(coll.find()) == before
    assert ids(coll.find({"email": {"$in": ["c@x", "same", "d@x"]}})) == []
    assert ids(coll.find({"n": 2})) == [1]
    coll.insert_one({"_id": 5})  # a missing field is null, once
    with pytest.raises(docdb.IntegrityError, match="email_1.*None"):
        coll.insert_one({"_id": 6})


def test_unique_index_is_refused_on_duplicate_data(coll):
    coll.insert_many([{"_id": 1, "k": 1}, {"_id": 2, "k": 1.0}])
    with pytest.raises(docdb.IntegrityError, match="k_1.*1"):
        coll.create_index("k", unique=True)
    assert len(coll.list_indexes()) == 1 and coll.count_documents({"k": 1}) == 2


def test_indexes_survive_reopen(tmp_path):
    path = str(tmp_path / "db")
    with docdb.connect(path, engine="hash") as conn:
        conn.collection("c").insert_many([{"_id": i, "k": i % 10} for i in range(100)])
        conn.collection("c").create_index("k")
    conn.close()
    with docdb.connect(path) as conn:
        assert ids(conn.collection("c").find({"k": 3})) == list(range(3, 100, 10))
        assert plan(conn.collection("c").find({"k": 3})) == ("IXSCAN", "k_1")
    conn.close()


@pytest.mark.parametrize("filter, index", [
    ({"k": 5}, "k_1"), ({"k": {"$eq": 5}}, "k_1"), ({"k": {"$gt": 5}}, "k_1"), ({"k": {"$gte": 5}}, "k_1"),
    ({"k": {"$lt": 5}}, "k_1"), ({"k": {"$lte": 5, "$gt": 1}}, "k_1"), ({"k": {"$in": [1, 5]}}, "k_1"),
    ({"g": 1}, "g_1_k_1"), ({"g": 1, "k": {"$gt": 3}}, "g_1_k_1"),
    ({"g": {"$in": [0, 1]}, "k": 5}, "g_1_k_1"),
    ({"$and": [{"k": 5}, {"x": 1}]}, "k_1"), ({"_id": 5}, "_id_"), ({"_id": {"$gte": 7}}, "_id_"),
    ({"k": 5, "_id": 5}, "_id_"),
    ({"x": 1}, None), ({"k": {"$ne": 5}}, None), ({"$or": [{"k": 5}]}, None),
    ({"k": {"$exists": True}}, None),
    ({"k": [5]}, None), ({"k": {"$gt": None}}, None), ({"k": {"$not": {"$gt": 5}}}, None),
])
def test_explain_names_the_plan(coll, filter, index):
    coll.insert_many([{"_id": i, "k": i, "g": i % 2} for i in range(10)])
    coll.create_index("k")
    coll.create_index([("g", 1), ("k", 1)])
    explained = coll.find(filter).explain()
    assert (explained["plan"], explained["index"]) == (("IXSCAN", index) if index else ("COLLSCAN", None))
    assert explained["returned"] == len(list(coll.find(filter)))
    assert explained["docs_examined"] == 10 or index is not None


def test_an_index_examines_far_fewer_entries_than_a_scan(coll):
    coll.insert_many([{"_id": i, "k": i % 200, "r": i % 200} for i in range(2000)])
    coll.create_index("k")
    for filter in ({"k": 7}, {"k": {"$gte": 195}}, {"k": {"$in": [3, 4]}}):
        scan = coll.find({"r": filter["k"]}).explain()  # r holds what k holds, without an index
        indexed = coll.find(filter).explain()
        assert scan["plan"] == "COLLSCAN" and scan["docs_examined"] == 2000
        assert indexed["plan"] == "IXSCAN" and indexed["returned"] == scan["returned"] > 0
        assert indexed["keys_examined"] == indexed["docs_examined"] == indexed["returned"] <= 50


# ----- property: an index never changes a result ----------------------------------------------

INDEXES = ["a", "b", "a.b", "c.a", "a.0", [("c", 1), ("b", 1)]]  # index_filters() constrains them


def assert_indexes_agree(conn, name: str) -> None:
    """Every index holds exactly the entries its collection's documents call for."""
    reader = conn.reading()
    entry = reader.catalog.get(name)
    docs = {key: orjson.loads(raw) for key, raw in reader.scan(entry["id"])}
    for index in entry["indexes"].values():
        fields = [field for field, _ in index["fields"]]
        expected = {value + key for key, doc in docs.items()
                    for value in entry_keys(_document_values(fields, doc), name)}
        assert {key for key, _ in reader.scan(index["id"])} == expected


def outcome(write):
    try:
        result = write()
    except docdb.Error as error:
        return type(error)
    return vars(result)


def contents(collection, filter=None) -> list[bytes]:
    return sorted(orjson.dumps(d) for d in collection.find(filter))


@pytest.fixture(scope="module", params=ENGINES)
def shared(request):
    conn = docdb.connect(engine=request.param, storage_options=TINY)
    yield conn
    conn.close()


# derandomize: see tests/models/test_filters.py.
@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(documents, min_size=2, max_size=10), f=index_filters(), update=updates())
def test_an_index_never_changes_a_result(shared, docs, f, update):
    mongo = mongomock.MongoClient().db.c
    for i, doc in enumerate(docs):
        mongo.insert_one({"_id": i, **doc})
    indexed, plain = shared.collection("indexed"), shared.collection("plain")
    try:
        for collection in (indexed, plain):
            collection.insert_many([{"_id": i, **doc} for i, doc in enumerate(docs)])
        for keys in INDEXES:
            indexed.create_index(keys)
        shared.commit()  # the first reads come from the engines
        assert indexed.find(f).explain()["plan"] == "IXSCAN"
        assert contents(indexed, f) == contents(plain, f)
        if not filter_untestable(docs, f):
            assert sorted(ids(indexed.find(f))) == sorted(d["_id"] for d in mongo.find(f))
        # then reads of the open transaction: its writes merged over the engines
        updated = outcome(lambda: indexed.update_many(f, update))
        assert updated == outcome(lambda: plain.update_many(f, update))
        assert contents(indexed) == contents(plain) and contents(indexed, f) == contents(plain, f)
        assert_indexes_agree(shared, "indexed")
        assert outcome(lambda: indexed.delete_many(f)) == outcome(lambda: plain.delete_many(f))
        assert contents(indexed) == contents(plain)
        assert_indexes_agree(shared, "indexed")
    finally:
        shared.rollback()
        shared.drop("indexed", if_exists=True)
        shared.drop("plain", if_exists=True)
        shared.commit()
