"""Conditions on one value for MongoDB's ``$regex``, ``$type`` and ``$mod`` filter operators.

Each factory validates its operand and returns a predicate on a single value;
``docdb.models.filters`` applies it to every value a path reaches and to each
element of an array value, as it does for its other operators. A bad operand is
a ``ValueError`` with the reason (filters turns it into a ``FilterError``).

* ``$regex``: a pattern (text or a compiled ``re.Pattern``) searched for in text
  values, with ``$options`` ``i`` (ignore case), ``m`` (multi-line), ``s`` (dot
  matches newline) and ``x`` (verbose). Python's ``re`` syntax stands in for PCRE;
  the two agree on the common forms.
* ``$type``: a BSON type name or number, or a list of them. JSON values have the
  types ``double`` (1), ``string`` (2), ``object`` (3), ``array`` (4), ``bool`` (8),
  ``null`` (10), ``int`` (16) and ``long`` (18: an integer beyond 32 bits); ``number``
  is any of the numeric ones.
* ``$mod``: ``[divisor, remainder]``; holds for numbers whose integer part (toward
  zero) leaves that remainder, with the sign of the dividend, as MongoDB computes it.
May import: the standard library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

__all__ = ["mod_test", "regex_test", "type_test"]

ValuePredicate = Callable[[Any], bool]

_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def regex_test(pattern: Any, options: Any = "") -> ValuePredicate:
    if isinstance(pattern, re.Pattern):
        if options:
            pattern = pattern.pattern
        else:
            compiled = pattern
            return lambda value: isinstance(value, str) and compiled.search(value) is not None
    if not isinstance(pattern, str):
        raise ValueError(f"$regex takes a pattern string, not {type(pattern).__name__}")
    if not isinstance(options, str) or any(flag not in _FLAGS for flag in options):
        raise ValueError(f"$options {options!r}: the options are letters of {''.join(_FLAGS)}")
    flags = 0
    for flag in options:
        flags |= _FLAGS[flag]
    try:
        compiled = re.compile(pattern, flags)
    except re.error as error:
        raise ValueError(f"$regex {pattern!r} is not a valid pattern: {error}") from None
    return lambda value: isinstance(value, str) and compiled.search(value) is not None


_INT32 = 2**31


def _bson_types(value: Any) -> set[str]:
    if value is None:
        return {"null"}
    if isinstance(value, bool):
        return {"bool"}
    if isinstance(value, int):
        return {"int" if -_INT32 <= value < _INT32 else "long", "number"}
    if isinstance(value, float):
        return {"double", "number"}
    if isinstance(value, str):
        return {"string"}
    if isinstance(value, dict):
        return {"object"}
    if isinstance(value, list):
        return {"array"}
    return set()


_TYPE_NUMBERS = {1: "double", 2: "string", 3: "object", 4: "array", 8: "bool", 10: "null",
                 16: "int", 18: "long"}
_TYPE_NAMES = set(_TYPE_NUMBERS.values()) | {"number"}
_OTHER_BSON = {"binData", "objectId", "date", "regex", "javascript", "timestamp", "decimal", "minKey",
               "maxKey", "undefined", "symbol", "dbPointer"}


def _type_name(operand: Any) -> str | None:
    """The type a ``$type`` operand names; None for a BSON type JSON never holds."""
    if isinstance(operand, bool):
        raise ValueError(f"$type takes a type name or number, not {operand!r}")
    if isinstance(operand, (int, float)) and float(operand).is_integer():
        number = int(operand)
        if number in _TYPE_NUMBERS:
            return _TYPE_NUMBERS[number]
        if number in (-1, 5, 6, 7, 9, 11, 12, 13, 14, 15, 17, 19, 127):
            return None
    elif operand in _TYPE_NAMES:
        return operand
    elif operand in _OTHER_BSON:
        return None
    raise ValueError(f"$type: unknown type {operand!r}")


def type_test(operand: Any) -> ValuePredicate:
    names = operand if isinstance(operand, list) else [operand]
    if not names:
        raise ValueError("$type takes at least one type")
    wanted = {name for name in map(_type_name, names) if name is not None}
    return lambda value: not wanted.isdisjoint(_bson_types(value))


def _whole(number: Any, what: str) -> int:
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        raise ValueError(f"$mod {what} must be a finite number, not {number!r}")
    return int(number)


def mod_test(operand: Any) -> ValuePredicate:
    if not isinstance(operand, (list, tuple)) or len(operand) != 2:
        raise ValueError(f"$mod takes [divisor, remainder], not {operand!r}")
    divisor, remainder = _whole(operand[0], "divisor"), _whole(operand[1], "remainder")
    if divisor == 0:
        raise ValueError("$mod divisor cannot be 0")

    def test(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        whole = int(value)
        return int(math.fmod(whole, divisor)) == remainder if abs(whole) < 2**53 else \
            (abs(whole) % abs(divisor)) * (1 if whole >= 0 else -1) == remainder
    return test
