"""SQL value semantics over plain Python values: truth, comparison, ordering, CAST, LIKE, GLOB.

The executor evaluates expressions on plain values: None (NULL), int, float, str, bytes, bool
(docdb's BOOLEAN, the integer 0/1 to every operator, as in SQLite), and JSON documents (dict,
list). ``MISSING`` is PartiQL's "absent field": every operator treats it exactly like NULL;
only ``is_missing`` tells them apart. The reference is SQLite 3.40 as Python's ``sqlite3`` runs
it, *without column affinity*: operands compare by storage class, NULL < numbers < text < blob,
and docdb adds lists, then dicts, after blobs. Numbers compare exactly (Python compares int with
float exactly, as SQLite's long double does); text compares by code point, which is the order of
SQLite's memcmp over UTF-8. Arithmetic and number<->text conversion live in ``query.numbers``
(re-exported here) because they emulate SQLite's floating point bit for bit.

Deliberate differences from SQLite, documented rather than emulated:
- documents (dict/list) are opaque to arithmetic, ``||`` and LIKE (result NULL), are NULL in a
  boolean context, and CAST to TEXT/STRING (or BLOB) gives their compact JSON;
- CAST accepts only the type names docdb knows (unknown names raise ValueError instead of
  SQLite's fall back to NUMERIC); BOOLEAN and STRING are docdb/PartiQL types (SQLite would give
  NUMERIC affinity to both);
- a blob that is not UTF-8 becomes text with U+FFFD replacements where SQLite would keep the
  bytes; LIKE/GLOB patterns have no length limit (SQLite refuses patterns over 50,000 bytes);
- NaN is not a value: SQLite stores it as NULL, so bind it as None.
Emulated although build-specific: a blob never matches LIKE or GLOB (false, even against NULL),
as in the Debian/Ubuntu sqlite3 built with SQLITE_LIKE_DOESNT_MATCH_BLOBS that the tests run on.
May import: the standard library, ``orjson`` and ``query.numbers``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import orjson

from query.numbers import (
    add,
    atof,
    atoi64,
    bit_and,
    bit_not,
    bit_or,
    div,
    int_value,
    lshift,
    mod,
    mul,
    neg,
    real_to_text,
    real_value,
    rshift,
    sub,
    to_number,
)

__all__ = [
    "MISSING", "is_missing", "type_name", "truth", "and_", "or_", "not_",
    "eq", "ne", "lt", "le", "gt", "ge", "is_", "is_not", "compare", "sort_key",
    "add", "sub", "mul", "div", "mod", "neg", "concat", "bit_and", "bit_or", "lshift", "rshift", "bit_not",
    "to_number", "to_text", "cast", "like", "glob", "between", "in_list",
]


class _Missing:
    """The type of MISSING; a singleton that survives copy and pickle."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING = _Missing()

class CollatedText(str):
    """Text under a user's collation (``conn.create_collation``): it compares with other
    text by the user's ``compare(a, b)`` (negative, zero or positive, as sqlite3's), so a
    comparison or ORDER BY folds its operands into this and the usual ordering does the rest."""

    def __new__(cls, text: str, compare: Any) -> CollatedText:
        made = super().__new__(cls, text)
        made.compare = compare
        return made

    def __eq__(self, other: object) -> bool:
        return self.compare(str(self), str(other)) == 0

    def __ne__(self, other: object) -> bool:
        return self.compare(str(self), str(other)) != 0

    def __lt__(self, other: object) -> bool:
        return self.compare(str(self), str(other)) < 0

    def __le__(self, other: object) -> bool:
        return self.compare(str(self), str(other)) <= 0

    def __gt__(self, other: object) -> bool:
        return self.compare(str(self), str(other)) > 0

    def __ge__(self, other: object) -> bool:
        return self.compare(str(self), str(other)) >= 0

    __hash__ = str.__hash__


_RANK = {type(None): 0, _Missing: 0, bool: 1, int: 1, float: 1, str: 2, CollatedText: 2, bytes: 3, list: 4,
         dict: 5}
RANK = _RANK  # a value's type -> its place in ORDER BY (sort_key)
_TYPE_NAMES = {type(None): "null", _Missing: "missing", bool: "integer", int: "integer", float: "real",
               str: "text", CollatedText: "text", bytes: "blob", list: "array", dict: "object"}


def _rank(v: object) -> int:
    try:
        return _RANK[type(v)]
    except KeyError:
        if isinstance(v, (list, dict)):  # a PartiQL bag is a list that keeps no order
            return _RANK[list if isinstance(v, list) else dict]
        raise TypeError(f"not a docdb value: {type(v).__name__} {v!r}") from None


class Bag(list):
    """PartiQL's bag (``<<...>>``): a collection with no order, so no element has a position."""

    __slots__ = ()


class Fields(dict):
    """A PartiQL struct in which a name repeats (``SELECT *`` over two sources that both have
    ``id``; ``{v.a: 1, v.b: 2}`` where both name the same): a dict -- a name looks up its
    last value -- whose ``items()`` are every pair, in order."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]):
        super().__init__(pairs)
        self.pairs = pairs

    def items(self) -> Any:  # type: ignore[override]
        return list(self.pairs)


def struct(pairs: list[tuple[str, Any]]) -> dict:
    """A struct of ``pairs``: a dict, or ``Fields`` when a name repeats."""
    made = dict(pairs)
    return made if len(made) == len(pairs) else Fields(pairs)


_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS


def hashable(value: Any) -> Any:
    """A dict-key form of a value: documents and arrays by their JSON text, in which a bag's
    elements are in a fixed order (``_canonical``: only subclasses, bags among them, leave
    orjson's own path, so plain documents pay nothing for it)."""
    if isinstance(value, (dict, list)):
        return ("\0json", orjson.dumps(value, default=_canonical, option=_CANONICAL))
    if value is MISSING:
        return MISSING_KEY  # not NULL: DISTINCT and set operations keep them apart
    return value


MISSING_KEY = ("\0missing",)


def _canonical(value: Any) -> Any:
    """What orjson writes for a subclass of a JSON type: a bag as its elements sorted by their
    own text (and marked, so it differs from an array), anything else as its base type."""
    if isinstance(value, Bag):
        texts = sorted(orjson.dumps(x, default=_canonical, option=_CANONICAL) for x in value)
        return {"\0bag": [orjson.loads(text) for text in texts]}
    for base in (dict, list, str, int, float):
        if isinstance(value, base):
            return base(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def is_missing(v: object) -> bool:
    return v is MISSING


def type_name(v: object) -> str:
    """What SQLite's typeof() says: 'null', 'integer', 'real', 'text', 'blob'; plus 'object',
    'array' for documents and 'missing' for MISSING."""
    _rank(v)
    return _TYPE_NAMES.get(type(v)) or ("array" if isinstance(v, list) else "object")


# --- truth and three-valued logic -------------------------------------------------------------
def truth(v: object) -> bool | None:
    """SQL truth: NULL/MISSING/documents -> None; numbers nonzero; text and blobs by numeric prefix."""
    t = type(v)
    if t is bool:
        return v  # type: ignore[return-value]
    if t is int or t is float:
        return v != 0
    if t is str or t is bytes:
        return atof(v)[0] != 0.0  # type: ignore[arg-type]
    _rank(v)
    return None


def _tv(v: object) -> bool | None:
    return v if v is True or v is False or v is None else truth(v)  # type: ignore[return-value]


def and_(a: object, b: object) -> bool | None:
    a, b = _tv(a), _tv(b)
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def or_(a: object, b: object) -> bool | None:
    a, b = _tv(a), _tv(b)
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def not_(a: object) -> bool | None:
    a = _tv(a)
    return None if a is None else not a


# --- comparison and ordering ------------------------------------------------------------------
def _doc_key(v: list | dict) -> tuple:
    if isinstance(v, list):
        keys = tuple(sort_key(x) for x in v)
        return keys if type(v) is list else tuple(sorted(keys))  # a bag: the same elements in any order
    return tuple(sorted((str(k), sort_key(x)) for k, x in v.items()))
    return tuple(sorted((str(k), sort_key(x)) for k, x in v.items()))


def sort_key(v: object) -> tuple:
    """Key for ORDER BY: NULL (and MISSING) first, numbers, text, blobs, lists, dicts."""
    r = _rank(v)
    if r == 0:
        return (0,)
    return (r, _doc_key(v)) if r >= 4 else (r, v)  # type: ignore[arg-type]


def compare(a: object, b: object) -> int:
    """-1, 0 or 1 in ORDER BY order (NULLs equal and first): SQLite's sqlite3MemCompare."""
    if type(a) is type(b) and type(a) in (int, str, float, bytes):
        return (a > b) - (a < b)  # type: ignore[operator]
    ka, kb = sort_key(a), sort_key(b)
    return (ka > kb) - (ka < kb)


def _cmp(a: object, b: object) -> int | None:
    ra, rb = _rank(a), _rank(b)
    if ra == 0 or rb == 0:
        return None
    if ra != rb:
        return -1 if ra < rb else 1
    if ra >= 4:
        a, b = _doc_key(a), _doc_key(b)  # type: ignore[arg-type]
    return (a > b) - (a < b)  # type: ignore[operator]


def eq(a: object, b: object) -> bool | None:
    c = _cmp(a, b)
    return None if c is None else c == 0


def ne(a: object, b: object) -> bool | None:
    c = _cmp(a, b)
    return None if c is None else c != 0


def lt(a: object, b: object) -> bool | None:
    c = _cmp(a, b)
    return None if c is None else c < 0


def le(a: object, b: object) -> bool | None:
    c = _cmp(a, b)
    return None if c is None else c <= 0


def gt(a: object, b: object) -> bool | None:
    c = _cmp(a, b)
    return None if c is None else c > 0


def ge(a: object, b: object) -> bool | None:
    c = _cmp(a, b)
    return None if c is None else c >= 0


def is_(a: object, b: object) -> bool:
    """a IS b: like =, but NULL IS NULL is true and the answer is never NULL."""
    na, nb = _rank(a) == 0, _rank(b) == 0
    return na and nb if na or nb else _cmp(a, b) == 0


def is_not(a: object, b: object) -> bool:
    return not is_(a, b)


def between(v: object, lo: object, hi: object) -> bool | None:
    return and_(ge(v, lo), le(v, hi))


def in_list(v: object, items: Iterable[object]) -> bool | None:
    """v IN (items...): true on a match, else NULL if v or any item is NULL; empty list -> false."""
    if not isinstance(items, (list, tuple)):
        items = list(items)
    if not items:
        return False
    if _rank(v) == 0:
        return None
    unknown = False
    for item in items:
        r = eq(v, item)
        if r:
            return True
        unknown = unknown or r is None
    return None if unknown else False


# --- text --------------------------------------------------------------------------------------
def to_text(v: object) -> str | None:
    """A value as SQLite's text: integers in decimal, reals as "%!.15g", blobs as UTF-8."""
    t = type(v)
    if t is str:
        return v  # type: ignore[return-value]
    if t is int:
        return str(v)
    if t is float:
        return real_to_text(v)  # type: ignore[arg-type]
    if t is bool:
        return "1" if v else "0"
    if t is bytes:
        return v.decode("utf-8", "replace")  # type: ignore[attr-defined]
    if t is dict or t is list:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    _rank(v)
    return None


def concat(a: object, b: object) -> str | None:
    """a || b: both as text; NULL (or a document) on either side gives NULL."""
    ta, tb = type(a), type(b)
    if ta is str and tb is str:
        return a + b  # type: ignore[operator]
    if _rank(a) in (0, 4, 5) or _rank(b) in (0, 4, 5):
        return None
    if ta is bytes or tb is bytes:
        ba = a if ta is bytes else to_text(a).encode()  # type: ignore[union-attr]
        bb = b if tb is bytes else to_text(b).encode()  # type: ignore[union-attr]
        return (ba + bb).decode("utf-8", "replace")  # type: ignore[operator]
    return to_text(a) + to_text(b)  # type: ignore[operator]


# --- CAST ---------------------------------------------------------------------------------------
_CAST_NAMES = {
    "INTEGER": "INTEGER", "INT": "INTEGER", "BIGINT": "INTEGER", "SMALLINT": "INTEGER", "TINYINT": "INTEGER",
    "REAL": "REAL", "FLOAT": "REAL", "DOUBLE": "REAL", "DOUBLE PRECISION": "REAL",
    "TEXT": "TEXT", "VARCHAR": "TEXT", "CHAR": "TEXT", "CHARACTER": "TEXT", "CLOB": "TEXT", "STRING": "TEXT",
    "BLOB": "BLOB", "NUMERIC": "NUMERIC", "DECIMAL": "NUMERIC", "BOOLEAN": "BOOLEAN", "BOOL": "BOOLEAN",
}
_TYPE_RE = re.compile(r"\s*([A-Za-z]+(?:\s+[A-Za-z]+)*)\s*(?:\(\s*[+-]?\d+\s*(?:,\s*[+-]?\d+\s*)?\))?\s*")


@lru_cache(maxsize=64)
def _cast_target(name: str) -> str:
    m = _TYPE_RE.fullmatch(name)
    target = _CAST_NAMES.get(" ".join(m.group(1).upper().split())) if m else None
    if target is None:
        known = ", ".join(sorted(_CAST_NAMES))
        raise ValueError(f"unknown type name in CAST: {name!r} (known: {known})")
    return target


def _numerify(v: str | bytes) -> int | float:
    r, rc = atof(v)
    if rc in (0, 1):
        i, irc = atoi64(v)
        if irc <= 1:
            return i
    i = int_value(r)
    return i if r == 0.0 or (float(i) == r and -(1 << 51) <= i < (1 << 51)) else r  # type: ignore[return-value]


def _to_bool(v: object) -> bool | None:
    if type(v) is str:
        word = v.strip().lower()  # type: ignore[attr-defined]
        if word in ("true", "false"):
            return word == "true"
    return truth(v)


def cast(v: object, type_name: str) -> object:
    """CAST(v AS type_name) by SQLite's rules (see the module docstring for docdb's names)."""
    target = _cast_target(type_name)
    r = _rank(v)
    if r == 0:
        return None
    if r >= 4:
        text = to_text(v)
        return text if target == "TEXT" else text.encode() if target == "BLOB" else None  # type: ignore[union-attr]
    if target == "INTEGER":
        return int_value(v)
    if target == "REAL":
        return real_value(v)
    if target == "TEXT":
        return to_text(v)
    if target == "BLOB":
        return v if type(v) is bytes else to_text(v).encode()  # type: ignore[union-attr]
    if target == "BOOLEAN":
        return _to_bool(v)
    return _numerify(v) if r >= 2 else int(v) if type(v) is bool else v  # type: ignore[arg-type]


# --- LIKE and GLOB -------------------------------------------------------------------------------
_Compiled = tuple[bool, list[tuple[re.Pattern[str], int]]]


def _glob_set(pattern: str, i: int) -> tuple[str, int] | None:
    """The regex for the GLOB set whose '[' is at i-1, and the index after its ']'."""
    items, prior, invert, n = [], "", False, len(pattern)
    if i < n and pattern[i] == "^":
        invert, i = True, i + 1
    if i < n and pattern[i] == "]":
        items.append(re.escape("]"))
        i += 1
    while i < n and pattern[i] != "]":
        c = pattern[i]
        if c == "-" and i + 1 < n and pattern[i + 1] != "]" and prior:
            hi = pattern[i + 1]
            if prior <= hi:
                items.append(re.escape(prior) + "-" + re.escape(hi))
            prior, i = "", i + 2
            continue
        items.append(re.escape(c))
        prior, i = c, i + 1
    if i >= n:
        return None
    if not items:
        return ("." if invert else "(?!)"), i + 1
    return "[" + "^" * invert + "".join(items) + "]", i + 1


@lru_cache(maxsize=256)
def _compile(pattern: str, escape: str | None, is_glob: bool) -> _Compiled | None:
    """Split a pattern at its match-all wildcards into fixed-width regexes (None: never matches)."""
    many, one = ("*", "?") if is_glob else ("%", "_")
    if escape == many:
        many = ""
    if escape == one:
        one = ""
    segments: list[list[str]] = [[]]
    i, n = 0, len(pattern)
    while i < n:
        c, i = pattern[i], i + 1
        if c == many:
            segments.append([])
        elif c == one:
            segments[-1].append(".")
        elif is_glob and c == "[":
            found = _glob_set(pattern, i)
            if found is None:
                return None
            token, i = found
            segments[-1].append(token)
        else:
            if c == escape:
                if i >= n:
                    return None
                c, i = pattern[i], i + 1
            segments[-1].append(re.escape(c))
    flags = re.DOTALL if is_glob else re.DOTALL | re.IGNORECASE | re.ASCII
    parts = [(re.compile("".join(s), flags), len(s)) for k, s in enumerate(segments)
             if s or k in (0, len(segments) - 1)]
    return len(segments) > 1, parts


def _subject(v: object) -> str | None:
    s = to_text(v) if _rank(v) < 4 else None
    return s.split("\0", 1)[0] if s is not None and "\0" in s else s


def _pattern_match(value: object, pattern: object, escape: str | None, is_glob: bool) -> bool | None:
    if type(value) is bytes or type(pattern) is bytes:
        return False  # SQLITE_LIKE_DOESNT_MATCH_BLOBS, as Debian and Ubuntu build sqlite3
    s, p = _subject(value), _subject(pattern)
    if s is None or p is None:
        return None
    compiled = _compile(p, escape, is_glob)
    if compiled is None:
        return False
    wild, parts = compiled
    if not wild:
        return parts[0][0].fullmatch(s) is not None
    head, tail = parts[0], parts[-1]
    if head[0].match(s) is None:
        return False
    pos = head[1]
    for rx, _ in parts[1:-1]:
        m = rx.search(s, pos)
        if m is None:
            return False
        pos = m.end()
    start = len(s) - tail[1]
    return start >= pos and tail[0].match(s, start) is not None


def like(value: object, pattern: object, escape: object = None) -> bool | None:
    """value LIKE pattern [ESCAPE escape]: '%' and '_', ASCII letters match either case.

    escape=None means no ESCAPE clause: for ``ESCAPE <NULL>`` (NULL in SQLite) test it first.
    """
    esc = None
    if escape is not None and type(value) is not bytes and type(pattern) is not bytes:
        esc = _subject(escape)
        if esc is None:
            return None
        if len(esc) != 1:
            raise ValueError("ESCAPE expression must be a single character")
    return _pattern_match(value, pattern, esc, False)


def glob(value: object, pattern: object) -> bool | None:
    """value GLOB pattern: case-sensitive '*', '?' and '[...]' sets ('^' negates, 'a-z' ranges)."""
    return _pattern_match(value, pattern, None, True)
