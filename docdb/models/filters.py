"""MongoDB query filters: does a JSON document match ``{"a.b": {"$gt": 3}, ...}``?

Collections (and later their indexes and planner) need one shared answer to
"which documents does this filter select", with MongoDB's semantics so that a
pymongo-shaped API behaves the way its users expect. ``compile_filter``
validates a filter once and turns it into nested closures, so scanning a
collection does not re-interpret the filter for every document.

Semantics kept from MongoDB:

* a dotted path walks into sub-documents; on an array a numeric component
  indexes it, and any component is also applied to every sub-document in the
  array (``"a.b"`` on ``{"a": [{"b": 1}, {"b": 2}]}`` reaches 1 and 2); arrays
  nested directly in arrays are not walked into, and a path through an array
  with no sub-document reaches nothing (not even "missing");
* a condition on a value that is an array holds if it holds for the array as a
  whole or for any of its elements (one level), except ``$size``,
  ``$elemMatch`` and ``$exists`` which look at the value itself;
* ``$ne`` / ``$nin`` / ``$not`` / ``$nor`` are plain negations, so a missing
  field satisfies them; ``None`` equality (``$eq``, ``$in``, ``$gte``,
  ``$lte``) also matches a missing field;
* comparisons only hold within one type bracket (int and float compare
  numerically; bool is not a number), and equality is typed the same way
  (``1 == 1.0`` but ``True != 1``); sub-documents compare field by field, in
  order.

``$regex`` (with ``$options``, or a compiled ``re.Pattern`` as the value),
``$type`` and ``$mod`` are in ``docdb.models.filter_values``.
``$expr`` takes an aggregation expression (``docdb.models.aggregation_expressions``).
Not supported (raise ``FilterError``): ``$where``, ``$text``, geo and
bitwise operators, ``$all`` with ``$elemMatch`` items, and any other operator.

May import: the standard library, ``orjson`` and ``docdb.errors``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import orjson

from docdb.errors import ProgrammingError
from docdb.models.aggregation_expressions import compile_expression, truth
from docdb.models.documents import MAX_NESTING
from docdb.models.filter_values import mod_test, regex_test, type_test
from docdb.models.ordering import OTHER as _OTHER
from docdb.models.ordering import compare
from docdb.models.ordering import equal as _equal
from docdb.models.ordering import rank as _rank

__all__ = ["FilterError", "compile_filter", "matches", "get_path_values", "index_values",
           "raw_prefilter"]

Predicate = Callable[[dict], bool]
# A value test takes the values a path reached (with _MISSING where it reached nothing).
ValueTest = Callable[[list], bool]


class FilterError(ProgrammingError, ValueError):
    """A malformed filter: an unknown operator, or an operand of the wrong shape."""


class _Missing:
    """Marks a path that ended without a value (the field is absent)."""

    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()

# ---------------------------------------------------------------- paths


def get_path_values(document: dict, dotted_path: str) -> list:
    """Every value ``dotted_path`` reaches in ``document``, in document order.

    Arrays met on the way are traversed as MongoDB does (see the module
    docstring); an array found at the end of the path is returned as one value,
    not expanded. A path that reaches nothing gives ``[]``.
    """
    return [v for v in _resolve(document, dotted_path.split(".")) if v is not _MISSING]


def index_values(document: dict, dotted_path: str) -> list:
    """The values an index on ``dotted_path`` holds for ``document``: what the path
    reaches, a missing field as ``None`` and an array as its elements (multikey).

    Every value a filter condition on the path is tried on (``_candidates``) is
    here, so an index lookup can only miss documents the filter rejects.
    """
    out: list = []
    for value in _resolve(document, dotted_path.split(".")):
        if value is _MISSING:
            out.append(None)
        elif isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
    return out


def _resolve(document: Any, parts: list[str]) -> list:
    out: list = []
    _walk(document, parts, 0, out)
    return out


def _walk(value: Any, parts: list[str], i: int, out: list) -> None:
    if i == len(parts):
        out.append(value)
        return
    key = parts[i]
    if isinstance(value, dict):
        if key in value:
            _walk(value[key], parts, i + 1, out)
        else:
            out.append(_MISSING)
    elif isinstance(value, list):
        # Nothing is reached (not even "missing") through an array without sub-documents,
        # so {"a.b": None} does not match {"a": [1, 2]} while {"a.b": {"$exists": False}} does.
        if key.isdigit() and (key == "0" or key[0] != "0") and int(key) < len(value):
            _walk(value[int(key)], parts, i + 1, out)
        for element in value:
            if isinstance(element, dict):
                _walk(element, parts, i, out)
    else:
        out.append(_MISSING)


def _candidates(values: list):
    """The values a value condition is tried on: each value, and each element of an array value."""
    for value in values:
        if value is _MISSING:
            continue
        yield value
        if isinstance(value, list):
            yield from value


# ---------------------------------------------------------------- compiling


def matches(document: dict, filter: dict | None) -> bool:
    """Whether ``document`` matches ``filter`` (compiles it each call; reuse ``compile_filter``)."""
    return compile_filter(filter)(document)


def compile_filter(filter: dict | None) -> Predicate:
    """Validate ``filter`` once and return a predicate on documents; ``None`` or ``{}`` match all."""
    if filter is None:
        return lambda document: True
    return _compile_document(filter)


def _compile_document(filter: Any) -> Predicate:
    if not isinstance(filter, dict):
        raise FilterError(f"a filter must be a dict, not {type(filter).__name__}")
    tests = []
    for key, condition in filter.items():
        if not isinstance(key, str):
            raise FilterError(f"filter field names must be strings, not {key!r}")
        if key.startswith("$"):
            tests.append(_compile_logical(key, condition))
        else:
            tests.append(_compile_path(key, condition))
    return _all_of(tests)


def _all_of(tests: list[Predicate]) -> Predicate:
    if not tests:
        return lambda document: True
    if len(tests) == 1:
        return tests[0]
    return lambda document: all(test(document) for test in tests)


def _compile_logical(op: str, operand: Any) -> Predicate:
    if op == "$expr":  # an aggregation expression over the document: {"$gt": ["$spent", "$budget"]}
        test = compile_expression(operand)
        return lambda document: truth(test(document))
    if op not in ("$and", "$or", "$nor"):
        raise FilterError(f"unknown top-level operator {op}")
    if not isinstance(operand, list) or not operand:
        raise FilterError(f"{op} needs a non-empty list of filters")
    subs = [_compile_document(sub) for sub in operand]
    if op == "$and":
        return lambda document: all(sub(document) for sub in subs)
    if op == "$or":
        return lambda document: any(sub(document) for sub in subs)
    return lambda document: not any(sub(document) for sub in subs)


def _is_operator_expression(condition: Any, where: str) -> bool:
    """``{"$gt": 1, ...}`` rather than a literal sub-document; mixing the two is an error."""
    if not isinstance(condition, dict) or not condition:
        return False
    dollar = [isinstance(k, str) and k.startswith("$") for k in condition]
    if all(dollar):
        return True
    if any(dollar):
        raise FilterError(f"{where}: cannot mix operators and field names in {condition!r}")
    return False


def _compile_path(path: str, condition: Any) -> Predicate:
    parts = path.split(".")
    if _is_operator_expression(condition, path):
        test = _compile_operators(condition, path)
    elif isinstance(condition, re.Pattern):  # pymongo's {"name": re.compile("^a")}
        test = _value_test("$regex", condition, path)
    else:
        target = _checked(condition, path)
        test = _equals_test(target)
        if _plain_scalar(target):
            return _plain_equals(parts, target, lambda document: test(_resolve(document, parts)))
    return lambda document: test(_resolve(document, parts))


def _plain_scalar(value: Any) -> bool:
    return type(value) in (str, bool, int) or (type(value) is float and not math.isnan(value))


def _plain_equals(parts: list[str], target: Any, general: Predicate) -> Predicate:
    """Equality to a string, number or boolean, decided without listing the values the path
    reaches while it runs through plain sub-documents to a scalar (the usual case); an
    array on the way or at the end hands the document to the general test."""
    kinds = (int, float) if type(target) in (int, float) else (type(target),)

    def test(document: dict) -> bool:
        node: Any = document
        for part in parts:
            kind = type(node)
            if kind is dict:
                node = node.get(part, _MISSING)
            elif kind is list:
                return general(document)
            else:
                return False  # the path ends early: nothing equals the target
        kind = type(node)
        if kind is list:
            return general(document)
        return kind in kinds and node == target
    return test


def raw_prefilter(filter: dict | None) -> tuple[bytes, ...] | None:
    """Byte strings one of which every match's JSON bytes contain, or None.

    A document equal to a string on some path holds that string, JSON-encoded,
    somewhere in its bytes (orjson encodes a string the same way wherever it
    is), so a scan can skip decoding documents whose bytes lack it. Taken from
    the filter's top-level conjunction: a plain string, ``$eq`` or a ``$in`` of strings.
    """
    needles: list[tuple[bytes, ...]] = []
    for key, condition in (filter or {}).items():
        if not isinstance(key, str) or key.startswith("$"):
            continue
        if isinstance(condition, dict) and len(condition) == 1:
            condition = condition.get("$eq", condition.get("$in", condition))
        options = condition if isinstance(condition, list) else [condition]
        if options and all(type(o) is str for o in options):
            needles.append(tuple(orjson.dumps(o) for o in options))
    if not needles:
        return None
    return min(needles, key=lambda group: (len(group), -min(map(len, group))))


def _checked(value: Any, where: str, depth: int = 0) -> Any:
    """A filter operand, refused now if it is not a JSON value (so matching never raises)."""
    if _rank(value) == _OTHER:
        raise FilterError(f"{where}: operands must be JSON values, not {type(value).__name__}")
    if isinstance(value, dict | list | tuple) and depth >= MAX_NESTING:
        raise FilterError(f"{where}: the operand nests deeper than {MAX_NESTING} levels "
                          "(or contains itself)")
    if isinstance(value, dict):
        for v in value.values():
            _checked(v, where, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            _checked(v, where, depth + 1)
    return list(value) if isinstance(value, tuple) else value


def _compile_operators(expression: dict, path: str) -> ValueTest:
    if "$options" in expression:
        if "$regex" not in expression:
            raise FilterError(f"$options on {path!r} needs a $regex beside it")
        expression = {op: (operand, expression["$options"]) if op == "$regex" else operand
                      for op, operand in expression.items() if op != "$options"}
    tests = [_compile_operator(op, operand, path) for op, operand in expression.items()]
    if len(tests) == 1:
        return tests[0]
    return lambda values: all(test(values) for test in tests)


def _compile_operator(op: str, operand: Any, path: str) -> ValueTest:
    where = f"{op} on {path!r}"
    if op == "$eq":
        return _equals_test(_checked(operand, where))
    if op == "$ne":
        return _negated(_equals_test(_checked(operand, where)))
    if op in ("$in", "$nin"):
        test = _in_test(operand, where)
        return test if op == "$in" else _negated(test)
    if op in _ORDER_OPS:
        return _order_test(op, _checked(operand, where))
    if op == "$exists":
        return _exists_test(bool(operand))
    if op == "$size":
        return _size_test(operand, where)
    if op == "$all":
        return _all_test(operand, where)
    if op == "$elemMatch":
        return _elem_match_test(operand, where)
    if op in _VALUE_OPERATORS:
        return _value_test(op, operand, where)
    if op == "$not":
        if isinstance(operand, re.Pattern):
            return _negated(_value_test("$regex", operand, where))
        if not _is_operator_expression(operand, where):
            raise FilterError(f"{where}: needs a non-empty operator expression such as {{'$gt': 1}}")
        return _negated(_compile_operators(operand, path))
    raise FilterError(f"unknown operator {op} (on {path!r})")


_VALUE_OPERATORS = {"$regex": lambda operand: regex_test(*operand) if isinstance(operand, tuple)
                    else regex_test(operand),
                    "$type": type_test, "$mod": mod_test}


def _value_test(op: str, operand: Any, where: str) -> ValueTest:
    """``$regex``, ``$type``, ``$mod``: a condition each value (or array element) is tried on."""
    try:
        holds = _VALUE_OPERATORS[op](operand)
    except ValueError as error:
        raise FilterError(f"{where}: {error}") from None
    return lambda values: any(holds(c) for c in _candidates(values))


def _negated(test: ValueTest) -> ValueTest:
    return lambda values: not test(values)


def _equals_test(target: Any) -> ValueTest:
    if target is None:
        return lambda values: any(v is _MISSING for v in values) or any(
            c is None for c in _candidates(values)
        )
    return lambda values: any(_equal(c, target) for c in _candidates(values))


def _equality_tests(operand: Any, where: str) -> list[ValueTest]:
    """One equality test per item of the list ``$in``, ``$nin`` and ``$all`` take."""
    if not isinstance(operand, list | tuple):
        raise FilterError(f"{where}: needs a list, not {type(operand).__name__}")
    targets = [_checked(t, where) for t in operand]
    for t in targets:
        if isinstance(t, dict) and any(isinstance(k, str) and k.startswith("$") for k in t):
            raise FilterError(f"{where}: operator expressions as items ({t!r}) are not supported")
    return [_equals_test(t) for t in targets]


def _in_test(operand: Any, where: str) -> ValueTest:
    tests = _equality_tests(operand, where)
    return lambda values: any(test(values) for test in tests)


_ORDER_OPS = {
    "$gt": lambda c: c > 0,
    "$gte": lambda c: c >= 0,
    "$lt": lambda c: c < 0,
    "$lte": lambda c: c <= 0,
}


def _order_test(op: str, target: Any) -> ValueTest:
    if target is None:
        # null is alone in its bracket: $gte/$lte null mean "equals null", $gt/$lt null never hold.
        return _equals_test(None) if op in ("$gte", "$lte") else (lambda values: False)
    accept, bracket = _ORDER_OPS[op], _rank(target)
    return lambda values: any(
        _rank(c) == bracket and accept(compare(c, target)) for c in _candidates(values)
    )


def _exists_test(wanted: bool) -> ValueTest:
    if wanted:
        return lambda values: any(v is not _MISSING for v in values)
    return lambda values: all(v is _MISSING for v in values)


def _size_test(operand: Any, where: str) -> ValueTest:
    if isinstance(operand, float) and operand.is_integer():
        operand = int(operand)
    if isinstance(operand, bool) or not isinstance(operand, int):
        raise FilterError(f"{where}: needs an integer, not {operand!r}")
    return lambda values: any(isinstance(v, list) and len(v) == operand for v in values)


def _all_test(operand: Any, where: str) -> ValueTest:
    tests = _equality_tests(operand, where)
    if not tests:
        return lambda values: False  # MongoDB: an empty $all matches nothing
    return lambda values: all(test(values) for test in tests)


def _elem_match_test(operand: Any, where: str) -> ValueTest:
    """Some element of an array value satisfies every condition at once."""
    if not isinstance(operand, dict):
        raise FilterError(f"{where}: needs a dict, not {type(operand).__name__}")
    value_form = operand and all(
        isinstance(k, str) and k.startswith("$") and k not in ("$and", "$or", "$nor") for k in operand
    )
    if value_form:
        # Conditions on the element itself: {"$gt": 1, "$lt": 5}.
        inner = _compile_operators(operand, where)

        def element_ok(element: Any) -> bool:
            return inner([element])
    else:
        # A filter the element (a sub-document) must match: {"b": 1, "c": {"$gt": 2}}.
        sub = _compile_document(operand)

        def element_ok(element: Any) -> bool:
            return isinstance(element, dict) and sub(element)

    return lambda values: any(
        isinstance(v, list) and any(element_ok(e) for e in v) for v in values
    )
