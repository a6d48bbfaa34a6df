"""The collection API against mongomock: the same random documents, queries and writes, the same results.

Each example inserts random documents into a docdb collection and a mongomock one, runs one
query (filter, projection, sort, skip, limit) plus ``count_documents`` and ``find_one``
through both, then one write (``update_one``/``update_many``, with or without ``upsert``,
``replace_one``, ``delete_one``/``delete_many``) and compares what it reports and the
whole collection afterwards.

How results are compared:

* values canonically (``canon``): ``1 == 1.0`` as in MongoDB, but ``True != 1`` (Python's
  ``==`` would equate them);
* natural order: docdb's is ``_id`` order (the documents' keys), mongomock's is insertion
  order. The documents get increasing ``_id``s, so the two agree and a skip or limit
  without a sort can be compared; a whole result without a sort is compared as a multiset
  (sorted by ``_id``) all the same, since only the set is promised. A sort gets ``_id`` as
  its last key, so ties are broken the same way;
* generated ``_id``s (an upsert's) are ULIDs in docdb and ObjectIds in mongomock: both
  become ``"<generated>"``;
* a write that fails changes nothing in docdb (a statement is atomic); mongomock may stop
  halfway through an ``update_many``, so after a failure only docdb's state is checked.

Beyond the generators' restrictions (``mongo_strategies``), these mongomock quirks are
left out of the comparison, each where it is decided: sorting on a path that reaches an
array (mongomock sorts by the first element, MongoDB by the smallest or largest);
projecting a dotted path through a scalar or through an array holding non-documents
(mongomock drops the scalar, or crashes); upserts from filters with a one-item ``$in``
(MongoDB and docdb seed an equality from it, mongomock does not), with ``$and`` (the same)
or with a path inside another (mongomock fails); ``modified_count`` when
an update changes only a value's type (``5`` to ``5.0``: MongoDB and docdb count it,
mongomock compares with ``==``).
"""

from __future__ import annotations

import copy

import hypothesis.strategies as st
import mongomock
import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings

import docdb
from docdb.models.collection import upsert_seed
from docdb.models.filters import compile_filter
from docdb.models.updates import overlapping
from tests.models.mongo_strategies import (
    KEYS,
    documents,
    filter_untestable,
    filters,
    mongomock_deviates,
    update_untestable,
    updates,
)

PROJECTED = KEYS + ["a.b", "b.c", "c.a", "a.b.c"]
SORTED = KEYS + ["a.b", "c.a"]


def _projection(paths: list[str], keep: int, id_flag: int | None) -> dict:
    projection = {path: keep for path in paths}
    if id_flag is not None:
        projection["_id"] = id_flag
    return projection


projections = st.none() | st.sampled_from([{"_id": 0}, {"_id": 1}]) | st.builds(
    _projection, st.lists(st.sampled_from(PROJECTED), min_size=1, max_size=2, unique=True),
    st.sampled_from([0, 1]), st.sampled_from([None, 0, 1]))
sorts = st.none() | st.lists(st.tuples(st.sampled_from(SORTED), st.sampled_from([1, -1])),
                             min_size=1, max_size=2, unique_by=lambda key: key[0])


@st.composite
def queries(draw) -> dict:
    return {"filter": draw(filters()), "projection": draw(projections), "sort": draw(sorts),
            "skip": draw(st.integers(0, 3)), "limit": draw(st.integers(0, 3))}


def one_item_in(f: dict) -> bool:
    return any(isinstance(c, dict) and isinstance(c.get("$in"), list) and len(c["$in"]) == 1
               for c in f.values())


@st.composite
def writes(draw) -> dict:
    kind = draw(st.sampled_from(["update_one", "update_many", "replace_one", "delete_one", "delete_many"]))
    upsert = not kind.startswith("delete") and draw(st.booleans())
    # An upsert seeds the new document from the filter: leaf filters only (mongomock ignores $and),
    # no one-item $in, and no path inside another ("a", "a.b"), which mongomock's seeding trips on.
    upsertable = filters(0).filter(lambda f: not one_item_in(f) and not overlapping(list(f)))
    f = draw(upsertable if upsert else filters(1))
    if draw(st.booleans()):
        f = {**f, "_id": draw(st.integers(1, 9))}
    arg = draw(documents if kind == "replace_one" else updates()) if not kind.startswith("delete") else None
    return {"kind": kind, "filter": f, "arg": arg, "upsert": upsert}


# ----- comparing ---------------------------------------------------------------------------------


def canon(value):
    """A comparable form: numbers by value (1 == 1.0), booleans apart from them, generated ids alike."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, dict):
        return {k: canon(v) if k != "_id" or isinstance(v, int) else "<generated>" for k, v in value.items()}
    if isinstance(value, list):
        return [canon(v) for v in value]
    return value if value is None or isinstance(value, str) else ("generated", "<generated>")


def by_id(results: list[dict]) -> list:
    """Canonical documents ordered by _id (generated ids last); a document without one first."""
    def key(document: dict) -> tuple:
        _id = document.get("_id", -1)
        return (0, _id) if isinstance(_id, int) else (1, 0)
    return [canon(d) for d in sorted(results, key=key)]


def reaches_array(doc: dict, path: str) -> bool:
    node = doc
    for part in path.split("."):
        if isinstance(node, list):
            return True
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, list)


def projection_quirk(node, parts: list[str]) -> bool:
    """Does projection path ``parts`` (from ``node``) cross a scalar, or an array holding a non-document?"""
    if isinstance(node, list):
        return any(not isinstance(e, dict) or projection_quirk(e, parts) for e in node)
    if not isinstance(node, dict):
        return True  # a scalar (or null) where the path goes on
    return len(parts) > 1 and parts[0] in node and projection_quirk(node[parts[0]], parts[1:])


def comparable_query(docs: list[dict], query: dict) -> dict:
    """The query without the parts mongomock gets wrong on these documents (see the docstring)."""
    query = dict(query)
    if query["sort"] and any(reaches_array(d, path) for d in docs for path, _ in query["sort"]):
        query["sort"] = None
    if query["projection"] and any(projection_quirk(d, path.split("."))
                                   for d in docs for path in query["projection"] if "." in path):
        query["projection"] = None
    return query


def find_both(coll, mongo, query: dict) -> tuple:
    sort = query["sort"] and [*query["sort"], ("_id", 1)]
    kwargs = {"sort": sort, "skip": query["skip"], "limit": query["limit"]}
    try:
        ours = list(coll.find(query["filter"], query["projection"], **kwargs))
    except docdb.ProgrammingError:
        ours = "refused"
    try:
        # mongomock adds "_id" to the projection it is given: it gets a copy
        theirs = list(mongo.find(query["filter"], copy.deepcopy(query["projection"]), **kwargs))
    except (mongomock.OperationFailure, NotImplementedError):  # path collisions
        theirs = "refused"
    return ours, theirs


def check_query(coll, mongo, docs: list[dict], query: dict) -> None:
    query = comparable_query(docs, query)
    ours, theirs = find_both(coll, mongo, query)
    if "refused" in (ours, theirs):  # mongomock checks a projection only when it applies it
        assert ours == theirs or (ours == "refused" and theirs == [])
    elif query["sort"] or query["skip"] or query["limit"]:
        assert [canon(d) for d in ours] == [canon(d) for d in theirs]
    else:
        assert by_id(ours) == by_id(theirs)
    f = query["filter"]
    assert coll.count_documents(f) == mongo.count_documents(f)
    assert canon(coll.find_one(f)) == canon(mongo.find_one(f))


# ----- writes ------------------------------------------------------------------------------------


def targets(docs: list[dict], write: dict) -> list[dict]:
    """The documents an update will change: the matches (the first only, for update_one), or the seed."""
    matches = [d for d in docs if compile_filter(write["filter"])(d)]
    if write["kind"] == "update_one":
        matches = matches[:1]
    return matches or ([upsert_seed(write["filter"])] if write["upsert"] else [])


def perform(collection, write: dict, refusals: type[Exception] = docdb.Error):
    """What the write reports, or "refused" if it raised one of ``refusals``."""
    kind, f, arg = write["kind"], write["filter"], copy.deepcopy(write["arg"])
    try:
        if kind.startswith("delete"):
            return {"deleted": getattr(collection, kind)(f).deleted_count}
        result = getattr(collection, kind)(f, arg, upsert=write["upsert"])
    except refusals:
        return "refused"
    upserted = result.upserted_id
    return {"matched": result.matched_count, "modified": result.modified_count,
            "upserted": upserted if upserted is None or isinstance(upserted, int) else "<generated>"}


def encoded(documents: list[dict]) -> list[bytes]:
    return [orjson.dumps(d) for d in documents]


def type_only_change(ours, theirs, before: list[dict], after: list[dict]) -> bool:
    """mongomock counts a document modified only if it is != to what it was (5 -> 5.0 is not)."""
    return (isinstance(ours, dict) and isinstance(theirs, dict) and "modified" in ours
            and ours["modified"] != theirs["modified"]
            and theirs["modified"] == sum(b != a for b, a in zip(before, after)))


def check_write(coll, mongo, docs: list[dict], write: dict) -> None:
    changing = targets(docs, write) if write["kind"].startswith("update") else []
    assume(not any(update_untestable(d, write["arg"]) for d in changing))
    before = list(coll.find())
    ours = perform(coll, write)
    after = list(coll.find())
    if ours == "refused":
        assert encoded(after) == encoded(before)  # a refused write changed nothing
    elif "modified" in ours and ours["upserted"] is None:
        assert ours["modified"] == sum(b != a for b, a in zip(encoded(before), encoded(after)))
    if any(mongomock_deviates(d, write["arg"]) for d in changing):
        assert ours == "refused"  # as MongoDB refuses it; mongomock does not
        return
    theirs = perform(mongo, write, Exception)  # mongomock refuses some with a TypeError
    if type_only_change(ours, theirs, before, after):
        ours.pop("modified"), theirs.pop("modified")
    assert ours == theirs
    if ours != "refused":
        assert by_id(after) == by_id(list(mongo.find()))


# ----- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conn():
    conn = docdb.connect()
    yield conn
    conn.close()


def check(conn, docs: list[dict], query: dict, write: dict) -> None:
    docs = [{"_id": i, **doc} for i, doc in enumerate(docs, 1)]  # mongomock mistakes an _id of 0 for none
    assume(not filter_untestable(docs, query["filter"]) and not filter_untestable(docs, write["filter"]))
    mongo = mongomock.MongoClient().db.c
    coll = conn.collection("c")
    try:
        for doc in docs:
            coll.insert_one(dict(doc))
            mongo.insert_one(dict(doc))
        check_query(coll, mongo, docs, query)
        check_write(coll, mongo, docs, write)
    finally:
        conn.rollback()


# derandomize: CI replays the examples run here (see tests/models/test_filters.py).
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(documents, max_size=8), query=queries(), write=writes())
def test_collection_like_mongomock(conn, docs, query, write):
    check(conn, docs, query, write)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(docs=st.lists(documents, max_size=20), query=queries(), write=writes())
def test_collection_like_mongomock_longer(conn, docs, query, write):
    check(conn, docs, query, write)
