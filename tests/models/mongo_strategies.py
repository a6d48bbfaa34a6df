"""Hypothesis strategies for MongoDB filters, documents and updates, and the mongomock quirks they avoid.

Shared by the differential tests against mongomock: ``test_filters`` and ``test_updates``
(function level) and ``test_collection`` / ``test_collection_mongomock`` (the collection API).
Each generator stays inside what mongomock imitates faithfully; every restriction is
a place where mongomock (4.3) differs from MongoDB, and is listed where it is made.
"""

from __future__ import annotations

import itertools

import hypothesis.strategies as st

# ---------------------------------------------------------------- filters and the documents they run on
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


def filter_untestable(docs, f):
    """Filters and documents where mongomock's answer is not MongoDB's, beyond what the generator avoids."""
    # mongomock does not let an empty-array operand match an empty array nested in the
    # field's array ({"b": []} on {"b": [[]]}); MongoDB does, as we do.
    if empty_list_operand(f):
        return True
    # mongomock's $size also counts the fields of a sub-document, and on a dotted path it can
    # match a scalar; MongoDB's (and ours) only ever match an array of that length.
    if ("$size" in repr(f) and any(has_dict(d) for d in docs)) or dotted_size(f):
        return True
    # mongomock orders an array operand ({"$lt": [1]}) against a whole array value but not
    # against the arrays inside it ({"a": [[0]]}); MongoDB tries those elements too, as we do.
    if order_array_operand(f) and any(array_in_array(d) for d in docs):
        return True
    # mongomock's {"$elemMatch": {"$and": [{}]}} (only logical operators) also matches elements
    # that are not documents; MongoDB's (and ours) only tries documents.
    return logical_elem_match(f)


def logical_elem_match(node):
    if isinstance(node, dict):
        return any((k == "$elemMatch" and isinstance(v, dict) and v and set(v) <= {"$and", "$or", "$nor"})
                   or logical_elem_match(v) for k, v in node.items())
    if isinstance(node, list):
        return any(logical_elem_match(v) for v in node)
    return False


def order_array_operand(node):
    if isinstance(node, dict):
        return any((k in ("$gt", "$gte", "$lt", "$lte") and isinstance(v, list)) or order_array_operand(v)
                   for k, v in node.items())
    if isinstance(node, list):
        return any(order_array_operand(v) for v in node)
    return False


def array_in_array(node):
    if isinstance(node, dict):
        return any(array_in_array(v) for v in node.values())
    if isinstance(node, list):
        return any(isinstance(v, list) or array_in_array(v) for v in node)
    return False


# ---------------------------------------------------------------- filters an index can serve
#
# test_collection indexes "a", "b", "a.b", "c.a", "a.0" and ("c", "b"), so these conditions
# are all answered from an index (or from _id order); documents and other filters as above.

SERVED = ["a", "b", "c", "a.b", "c.a", "a.0", "_id"]
bounds = scalars.filter(lambda v: v is not None)


@st.composite
def servable(draw) -> dict:
    """Equality, $in or a range on an indexed path: conditions the planner answers from an index."""
    path = draw(st.sampled_from(SERVED))
    eq = scalars if "." not in path else bounds  # mongomock: None equality on top-level paths only
    return {path: draw(st.one_of(
        eq, st.builds(lambda v: {"$eq": v}, eq), st.builds(lambda v: {"$in": v}, st.lists(eq, max_size=3)),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), bounds),
        st.builds(lambda lo, hi, v, w: {lo: v, hi: w}, st.sampled_from(["$gt", "$gte"]),
                  st.sampled_from(["$lt", "$lte"]), bounds, bounds),
    ))}


def index_filters():
    """One or two servable conditions, maybe beside any other filter (merged, or under $and)."""
    base = st.lists(servable(), min_size=1, max_size=2).map(lambda cs: dict(p for c in cs for p in c.items()))
    return st.one_of(base, st.builds(lambda b, other: {**other, **b}, base, filters(1)),
                     st.builds(lambda b, other: {"$and": [b, other]}, base, filters(1)))


# ---------------------------------------------------------------- updates and the documents they change

names = st.sampled_from(["a", "b", "c"])
update_scalars = (st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-5, 5, allow_nan=False)
                  | st.text("xy", max_size=2))
update_values = st.recursive(
    update_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=6)
update_documents = st.dictionaries(names, update_values, max_size=3)
paths = st.lists(names, min_size=1, max_size=2).map(".".join)


@st.composite
def updates(draw):
    """One to three operators on distinct, non-overlapping paths."""
    chosen = draw(st.lists(paths, min_size=1, max_size=3, unique=True))
    chosen = [p for p in chosen if not any(q != p and (q.startswith(p + ".") or p.startswith(q + "."))
                                           for q in chosen)]
    update: dict = {}
    for path in chosen:
        op = draw(st.sampled_from(["$set", "$unset", "$inc", "$push", "$addToSet", "$pull"]))
        if op == "$inc":
            arg = draw(st.integers(-3, 3) | st.floats(-3, 3, allow_nan=False))
        elif op in ("$push", "$addToSet"):
            each = st.fixed_dictionaries({"$each": st.lists(update_scalars, max_size=3)})
            arg = draw(update_scalars | each)
        elif op == "$pull":
            arg = draw(update_scalars | st.builds(lambda o, v: {o: v}, st.sampled_from(["$gt", "$lte"]),
                                                  st.integers(-3, 3))
                       | st.fixed_dictionaries({"$in": st.lists(st.integers(-3, 3), max_size=3)}))
        else:
            arg = draw(update_values)
        update.setdefault(op, {})[path] = arg
    return update


MISSING = object()


def lookup(document, path):
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def through_scalar(document, path):
    """Does ``path`` pass through an existing value that is neither object nor array?"""
    parts = path.split(".")
    node = document
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
        if not isinstance(node, (dict, list)):
            return True
    return False


def bool_number_clash(values):
    """Values that Python's == equates across bool and number (True == 1, False == 0.0)."""
    flat = [v for v in values if not isinstance(v, (list, dict))]
    return any(isinstance(b, bool) and not isinstance(n, bool) and isinstance(n, (int, float)) and b == n
               for b in flat for n in flat)


def through_array(document, path):
    node = document
    for part in path.split(".")[:-1]:
        if isinstance(node, list) and not part.isdigit():
            return True
        node = lookup(node, part) if isinstance(node, (dict, list)) else MISSING
        if node is MISSING:
            return False
    return isinstance(node, list) and not path.split(".")[-1].isdigit() and "." in path


def mongomock_deviates(document, update):
    """Cases where mongomock does not do what MongoDB does; compared against MongoDB's rule."""
    for op, fields in update.items():
        if op not in ("$unset", "$pull") and any(through_scalar(document, p) for p in fields):
            return True  # MongoDB: "Cannot create field ... in element {...}"; mongomock ignores
    for path in update.get("$inc", {}):
        if isinstance(lookup(document, path), bool):
            return True  # MongoDB: "Cannot apply $inc to a value of non-numeric type bool"
    for op in ("$pull", "$push", "$addToSet"):
        for path in update.get(op, {}):
            value = lookup(document, path)
            if value is not MISSING and not isinstance(value, list):
                return True  # MongoDB: "Cannot apply {op} to a non-array value"; mongomock may not
    return False


def update_untestable(document, update):
    """Updates whose result mongomock gets wrong in ways MongoDB's rule cannot tell us (so: not compared)."""
    # Paths through an array by a field name (not an index) are left untested: mongomock
    # treats them in ways MongoDB does not (MongoDB refuses $set there, as we do).
    if any(through_array(document, p) for fields in update.values() for p in fields):
        return True
    # MongoDB treats $pull through a scalar as a no-op (as we do); mongomock raises.
    if any(through_scalar(document, p) for p in update.get("$pull", {})):
        return True
    # MongoDB adds one of equal values in an $addToSet $each; mongomock may add them all.
    # mongomock also compares with Python's ==, where True == 1: MongoDB keeps them apart.
    for op in ("$addToSet", "$pull"):
        for path, arg in update.get(op, {}).items():
            each = arg["$each"] if isinstance(arg, dict) and "$each" in arg else [arg]
            existing = lookup(document, path)
            pool = each + (existing if isinstance(existing, list) else [])
            if len({repr(v) for v in each}) != len(each) or bool_number_clash(pool):
                return True
    return False
