"""query.values and query.numbers against stdlib sqlite3: operators, ordering, CAST, LIKE, number text.

Each differential test binds the same values as parameters of a ``SELECT`` in sqlite3 (parameters have
no column affinity, which is docdb's rule) and compares the answer exactly: same Python type (SQLite
tells 2 from 2.0) and, for reals, the same value and the same sign of zero. Booleans (docdb's BOOLEAN)
are bound as the integers 0/1, as sqlite3 does, and a True answer equals sqlite3's 1.

Not compared, on purpose: text with a NUL or a lone surrogate (sqlite3 cannot bind the latter; NUL
quirks have their own unit tests) and results sqlite3 cannot decode as UTF-8 (a blob that is not UTF-8
turned into text: docdb substitutes U+FFFD where SQLite keeps the bytes).
"""

from __future__ import annotations

import math
import pickle
import random
import sqlite3
import struct

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from query import numbers, values
from query.values import MISSING

I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True)

ints = st.one_of(
    st.integers(-1000, 1000),
    st.integers(I64_MIN, I64_MAX),
    st.integers(I64_MAX - 64, I64_MAX),
    st.integers(I64_MIN, I64_MIN + 64),
    st.sampled_from([0, 1, -1, 2, 7, -7, 63, 64, 65, -64, 1 << 32, 1 << 53, (1 << 53) + 1]),
)
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([0.0, -0.0, 0.1, 0.5, 2.5, -7.5, 1e15, 1e16, 1e20, 1e100, 1e308, -1e308, 5e-324, 1e-10,
                     9.2e18, -9.2e18, 9.223372036854775807e18, 6795888217447865.0, 4503599627370497.0]),
)
numeric_text = st.one_of(
    st.sampled_from(["", " 12", "3.5e2x", "0x10", "12", "-5", " -3.25 ", "1e", "1.5e+", ".5", "5.", "+7",
                     "007", "-0", "-0.0", "abc", "1abc", "9223372036854775807", "9223372036854775808",
                     "-9223372036854775809", "1e400", "-1e400", "  ", "\t8\n", "1e-400"]),
    st.from_regex(r"[ ]?[+-]?[0-9]{0,21}(\.[0-9]{0,21})?([eE][+-]?[0-9]{0,3})?[ ]?[xa]?", fullmatch=True),
)
plain_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=8)
texts = st.one_of(numeric_text, plain_text)
blobs = st.one_of(st.binary(max_size=6), st.sampled_from([b"12", b"3.5", b" 9 ", b"-4x", b"abc"]))
scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts, blobs)


@pytest.fixture(scope="module")
def db():
    con = sqlite3.connect(":memory:")
    yield con
    con.close()


def sql(con: sqlite3.Connection, query: str, *args: object) -> object:
    return con.execute(query, args).fetchone()[0]


def same(expected: object, actual: object) -> bool:
    """sqlite3's answer and ours agree exactly (a bool answer counts as the integer sqlite3 gives)."""
    if type(actual) is bool:
        actual = int(actual)
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, float):
        return expected == actual and math.copysign(1, expected) == math.copysign(1, actual)
    return expected == actual


def check(expected: object, actual: object, *context: object) -> None:
    assert same(expected, actual), (expected, actual, context)


# --- differential: operators ------------------------------------------------------------------------
BINARY = [("+", values.add), ("-", values.sub), ("*", values.mul), ("/", values.div), ("%", values.mod),
          ("&", values.bit_and), ("|", values.bit_or), ("<<", values.lshift), (">>", values.rshift)]


@SETTINGS
@given(scalars, scalars)
def test_arithmetic_matches_sqlite(db, a, b):
    for op, fn in BINARY:
        check(sql(db, f"SELECT ? {op} ?", a, b), fn(a, b), a, op, b)


@SETTINGS
@given(ints | st.sampled_from([I64_MIN, I64_MAX, -1, 0]), ints | st.sampled_from([-1, 0, 1]))
def test_integer_arithmetic_edges_match_sqlite(db, a, b):
    for op, fn in BINARY:
        check(sql(db, f"SELECT ? {op} ?", a, b), fn(a, b), a, op, b)


@SETTINGS
@given(scalars)
def test_unary_operators_match_sqlite(db, a):
    check(sql(db, "SELECT -?", a), values.neg(a), a)
    check(sql(db, "SELECT ~?", a), values.bit_not(a), a)


@SETTINGS
@given(texts | blobs)
def test_to_number_matches_sqlite(db, t):
    # "? * 1" keeps the number SQLite reads from the text, sign of zero included.
    check(sql(db, "SELECT ? * 1", t), values.to_number(t), t)
    check(sql(db, "SELECT CAST(? AS REAL)", t), numbers.atof(t)[0], t)


COMPARISONS = [("=", values.eq), ("<>", values.ne), ("<", values.lt), ("<=", values.le), (">", values.gt),
               (">=", values.ge), ("IS", values.is_), ("IS NOT", values.is_not)]


@SETTINGS
@given(scalars, scalars)
def test_comparisons_match_sqlite(db, a, b):
    for op, fn in COMPARISONS:
        got = fn(a, b)
        assert got is None or type(got) is bool
        check(sql(db, f"SELECT ? {op} ?", a, b), got, a, op, b)


@SETTINGS
@given(scalars, scalars, scalars)
def test_logic_between_and_in_match_sqlite(db, a, b, c):
    check(sql(db, "SELECT CASE WHEN ? THEN 1 WHEN NOT ? THEN 0 END", a, a), values.truth(a), a)
    check(sql(db, "SELECT ? AND ?", a, b), values.and_(a, b), a, b)
    check(sql(db, "SELECT ? OR ?", a, b), values.or_(a, b), a, b)
    check(sql(db, "SELECT NOT ?", a), values.not_(a), a)
    check(sql(db, "SELECT ? BETWEEN ? AND ?", a, b, c), values.between(a, b, c), a, b, c)
    check(sql(db, "SELECT ? IN (?, ?)", a, b, c), values.in_list(a, [b, c]), a, b, c)
    check(sql(db, "SELECT ? IN (?)", a, b), values.in_list(a, (b,)), a, b)


@SETTINGS
@given(st.lists(scalars, max_size=12))
def test_sort_key_gives_sqlite_order_by(db, items):
    db.execute("CREATE TEMP TABLE IF NOT EXISTS sorted_values(v)")
    db.execute("DELETE FROM sorted_values")
    db.executemany("INSERT INTO sorted_values VALUES (?)", [(v,) for v in items])
    ordered = [row[0] for row in db.execute("SELECT v FROM sorted_values ORDER BY v")]
    keys = [values.sort_key(v) for v in ordered]
    assert keys == sorted(keys)  # sqlite3's order is ours (ties, like 1 and 1.0, may come either way)
    assert keys == sorted(values.sort_key(v) for v in items)
    for x, y in zip(ordered, ordered[1:]):
        assert values.compare(x, y) <= 0


CAST_TYPES = ["INTEGER", "INT", "BIGINT", "REAL", "FLOAT", "DOUBLE", "TEXT", "VARCHAR(10)", "CHAR", "BLOB",
              "NUMERIC"]


@SETTINGS
@given(scalars)
def test_cast_matches_sqlite(db, a):
    for type_name in CAST_TYPES:
        try:
            expected = sql(db, f"SELECT CAST(? AS {type_name})", a)
        except sqlite3.OperationalError:  # a blob that is not UTF-8, cast to TEXT
            continue
        check(expected, values.cast(a, type_name), a, type_name)


@SETTINGS
@given(scalars, scalars)
def test_concat_matches_sqlite(db, a, b):
    try:
        expected = sql(db, "SELECT ? || ?", a, b)
    except sqlite3.OperationalError:  # the result is not UTF-8 (see the module docstring)
        assume(False)
    check(expected, values.concat(a, b), a, b)


@SETTINGS
@given(floats | st.floats(allow_nan=False))
def test_real_to_text_matches_sqlite(db, x):
    check(sql(db, "SELECT CAST(? AS TEXT)", x), values.to_text(x), x)
    check(sql(db, "SELECT ? || ''", x), values.to_text(x), x)


def _random_floats(n: int) -> list[float]:
    rnd = random.Random(20240601)
    out: list[float] = []
    while len(out) < n:
        kind = len(out) % 5
        if kind == 0:
            x = struct.unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0]
        elif kind == 1:
            x = rnd.randint(-10**17, 10**17) * 1.0  # integers past 15 digits: rounding ties
        elif kind == 2:
            x = round(rnd.uniform(-1000, 1000), rnd.randint(0, 8))
        elif kind == 3:
            x = rnd.randint(1, 10**6) * 10.0 ** rnd.randint(-320, 300)
        else:
            x = rnd.randint(-10**16, 10**16) / 10 ** rnd.randint(0, 20)
        if not math.isnan(x):
            out.append(x)
    return out


def test_real_to_text_matches_sqlite_on_many_floats(db):
    xs = _random_floats(6000) + [float(i) for i in range(-50, 50)] + [10.0 ** k for k in range(-310, 309)]
    db.execute("CREATE TEMP TABLE IF NOT EXISTS many_floats(x REAL)")
    db.execute("DELETE FROM many_floats")
    db.executemany("INSERT INTO many_floats VALUES (?)", [(x,) for x in xs])
    rows = db.execute("SELECT x, CAST(x AS TEXT), printf('%!.20e', x), printf('%.3f', x) FROM many_floats")
    for x, text, exp20, fixed3 in rows:
        assert numbers.real_to_text(x) == text, x
        assert numbers.render_real(x, "e", 20, alt2=True) == exp20, x
        if abs(x) < 1e30:
            assert numbers.render_real(x, "f", 3) == fixed3, x


def test_text_to_real_matches_sqlite_on_many_strings(db):
    rnd = random.Random(7)
    strings = [numbers.real_to_text(x) for x in _random_floats(2000)]
    strings += [repr(x) for x in _random_floats(2000)]
    strings += [f"{rnd.randint(1, 10**19)}e{rnd.randint(-340, 320)}" for _ in range(1500)]
    strings += ["".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 25))) + "." +
                "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 25))) for _ in range(1500)]
    for s in strings:
        expected = db.execute("SELECT CAST(? AS REAL), ? * 1", (s, s)).fetchone()
        check(expected[0], numbers.atof(s)[0], s)
        check(expected[1], numbers.to_number(s), s)


like_text = st.text(alphabet="aAbB_%xé-", max_size=8)
like_pattern = st.text(alphabet="aAbB_%\\xé*?[]^-", max_size=7)


@SETTINGS
@given(like_text | scalars, like_pattern | scalars, st.sampled_from(["\\", "x", "%", "_", "a", "é"]))
def test_like_and_glob_match_sqlite(db, value, pattern, escape):
    check(sql(db, "SELECT ? LIKE ?", value, pattern), values.like(value, pattern), value, pattern)
    check(sql(db, "SELECT ? GLOB ?", value, pattern), values.glob(value, pattern), value, pattern)
    check(sql(db, "SELECT ? LIKE ? ESCAPE ?", value, pattern, escape), values.like(value, pattern, escape),
          value, pattern, escape)


@SETTINGS
@given(scalars)
def test_typeof_matches_sqlite(db, a):
    assert sql(db, "SELECT typeof(?)", a) == values.type_name(a)


# --- unit tests ---------------------------------------------------------------------------------------
def test_missing_is_a_singleton_that_behaves_like_null():
    assert repr(MISSING) == "MISSING"
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    assert values.is_missing(MISSING) and not values.is_missing(None)
    assert values.type_name(MISSING) == "missing"
    for op in (values.add, values.sub, values.mul, values.div, values.mod, values.bit_and, values.lshift,
               values.concat, values.eq, values.ne, values.lt, values.ge, values.and_):
        assert op(MISSING, 1) == op(None, 1), op
        assert op(1, MISSING) == op(1, None), op
    assert values.neg(MISSING) is None and values.bit_not(MISSING) is None and values.not_(MISSING) is None
    assert values.truth(MISSING) is None and values.to_number(MISSING) is None
    assert values.is_(MISSING, None) and values.is_(MISSING, MISSING) and not values.is_(MISSING, 0)
    assert values.is_not(MISSING, 1) and not values.is_not(None, MISSING)
    assert values.sort_key(MISSING) == values.sort_key(None)
    assert values.like(MISSING, "%") is None and values.glob("a", MISSING) is None
    assert values.cast(MISSING, "INTEGER") is None and values.between(MISSING, 1, 2) is None
    assert values.in_list(MISSING, [1]) is None and values.in_list(1, [MISSING, 1]) is True
    assert values.in_list(2, [MISSING, 1]) is None and values.in_list(MISSING, []) is False
    assert values.or_(MISSING, True) is True and values.and_(MISSING, False) is False


def test_documents_order_after_blobs_lists_before_dicts():
    items = [{"b": 1}, [2], b"\x00", "zz", 10**18, None, [1, "x"], {"a": 2}, [], {}, 2.5, MISSING, True]
    ordered = sorted(items, key=values.sort_key)
    assert ordered[:2] in ([None, MISSING], [MISSING, None])
    assert ordered[2:] == [True, 2.5, 10**18, "zz", b"\x00", [], [1, "x"], [2], {}, {"a": 2}, {"b": 1}]
    assert values.lt(b"\xff", []) and values.lt([9], {}) and values.gt({"a": 1}, [1])
    assert values.eq([1, {"a": None}], [1.0, {"a": None}]) and values.ne({"a": 1}, {"a": 1, "b": 2})
    assert values.compare({"a": 1, "b": 2}, {"b": 2, "a": 1}) == 0
    assert values.eq([1], None) is None and values.is_([1], [1]) and values.is_not([1], None)


def test_documents_are_null_to_truth_and_arithmetic():
    for doc in ({}, {"a": 1}, [], [1]):
        assert values.truth(doc) is None and values.not_(doc) is None
        assert values.add(doc, 1) is None and values.concat(doc, "x") is None
        assert values.like(doc, "%") is None
        assert values.cast(doc, "INTEGER") is None and values.cast(doc, "BOOLEAN") is None
    assert values.cast({"a": [1, "é"]}, "TEXT") == '{"a":[1,"é"]}' == values.to_text({"a": [1, "é"]})
    assert values.cast([1, 2], "STRING") == "[1,2]" and values.type_name([]) == "array"
    assert values.type_name({}) == "object"


def test_type_errors_for_values_that_are_not_sql_values():
    with pytest.raises(TypeError):
        values.eq(object(), 1)
    with pytest.raises(TypeError):
        values.sort_key({1, 2})


def test_booleans_are_integers():
    assert values.add(True, True) == 2 and type(values.add(True, True)) is int
    assert values.eq(True, 1) and values.lt(False, 0.5) and values.type_name(True) == "integer"
    assert values.to_text(True) == "1" and values.concat(False, "x") == "0x"
    assert values.cast(True, "NUMERIC") == 1 and type(values.cast(True, "NUMERIC")) is int


def test_cast_boolean_and_string():
    assert values.cast("TRUE", "BOOLEAN") is True and values.cast(" false ", "boolean") is False
    assert values.cast("1abc", "BOOLEAN") is True and values.cast("abc", "BOOLEAN") is False
    assert values.cast(0.0, "BOOLEAN") is False and values.cast(-2, "BOOL") is True
    assert values.cast(None, "BOOLEAN") is None and values.cast(b"0", "BOOLEAN") is False
    assert values.cast(1.5, "STRING") == "1.5" and values.cast(7, "string") == "7"
    assert values.cast(b"ab", "VARCHAR ( 5 )") == "ab" and values.cast("x", "decimal(10, 2)") == 0


def test_cast_unknown_type_raises_value_error():
    with pytest.raises(ValueError, match="unknown type name in CAST: 'WIDGET'"):
        values.cast(1, "WIDGET")
    with pytest.raises(ValueError):
        values.cast(None, "INTEGER(")  # checked even when the value is NULL


def test_integer_overflow_becomes_real_and_saturates():
    assert values.add(I64_MAX, 1) == 9.223372036854775808e18 and type(values.add(I64_MAX, 1)) is float
    assert values.mul(I64_MIN, -1) == 9.223372036854775808e18 and values.sub(I64_MIN, 1) == -2.0 ** 63
    assert values.div(I64_MIN, -1) == 2.0 ** 63 and values.mod(I64_MIN, -1) == 0
    assert values.neg(I64_MIN) == 2.0 ** 63 and values.neg(I64_MAX) == -I64_MAX
    assert values.div(-7, 2) == -3 and values.mod(-7, 2) == -1 and values.mod(7.5, 2) == 1.0
    assert values.div(1, 0) is None and values.mod(1, 0.5) is None and values.div(1.0, -0.0) is None
    assert values.cast(1e300, "INTEGER") == I64_MAX and values.cast("-99999999999999999999", "INT") == I64_MIN
    assert values.lshift(1, 63) == I64_MIN and values.lshift(1, 64) == 0 and values.rshift(-8, 100) == -1
    assert values.add(1e308, 1e308) == math.inf and values.sub(math.inf, math.inf) is None


def test_text_operands_are_read_by_sqlite_rules():
    assert values.add("3", 4) == 7 and values.add("3.5x", 1) == 4.5 and values.add("abc", 1) == 1
    assert values.to_number("0x10") == 0 and values.to_number("") == 0 and values.to_number(" 12 ") == 12
    assert values.to_number("1e3") == 1000.0 and values.to_number("9223372036854775808") == 2.0 ** 63
    assert values.truth("1abc") is True and values.truth("abc") is False and values.truth("0.0001x") is True
    assert values.truth(b"1") is True and values.truth(None) is None and values.truth(0.0) is False


def test_real_to_text_examples():
    for x, text in [(1.0, "1.0"), (1e20, "1.0e+20"), (0.1, "0.1"), (-0.0, "0.0"), (1e15, "1.0e+15"),
                    (123456789012345.0, "123456789012345.0"), (1e-5, "1.0e-05"), (0.0001, "0.0001"),
                    (math.inf, "Inf"), (-math.inf, "-Inf"), (6795888217447865.0, "6.79588821744787e+15"),
                    (1 / 3, "0.333333333333333"), (2.0 ** 63, "9.22337203685478e+18")]:
        assert values.to_text(x) == text, x


def test_like_escape():
    assert values.like("10%", "10\\%", "\\") is True and values.like("100", "10\\%", "\\") is False
    assert values.like("a_c", "a\\_c", "\\") and not values.like("abc", "a\\_c", "\\")
    assert values.like("a%", "a%%", "%") and not values.like("ab", "a%%", "%")  # ESCAPE '%': '%%' is '%'
    assert values.like("A", "xa", "x")  # an escaped letter still ignores case
    assert values.like("abc", "abc\\", "\\") is False  # a trailing escape never matches
    with pytest.raises(ValueError, match="ESCAPE expression must be a single character"):
        values.like("a", "a", "ab")
    assert values.like(None, "a", "\\") is None and values.like("a", "a", MISSING) is None


def test_like_and_glob_rules():
    assert values.like("ABC", "a_c") and values.like("é", "É") is False  # ASCII folding only
    assert values.like(12, "1%") and values.like(1.5, "1._") and values.like(None, "%") is None
    assert values.like(b"abc", "abc") is False and values.glob("abc", b"abc") is False  # blobs never match
    assert values.glob("abc", "a*") and not values.glob("ABC", "a*") and values.glob("a]c", "a[]]c")
    assert values.glob("b", "[a-c]") and values.glob("-", "[a-]") and not values.glob("b", "[^a-c]")
    assert values.glob("x", "[^]") is False and values.glob("a", "[a") is False  # unterminated set
    assert values.like("a\0b", "a") and values.like("a", "a\0zzz")  # text stops at a NUL, as in C
    assert values.like("", "%") and values.like("", "") and not values.like("", "_")


def test_pathological_like_pattern_is_fast():
    haystack = "a" * 10_000
    assert values.like(haystack, "%a%a%a%a%a%a%a%a%b") is False
    assert values.like(haystack + "b", "%a%a%a%a%a%a%a%a%b") is True
    assert values.like(haystack, "%" + "_" * 5000 + "%b%") is False
    assert values.glob(haystack, "*a*a*a*a*a*a*a*a*b") is False
    assert values.like(haystack, "%%%%%%%%%%%%%%%%%%%%a%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%") is True


def test_in_list_and_between_null_semantics():
    assert values.in_list(1, [2, None]) is None and values.in_list(1, [1, None]) is True
    assert values.in_list(None, []) is False and values.in_list(None, [1]) is None
    assert values.in_list("1", [1]) is False and values.in_list(1, [1.0]) is True
    assert values.between(5, 1, None) is None and values.between(5, 6, None) is False


def test_three_valued_logic_tables():
    tv = [True, False, None]
    for a in tv:
        for b in tv:
            expected_and = False if False in (a, b) else None if None in (a, b) else True
            expected_or = True if True in (a, b) else None if None in (a, b) else False
            assert values.and_(a, b) is expected_and and values.or_(a, b) is expected_or
    assert values.not_(True) is False and values.not_(None) is None and values.and_(2, "1") is True


def test_sort_key_mixes_big_ints_and_floats_exactly():
    assert values.sort_key(2**63 - 1) < values.sort_key(9.223372036854775808e18)
    assert values.sort_key(2**53 + 1) > values.sort_key(float(2**53))
    assert values.compare(2**53 + 1, float(2**53 + 1)) == 1  # the float rounded down to 2**53
    assert values.compare(-0.0, 0) == 0 and values.eq(-0.0, 0) is True
