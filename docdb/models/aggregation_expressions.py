"""Aggregation expressions: ``"$a.b"``, literals, and the operators pipeline stages use.

``compile_expression(expr)`` checks ``expr`` once and returns a function of a document.
A ``"$path"`` reads a field (through arrays of sub-documents it gives the array of what
it reaches, as MongoDB does); a missing field is ``MISSING``, which ``$ifNull`` and the
accumulators treat as absent. Operators: ``$add $subtract $multiply $divide $mod``,
``$concat $toLower $toUpper $substr``, ``$cond $ifNull``, ``$and $or $not``,
``$eq $ne $gt $gte $lt $lte $cmp`` (MongoDB's order across types), ``$size
$arrayElemAt $in``, ``$literal``. An unknown operator (``$switch``, ``$map``, ``$$ROOT``
variables...) is a ``ProgrammingError``.
May import: the standard library and ``docdb.models``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from docdb.errors import ProgrammingError
from docdb.models.ordering import compare

__all__ = ["MISSING", "compile_expression", "set_path", "truth"]

Compiled = Callable[[dict], Any]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


def _read(value: Any, parts: list[str]) -> Any:
    for i, part in enumerate(parts):
        if isinstance(value, dict):
            value = value.get(part, MISSING)
        elif isinstance(value, list):
            reached = (_read(item, parts[i:]) for item in value if isinstance(item, dict))
            return [v for v in reached if v is not MISSING]
        else:
            return MISSING
    return value


def set_path(document: dict, path: str, value: Any) -> None:
    """Set (or, with MISSING, remove) a dotted path, making sub-documents on the way."""
    *parents, last = path.split(".")
    node = document
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        else:
            child = node[part] = dict(child)  # a copy: the input document stays as it was
        node = child
    if value is MISSING:
        node.pop(last, None)
    else:
        node[last] = value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _arithmetic(op: str, values: list) -> Any:
    if any(v is None or v is MISSING for v in values):
        return None
    if not all(_number(v) for v in values):
        raise ProgrammingError(f"{op} takes numbers, not {values!r:.80}")
    if op == "$add":
        return sum(values)
    if op == "$multiply":
        result = 1
        for v in values:
            result *= v
        return result
    a, b = values
    if op == "$subtract":
        return a - b
    if b == 0:
        raise ProgrammingError(f"{op} by zero")
    return a / b if op == "$divide" else a % b


def truth(value: Any) -> bool:
    """MongoDB's truth of an expression's value: all but null, false, 0 and a missing field."""
    return value not in (None, False, 0) and value is not MISSING


_COMPARE = {"$eq": lambda c: c == 0, "$ne": lambda c: c != 0, "$gt": lambda c: c > 0,
            "$gte": lambda c: c >= 0, "$lt": lambda c: c < 0, "$lte": lambda c: c <= 0}
_ARITY = {"$subtract": 2, "$divide": 2, "$mod": 2, "$cmp": 2, "$arrayElemAt": 2, "$in": 2,
          "$toLower": 1, "$toUpper": 1, "$size": 1, "$not": 1, "$substr": 3, **dict.fromkeys(_COMPARE, 2)}


def _apply(op: str, args: list) -> Any:  # noqa: PLR0911 - one branch per operator
    if op in ("$add", "$subtract", "$multiply", "$divide", "$mod"):
        return _arithmetic(op, args)
    if op in _COMPARE:
        return _COMPARE[op](compare(*(None if a is MISSING else a for a in args)))
    if op == "$cmp":
        return compare(*(None if a is MISSING else a for a in args))
    if op == "$concat":
        if any(a is None or a is MISSING for a in args):
            return None
        if not all(isinstance(a, str) for a in args):
            raise ProgrammingError(f"$concat takes strings, not {args!r:.80}")
        return "".join(args)
    if op in ("$toLower", "$toUpper"):
        text = "" if args[0] is None or args[0] is MISSING else str(args[0])
        return text.lower() if op == "$toLower" else text.upper()
    if op == "$substr":
        text, start, length = args
        return "" if not isinstance(text, str) else text[start:start + length if length >= 0 else None]
    if op == "$size":
        if not isinstance(args[0], list):
            raise ProgrammingError(f"$size takes an array, not {args[0]!r:.60}")
        return len(args[0])
    if op == "$arrayElemAt":
        array, index = args
        if not isinstance(array, list):
            return None
        return array[index] if -len(array) <= index < len(array) else MISSING
    if op == "$in":
        value, array = args
        if not isinstance(array, list):
            raise ProgrammingError("$in takes [value, array]")
        return any(compare(value, item) == 0 for item in array)
    if op == "$and":
        return all(truth(a) for a in args)
    if op == "$or":
        return any(truth(a) for a in args)
    if op == "$not":
        return not truth(args[0])
    raise AssertionError(op)


_OPERATORS = {"$add", "$subtract", "$multiply", "$divide", "$mod", "$concat", "$toLower", "$toUpper",
              "$substr", "$size", "$arrayElemAt", "$in", "$and", "$or", "$not", "$cmp", *_COMPARE}


def _operator(op: str, operand: Any) -> Compiled:
    if op == "$literal":
        return lambda doc: operand
    if op == "$cond":
        if isinstance(operand, dict):
            operand = [operand.get("if"), operand.get("then"), operand.get("else")]
        if not isinstance(operand, list) or len(operand) != 3:
            raise ProgrammingError("$cond takes [if, then, else] or {'if': ..., 'then': ..., 'else': ...}")
        test, yes, no = map(compile_expression, operand)
        return lambda doc: yes(doc) if truth(test(doc)) else no(doc)
    if op == "$ifNull":
        if not isinstance(operand, list) or len(operand) < 2:
            raise ProgrammingError("$ifNull takes [expression, ..., replacement]")
        parts = [compile_expression(e) for e in operand]

        def if_null(doc: dict) -> Any:
            for part in parts[:-1]:
                value = part(doc)
                if value is not None and value is not MISSING:
                    return value
            return parts[-1](doc)
        return if_null
    if op not in _OPERATORS:
        raise ProgrammingError(f"unknown expression operator {op}")
    args = [compile_expression(a) for a in (operand if isinstance(operand, list) else [operand])]
    if op in _ARITY and len(args) != _ARITY[op]:
        raise ProgrammingError(f"{op} takes {_ARITY[op]} argument(s), not {len(args)}")
    return lambda doc: _apply(op, [a(doc) for a in args])


def compile_expression(expr: Any) -> Compiled:
    if isinstance(expr, str) and expr.startswith("$"):
        if expr.startswith("$$"):
            raise ProgrammingError(f"variables such as {expr} are not supported")
        parts = expr[1:].split(".")
        return lambda doc: _read(doc, parts)
    if isinstance(expr, dict):
        operators = [k for k in expr if isinstance(k, str) and k.startswith("$")]
        if operators:
            if len(expr) != 1:
                raise ProgrammingError(f"an expression object holds one operator, not {list(expr)!r:.60}")
            return _operator(operators[0], expr[operators[0]])
        fields = {k: compile_expression(v) for k, v in expr.items()}

        def build(doc: dict) -> dict:
            out = {}
            for key, compute in fields.items():
                value = compute(doc)
                if value is not MISSING:
                    out[key] = value
            return out
        return build
    if isinstance(expr, list):
        items = [compile_expression(e) for e in expr]
        return lambda doc: [None if (v := item(doc)) is MISSING else v for item in items]
    return lambda doc: expr
