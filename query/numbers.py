"""SQLite's numeric machinery, bit for bit: text<->number conversion, arithmetic, number rendering.

docdb's query language promises the answers Python's stdlib ``sqlite3`` gives (SQLite 3.40 here),
and SQLite's numbers are not Python's: text is read with SQLite's own ``sqlite3AtoF`` (a 64-bit
significand scaled by a power of ten in x87 80-bit ``long double``), and reals are printed with
its own ``printf`` ("%!.15g"), which normalises and extracts digits in ``long double`` too. Python's
correctly rounded ``float()``/``'%.15g'`` differ from both in the last digit for a fraction of a
percent of values (ties such as 6795888217447865.0, and most values above 1e100), so this module
emulates the 80-bit arithmetic exactly with integers (``_LD`` pairs ``(m, e)`` meaning m * 2**e,
rounded to 64 significant bits, ties to even, as the x86-64 build of SQLite does).

It also holds the arithmetic operators (``+ - * / %``, bitwise) because they share the
conversions: an operand that is text or a blob is read as a number by SQLite's rules
(``to_number``), integer overflow falls back to REAL, and division or modulo by zero is NULL.
Anything that is not int/bool/float/str/bytes (None, ``values.MISSING``, dicts, lists) is NULL
here. Integers are assumed to fit in 64 bits, as they always do in SQLite.
May import: the standard library only.
"""

from __future__ import annotations

import math
import operator
import re
import struct
from functools import cache

__all__ = [
    "I64_MIN", "I64_MAX", "atof", "atoi64", "to_number", "numeric_affinity", "real_value", "int_value",
    "render_real", "real_to_text", "add", "sub", "mul", "div", "mod", "neg",
    "bit_and", "bit_or", "lshift", "rshift", "bit_not",
]

I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1
_SIG_LIMIT = (I64_MAX - 9) // 10  # sqlite3AtoF stops collecting significand digits here
_SPACES = " \t\n\v\f\r"  # sqlite3Isspace: ASCII whitespace only

# --- x87 80-bit long double, emulated exactly --------------------------------------------------
_LD = tuple[int, int]


def _round_shift(a: int, shift: int, sticky: bool = False) -> int:
    """``a >> shift`` (a >= 0, shift >= 1) rounded to nearest, ties to even."""
    q = a >> shift
    rem = a - (q << shift)
    half = 1 << (shift - 1)
    if rem > half or (rem == half and (sticky or q & 1)):
        q += 1
    return q


def _ld(m: int, e: int, sticky: bool = False) -> _LD:
    a = -m if m < 0 else m
    extra = a.bit_length() - 64
    if extra > 0:
        a = _round_shift(a, extra, sticky)
        e += extra
    return (-a if m < 0 else a), e


def _ldf(x: float) -> _LD:
    n, d = x.as_integer_ratio()
    return n, 1 - d.bit_length()


def _mul(x: _LD, y: _LD) -> _LD:
    return _ld(x[0] * y[0], x[1] + y[1])


def _div(x: _LD, y: _LD) -> _LD:
    a, b = abs(x[0]), abs(y[0])
    k = max(0, 66 + b.bit_length() - a.bit_length())
    q, r = divmod(a << k, b)
    return _ld(q if (x[0] < 0) == (y[0] < 0) else -q, x[1] - y[1] - k, r != 0)


def _align(x: _LD, y: _LD) -> tuple[int, int, int]:
    if x[1] <= y[1]:
        return x[0], y[0] << (y[1] - x[1]), x[1]
    return x[0] << (x[1] - y[1]), y[0], y[1]


def _add(x: _LD, y: _LD) -> _LD:
    a, b, e = _align(x, y)
    return _ld(a + b, e)


def _ge(x: _LD, y: _LD) -> bool:
    a, b, _ = _align(x, y)
    return a >= b


def _to_double(x: _LD) -> float:
    m, e = x
    if m == 0:
        return 0.0
    a = abs(m)
    qe = max(a.bit_length() - 53 + e, -1074)
    a = _round_shift(a, qe - e) if qe > e else a << (e - qe)
    try:
        r = math.ldexp(a, qe)
    except OverflowError:
        r = math.inf
    return -r if m < 0 else r


@cache
def _pow10(n: int) -> _LD:
    """sqlite3Pow10: 10**n by repeated squaring in long double."""
    x, r = (10, 0), (1, 0)
    while True:
        if n & 1:
            r = _mul(r, x)
        n >>= 1
        if n == 0:
            return r
        x = _mul(x, x)


# --- text -> number ---------------------------------------------------------------------------
_FLOAT_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]*)(\.([0-9]*))?([eE]([+-]?)([0-9]*))?[ \t\n\v\f\r]*")
_INT_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?)(0*)([0-9]*)")


def _text(z: str | bytes) -> str:
    return z.decode("latin-1") if isinstance(z, bytes) else z


def atof(z: str | bytes) -> tuple[float, int]:
    """sqlite3AtoF: (value of the longest numeric prefix, rc).

    rc is 1 for a pure integer, 2 or 3 for a real with '.' and/or an exponent, 0 when the text
    is not a number, -1 when only a prefix with '.' or an exponent is one.
    """
    z = _text(z)
    m = _FLOAT_RE.match(z)
    sign, ip, dot, fp, ech, esg, ed = m.groups()
    fp = fp or ""
    ndigit = len(ip) + len(fp)
    if ndigit <= 18:
        s, d = (int(ip + fp) if ndigit else 0), -len(fp)
    else:
        s = d = 0
        for i, ch in enumerate(ip):
            s = s * 10 + ord(ch) - 48
            if s >= _SIG_LIMIT:
                d = len(ip) - i - 1
                break
        for ch in fp:
            if s >= _SIG_LIMIT:
                break
            s, d = s * 10 + ord(ch) - 48, d - 1
    e = 0
    for ch in ed or "":
        if e >= 10000:
            e = 10000
            break
        e = e * 10 + ord(ch) - 48
    etype = 1 + (dot is not None) + (ech is not None)
    evalid = ech is None or bool(ed)
    if m.end() == len(z) and ndigit and evalid:
        rc = etype
    elif etype >= 2 and (etype == 3 or evalid) and ndigit:
        rc = -1
    else:
        rc = 0
    return _atof_value(sign == "-", s, (-e if esg == "-" else e) + d), rc


def _atof_value(negative: bool, s: int, e: int) -> float:
    if s == 0:
        return -0.0 if negative else 0.0
    while e > 0 and s < I64_MAX // 10:
        s, e = s * 10, e - 1
    while e < 0 and s % 10 == 0:
        s, e = s // 10, e + 1
    if negative:
        s = -s
    if e == 0:
        return float(s)
    n = abs(e)
    if n >= 342:
        return (0.0 * s) if e < 0 else math.copysign(math.inf, s)
    if n > 307:
        r = _to_double(_div((s, 0), _pow10(n - 308)) if e < 0 else _mul((s, 0), _pow10(n - 308)))
        return r / 1.0e308 if e < 0 else r * 1.0e308
    return _to_double(_div((s, 0), _pow10(n)) if e < 0 else _mul((s, 0), _pow10(n)))


def atoi64(z: str | bytes) -> tuple[int, int]:
    """sqlite3Atoi64: (value, rc); rc -1 no digits, 0 ok, 1 trailing text, 2 overflow, 3 exactly 2**63."""
    z = _text(z)
    m = _INT_RE.match(z)
    neg, zeros, digits = m.group(1) == "-", m.group(2), m.group(3)
    if not zeros and not digits:
        rc = -1
    elif z[m.end():].strip(_SPACES):
        rc = 1
    else:
        rc = 0
    if len(digits) < 19 or (len(digits) == 19 and digits < "9223372036854775808"):
        v = int(digits or "0")
        return (-v if neg else v), rc
    if len(digits) == 19 and digits == "9223372036854775808":
        return (I64_MIN, rc) if neg else (I64_MAX, 3)
    return (I64_MIN if neg else I64_MAX), 2


def to_number(v: object) -> int | float | None:
    """A value as SQLite's arithmetic sees it; text and blobs by their numeric prefix (or 0)."""
    t = type(v)
    if t is int or t is float or t is bool:
        return int(v) if t is bool else v  # type: ignore[return-value, call-overload]
    if t is not str and t is not bytes:
        return None
    r, rc = atof(v)  # type: ignore[arg-type]
    if rc == 0 or rc == 1:
        i, irc = atoi64(v)  # type: ignore[arg-type]
        if irc <= (1 if rc == 0 else 0):
            return i
    return r


def numeric_affinity(v: str | bytes) -> int | float | None:
    """applyNumericAffinity: the number a well-formed numeric text is, else None (stays text)."""
    r, rc = atof(v)
    if rc <= 0:
        return None
    if rc == 1:
        i = _double_to_int64(r)
        if r == 0.0 or (float(i) == r and -(1 << 51) <= i < (1 << 51)):
            return i
        i, irc = atoi64(v)
        if irc == 0:
            return i
    return r


def _double_to_int64(r: float) -> int:
    if r <= -9223372036854775808.0:
        return I64_MIN
    if r >= 9223372036854775807.0:
        return I64_MAX
    return int(r) if r == r else I64_MIN


def real_value(v: object) -> float | None:
    """sqlite3_value_double; None for NULL-like values."""
    t = type(v)
    if t is float or t is int or t is bool:
        return float(v)  # type: ignore[arg-type]
    return atof(v)[0] if t is str or t is bytes else None  # type: ignore[arg-type]


def int_value(v: object) -> int | None:
    """sqlite3_value_int64: reals truncate and saturate, text reads its integer prefix."""
    t = type(v)
    if t is int or t is bool:
        return int(v)  # type: ignore[call-overload]
    if t is float:
        return _double_to_int64(v)  # type: ignore[arg-type]
    return atoi64(v)[0] if t is str or t is bytes else None  # type: ignore[arg-type]


# --- number -> text (SQLite's printf for %f %e %g) -----------------------------------------------
_AR_ROUND = (5.0e-01, 5.0e-02, 5.0e-03, 5.0e-04, 5.0e-05, 5.0e-06, 5.0e-07, 5.0e-08, 5.0e-09, 5.0e-10)
_ONE, _TEN, _E8, _E10, _E100 = (1, 0), (10, 0), _ldf(1e8), _ldf(1e10), _ldf(1e100)
_EM8, _TENTH, _3EM16 = _ldf(1e-8), _ldf(0.1), _ldf(3e-16)


def render_real(r: float, conv: str, precision: int, sign: str = "", alt: bool = False,
                alt2: bool = False) -> str:
    """SQLite's rendering of a real for %f, %e/%E and %g/%G (no width), e.g. ("g", 15, alt2) for text."""
    if precision < 0:
        precision = 6
    if r != r:
        return "NaN"
    if r < 0:
        r, sign = -r, "-"
    if r == math.inf:
        return sign + "Inf"
    xtype = {"f": "f", "e": "e", "E": "e", "g": "g", "G": "g"}[conv]
    if xtype == "g" and precision > 0:
        precision -= 1
    rounder = _AR_ROUND[(precision & 0xFFF) % 10]
    for _ in range((precision & 0xFFF) // 10):
        rounder *= 1.0e-10
    val = _ldf(r)
    if xtype == "f":
        ex = ((struct.unpack("<Q", struct.pack("<d", r))[0] >> 52) & 0x7FF) - 1023
        if precision + int(ex / 3) < 15:
            rounder = _to_double(_add(_ldf(rounder), _mul(val, _3EM16)))
        val = _add(val, _ldf(rounder))
    exp = 0
    if val[0] > 0:
        scale = _ONE
        for step, n in ((_E100, 100), (_E10, 10), (_TEN, 1)):
            while _ge(val, _mul(step, scale)) and exp <= 350:
                scale, exp = _mul(scale, step), exp + n
        val = _div(val, scale)
        while not _ge(val, _EM8):
            val, exp = _mul(val, _E8), exp - 8
        while not _ge(val, _ONE):
            val, exp = _mul(val, _TEN), exp - 1
        if exp > 350:
            return sign + "Inf"
    if xtype != "f":
        val = _add(val, _ldf(rounder))
        if _ge(val, _TEN):
            val, exp = _mul(val, _TENTH), exp + 1
    if xtype == "g":
        rtz = not alt
        if exp < -4 or exp > precision:
            xtype = "e"
        else:
            precision, xtype = precision - exp, "f"
    else:
        rtz = alt2
    e2 = 0 if xtype == "e" else exp
    nsd = 16 + 10 * alt2
    out = [sign]

    def digit() -> str:
        nonlocal val, nsd
        if nsd <= 0:
            return "0"
        nsd -= 1
        m, e = val
        dg = m >> -e if e < 0 else m << e
        val = _mul(_add(val, (-dg, 0)), _TEN)
        return chr(48 + dg)

    def digits(n: int) -> str:
        k = max(min(n, nsd), 0)
        return "".join(digit() for _ in range(k)) + "0" * (n - k)

    out.append("0" if e2 < 0 else digits(e2 + 1))
    dp = precision > 0 or alt or alt2
    if dp:
        out.append(".")
    if e2 + 1 < 0:
        out.append("0" * -(e2 + 1))
        precision += e2 + 1
    out.append(digits(precision))
    text = "".join(out)
    if rtz and dp:
        text = text.rstrip("0")
        if text.endswith("."):
            text = text + "0" if alt2 else text[:-1]
    if xtype == "e":
        a = abs(exp)
        text += ("e" if conv in "eg" else "E") + ("-" if exp < 0 else "+") + f"{a:02d}"
    return text


def real_to_text(r: float) -> str:
    """A REAL as SQLite's CAST(r AS TEXT) writes it ("%!.15g": 1.0, 0.1, 1.0e+20, Inf).

    Fast path: away from a rounding tie at the 15th digit (and from the extremes, where the
    long double normalisation strays), SQLite's digits are the correctly rounded ones.
    """
    a = -r if r < 0 else r
    if not 1e-300 < a < 1e100 or "490" <= f"{a:.17e}"[16:19] <= "510":
        return render_real(r, "g", 15, alt2=True)
    t = f"{a:.14e}"
    digits, exp, sign = t[0] + t[2:16], int(t[17:]), "-" if r < 0 else ""
    if exp < -4 or exp > 14:
        return f"{sign}{digits[0]}.{digits[1:].rstrip('0') or '0'}e{'-+'[exp >= 0]}{abs(exp):02d}"
    if exp >= 0:
        return f"{sign}{digits[: exp + 1]}.{digits[exp + 1:].rstrip('0') or '0'}"
    return f"{sign}0.{('0' * (-exp - 1) + digits).rstrip('0')}"


# --- arithmetic ----------------------------------------------------------------------------------
_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _c_rem(b: int, a: int) -> int:
    r = abs(b) % abs(a)
    return -r if b < 0 else r


def _arith(op: str, x: object, y: object) -> int | float | None:
    """OP_Add & co: integer arithmetic when both sides are integers and it fits, else REAL."""
    nx, ny = x, y
    if type(x) not in (int, bool) or type(y) not in (int, bool):
        nx, ny = to_number(x), to_number(y)
        if nx is None or ny is None:
            return None
    if type(nx) is not float and type(ny) is not float:
        if op in "+-*":
            r = _OPS[op](nx, ny)
            if I64_MIN <= r <= I64_MAX:
                return int(r)
        elif ny == 0:
            return None
        elif op == "%":
            return _c_rem(int(nx), 1 if ny == -1 else int(ny))  # type: ignore[arg-type]
        elif ny != -1 or nx != I64_MIN:
            q = abs(nx) // abs(ny)  # type: ignore[arg-type]
            return q if (nx < 0) == (ny < 0) else -q  # type: ignore[operator]
    if op == "%":
        ix, iy = int_value(x), int_value(y)
        r = None if iy == 0 else float(_c_rem(ix, 1 if iy == -1 else iy))  # type: ignore[arg-type]
    else:
        rx, ry = real_value(x), real_value(y)
        r = None if op == "/" and ry == 0.0 else _OPS[op](rx, ry)
    return None if r is None or r != r else r


def add(a: object, b: object) -> int | float | None:
    return _arith("+", a, b)


def sub(a: object, b: object) -> int | float | None:
    return _arith("-", a, b)


def mul(a: object, b: object) -> int | float | None:
    return _arith("*", a, b)


def div(a: object, b: object) -> int | float | None:
    """a / b: integers divide truncating toward zero; division by zero is NULL."""
    return _arith("/", a, b)


def mod(a: object, b: object) -> int | float | None:
    """a % b: always on integers (reals are truncated first), REAL if an operand was; % 0 is NULL."""
    return _arith("%", a, b)


def neg(a: object) -> int | float | None:
    """Unary minus, which SQLite computes as 0 - a (so -(0.0) is 0.0 and -'abc' is 0)."""
    return _arith("-", 0, a)


def _bits(op: str, a: object, b: object) -> int | None:
    x, n = int_value(a), int_value(b)
    if x is None or n is None:
        return None
    if op == "&":
        return x & n
    if op == "|":
        return x | n
    left = op == "<<"
    if n < 0:
        left, n = not left, (-n if n > -64 else 64)
    if n >= 64:
        return 0 if (x >= 0 or left) else -1
    return (((x << n) + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63) if left else x >> n


def bit_and(a: object, b: object) -> int | None:
    return _bits("&", a, b)


def bit_or(a: object, b: object) -> int | None:
    return _bits("|", a, b)


def lshift(a: object, b: object) -> int | None:
    """a << b on 64-bit integers; a negative b shifts the other way."""
    return _bits("<<", a, b)


def rshift(a: object, b: object) -> int | None:
    return _bits(">>", a, b)


def bit_not(a: object) -> int | None:
    x = int_value(a)
    return None if x is None else ~x
