"""$regex, $type and $mod: against mongomock where it implements them, by hand where it does not."""

import re

import mongomock
import pytest

import docdb
from docdb.models.filters import FilterError, compile_filter

DOCS = [
    {"a": "Apple"},
    {"a": "banana"},
    {"a": ["x", "apricot"]},
    {"a": 5},
    {"a": 7.9},
    {"a": -7},
    {"a": None},
    {"a": [1, 2]},
    {"a": {"b": 1}},
    {"a": True},
    {},
    {"a": 2**40},
    {"a": "line\nan"},
]

AGAINST_MONGOMOCK = [
    {"a": {"$regex": "^a"}},
    {"a": {"$regex": "^a", "$options": "i"}},
    {"a": {"$regex": "^an", "$options": "m"}},
    {"a": re.compile("an")},
    {"a": {"$not": re.compile("an")}},
    {"a": {"$type": "string"}},
    {"a": {"$type": "number"}},
    {"a": {"$type": "array"}},
    {"a": {"$type": "long"}},
    {"a": {"$type": "object"}},
    {"a": {"$type": "double"}},
    {"a": {"$type": "bool"}},
]


def _mine(filter):
    return [i for i, d in enumerate(DOCS) if compile_filter(filter)(d)]


@pytest.mark.parametrize("filter", AGAINST_MONGOMOCK, ids=str)
def test_same_documents_as_mongomock(filter):
    coll = mongomock.MongoClient().db.c
    coll.insert_many([dict(d, _id=i) for i, d in enumerate(DOCS)])
    assert _mine(filter) == sorted(d["_id"] for d in coll.find(filter))


@pytest.mark.parametrize(
    "filter, expected",
    [
        ({"a": {"$type": ["null", "bool"]}}, [6, 9]),  # a list of types (mongomock refuses it)
        ({"a": {"$type": 16}}, [3, 5, 7]),  # int by number: 32-bit integers only
        ({"a": {"$type": 2}}, [0, 1, 2, 12]),
        ({"a": {"$type": "null"}}, [6]),  # not the missing field (mongomock lacks null)
        ({"a": {"$type": "date"}}, []),  # a BSON type JSON never holds
        ({"a": {"$mod": [2, 1]}}, [3, 4, 7]),  # 7.9 counts as 7; [1, 2] holds 1
        ({"a": {"$mod": [2, -1]}}, [5]),  # the sign of the dividend, as MongoDB
        ({"a": {"$mod": [3, 1.5]}}, [4, 7, 11]),  # the remainder truncated too
        ({"a": {"$not": {"$mod": [2, 0]}}}, [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12]),
    ],
    ids=str,
)
def test_by_hand(filter, expected):
    assert _mine(filter) == expected


@pytest.mark.parametrize(
    "filter, message",
    [
        ({"a": {"$regex": 5}}, "pattern string"),
        ({"a": {"$regex": "("}}, "not a valid pattern"),
        ({"a": {"$regex": "a", "$options": "q"}}, "the options are letters"),
        ({"a": {"$options": "i"}}, "needs a $regex"),
        ({"a": {"$type": "thing"}}, "unknown type"),
        ({"a": {"$type": []}}, "at least one type"),
        ({"a": {"$mod": [0, 1]}}, "cannot be 0"),
        ({"a": {"$mod": [2]}}, "[divisor, remainder]"),
    ],
)
def test_bad_operands_are_refused_before_matching(filter, message):
    with pytest.raises(FilterError, match=re.escape(message)):
        compile_filter(filter)


def test_through_a_collection_with_an_index(tmp_path):
    conn = docdb.connect(str(tmp_path / "db"), autocommit=True)
    people = conn.collection("people")
    people.insert_many([{"_id": i, "name": n} for i, n in enumerate(["Ann", "anna", "Bob", "hannah"])])
    people.create_index("name")
    assert [d["_id"] for d in people.find({"name": {"$regex": "^an", "$options": "i"}})] == [0, 1]
    assert people.count_documents({"name": re.compile("nn")}) == 3
    assert people.count_documents({"_id": {"$mod": [2, 0]}, "name": {"$type": "string"}}) == 2
    conn.close()


@pytest.mark.parametrize("filter", [
    {"$expr": {"$gt": ["$spent", "$budget"]}},
    {"$expr": {"$eq": [{"$mod": ["$_id", 2]}, 0]}, "spent": {"$gt": 0}},
    {"$or": [{"$expr": {"$lt": ["$spent", 10]}}, {"_id": 5}]},
    {"$expr": {"$and": [{"$gte": ["$spent", 20]}, {"$lt": [{"$add": ["$spent", 5]}, "$budget"]}]}},
], ids=str)
def test_expr_compares_fields_of_one_document_as_mongomock(filter, tmp_path):
    docs = [{"_id": i, "spent": i * 10, "budget": 35} for i in range(6)]
    coll = mongomock.MongoClient().db.c
    coll.insert_many([dict(d) for d in docs])
    conn = docdb.connect(str(tmp_path / "db"), autocommit=True)
    conn.collection("c").insert_many([dict(d) for d in docs])
    conn.collection("c").create_index("spent")
    assert [d["_id"] for d in conn.collection("c").find(filter)] == [d["_id"] for d in coll.find(filter)]
    conn.close()
