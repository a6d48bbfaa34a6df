"""SQLite's math functions, and its other value-free scalars (random, likely, soundex...).

The math functions follow SQLite's ``func.c`` (3.35+): an argument that is not a number
after numeric affinity (text '4' is 4, 'x' is not) gives NULL; so does a result C's
libm makes NaN (``sqrt(-1)``, ``acos(2)``, ``mod(x, 0)``); a result beyond a double is
an infinity, as C's overflow gives; the logarithms give NULL for a non-positive
argument or base. ``ceil``, ``floor`` and ``trunc`` hand an integer back unchanged.
``SPECS`` lists them for ``query.functions``' table.
May import: the standard library and ``query.numbers``.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable

from query.numbers import numeric_affinity, real_to_text, real_value

__all__ = ["SPECS"]

_INF = float("inf")


def _number(value: object) -> int | float | None:
    """The value as SQLite's sqlite3_value_numeric_type sees it: a number, or None."""
    if type(value) is bool:
        return int(value)
    if type(value) in (int, float):
        return value  # type: ignore[return-value]
    if type(value) is str:
        converted = numeric_affinity(value)
        return converted if type(converted) in (int, float) else None
    return None


def _real(result: float) -> float | None:
    return None if result != result else result  # NaN is NULL


def _unary(function: Callable[[float], float], overflow: Callable[[float], float] = lambda x: _INF
           ) -> Callable[[object], float | None]:
    def apply(value: object) -> float | None:
        x = _number(value)
        if x is None:
            return None
        try:
            return _real(function(float(x)))
        except ValueError:  # a domain error: C's NaN
            return None
        except OverflowError:
            return overflow(float(x))
    return apply


def _binary(function: Callable[[float, float], float],
            overflow: Callable[[float, float], float] = lambda x, y: _INF
            ) -> Callable[[object, object], float | None]:
    def apply(first: object, second: object) -> float | None:
        x, y = _number(first), _number(second)
        if x is None or y is None:
            return None
        try:
            return _real(function(float(x), float(y)))
        except (ValueError, ZeroDivisionError):
            return None
        except OverflowError:
            return overflow(float(x), float(y))
    return apply


def _rounding(function: Callable[[float], float]) -> Callable[[object], int | float | None]:
    def apply(value: object) -> int | float | None:
        x = _number(value)
        if x is None or type(x) is int:
            return x
        if not math.isfinite(x):
            return x
        result = float(function(x))
        return math.copysign(result, x) if result == 0 else result  # C keeps -0.0: ceil(-0.5)
    return apply


def _logarithm(function: Callable[[float], float]) -> Callable[..., float | None]:
    """As SQLite's logFunc: the first argument must be a positive number; log(B, X)'s X is
    read as sqlite3_value_double reads it (text by its numeric prefix) and must be positive."""
    def apply(first: object, *rest: object) -> float | None:
        x = _number(first)
        if x is None or x <= 0:
            return None
        if not rest:
            return function(float(x))
        base = math.log(x)
        value = real_value(rest[0]) or 0.0
        return None if base <= 0 or value <= 0 else math.log(value) / base
    return apply


def _atanh(x: float) -> float:
    return math.copysign(_INF, x) if abs(x) == 1 else math.atanh(x)


def _pow(x: float, y: float) -> float:
    """C's pow: zero to a negative power is a pole (an infinity), not a domain error."""
    if x == 0 and y < 0:
        odd = y.is_integer() and int(y) % 2 == 1
        return math.copysign(_INF, x) if odd else _INF
    return math.pow(x, y)


def _pow_overflow(x: float, y: float) -> float:
    negative = x < 0 and y.is_integer() and int(y) % 2 == 1
    return -_INF if negative else _INF


def _random() -> int:
    return random.getrandbits(64) - (1 << 63)


def _randomblob(n: object) -> bytes:
    count = _number(n)
    return os.urandom(max(int(count) if count is not None else 1, 1))


_SOUNDEX_CODES = {c: str(d) for d, letters in enumerate(
    ["AEIOUYHW", "BFPV", "CGJKQSXZ", "DT", "L", "MN", "R"]) for c in letters}


def _soundex(value: object) -> str:
    """SQLite's soundex(): the first letter and three digits; '?000' without a letter."""
    if type(value) is bytes:
        value = value.decode("utf-8", "replace")
    elif type(value) is float:
        value = real_to_text(value)  # as SQLite renders a REAL
    elif type(value) is bool:
        value = int(value)
    text = "" if value is None else str(value).upper()
    letters = [c for c in text if "A" <= c <= "Z"]
    if not letters:
        return "?000"
    code, last = letters[0], _SOUNDEX_CODES[letters[0]]
    for c in letters[1:]:
        digit = _SOUNDEX_CODES[c]
        if digit != "0" and digit != last:
            code += digit
            if len(code) == 4:
                break
        if c not in "HW":
            last = digit
    return (code + "000")[:4]


def _likelihood(value: object, probability: object) -> object:
    """likelihood(X, P): X, with P a probability (a REAL from 0.0 to 1.0), as SQLite demands."""
    if not isinstance(probability, float) or not 0.0 <= probability <= 1.0:
        raise ValueError("second argument to likelihood() must be a constant between 0.0 and 1.0")
    return value


SPECS: list[tuple[str, Callable[..., object], int, int | None]] = [
    *((name, _unary(fn), 1, 1) for name, fn in (
        ("acos", math.acos), ("asin", math.asin), ("atan", math.atan), ("acosh", math.acosh),
        ("asinh", math.asinh), ("atanh", _atanh), ("cos", math.cos), ("sin", math.sin), ("tan", math.tan),
        ("cosh", math.cosh), ("sqrt", math.sqrt), ("degrees", math.degrees), ("radians", math.radians))),
    ("sinh", _unary(math.sinh, lambda x: math.copysign(_INF, x)), 1, 1),
    ("tanh", _unary(math.tanh), 1, 1),
    ("exp", _unary(math.exp), 1, 1),
    ("ln", _logarithm(math.log), 1, 1), ("log10", _logarithm(math.log10), 1, 1),
    ("log2", _logarithm(math.log2), 1, 1), ("log", _logarithm(math.log10), 1, 2),
    ("pow", _binary(_pow, _pow_overflow), 2, 2), ("power", _binary(_pow, _pow_overflow), 2, 2),
    ("mod", _binary(math.fmod), 2, 2), ("atan2", _binary(math.atan2), 2, 2),
    ("ceil", _rounding(math.ceil), 1, 1), ("ceiling", _rounding(math.ceil), 1, 1),
    ("floor", _rounding(math.floor), 1, 1), ("trunc", _rounding(math.trunc), 1, 1),
    ("pi", lambda: math.pi, 0, 0),
    ("random", _random, 0, 0), ("randomblob", _randomblob, 1, 1),
    ("likely", lambda x: x, 1, 1), ("unlikely", lambda x: x, 1, 1), ("likelihood", _likelihood, 2, 2),
    ("soundex", _soundex, 1, 1),
]
