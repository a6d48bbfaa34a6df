"""Collection.aggregate beside mongomock (MongoDB's semantics), and by hand where mongomock
has no implementation ($unset, $lookup from a table)."""

import json

import mongomock
import pytest

import docdb

DOCS = [
    {
        "_id": i,
        "cust": f"c{i % 3}",
        "status": ["new", "done"][i % 2],
        "items": [{"sku": s, "qty": q} for s, q in [("a", i), ("b", 2)][: 1 + i % 2]],
        "total": i * 1.5,
        "tags": ["x"] * (i % 3),
    }
    for i in range(10)
]
CUSTOMERS = [{"_id": "c0", "name": "Ada"}, {"_id": "c1", "name": "Bob"}, {"_id": "c9", "name": "Nobody"}]

PIPELINES = [
    [
        {"$match": {"status": "done"}},
        {
            "$group": {
                "_id": "$cust",
                "n": {"$sum": 1},
                "spent": {"$sum": "$total"},
                "avg": {"$avg": "$total"},
                "hi": {"$max": "$total"},
                "ids": {"$push": "$_id"},
            }
        },
        {"$sort": {"_id": 1}},
    ],
    [
        {"$unwind": "$items"},
        {"$group": {"_id": "$items.sku", "qty": {"$sum": "$items.qty"}}},
        {"$sort": {"qty": -1}},
    ],
    [{"$project": {"cust": 1, "double": {"$multiply": ["$total", 2]}, "_id": 0}}, {"$limit": 3}],
    [{"$project": {"items": 0, "tags": 0}}, {"$sort": {"total": -1}}, {"$limit": 2}],
    [
        {"$addFields": {"n_items": {"$size": "$items"}, "big": {"$gt": ["$total", 5]}}},
        {"$sort": {"_id": -1}},
        {"$skip": 7},
    ],
    [{"$set": {"sub.total": {"$add": ["$total", 1]}}}, {"$match": {"sub.total": {"$gt": 12}}}],
    [{"$match": {"total": {"$gt": 3}}}, {"$count": "n"}],
    [
        {
            "$group": {
                "_id": None,
                "first": {"$first": "$_id"},
                "last": {"$last": "$_id"},
                "set": {"$addToSet": "$cust"},
                "mn": {"$min": "$total"},
            }
        }
    ],
    [{"$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": True}}, {"$count": "rows"}],
    [{"$unwind": {"path": "$items", "includeArrayIndex": "at"}}, {"$project": {"items": 1, "at": 1}}],
    [{"$replaceRoot": {"newRoot": {"who": "$cust", "t": "$total"}}}, {"$limit": 2}],
    [
        {
            "$project": {
                "label": {"$concat": [{"$toUpper": "$cust"}, "-", "$status"]},
                "c": {"$cond": [{"$gte": ["$total", 6]}, "hi", "lo"]},
                "first": {"$arrayElemAt": ["$items.sku", 0]},
                "none": {"$ifNull": ["$nope", "dflt"]},
            }
        }
    ],
    [
        {"$group": {"_id": {"c": "$cust", "s": "$status"}, "n": {"$sum": 1}}},
        {"$sort": {"_id.c": 1, "_id.s": 1}},
    ],
    [
        {"$lookup": {"from": "customers", "localField": "cust", "foreignField": "_id", "as": "who"}},
        {"$project": {"who.name": 1}},
    ],
    [
        {
            "$facet": {
                "count": [{"$count": "n"}],
                "top": [{"$sort": {"total": -1}}, {"$limit": 1}, {"$project": {"_id": 1}}],
            }
        }
    ],
]


@pytest.fixture(params=["lsm", "hash"])
def pair(request, tmp_path):
    conn = docdb.connect(str(tmp_path / "db"), engine=request.param, autocommit=True)
    conn.collection("o").insert_many([dict(d) for d in DOCS])
    conn.collection("customers").insert_many([dict(d) for d in CUSTOMERS])
    client = mongomock.MongoClient()
    client.db.o.insert_many([dict(d) for d in DOCS])
    client.db.customers.insert_many([dict(d) for d in CUSTOMERS])
    yield conn, client.db
    conn.close()


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[str(p[0])[:40] for p in PIPELINES])
def test_same_documents_as_mongomock(pair, pipeline):
    conn, db = pair
    got, expected = conn.collection("o").aggregate(pipeline), list(db.o.aggregate(pipeline))
    if any("$sort" in stage or "$facet" in stage for stage in pipeline):
        assert got == expected
    else:  # as sets of documents (mongomock writes a $group's _id last, MongoDB first)
        assert sorted(json.dumps(d, sort_keys=True) for d in got) == sorted(
            json.dumps(d, sort_keys=True) for d in expected
        )


def test_unset_lookup_from_a_table_and_count_of_nothing(pair):
    conn, _ = pair
    orders = conn.collection("o")
    assert orders.aggregate([{"$match": {"total": {"$gt": 300}}}, {"$count": "n"}]) == []  # as MongoDB
    assert orders.aggregate([{"$unset": ["items", "tags", "status"]}, {"$limit": 1}]) == [
        {"_id": 0, "cust": "c0", "total": 0.0}
    ]
    conn.execute("CREATE TABLE regions (cust TEXT PRIMARY KEY, region TEXT)")
    conn.execute("INSERT INTO regions VALUES ('c0', 'north'), ('c1', 'south')")
    found = orders.aggregate(
        [
            {"$match": {"_id": {"$lt": 3}}},
            {"$lookup": {"from": "regions", "localField": "cust", "foreignField": "cust", "as": "region"}},
            {"$project": {"region.region": 1}},
        ]
    )
    assert found == [
        {"_id": 0, "region": [{"region": "north"}]},
        {"_id": 1, "region": [{"region": "south"}]},
        {"_id": 2, "region": []},
    ]


@pytest.mark.parametrize(
    "pipeline, message",
    [
        ([{"$nope": {}}], "unknown pipeline stage"),
        ([{"$match": {}, "$limit": 1}], "one-key dict"),
        ([{"$group": {"n": {"$sum": 1}}}], "_id expression"),
        ([{"$group": {"_id": None, "n": {"$median": "$x"}}}], "one accumulator"),
        ([{"$project": {"x": {"$frobnicate": 1}}}], "unknown expression operator"),
        ([{"$limit": -1}], "non-negative"),
        ({"$match": {}}, "list of stages"),
    ],
)
def test_bad_pipelines_are_refused_before_running(pair, pipeline, message):
    conn, _ = pair
    with pytest.raises(docdb.ProgrammingError, match=message.replace("$", r"\$")):
        conn.collection("o").aggregate(pipeline)
