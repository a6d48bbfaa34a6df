"""docdb.models.filters: MongoDB filter semantics, operator by operator and against mongomock."""

import itertools

import hypothesis.strategies as st
import mongomock
import pytest
from hypothesis import HealthCheck, assume, given, settings

from docdb.models.filters import FilterError, compile_filter, get_path_values, matches


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
        ({"a": {"$regex": "x"}}, "$regex"), ({"a": {"$in": 1}}, "$in"), ({"a": {"$nin": "ab"}}, "$nin"),
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
#
# Restrictions where mongomock (4.3) differs from MongoDB, so the generator avoids them:
# * mongomock compares with Python's ==, so True == 1 and False == 0: numbers are never 0 or 1.
# * mongomock ignores field order when comparing sub-documents: every generated dict has sorted keys.
# * mongomock's {"$exists": False} on a path through an array holds if any element lacks the field
#   (MongoDB: no element has it): only {"$exists": True} is generated.
# * mongomock's {"a.b": None} does not match {"a": 1} (MongoDB: "a.b" is missing there, so it does);
#   None equality / $in with None is only generated on top-level (undotted) paths.
# * mongomock's {"$gte": None} / {"$lte": None} do not match missing fields: order operands are never None.
# * mongomock's {"$all": []} matches everything (MongoDB: nothing): $all lists are non-empty.
# * mongomock treats {"a": {}} as "no condition" (MongoDB: equals an empty sub-document): equality
#   operands are never an empty dict.
# * mongomock's $not on a dotted path never matches where the path runs into a scalar, None or an
#   array of scalars (MongoDB: $not is the plain negation, so it does): $not only on undotted paths.
# * mongomock's $in / $nin / $all never compare a listed array with the whole array value (MongoDB
#   does: {"$in": [[1]]} matches {"a": [1]}): their items are never lists.
# * No numeric keys in documents ("0"), so "a.0" only ever means an array position.

KEYS = ["a", "b", "c"]
PATHS = KEYS + ["a.b", "b.c", "a.0", "c.a", "a.b.c", "b.1", "a.0.b"]
numbers = st.sampled_from([-3, 2, 3, 7, -2.5, 2.0, 3.5])
scalars = st.none() | st.booleans() | numbers | st.sampled_from(["", "x", "y"])


def _sorted_dicts(pairs):
    return dict(sorted(pairs.items()))


values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3).map(_sorted_dicts),
    max_leaves=6,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=3).map(_sorted_dicts)
non_null = values.filter(lambda v: v is not None)
operand_values = values.filter(lambda v: v != {})
order_operand = scalars.filter(lambda v: v is not None) | st.lists(scalars, max_size=2)


@st.composite
def path_condition(draw, depth):
    path = draw(st.sampled_from(PATHS))
    operand = (operand_values if "." not in path else non_null).filter(lambda v: v != {})
    item = non_null.filter(lambda v: not isinstance(v, list) and v != {})
    in_list = st.lists(operand.filter(lambda v: not isinstance(v, list)), max_size=3)
    ops = [
        operand,  # implicit equality
        st.builds(lambda v: {"$eq": v}, operand),
        st.builds(lambda v: {"$ne": v}, operand),
        st.builds(lambda v: {"$in": v}, in_list),
        st.builds(lambda v: {"$nin": v}, in_list),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), order_operand),
        st.just({"$exists": True}),
        st.builds(lambda n: {"$size": n}, st.integers(0, 3)),
        st.builds(lambda v: {"$all": v}, st.lists(item, min_size=1, max_size=2)),
        st.builds(lambda lo: {"$elemMatch": {"$gte": lo}}, numbers),
    ]
    if "." not in path:
        ops.append(st.builds(lambda op, v: {"$not": {op: v}}, st.sampled_from(["$gt", "$lt", "$in"]),
                             order_operand.map(lambda v: [v] if not isinstance(v, list) else v)))
    if depth > 0:
        ops.append(st.builds(lambda f: {"$elemMatch": f}, filters(depth - 1).filter(bool)))
    return {path: draw(st.one_of(ops))}


def dotted_size(node):
    if isinstance(node, dict):
        return any(("." in k and isinstance(v, dict) and "$size" in v) or dotted_size(v)
                   for k, v in node.items())
    if isinstance(node, list):
        return any(dotted_size(v) for v in node)
    return False


def has_dict(node):
    if isinstance(node, dict):
        return any(isinstance(v, dict) or has_dict(v) for v in node.values())
    if isinstance(node, list):
        return any(isinstance(v, dict) or has_dict(v) for v in node)
    return False


def empty_list_operand(node):
    if isinstance(node, dict):
        return any(empty_list_operand(v) for v in node.values())
    if isinstance(node, list):
        return node == [] or any(empty_list_operand(v) for v in node)
    return False


def filters(depth=2):
    leaf = st.lists(path_condition(depth), min_size=0, max_size=2).map(
        lambda conds: dict(itertools.chain.from_iterable(c.items() for c in conds))
    )
    if depth == 0:
        return leaf
    sub = st.lists(filters(depth - 1), min_size=1, max_size=2)
    return leaf | st.builds(lambda op, fs: {op: fs}, st.sampled_from(["$and", "$or", "$nor"]), sub)


# derandomize: CI runs the examples that were run here (mongomock has more quirks than any
# generator can list; a new one found at random in CI is a note for later, not a red build).
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(documents, max_size=6), f=filters())
def test_matches_like_mongomock(docs, f):
    # mongomock does not let an empty-array operand match an empty array nested in the
    # field's array ({"b": []} on {"b": [[]]}); MongoDB does, as we do.
    assume(not empty_list_operand(f))
    # mongomock's $size also counts the fields of a sub-document, and on a dotted path it can
    # match a scalar; MongoDB's (and ours) only ever match an array of that length.
    assume("$size" not in repr(f) or not any(has_dict(d) for d in docs))
    assume(not dotted_size(f))
    coll = mongomock.MongoClient().db.c
    for i, doc in enumerate(docs):
        coll.insert_one({**doc, "_id": i})
    expected = {d["_id"] for d in coll.find(f)}
    pred = compile_filter(f)
    assert {i for i, doc in enumerate(docs) if pred(doc)} == expected
