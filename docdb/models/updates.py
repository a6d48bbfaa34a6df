"""MongoDB update documents applied to plain JSON documents (part of the document model).

``apply_update(document, update)`` returns the updated copy and leaves its
argument alone, so a collection can validate, index and write the result, or
drop it, as one step. Operators: ``$set``, ``$setOnInsert`` (on an upsert's insert
only), ``$unset``, ``$inc``, ``$mul``, ``$min``, ``$max`` (MongoDB's order across
types), ``$rename``, ``$currentDate`` (ISO-8601 text: JSON has no dates), ``$push``
and ``$addToSet`` (each with ``$each``), ``$pull`` by value, condition or query
(``docdb.models.filters``) and ``$pop``. Paths are dotted;
a numeric part indexes an array, and ``$set`` creates missing objects on the
way (and pads an array with ``None`` up to the index, as MongoDB does).

Refused with ``UpdateError``, before anything changes: an empty update, a
mix of operators and plain fields (a replacement is another call), unknown
operators, two operators on the same or overlapping paths, changing ``_id``,
``$inc`` of a non-number or by one, ``$push``/``$addToSet``/``$pull`` on a
field that is not an array, a path through a scalar.
May import: the standard library, ``docdb.errors`` and ``docdb.models.filters``/``documents``.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from typing import Any

from docdb.errors import DataError
from docdb.models.documents import DocumentError, check_json
from docdb.models.filters import FilterError, compile_filter
from docdb.models.ordering import compare
from docdb.models.positional import concrete_paths, is_positional

__all__ = ["apply_update", "is_operator_update", "UpdateError"]

_MISSING = object()


class UpdateError(DataError, ValueError):
    """An update document that cannot be applied; nothing was changed."""


def is_operator_update(update: dict) -> bool:
    """True for ``{"$set": ...}``-style updates, False for a replacement document."""
    if not isinstance(update, dict) or not update:
        raise UpdateError("an update must be a non-empty object")
    dollar = [k.startswith("$") for k in update]
    if any(dollar) and not all(dollar):
        raise UpdateError("an update mixes operators and plain fields; use replace_one to replace")
    return all(dollar)


def apply_update(document: dict, update: dict, inserting: bool = False, filter: dict | None = None) -> dict:
    """The updated copy of ``document``; ``inserting`` when an upsert makes it (only then
    does ``$setOnInsert`` apply); ``filter``, the one that matched it, places a positional
    ``$`` in a path (``docdb.models.positional``)."""
    if not is_operator_update(update):
        raise UpdateError("apply_update takes operators ($set, $inc, ...); use replace_one to replace")
    steps: list[tuple[str, str, Any]] = []
    for op, fields in update.items():
        if op not in _OPERATORS:
            raise UpdateError(f"unknown update operator {op}")
        if not isinstance(fields, dict) or not fields:
            raise UpdateError(f"{op} takes a non-empty object of paths")
        steps += [(op, path, arg) for path, arg in fields.items()]
    renamed = [arg for op, _, arg in steps if op == "$rename"]
    if not all(isinstance(target, str) for target in renamed):
        raise UpdateError("$rename takes {'old.path': 'new.path'}, the new path as text")
    _check_paths([path for _, path, _ in steps] + renamed)
    for op, path, arg in steps:
        if op in _STORING:  # refused now, whole: deep copies and encoding recurse into them
            try:
                check_json(arg, f"{op} {path}")
            except DocumentError as error:
                raise UpdateError(str(error)) from None
    result = copy.deepcopy(document)
    for op, path, arg in steps:
        if op != "$setOnInsert" or inserting:
            for concrete in concrete_paths(document, path, filter) if is_positional(path) else [path]:
                _OPERATORS[op](result, concrete.split("."), arg)
    return result


def _check_paths(paths: list[str]) -> None:
    for path in paths:
        parts = path.split(".")
        if not path or "" in parts or any(p.startswith("$") and p not in ("$", "$[]") for p in parts):
            raise UpdateError(f"invalid update path {path!r}")
        if parts[0] == "_id":
            raise UpdateError("an update cannot change _id")
    conflict = overlapping(paths)
    if conflict:
        raise UpdateError(f"update paths {conflict[0]!r} and {conflict[1]!r} conflict")


def overlapping(paths: list[str]) -> tuple[str, str] | None:
    """Two of ``paths`` that are equal or one inside the other (``"a"``, ``"a.b"``), if any.

    Not a neighbour check on the sorted list: ``"a-x"`` sorts between ``"a"`` and ``"a.b"``.
    """
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            return path, path
        seen.add(path)
    for path in paths:
        parts = path.split(".")
        for i in range(1, len(parts)):
            if ".".join(parts[:i]) in seen:
                return ".".join(parts[:i]), path
    return None


# ----- walking paths ---------------------------------------------------------------


def _container(doc: Any, parts: list[str], create: bool) -> Any:
    """The object or array holding ``parts[-1]``; None where the path does not exist."""
    node = doc
    for i, part in enumerate(parts[:-1]):
        child = _child(node, part)
        if child is _MISSING:
            if not create:
                return None
            child = {}
            _put(node, part, child, parts[: i + 1])
        elif not isinstance(child, (dict, list)):
            if not create:
                return None
            raise UpdateError(f"cannot create field {parts[i + 1]!r} in {'.'.join(parts[: i + 1])} "
                              f"= {child!r}: it is not an object")
        node = child
    return node


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part, _MISSING)
    if isinstance(node, list) and part.isdigit():
        index = int(part)
        return node[index] if index < len(node) else _MISSING
    return _MISSING


def _put(node: Any, part: str, value: Any, where: list[str]) -> None:
    if isinstance(node, dict):
        node[part] = value
    elif isinstance(node, list) and part.isdigit():
        index = int(part)
        node.extend([None] * (index + 1 - len(node)))
        node[index] = value
    else:
        raise UpdateError(f"cannot set {'.'.join(where)}: its parent is an array and "
                          f"{part!r} is not an index")


# ----- operators -----------------------------------------------------------------------


def _set(doc: dict, parts: list[str], value: Any) -> None:
    _put(_container(doc, parts, create=True), parts[-1], copy.deepcopy(value), parts)


def _unset(doc: dict, parts: list[str], _value: Any) -> None:
    node = _container(doc, parts, create=False)
    if isinstance(node, dict):
        node.pop(parts[-1], None)
    elif isinstance(node, list) and parts[-1].isdigit() and int(parts[-1]) < len(node):
        node[int(parts[-1])] = None  # MongoDB keeps array positions: the element becomes null


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


Apply = Callable[[dict, list[str], Any], None]


def _arithmetic(op: str, noun: str, combine: Callable[[Any, Any], Any]) -> Apply:
    """``$inc`` / ``$mul``: combine a number with the field's number (a missing field is 0,
    so ``$mul`` of nothing is 0 of the factor's type, as in MongoDB)."""
    def apply(doc: dict, parts: list[str], operand: Any) -> None:
        path = ".".join(parts)
        if not _number(operand):
            raise UpdateError(f"{op} of {path} by {operand!r}: the {noun} must be a number")
        node = _container(doc, parts, create=True)
        current = _child(node, parts[-1])
        if current is _MISSING:
            current = 0
        elif not _number(current):
            raise UpdateError(f"{op} of {path}: its value {current!r} is not a number")
        _put(node, parts[-1], combine(current, operand), parts)
    return apply


def _array_at(doc: dict, parts: list[str], op: str, create: bool) -> list | None:
    node = _container(doc, parts, create=create)
    current = _child(node, parts[-1]) if node is not None else _MISSING
    if current is _MISSING:
        if not create:
            return None
        current = []
        _put(node, parts[-1], current, parts)
    if not isinstance(current, list):
        raise UpdateError(f"{op} on {'.'.join(parts)}: its value {current!r} is not an array")
    return current


def _each(arg: Any, op: str) -> list:
    if isinstance(arg, dict) and "$each" in arg:
        if set(arg) != {"$each"} or not isinstance(arg["$each"], list):
            raise UpdateError(f"{op} with $each takes {{'$each': [values]}} only")
        return copy.deepcopy(arg["$each"])
    return [copy.deepcopy(arg)]


def _push(doc: dict, parts: list[str], arg: Any) -> None:
    _array_at(doc, parts, "$push", create=True).extend(_each(arg, "$push"))  # type: ignore[union-attr]


def _add_to_set(doc: dict, parts: list[str], arg: Any) -> None:
    array = _array_at(doc, parts, "$addToSet", create=True)
    for value in _each(arg, "$addToSet"):
        if not any(_same(value, existing) for existing in array):  # type: ignore[union-attr]
            array.append(value)  # type: ignore[union-attr]


def _pull(doc: dict, parts: list[str], value: Any) -> None:
    array = _array_at(doc, parts, "$pull", create=False)
    if array is not None:
        pulled = _pull_test(value)
        array[:] = [item for item in array if not pulled(item)]


def _pull_test(value: Any) -> Callable[[Any], bool]:
    """Which elements ``$pull`` removes: by a condition ({"$gt": 3}), by a query on
    elements that are documents ({"qty": {"$lt": 1}}), or by equal value."""
    try:
        if isinstance(value, dict) and value and all(k.startswith("$") for k in value):
            test = compile_filter({"v": value})
            return lambda item: test({"v": item})
        if isinstance(value, dict) and value:
            query = compile_filter(value)
            return lambda item: isinstance(item, dict) and query(item)
    except FilterError as error:
        raise UpdateError(f"$pull condition: {error}") from error
    return lambda item: _same(item, value)


def _same(a: Any, b: Any) -> bool:
    """JSON equality as MongoDB sees it: 1 == 1.0, but True is not 1, and key order counts."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _number(a) and _number(b):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _bound(keep: Callable[[int], bool]) -> Apply:
    """``$min`` / ``$max``: set the value when the field is missing or ``keep(compare(new, old))``,
    comparing across types in MongoDB's order."""
    def apply(doc: dict, parts: list[str], value: Any) -> None:
        node = _container(doc, parts, create=True)
        current = _child(node, parts[-1])
        if current is _MISSING or keep(compare(value, current)):
            _put(node, parts[-1], copy.deepcopy(value), parts)
    return apply


def _rename(doc: dict, parts: list[str], target: str) -> None:
    node = _container(doc, parts, create=False)
    if isinstance(node, list):
        raise UpdateError(f"$rename of {'.'.join(parts)}: a path through an array cannot be renamed")
    if isinstance(node, dict) and parts[-1] in node:
        _set(doc, target.split("."), node.pop(parts[-1]))


def _pop(doc: dict, parts: list[str], end: Any) -> None:
    if end not in (1, -1) or isinstance(end, bool):
        raise UpdateError(f"$pop of {'.'.join(parts)} takes 1 (the last element) or -1 (the first)")
    array = _array_at(doc, parts, "$pop", create=False)
    if array:
        array.pop(-1 if end == 1 else 0)


def _current_date(doc: dict, parts: list[str], kind: Any) -> None:
    """JSON has no dates: ``true`` or ``{"$type": "date"}`` stores ISO-8601 UTC text with
    milliseconds (which sorts in time order); ``{"$type": "timestamp"}`` milliseconds since 1970."""
    now = datetime.datetime.now(datetime.UTC)
    if kind is True or kind == {"$type": "date"}:
        value: Any = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    elif kind == {"$type": "timestamp"}:
        value = int(now.timestamp() * 1000)
    else:
        raise UpdateError(f"$currentDate of {'.'.join(parts)} takes true, {{'$type': 'date'}} "
                          f"or {{'$type': 'timestamp'}}, not {kind!r}")
    _set(doc, parts, value)


_STORING = ("$set", "$setOnInsert", "$push", "$addToSet", "$min", "$max")  # operands become values

_OPERATORS: dict[str, Apply] = {
    "$set": _set,
    "$setOnInsert": _set,
    "$unset": _unset,
    "$inc": _arithmetic("$inc", "amount", lambda current, amount: current + amount),
    "$mul": _arithmetic("$mul", "factor", lambda current, factor: current * factor),
    "$min": _bound(lambda order: order < 0),
    "$max": _bound(lambda order: order > 0),
    "$rename": _rename,
    "$currentDate": _current_date,
    "$push": _push,
    "$addToSet": _add_to_set,
    "$pull": _pull,
    "$pop": _pop,
}
