"""docdb's SQL function library: the scalar functions and the aggregates, SQLite's way.

The executor evaluates the arguments and calls ``ScalarFunction.fn(*values)``, or feeds each
row to an aggregate object (``step(*values)``, then ``final()``); it dedupes for DISTINCT and
calls ``step()`` with no arguments for count(*). Every function answers what SQLite 3.40
(Python's ``sqlite3``) answers, quirks included: abs('5') is the REAL 5.0, hex(NULL) is '',
min(1, 1.0) is 1.0 but max(1, 1.0) is 1, round() goes through SQLite's own printf, substr()
and round() truncate their counts to 32 bits, printf() with nothing to print is NULL, text
functions that walk C strings (length, substr, unicode, quote, printf's %s) stop at a NUL, and
sum() over integers raises OverflowError("integer overflow") at the end like SQLite's error.

MISSING arguments reach the functions as NULL, except typeof(), which reports 'missing'.
Documents (dict/list) are NULL to the numeric functions and to sum/total/avg, and the text
functions see their JSON text. Beyond SQLite: string_agg(x, sep) and array_agg(x) (a list of
the values, NULLs included), as in PostgreSQL and PartiQL.
May import: the standard library, ``query.values``, ``query.numbers``, ``query.mathfunctions``,
``query.datetimes`` and ``query.jsonfunctions``.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from query.datetimes import SPECS as DATE_SPECS
from query.jsonfunctions import AGGREGATES as JSON_AGGREGATES
from query.jsonfunctions import SPECS as JSON_SPECS
from query.mathfunctions import SPECS as MATH_SPECS
from query.numbers import I64_MIN, atof, int_value, numeric_affinity, real_to_text, real_value, render_real
from query.values import MISSING, compare, glob, hashable, like, to_text, truth, type_name

__all__ = [
    "ScalarFunction", "SCALARS", "AGGREGATES", "lookup_scalar", "lookup_aggregate", "is_aggregate",
    "check_arity",
]


@dataclass(frozen=True)
class ScalarFunction:
    """A scalar SQL function: ``fn(*values)``, taking min_args..max_args arguments (None: any number)."""

    name: str
    fn: Callable[..., object]
    min_args: int
    max_args: int | None


def _ctext(v: object) -> str | None:
    """sqlite3_value_text as C sees it: the text up to the first NUL."""
    s = to_text(v)
    return s.split("\0", 1)[0] if s is not None and "\0" in s else s


def _int32(v: object) -> int | None:
    """sqlite3_value_int: the 64-bit integer value cut to 32 bits."""
    i = int_value(v)
    return None if i is None else ((i + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _abs(x: object) -> object:
    if type(x) is int or type(x) is bool:
        if x == I64_MIN:
            raise OverflowError("integer overflow")
        return abs(int(x))  # type: ignore[arg-type]
    r = real_value(x)
    return None if r is None else -r if r < 0 else r


def _length(x: object) -> int | None:
    if type(x) is bytes:
        return len(x)  # type: ignore[arg-type]
    s = _ctext(x)
    return None if s is None else len(s)


_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = {v: k for k, v in _UPPER.items()}


def _substr(x: object, y: object, *z: object) -> object:
    if y is None or (z and z[0] is None) or x is None:
        return None
    p1, p2 = _int32(y), (_int32(z[0]) if z else 1_000_000_000)
    data = x if type(x) is bytes else _ctext(x)
    if p1 is None or p2 is None or not data and type(data) is not str:
        return None  # NULL, or an empty blob (sqlite3_value_blob gives a NULL pointer)
    negative = p2 < 0
    p2 = abs(p2)
    if p1 < 0:
        p1 += len(data)
        if p1 < 0:
            p2, p1 = max(p2 + p1, 0), 0
    elif p1 > 0:
        p1 -= 1
    elif p2 > 0:
        p2 -= 1
    if negative:
        p1 -= p2
        if p1 < 0:
            p2, p1 = p2 + p1, 0
    return data[p1:p1 + p2]


def _trim(left: bool, right: bool) -> Callable[..., str | None]:
    def fn(x: object, *chars: object) -> str | None:
        s, cs = to_text(x), (_ctext(chars[0]) if chars else " ")
        if s is None or cs is None:
            return None
        s = s.lstrip(cs) if left else s
        return s.rstrip(cs) if right else s
    return fn


def _replace(x: object, y: object, z: object) -> object:
    pattern = to_text(y)
    if x is None or pattern is None:
        return None
    if pattern[:1] in ("", "\0"):
        return to_text(x) if type(x) is bytes else x
    return None if z is None else to_text(x).replace(pattern, to_text(z))  # type: ignore[union-attr]


def _instr(x: object, y: object) -> int | None:
    if x is None or y is None:
        return None
    if type(x) is bytes and type(y) is bytes:
        return x.find(y) + 1  # type: ignore[attr-defined]
    return to_text(x).find(to_text(y)) + 1  # type: ignore[union-attr, arg-type]


def _round(x: object, *y: object) -> float | None:
    n = _int32(y[0]) if y else 0
    r = real_value(x)
    if n is None or r is None:
        return None
    n = min(max(n, 0), 30)
    if not -4503599627370496.0 <= r <= 4503599627370496.0:
        return r
    if n == 0:
        return float(int(r + (-0.5 if r < 0 else 0.5)))
    return atof(render_real(r, "f", n))[0]


def _coalesce(*args: object) -> object:
    return next((a for a in args if a is not None), None)


def _quote(x: object) -> str:
    t = type(x)
    if t is float:
        s = real_to_text(x)  # type: ignore[arg-type]
        return s if atof(s)[0] == x else render_real(x, "e", 20, alt2=True)  # type: ignore[arg-type]
    if t is bytes:
        return "X'" + x.hex().upper() + "'"  # type: ignore[attr-defined]
    if x is None:
        return "NULL"
    s = _ctext(x)
    return s if t in (int, bool) else "'" + s.replace("'", "''") + "'"  # type: ignore[union-attr]


def _char(*args: object) -> str:
    codes = (int_value(a) or 0 for a in args)
    return "".join(chr(c) if 0 <= c <= 0x10FFFF else "\ufffd" for c in codes)


def _unicode(x: object) -> int | None:
    s = _ctext(x)
    return ord(s[0]) if s else None


def _sign(x: object) -> int | None:
    if type(x) is str:
        x = numeric_affinity(x)  # type: ignore[arg-type]
    if type(x) not in (int, float, bool):
        return None
    return (x > 0) - (x < 0)  # type: ignore[operator]


def _extreme(is_max: bool) -> Callable[..., object]:
    def fn(*args: object) -> object:
        if any(a is None for a in args):
            return None
        best = args[0]
        for a in args[1:]:
            if (compare(best, a) < 0) if is_max else (compare(best, a) >= 0):
                best = a
        return best
    return fn


def _zeroblob(n: object) -> bytes:
    size = int_value(n) or 0
    if size > 1_000_000_000:
        raise ValueError("string or blob too big")
    return bytes(max(size, 0))


def _like(pattern: object, value: object, *escape: object) -> bool | None:
    if escape and escape[0] is None:
        return False if bytes in (type(pattern), type(value)) else None
    return like(value, pattern, escape[0] if escape else None)


# --- printf ------------------------------------------------------------------------------------
_SPEC = re.compile(r"%([-+ #!0,]*)(\d+|\*)?(?:\.(\*|\d*))?(?:ll|l)?(.?)", re.DOTALL)
_TOO_BIG = 1_000_000_000 - 16  # SQLITE_MAX_LENGTH, less printf's slack
_INT_CONVERSIONS = {"d": "d", "i": "d", "r": "d", "u": "d", "x": "x", "X": "X", "p": "X", "o": "o"}


def _cut(s: str, n: int, chars: bool) -> str:
    """The first n characters (chars) or the whole characters within n UTF-8 bytes."""
    return s[:n] if chars else s.encode("utf-8", "surrogatepass")[:n].decode("utf-8", "ignore")


def _sign_flag(flags: str) -> str:
    return next((c for c in reversed(flags) if c in "+ "), "")


def _format_int(conv: str, v: int, flags: str, width: int, precision: int) -> str:
    prefix = ""
    if conv in "dir":
        v, prefix = (-v, "-") if v < 0 else (v, _sign_flag(flags))
    else:
        v &= (1 << 64) - 1
    if "0" in flags and precision < width - len(prefix):
        precision = width - len(prefix)
    digits = format(v, _INT_CONVERSIONS[conv])
    if conv == "r":
        x = 0 if v % 10 >= 4 or (v // 10) % 10 == 1 else v % 10
        digits += "thstndrd"[2 * x:2 * x + 2]
    digits = digits.rjust(precision, "0")
    if "," in flags and conv in "diu":
        first = (len(digits) - 1) % 3 + 1
        digits = digits[:first] + "".join("," + digits[k:k + 3] for k in range(first, len(digits), 3))
    alt = {"x": "0x", "p": "0x", "X": "0X", "o": "0"}.get(conv, "") if "#" in flags and v else ""
    return alt + prefix + digits


def _convert(conv: str, flags: str, width: int, precision: int, arg: Callable[[], object]
             ) -> tuple[str, int] | None:
    """One conversion's text and its length as the width counts it; None stops printf."""
    alt2 = "!" in flags
    if not conv:
        return None  # the format ended inside a conversion
    if conv in _INT_CONVERSIONS:
        body = _format_int(conv, int_value(arg()) or 0, flags, width, precision)
    elif conv in "feEgG":
        body = render_real(real_value(arg()) or 0.0, conv, precision, _sign_flag(flags), "#" in flags, alt2)
        if "0" in flags and "-" not in flags and len(body) < width and body[-3:] not in ("Inf", "NaN"):
            k = 1 if body[0] in "+- " else 0
            body = body[:k] + "0" * (width - len(body)) + body[k:]
    elif conv in "sz":
        body = _ctext(arg()) or ""
        body = _cut(body, precision, alt2) if precision >= 0 else body
    elif conv == "c":
        body = ((_ctext(arg()) or "")[:1] or "\0") * max(precision, 1)
        return body, len(body)
    elif conv in "qQw":
        text, quote = _ctext(arg()), '"' if conv == "w" else "'"
        body = ("NULL" if conv == "Q" else "(NULL)") if text is None else text
        body = (_cut(body, precision, alt2) if precision >= 0 else body).replace(quote, quote * 2)
        body = quote + body + quote if conv == "Q" and text is not None else body
    elif conv == "%":
        body = "%"
    elif conv == "n":
        return "", width  # %n prints nothing, not even the padding
    else:
        return None
    return body, len(body) if alt2 else len(body.encode("utf-8", "surrogatepass"))


def _printf(fmt: object = None, *args: object) -> str | None:
    text = _ctext(fmt)
    if text is None:
        return None
    out: list[str] = []
    arg = functools.partial(next, iter(args), None)  # the next argument; NULL once they run out
    i = 0
    while i < len(text):
        j = text.find("%", i)
        j = len(text) if j < 0 else j
        if j > i:
            out.append(text[i:j])
        if j >= len(text) - 1:
            out.extend(text[j:])
            break
        m = _SPEC.match(text, j)
        flags, width_s, prec_s, conv = m.groups()
        i = m.end()
        width = (_int32(arg()) or 0) if width_s == "*" else int(width_s or 0) & 0x7FFFFFFF
        if width < 0:
            flags, width = flags + "-", (-width if width > -(1 << 31) else 0)
        if prec_s == "*":
            precision = _int32(arg()) or 0
            precision = -precision if -(1 << 31) < precision < 0 else precision
        else:
            precision = -1 if prec_s is None else int(prec_s or 0) & 0x7FFFFFFF
        if conv and conv in "feEgG":
            precision = min(precision, 100_000_000)  # SQLITE_FP_PRECISION_LIMIT
        big = width > _TOO_BIG or (precision > _TOO_BIG and conv not in "feEgGsqQwz%")
        if big and conv and (conv in _INT_CONVERSIONS or conv in "feEgGszcqQw%"):
            return None  # SQLITE_TOOBIG: SQLite gives up and returns NULL
        piece = _convert(conv, flags, width, precision, arg)
        if piece is None:
            break
        body, units = piece
        pad = " " * max(width - units, 0)
        out.append(body + pad if "-" in flags else pad + body)
    return "".join(out) if out else None


# --- aggregates ----------------------------------------------------------------------------------
class _Aggregate:
    """A built-in aggregate: ``step`` per value (or per row, for ``count(*)``), ``final``.
    ``step_many(values)`` is ``step`` for each of a list of values, in order -- how a
    compiled aggregation (``query.inline``) feeds a group a batch at a time."""

    name = ""
    min_args = max_args = 1

    def step_many(self, values: list) -> None:
        step = self.step  # type: ignore[attr-defined]
        for value in values:
            step(value)


class Count(_Aggregate):
    """count(x) counts non-NULL values; count(*) is step() with no arguments and counts rows."""

    name, min_args = "count", 0

    def __init__(self) -> None:
        self.n = 0

    def step(self, *args: object) -> None:
        if not args or (args[0] is not None and args[0] is not MISSING):
            self.n += 1

    def step_many(self, values: list) -> None:
        self.n += len(values) - values.count(None) - values.count(MISSING)

    def add_rows(self, count: int) -> None:
        """``count(*)`` over ``count`` more rows."""
        self.n += count

    def final(self) -> int:
        return self.n


class Sum(_Aggregate):
    """sum(): an integer while every input is one (overflow is an error), else a REAL; NULL if empty."""

    name = "sum"

    def __init__(self) -> None:
        self.real, self.integer, self.count = 0.0, 0, 0
        self.approximate = self.overflow = False

    def step(self, x: object) -> None:
        t = type(x)  # text that is a well-formed number counts as that number, other text as a REAL
        v = numeric_affinity(x) if t is str else x if t in (int, float, bool) else None  # type: ignore[arg-type]
        if v is None and t in (str, bytes):
            v = atof(x)[0]  # type: ignore[arg-type]
        if v is None:
            return
        self.count += 1
        self.real += v  # type: ignore[operator]
        if type(v) is float:
            self.approximate = True
        elif not (self.approximate or self.overflow):
            total = self.integer + int(v)  # type: ignore[arg-type]
            if I64_MIN <= total <= -I64_MIN - 1:
                self.integer = total
            else:
                self.approximate = self.overflow = True

    def step_many(self, values: list) -> None:
        """Lists of only REALs, or only INTEGERs, are added in C, with the same roundings
        and the same overflow rule (checked on every running total) as one step at a time."""
        kinds = set(map(type, values))
        if kinds == {float}:
            self.count += len(values)
            self.real = functools.reduce(operator.add, values, self.real)
            self.approximate = True
        elif kinds == {int}:
            if not (self.approximate or self.overflow):
                totals = list(itertools.accumulate(values, initial=self.integer))
                if not I64_MIN <= min(totals) <= max(totals) <= -I64_MIN - 1:
                    super().step_many(values)  # the step that overflows decides
                    return
                self.integer = totals[-1]
            self.count += len(values)
            self.real = functools.reduce(operator.add, values, self.real)
        else:
            super().step_many(values)

    def final(self) -> int | float | None:
        if self.count == 0:
            return None
        if self.overflow:
            raise OverflowError("integer overflow")
        return self.real if self.approximate else self.integer


class Total(Sum):
    """total(): the sum as a REAL, 0.0 when there is nothing to add; never overflows."""

    name = "total"

    def final(self) -> float:
        return self.real


class Avg(Sum):
    name = "avg"

    def final(self) -> float | None:
        return self.real / self.count if self.count else None


class Max(_Aggregate):
    """max(): the greatest non-NULL value in ORDER BY order (the first of equals); min() the least."""

    name, sense = "max", 1

    def __init__(self) -> None:
        self.best: object = None

    def step(self, x: object) -> None:
        if x is None or x is MISSING:
            return
        if self.best is None or compare(self.best, x) * self.sense < 0:
            self.best = x

    def step_many(self, values: list) -> None:
        kinds = set(map(type, values))
        if len(kinds) == 1 and kinds <= {int, float, str}:  # one plain type: Python orders it
            self.step(max(values) if self.sense > 0 else min(values))
        else:
            super().step_many(values)

    def final(self) -> object:
        return self.best


class Min(Max):
    name, sense = "min", -1


class GroupConcat(_Aggregate):
    """group_concat(x[, sep]): the non-NULL values as text, joined by sep (',' by default)."""

    name, max_args = "group_concat", 2

    def __init__(self) -> None:
        self.parts: list[str] | None = None

    def step(self, x: object, *sep: object) -> None:
        if x is None or x is MISSING:
            return
        if self.parts is None:
            self.parts = []
        else:
            self.parts.append(to_text(sep[0]) or "" if sep else ",")
        self.parts.append(to_text(x))  # type: ignore[arg-type]

    def final(self) -> str | None:
        return None if self.parts is None else "".join(self.parts)


class StringAgg(GroupConcat):
    name, min_args = "string_agg", 2


class ArrayAgg(_Aggregate):
    """array_agg(x): every value, NULLs (and MISSING) as None, as a list."""

    name = "array_agg"

    def __init__(self) -> None:
        self.values: list[object] = []

    def step(self, x: object) -> None:
        self.values.append(None if x is MISSING else x)

    def final(self) -> list[object]:
        return self.values


class Every(_Aggregate):
    """PartiQL's EVERY (SQL's bool_and): true when every non-NULL value is true; NULL if none."""

    name = "every"

    def __init__(self) -> None:
        self.result: bool | None = None

    def step(self, x: object) -> None:
        t = truth(x)
        if t is not None:
            self.result = t if self.result is None else self.result and t

    def final(self) -> bool | None:
        return self.result


class AnyTrue(Every):
    """PartiQL's ANY / SOME (SQL's bool_or): true when some non-NULL value is true; NULL if none."""

    name = "any"

    def step(self, x: object) -> None:
        t = truth(x)
        if t is not None:
            self.result = t if self.result is None else self.result or t


class SomeTrue(AnyTrue):
    name = "some"


# --- registry -----------------------------------------------------------------------------------
def _null_for_missing(fn: Callable[..., object]) -> Callable[..., object]:
    @functools.wraps(fn)
    def call(*args: object) -> object:
        if any(a is MISSING for a in args):
            args = tuple(None if a is MISSING else a for a in args)
        return fn(*args)
    return call


SQLITE_VERSION = "3.40.1"  # the SQLite release whose behaviour docdb's SQL follows (and is tested against)
SOURCE_ID = "docdb: SQLite 3.40.1 semantics"

# functions of the connection's state, not of their arguments: query.expressions gives
# them the session (the connection) of the statement
SESSION: dict[str, Callable[[Any], object]] = {
    "changes": lambda session: getattr(session, "changes", 0),
    "total_changes": lambda session: getattr(session, "total_changes", 0),
    "last_insert_rowid": lambda session: getattr(session, "last_insert_rowid", 0),
}


def _collection_aggregate(name: str) -> Callable[[object], object]:
    """PartiQL's COLL_COUNT, COLL_SUM...: the aggregate over a collection's elements (NULL
    for anything that is not a collection)."""
    def apply(collection: object) -> object:
        if not isinstance(collection, list):
            return None
        aggregate = AGGREGATES[name]()
        for value in collection:
            aggregate.step(value)
        return aggregate.final()
    return apply


def _needs_session(name: str) -> Callable[[], object]:
    def unbound() -> object:
        raise ValueError(f"{name}() reads the connection, and is called through a statement")
    return unbound


def _unhex(text: object, ignored: object = "") -> bytes | None:
    """SQLite's unhex(X[, Y]): the blob X spells in hex, characters of Y allowed between
    pairs of digits; NULL for anything else."""
    if text is None or ignored is None:
        return None
    text, ignored = to_text(text), to_text(ignored)
    digits, position = [], 0
    while position < len(text):
        if text[position] in ignored:
            position += 1
            continue
        pair = text[position:position + 2]
        if len(pair) < 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
            return None
        digits.append(pair)
        position += 2
    return bytes.fromhex("".join(digits))


def _table() -> dict[str, ScalarFunction]:
    specs: list[tuple[str, Callable[..., object], int, int | None]] = [
        ("abs", _abs, 1, 1), ("length", _length, 1, 1), ("substr", _substr, 2, 3),
        ("substring", _substr, 2, 3),  # lower() and upper() fold ASCII only, as SQLite without ICU:
        ("lower", lambda x: None if x is None else to_text(x).translate(_LOWER), 1, 1),
        ("upper", lambda x: None if x is None else to_text(x).translate(_UPPER), 1, 1),
        ("trim", _trim(True, True), 1, 2), ("ltrim", _trim(True, False), 1, 2),
        ("rtrim", _trim(False, True), 1, 2), ("replace", _replace, 3, 3), ("instr", _instr, 2, 2),
        ("round", _round, 1, 2), ("coalesce", _coalesce, 2, None), ("ifnull", _coalesce, 2, 2),
        ("nullif", lambda a, b: None if compare(a, b) == 0 else a, 2, 2),
        ("hex", lambda x: (x if type(x) is bytes else (to_text(x) or "").encode("utf-8", "surrogatepass"))
         .hex().upper(), 1, 1),
        ("quote", _quote, 1, 1), ("char", _char, 0, None), ("unicode", _unicode, 1, 1), ("sign", _sign, 1, 1),
        ("max", _extreme(True), 2, None), ("min", _extreme(False), 2, None),
        ("iif", lambda c, a, b: a if truth(c) else b, 3, 3), ("printf", _printf, 0, None),
        ("format", _printf, 0, None), ("zeroblob", _zeroblob, 1, 1), ("like", _like, 2, 3),
        ("glob", lambda pattern, value: glob(value, pattern), 2, 2),
    ]
    specs += MATH_SPECS + DATE_SPECS + JSON_SPECS
    specs += [("unhex", _unhex, 1, 2), ("sqlite_version", lambda: SQLITE_VERSION, 0, 0),
              ("sqlite_source_id", lambda: SOURCE_ID, 0, 0)]
    specs += [(name, _needs_session(name), 0, 0) for name in SESSION]
    specs += [(f"coll_{name}", _collection_aggregate(name), 1, 1)
              for name in ("count", "sum", "avg", "min", "max", "every", "any", "some")]
    table = {name: ScalarFunction(name, _null_for_missing(fn), lo, hi) for name, fn, lo, hi in specs}
    table["typeof"] = ScalarFunction("typeof", type_name, 1, 1)
    return table


SCALARS: dict[str, ScalarFunction] = _table()
AGGREGATES: dict[str, type] = {cls.name: cls for cls in (Count, Sum, Total, Avg, Min, Max, GroupConcat,
                                                          StringAgg, ArrayAgg, Every, AnyTrue, SomeTrue,
                                                          *JSON_AGGREGATES)}


def lookup_scalar(name: str) -> ScalarFunction:
    """The scalar function called name (any case); KeyError if there is none."""
    if name.lower() not in SCALARS:
        raise KeyError(f"no such function: {name}")
    return SCALARS[name.lower()]


def lookup_aggregate(name: str) -> type:
    """The aggregate class called name (any case); KeyError if there is none."""
    if name.lower() not in AGGREGATES:
        raise KeyError(f"no such aggregate function: {name}")
    return AGGREGATES[name.lower()]


def is_aggregate(name: str) -> bool:
    return name.lower() in AGGREGATES


def check_arity(fn: ScalarFunction | type, n: int) -> None:
    """Raise ValueError unless fn (a ScalarFunction or an aggregate class) takes n arguments."""
    lo, hi = fn.min_args, fn.max_args  # type: ignore[union-attr]
    if n < lo or (hi is not None and n > hi):
        expected = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
        raise ValueError(f"wrong number of arguments to function {fn.name}(): expected {expected}, got {n}")


def filtered(factory: Callable[[], Any], distinct: bool) -> Callable[[], Any]:
    """``factory``'s aggregate under ``FILTER (WHERE ...)``: its ``step`` takes first whether
    the row passes, then the aggregate's own arguments, and passes on only the rows that do
    (with DISTINCT, only a first argument it has not had, as the aggregate would)."""
    def make() -> Any:
        return _Filtered(factory(), distinct)
    return make


class _Filtered:
    __slots__ = ("inner", "seen")

    def __init__(self, inner: Any, distinct: bool):
        self.inner = inner
        self.seen: set | None = set() if distinct else None

    def step(self, keep: object, *args: object) -> None:
        if keep is not True:
            return
        if self.seen is not None:
            if not args or args[0] is None:
                return
            marker = hashable(args[0])
            if marker in self.seen:
                return
            self.seen.add(marker)
        self.inner.step(*args)

    def final(self) -> Any:
        return self.inner.final()
