"""Secondary indexes: their entries, and which key ranges answer a filter.

An index on fields ``(f1, ..., fn)`` of a table or collection lives in its own
ordered (LSM) store. For each row or document it holds one entry per
combination of the fields' values::

    key   = keycode.encode_tuple(normalized values) + data key    (unique per entry)
    value = data key  (the row's or document's key in its own store)

A document path reaching an array contributes each element (multikey, as in
MongoDB); a missing field is ``None``. Values are normalized so that equal
values have equal bytes: ``1.0`` is stored as ``1`` (MongoDB and SQL both say
they are equal; inside sub-documents and arrays too), and sub-documents and
nested arrays, which keys cannot hold, become opaque bytes (no filter is
answered from an index with such a value; the entries exist so a unique index
still sees them).

``plan`` picks, from a filter's top-level conjunction, the index whose leading
fields have equality (``$eq``, ``$in``, a plain value) constraints and possibly
a range on the next one, and returns the key ranges to read. Candidates are
always re-checked against the whole filter, so an index only has to return a
superset. On a multikey path a document matches ``{"$gt": 1, "$lt": 3}`` when
*different* elements satisfy each bound, so collections use one bound of a range
and tables, whose columns hold one value, both.
May import: the standard library, ``orjson`` and ``docdb.models``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from docdb.errors import DataError
from docdb.models import keycode

MAX_ENTRIES = 1000  # per document and index: bounds a document with several large arrays
_MAX_RANGES = 10000
_BRACKETS = {  # type byte ranges of keycode: [first, last + 1)
    "null": (keycode.NULL, keycode.NULL + 1),
    "bool": (keycode.FALSE, keycode.TRUE + 1),
    "number": (keycode.NEG_INF, keycode.POS_INF + 1),
    "text": (keycode.TEXT, keycode.TEXT + 1),
}


def _integral(value: Any) -> bool:
    """A float that is a whole number an int can stand for (in JSON's 64-bit range)."""
    return type(value) is float and value.is_integer() and -(2**63) <= value < 2**63


def normalize(value: Any) -> Any:
    """``value`` as an index key holds it (equal values, equal bytes)."""
    if _integral(value):
        return int(value)
    if isinstance(value, (dict, list)):
        return b"\x00" + orjson.dumps(_canonical(value))
    return value


def id_key(_id: Any) -> bytes:
    """A document's key in its collection's store: its ``_id``, encoded as an index holds it."""
    if isinstance(_id, (dict, list, tuple)):
        raise DataError(f"_id must be a scalar JSON value (text, number, boolean or null), not {_id!r:.60}")
    try:
        return keycode.encode(normalize(_id))
    except ValueError as error:
        raise DataError(f"_id {_id!r:.60} cannot be a key: {error}") from None


def _canonical(value: Any) -> Any:
    """Integral floats as ints all the way down, so ``[1]`` and ``[1.0]`` are one unique key."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return int(value) if _integral(value) else value


def entry_keys(values_per_field: list[list[Any]], what: str) -> list[bytes]:
    """The distinct encoded value tuples of one row or document."""
    per_field = []
    total = 1
    for values in values_per_field:
        encoded = list(dict.fromkeys(keycode.encode(normalize(v)) for v in values))
        per_field.append(encoded)
        total *= len(encoded)
    if total > MAX_ENTRIES:
        raise DataError(f"{what}: the indexed fields hold {total} combinations of values "
                        f"(at most {MAX_ENTRIES}); index fewer array fields together")
    return [b"".join(combo) for combo in itertools.product(*per_field)]


def _indexable(value: Any) -> bool:
    return value is None or type(value) in (bool, int, str) or (
        type(value) is float and math.isfinite(value))


def _bracket(value: Any) -> tuple[int, int]:
    if value is None:
        return _BRACKETS["null"]
    if isinstance(value, bool):
        return _BRACKETS["bool"]
    if isinstance(value, (int, float)):
        return _BRACKETS["number"]
    return _BRACKETS["text"]


@dataclass
class Constraint:
    """What a filter says about one path: equal to one of ``eq``, or within the bounds."""

    eq: list | None = None
    low: tuple[Any, bool] | None = None  # (value, inclusive)
    high: tuple[Any, bool] | None = None


def _constraint(condition: Any) -> Constraint | None:
    if not isinstance(condition, dict):
        return Constraint(eq=[condition]) if _indexable(condition) else None
    if not condition or not all(isinstance(k, str) and k.startswith("$") for k in condition):
        return None
    found = Constraint()
    for op, operand in condition.items():
        if op == "$eq" and _indexable(operand):
            found.eq = [operand]
        elif op == "$in" and isinstance(operand, list) and all(_indexable(v) for v in operand):
            found.eq = list(operand)
        elif op in ("$gt", "$gte") and _indexable(operand) and operand is not None:
            found.low = (operand, op == "$gte")
        elif op in ("$lt", "$lte") and _indexable(operand) and operand is not None:
            found.high = (operand, op == "$lte")
    if found.low and found.high and _bracket(found.low[0]) != _bracket(found.high[0]):
        found.high = None
    return found if (found.eq is not None or found.low or found.high) else None


def constraints(filter: dict | None) -> dict[str, Constraint]:
    """Per path, the constraint the filter's top-level conjunction puts on it."""
    found: dict[str, Constraint] = {}
    for key, condition in (filter or {}).items():
        if key == "$and" and isinstance(condition, list):
            for sub in condition:
                if isinstance(sub, dict):
                    for path, c in constraints(sub).items():
                        found.setdefault(path, c)
        elif isinstance(key, str) and not key.startswith("$"):
            c = _constraint(condition)
            if c is not None:
                found.setdefault(key, c)
    return found


@dataclass(frozen=True)
class Access:
    """How to read a filter's candidates: a full scan, or key ranges of one index."""

    index: str | None  # None: full scan; "_id_" / "PRIMARY": the data store itself
    ranges: tuple[tuple[bytes | None, bytes | None], ...] = ((None, None),)
    score: tuple[int, int] = (0, 0)
    exact: bool = False  # every entry in the ranges is a match: no need to test the filter again


def _key_range(prefix: bytes, c: Constraint | None, both_bounds: bool) -> tuple[bytes, bytes | None]:
    if c is None or (c.low is None and c.high is None):
        return prefix, keycode.prefix_end(prefix)
    first, last = _bracket((c.low or c.high)[0])  # type: ignore[index]
    start, stop = prefix + bytes([first]), prefix + bytes([last])
    use_high = c.high is not None and (both_bounds or c.low is None)
    if c.low is not None:
        bound = prefix + keycode.encode(normalize(c.low[0]))
        start = bound if c.low[1] else keycode.prefix_end(bound)
    if use_high:
        bound = prefix + keycode.encode(normalize(c.high[0]))  # type: ignore[index]
        stop = keycode.prefix_end(bound) if c.high[1] else bound  # type: ignore[index]
    return start, stop


def plan_index(name: str, fields: list[str], found: dict[str, Constraint],
               both_bounds: bool) -> Access | None:
    """The ranges of index ``name`` on ``fields`` that hold every match, or None if it cannot help."""
    eq_lists = []
    for field in fields:
        c = found.get(field)
        if c is None or c.eq is None:
            break
        eq_lists.append(c.eq)
    ranged = found.get(fields[len(eq_lists)]) if len(eq_lists) < len(fields) else None
    if not eq_lists and ranged is None:
        return None
    combos = math.prod(len(values) for values in eq_lists)
    if combos > _MAX_RANGES:
        return None
    ranges = []
    for combo in itertools.product(*eq_lists):
        prefix = b"".join(keycode.encode(normalize(v)) for v in combo)
        ranges.append(_key_range(prefix, ranged, both_bounds))
    ranges = sorted(set(ranges), key=lambda r: r[0])
    return Access(name, tuple(ranges), (len(eq_lists), int(ranged is not None)))


def choose(filter: dict | None, indexes: dict[str, list[str]], both_bounds: bool,
           prefer: Callable[[str], bool] = lambda name: False) -> Access:
    """The best access for ``filter`` among ``indexes`` (name -> fields); a full scan if none fits."""
    if filter is not None and len(filter) == 1:
        point = _point(filter, indexes, prefer)
        if point is not None:
            return point
    return _best(filter, indexes, both_bounds, prefer)


def _point(filter: dict, indexes: dict[str, list[str]], prefer: Callable[[str], bool]) -> Access | None:
    """The answer ``_best`` gives a filter that is one equality, to a string, number or
    boolean, on a path some index leads with -- the point read, asked on every execution --
    without weighing every index: each index led by the path scores the same (one
    equality), none scores higher, and ``_best`` keeps the first of equals unless a later
    one is preferred (a primary key, ``_id``). None for anything else."""
    (path, condition), = filter.items()
    if isinstance(condition, dict):
        if len(condition) != 1 or "$eq" not in condition:
            return None
        condition = condition["$eq"]
    if not (type(condition) in (str, bool, int) or (type(condition) is float and math.isfinite(condition))):
        return None
    led = [name for name, fields in indexes.items() if fields and fields[0] == path]
    if not led:
        return None
    name = next((n for n in led if prefer(n)), led[0])
    prefix = keycode.encode(normalize(condition))
    return Access(name, ((prefix, keycode.prefix_end(prefix)),), (1, 0), exact=True)


def _best(filter: dict | None, indexes: dict[str, list[str]], both_bounds: bool,
          prefer: Callable[[str], bool]) -> Access:
    found = constraints(filter)
    best = Access(None)
    if not found:
        return best
    for name, fields in indexes.items():
        access = plan_index(name, fields, found, both_bounds)
        if access is None:
            continue
        better = (access.score, prefer(name)) > (best.score, prefer(best.index or ""))
        if best.index is None or better:
            best = access
    if best.index is not None and _answers_exactly(filter, indexes[best.index], found):
        best = dataclasses.replace(best, exact=True)
    return best


def _answers_exactly(filter: Any, fields: list[str], found: dict[str, Constraint]) -> bool:
    """Whether the entries found are exactly the matches: the filter is one equality (or
    ``$in``) on the index's first field, to strings, numbers or booleans. Index entries hold
    every value a filter tries (``filters.index_values``), normalized as equality compares
    them, so for such values an entry exists exactly when the document matches."""
    if len(filter) != 1 or next(iter(filter)) != fields[0]:
        return False
    condition = filter[fields[0]]
    if isinstance(condition, dict) and not (len(condition) == 1 and next(iter(condition)) in ("$eq", "$in")):
        return False
    c = found.get(fields[0])
    return bool(c is not None and c.eq is not None and c.low is None and c.high is None and all(
        type(v) in (str, bool, int) or (type(v) is float and math.isfinite(v)) for v in c.eq))
