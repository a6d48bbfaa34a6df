"""MongoDB's order of JSON values: type brackets, then values within a bracket.

Filters (``$gt``, equality), sorting, ``$min``/``$max`` and aggregation expressions all
need the one answer to "which of two values is smaller, are they equal": here, so each
of them can import it without importing the others.
May import: the standard library.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["compare", "equal", "rank", "NULL", "NUMBER", "STRING", "OBJECT", "ARRAY", "BOOL", "OTHER"]

# MongoDB's canonical type order (its comparison brackets) for JSON values.
NULL, NUMBER, STRING, OBJECT, ARRAY, BOOL = 1, 2, 3, 4, 5, 8
OTHER = 99  # a non-JSON value in a document: equal only to itself, never ordered against JSON values


_RANKS = {type(None): NULL, bool: BOOL, int: NUMBER, float: NUMBER, str: STRING, dict: OBJECT, list: ARRAY,
          tuple: ARRAY}


def rank(value: Any) -> int:
    found = _RANKS.get(type(value))  # the JSON types themselves: one lookup
    if found is not None:
        return found
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, dict):
        return OBJECT
    if isinstance(value, list | tuple):
        return ARRAY
    return OTHER


def equal(a: Any, b: Any) -> bool:
    """Typed equality: numbers numerically (NaN equals NaN), sub-documents in field order."""
    ra = rank(a)
    if ra != rank(b):
        return False
    if ra == NUMBER:
        return a == b or (math.isnan(a) and math.isnan(b))
    if ra == ARRAY:
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if ra == OBJECT:
        return len(a) == len(b) and all(
            ka == kb and equal(va, vb) for (ka, va), (kb, vb) in zip(a.items(), b.items())
        )
    return a == b


def compare(a: Any, b: Any) -> int:
    """-1, 0 or 1 in MongoDB's order of values (type bracket first, NaN below all numbers)."""
    ra, rb = rank(a), rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == NUMBER:
        na, nb = math.isnan(a), math.isnan(b)
        if na or nb:
            return (nb - na) * -1 if na != nb else 0
        return (a > b) - (a < b)
    if ra in (STRING, BOOL):
        return (a > b) - (a < b)
    if ra == ARRAY:
        for x, y in zip(a, b):
            c = compare(x, y)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    if ra == OBJECT:
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            c = (rank(va) > rank(vb)) - (rank(va) < rank(vb)) or (ka > kb) - (ka < kb) or compare(va, vb)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    return 0
