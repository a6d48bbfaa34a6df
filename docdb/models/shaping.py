"""Sorting, projecting and telling distinct values of documents the way MongoDB does.

Sort (``sort=[("a", 1), ("b.c", -1)]``): values compare in MongoDB's type
order (``filters.compare``); a missing field sorts as null; an array sorts by
its smallest element ascending and its largest descending, and an empty array
sorts before null either way. Ties keep the order the documents were read in
(the sort is stable).

Projection: ``{"a": 1, "b.c": 1}`` keeps only those paths (plus ``_id`` unless
``"_id": 0``; ``{"_id": 1}`` alone keeps only ``_id``); ``{"a": 0}`` drops them;
the two kinds cannot be mixed (except for ``_id``), nor can a path and a path
inside it (``"a"`` and ``"a.b"``). A path through an array applies to each sub-document in it, and
an inclusion drops the array's non-document elements, as MongoDB does.

Distinct values (``distinct_key``): what ``Collection.distinct`` counts as one value.
May import: the standard library, orjson, ``docdb.errors`` and ``docdb.models``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson

from docdb.errors import ProgrammingError
from docdb.models.filters import get_path_values
from docdb.models.ordering import compare
from docdb.models.updates import overlapping

SortSpec = list[tuple[str, int]]


class _EmptyArray:
    """The sort value of an empty array: below null (MongoDB's order), in either direction."""


_EMPTY = _EmptyArray()


def sort_spec(sort: Any, direction: int | None = None) -> SortSpec | None:
    """pymongo's forms: ``"a"``, ``("a", -1)``, ``[("a", 1), ("b", -1)]`` or ``{"a": 1}``."""
    if sort is None:
        return None
    if isinstance(sort, str):
        sort = [(sort, 1 if direction is None else direction)]
    elif isinstance(sort, dict):
        sort = list(sort.items())
    elif isinstance(sort, tuple) and len(sort) == 2 and isinstance(sort[0], str):
        sort = [sort]
    if not isinstance(sort, list) or not sort:
        raise ProgrammingError(f"sort must be a field name or a list of (field, 1 | -1); got {sort!r:.80}")
    spec = []
    for item in sort:
        if (not isinstance(item, (tuple, list)) or len(item) != 2 or not isinstance(item[0], str)
                or item[1] not in (1, -1) or isinstance(item[1], bool)):
            raise ProgrammingError(f"each sort key is (field, 1) or (field, -1); got {item!r:.80}")
        spec.append((item[0], item[1]))
    return spec


def _sort_value(document: dict, path: str, direction: int) -> Any:
    values = get_path_values(document, path)
    candidates = []
    for value in values:
        if isinstance(value, list):
            candidates.extend(value if value else [_EMPTY])
        else:
            candidates.append(value)
    if not candidates:
        return None
    pick = min if direction == 1 else max
    return pick(candidates, key=functools.cmp_to_key(_compare))


def _compare(a: Any, b: Any) -> int:
    if a is _EMPTY or b is _EMPTY:
        return (b is _EMPTY) - (a is _EMPTY)
    return compare(a, b)


def sort_documents(items: list, spec: SortSpec, document: Callable[[Any], dict] = lambda item: item) -> list:
    """``items`` in ``spec``'s order (stable); ``document(item)`` is what is sorted on, so
    (key, document) pairs can be sorted as well as documents."""
    keyed = [([_sort_value(document(item), path, direction) for path, direction in spec], item)
             for item in items]

    def order(a: tuple, b: tuple) -> int:
        for (_, direction), x, y in zip(spec, a[0], b[0]):
            c = _compare(x, y)
            if c:
                return c * direction
        return 0

    keyed.sort(key=functools.cmp_to_key(order))
    return [item for _, item in keyed]


def compile_projection(projection: Any) -> Callable[[dict], dict] | None:
    """A function shaping one document, or None to return documents whole."""
    if projection is None:
        return None
    if isinstance(projection, (list, tuple)):
        projection = {field: 1 for field in projection}
    if not isinstance(projection, dict) or not all(isinstance(k, str) and k for k in projection):
        raise ProgrammingError(f"a projection is a dict of field -> 0 | 1; got {projection!r:.80}")
    keep_id = bool(projection.get("_id", True))
    fields = {k: bool(v) for k, v in projection.items() if k != "_id"}
    kinds = set(fields.values())
    if len(kinds) > 1:
        raise ProgrammingError("a projection cannot mix inclusion and exclusion (except for _id)")
    tree = _tree([k for k in fields])
    if kinds == {True} or (not fields and projection.get("_id")):
        return lambda doc: _include(doc, tree, keep_id)
    if not fields and keep_id:
        return None
    return lambda doc: _exclude(doc, tree, keep_id)


def _tree(paths: list[str]) -> dict:
    """``["a.b", "a.c", "d"]`` -> ``{"a": {"b": {}, "c": {}}, "d": {}}`` ({} = the whole field)."""
    conflict = overlapping(paths)
    if conflict:
        raise ProgrammingError(f"projection paths {conflict[0]!r} and {conflict[1]!r} collide "
                               "(one is inside the other)")
    tree: dict = {}
    for path in paths:
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = {}
    return tree


def _include(doc: dict, tree: dict, keep_id: bool) -> dict:
    out = {"_id": doc["_id"]} if keep_id and "_id" in doc else {}
    out.update(_include_fields(doc, tree))
    return out


def _include_fields(doc: dict, tree: dict) -> dict:
    out = {}
    for key, value in doc.items():
        if key not in tree:
            continue
        sub = tree[key]
        if not sub:
            out[key] = value
        elif isinstance(value, dict):
            out[key] = _include_fields(value, sub)
        elif isinstance(value, list):
            out[key] = [_include_fields(v, sub) for v in value if isinstance(v, dict)]
    return out


def _exclude(doc: dict, tree: dict, keep_id: bool) -> dict:
    out = _exclude_fields(doc, tree)
    if not keep_id:
        out.pop("_id", None)
    return out


def _exclude_fields(doc: dict, tree: dict) -> dict:
    out = {}
    for key, value in doc.items():
        sub = tree.get(key)
        if sub is None:
            out[key] = value
        elif not sub:
            continue
        elif isinstance(value, dict):
            out[key] = _exclude_fields(value, sub)
        elif isinstance(value, list):
            out[key] = [_exclude_fields(v, sub) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def distinct_key(value: Any) -> bytes:
    """The same bytes for values MongoDB's ``distinct`` counts as one: ``1`` and ``1.0``,
    sub-documents with the same fields in the same order; ``true`` stays apart from ``1``."""
    return orjson.dumps(_plain(value))
