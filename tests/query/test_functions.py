"""query.functions against stdlib sqlite3: every scalar function, printf, and the aggregates.

The differential tests call the same function in sqlite3 with the same values bound as parameters
and compare exactly (same type, same value, same sign of zero). Aggregates run over a temporary
table in sqlite3 and over ``step``/``final`` here. Where sqlite3 fails (its "integer overflow"),
docdb must raise too. Text with a NUL or a lone surrogate is not generated (see test_values).
"""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from query import functions
from query.functions import (
    AGGREGATES,
    SCALARS,
    ScalarFunction,
    check_arity,
    is_aggregate,
    lookup_aggregate,
    lookup_scalar,
)
from query.values import MISSING
from tests.query.test_values import I64_MAX, I64_MIN, SETTINGS, floats, ints, same, scalars, texts

counts = st.one_of(st.none(), st.integers(-8, 40),
                   st.sampled_from([(1 << 32) + 1, -(1 << 31), I64_MAX, 2.7, "2", "-1x", b"3", 1e20]))


@pytest.fixture(scope="module")
def db():
    con = sqlite3.connect(":memory:")
    yield con
    con.close()


def run_sqlite(con: sqlite3.Connection, query: str, args: tuple) -> tuple[str, object]:
    try:
        return "ok", con.execute(query, args).fetchone()[0]
    except (sqlite3.OperationalError, sqlite3.DataError) as e:
        if "decode" in str(e):  # the answer is not UTF-8: not comparable (see test_values)
            assume(False)
        return "error", str(e)


def run_docdb(fn, args: tuple) -> tuple[str, object]:
    try:
        return "ok", fn(*args)
    except (OverflowError, ValueError) as e:
        return "error", str(e)


def check_call(con: sqlite3.Connection, name: str, *args: object) -> None:
    expected = run_sqlite(con, f"SELECT {name}({', '.join('?' * len(args))})", args)
    actual = run_docdb(lookup_scalar(name).fn, args)
    assert expected[0] == actual[0], (name, args, expected, actual)
    if expected[0] == "ok":
        assert same(expected[1], actual[1]), (name, args, expected, actual)


# --- differential: scalar functions ----------------------------------------------------------------
ONE_ARG = ["abs", "length", "lower", "upper", "trim", "ltrim", "rtrim", "typeof", "hex", "quote", "unicode",
           "sign", "round"]


@SETTINGS
@given(scalars)
def test_one_argument_functions_match_sqlite(db, a):
    for name in ONE_ARG:
        check_call(db, name, a)


@SETTINGS
@given(scalars, scalars, scalars)
def test_multi_argument_functions_match_sqlite(db, a, b, c):
    for name, args in [("trim", (a, b)), ("ltrim", (a, b)), ("rtrim", (a, b)), ("replace", (a, b, c)),
                       ("instr", (a, b)), ("coalesce", (a, b)), ("coalesce", (a, b, c)), ("ifnull", (a, b)),
                       ("nullif", (a, b)), ("max", (a, b)), ("max", (a, b, c)), ("min", (a, b)),
                       ("min", (a, b, c)), ("iif", (a, b, c)), ("like", (a, b)), ("glob", (a, b)),
                       ("substr", (a, b)), ("substr", (a, b, c)), ("round", (a, b))]:
        check_call(db, name, *args)


@SETTINGS
@given(texts | scalars, counts, counts)
def test_substr_round_and_zeroblob_match_sqlite(db, x, start, length):
    check_call(db, "zeroblob", start)
    check_call(db, "substr", x, start)
    check_call(db, "substr", x, start, length)
    check_call(db, "substring", x, start, length)
    check_call(db, "round", x, start)


@SETTINGS
@given(st.one_of(floats, st.floats(-1e6, 1e6), st.floats(-1, 1)), st.integers(-1, 32))
def test_round_matches_sqlite(db, x, digits):
    check_call(db, "round", x)
    check_call(db, "round", x, digits)


@SETTINGS
@given(st.lists(st.one_of(st.none(), st.integers(-5, 0x10FFFF + 5), st.sampled_from([65.9, "66", 0x1F600])),
                max_size=4).filter(lambda xs: not any(type(x) is int and 0xD800 <= x <= 0xDFFF for x in xs)))
def test_char_matches_sqlite(db, codes):
    check_call(db, "char", *codes)


@SETTINGS
@given(st.text(alphabet="aAbB_%\\xé*?[]^-", max_size=6) | scalars, st.text(alphabet="aAbB_xé-", max_size=6)
       | scalars, st.sampled_from(["\\", "x", "%", None, "ab", ""]))
def test_like_function_with_escape_matches_sqlite(db, pattern, value, escape):
    check_call(db, "like", pattern, value, escape)


# --- differential: printf --------------------------------------------------------------------------
@st.composite
def printf_formats(draw) -> str:
    parts = [draw(st.sampled_from(["", "ab ", "x", "é"]))]
    for _ in range(draw(st.integers(0, 3))):
        flags = "".join(draw(st.lists(st.sampled_from("-+ #!0,"), max_size=2)))
        width = draw(st.sampled_from(["", "", "5", "12", "*", "1", "25"]))
        precision = draw(st.sampled_from(["", "", ".2", ".0", ".*", ".", ".10", ".17", ".25"]))
        length = draw(st.sampled_from(["", "", "l", "ll"]))
        conv = draw(st.sampled_from("diuxXopfeEgGszcqQwrn%TSy"))
        parts.append("%" + flags + width + precision + length + conv + draw(st.sampled_from(["", " ", "|"])))
    return "".join(parts) + draw(st.sampled_from(["", "%", "z"]))


printf_args = st.one_of(scalars, st.integers(-60, 60), st.sampled_from(["héllo", "it's", 0.1, 1e300, -0.0]))


@SETTINGS
@given(printf_formats(), st.lists(printf_args, max_size=6))
def test_printf_matches_sqlite(db, fmt, args):
    check_call(db, "printf", fmt, *args)
    check_call(db, "format", fmt, *args)


@pytest.mark.parametrize("fmt, args", [
    ("%d|%5d|%-5d|%05d|%+d|% d|%,d", (42, 42, 42, -42, 42, 42, 1234567)),
    ("%x %X %o %#x %#o %p", (255, 255, 8, 255, 8, 255)),
    ("%.2f|%10.3f|%-8.1f|%f", (3.14159, -2.5, 2.25, 1e20)),
    ("%e %g %G %#g %!.20e", (12345.678, 0.0001, 1e-10, 1.0, 0.1)),
    ("%s|%10s|%-4s|%.2s|%!.2s", ("é", "ab", "x", "éa", "éa")),
    ("%q %Q %Q %w", ("it's", "x", None, 'a"b')), ("%c%5c%.3c %r %r %r", ("xyz", "q", "z", 1, 22, 13)),
    ("100%% %", ()), ("%s %d %f", ()), ("", ()), ("%y", ()), ("ab%y", ()), ("%s", ("",)), ("%n", ()),
    ("%.5000f", (0.0,)), ("%.4100f", (1.5,)), ("%f %05f", (float("inf"), float("-inf"))),
])
def test_printf_examples_match_sqlite(db, fmt, args):
    check_call(db, "printf", fmt, *args)


# --- differential: aggregates ------------------------------------------------------------------------
agg_values = st.one_of(scalars, st.sampled_from([I64_MAX, I64_MIN, 1 << 62, "3", "4abc", b"5", 2.5, -0.0]))


@SETTINGS
@given(st.lists(st.tuples(agg_values, st.sampled_from([None, ",", "-", "", 7])), max_size=10))
def test_aggregates_match_sqlite(db, rows):
    db.execute("CREATE TEMP TABLE IF NOT EXISTS agg(x, sep)")
    db.execute("DELETE FROM agg")
    db.executemany("INSERT INTO agg VALUES (?, ?)", rows)
    stored = db.execute("SELECT x, sep FROM agg").fetchall()  # bools come back as integers
    calls = [("count(x)", "count", False), ("sum(x)", "sum", False), ("total(x)", "total", False),
             ("avg(x)", "avg", False), ("min(x)", "min", False), ("max(x)", "max", False),
             ("group_concat(x)", "group_concat", False), ("group_concat(x, sep)", "group_concat", True)]
    for call, name, with_sep in calls:
        expected = run_sqlite(db, f"SELECT {call} FROM agg", ())
        aggregate = lookup_aggregate(name)()
        for x, sep in stored:
            if with_sep:
                aggregate.step(x, sep)
            else:
                aggregate.step(x)
        actual = run_docdb(aggregate.final, ())
        assert expected[0] == actual[0], (call, stored, expected, actual)
        if expected[0] == "ok":
            assert same(expected[1], actual[1]), (call, stored, expected, actual)
    counter = lookup_aggregate("count")()
    for _ in stored:
        counter.step()
    assert counter.final() == run_sqlite(db, "SELECT count(*) FROM agg", ())[1]


@SETTINGS
@given(st.lists(st.one_of(ints, st.sampled_from([I64_MAX, I64_MIN, 1, -1])), max_size=6))
def test_integer_sum_and_overflow_match_sqlite(db, xs):
    db.execute("CREATE TEMP TABLE IF NOT EXISTS ints(x)")
    db.execute("DELETE FROM ints")
    db.executemany("INSERT INTO ints VALUES (?)", [(x,) for x in xs])
    for name in ("sum", "total", "avg"):
        expected = run_sqlite(db, f"SELECT {name}(x) FROM ints", ())
        aggregate = lookup_aggregate(name)()
        for x in xs:
            aggregate.step(x)
        actual = run_docdb(aggregate.final, ())
        assert expected[0] == actual[0], (name, xs, expected, actual)
        assert expected[0] == "error" or same(expected[1], actual[1]), (name, xs, expected, actual)


# --- unit tests ----------------------------------------------------------------------------------------
def test_registry_shapes():
    for name, function in SCALARS.items():
        assert isinstance(function, ScalarFunction) and function.name == name
        assert function.max_args is None or function.max_args >= function.min_args
    for name in ("abs", "length", "lower", "upper", "substr", "substring", "trim", "ltrim", "rtrim",
                 "replace", "instr", "round", "coalesce", "ifnull", "nullif", "typeof", "hex", "quote",
                 "char", "unicode", "sign", "max", "min", "iif", "printf", "format", "zeroblob", "like",
                 "glob"):
        assert lookup_scalar(name.upper()).name == name
    assert set(AGGREGATES) == {"count", "sum", "total", "avg", "min", "max", "group_concat", "string_agg",
                               "array_agg", "every", "any", "some", "json_group_array", "json_group_object"}
    assert is_aggregate("COUNT") and is_aggregate("max") and not is_aggregate("abs")
    assert lookup_aggregate("Sum") is functions.Sum


def test_unknown_names_raise_key_error():
    with pytest.raises(KeyError, match="no such function: frobnicate"):
        lookup_scalar("frobnicate")
    with pytest.raises(KeyError, match="no such aggregate function: abs"):
        lookup_aggregate("abs")


def test_check_arity():
    check_arity(lookup_scalar("substr"), 2)
    check_arity(lookup_scalar("coalesce"), 9)
    check_arity(lookup_aggregate("count"), 0)
    with pytest.raises(ValueError, match=r"substr\(\): expected 2 to 3, got 4"):
        check_arity(lookup_scalar("substr"), 4)
    with pytest.raises(ValueError, match=r"coalesce\(\): expected at least 2, got 1"):
        check_arity(lookup_scalar("coalesce"), 1)
    with pytest.raises(ValueError, match=r"abs\(\): expected 1, got 0"):
        check_arity(lookup_scalar("abs"), 0)
    with pytest.raises(ValueError, match=r"string_agg\(\): expected 2, got 1"):
        check_arity(lookup_aggregate("string_agg"), 1)


def test_overflow_errors():
    with pytest.raises(OverflowError, match="integer overflow"):
        lookup_scalar("abs").fn(I64_MIN)
    assert lookup_scalar("abs").fn(I64_MIN + 1) == I64_MAX and lookup_scalar("abs").fn(-0.0) == 0.0
    total = lookup_aggregate("sum")()
    for x in (I64_MAX, 1, -5):
        total.step(x)
    with pytest.raises(OverflowError, match="integer overflow"):
        total.final()
    real = lookup_aggregate("sum")()
    for x in (0.5, I64_MAX, I64_MAX):
        real.step(x)
    assert real.final() == 0.5 + 2.0 * I64_MAX  # a REAL first: no integer sum, no overflow


def test_missing_arguments_are_null():
    call = {name: f.fn for name, f in SCALARS.items()}
    assert call["coalesce"](MISSING, None, 3) == 3 and call["ifnull"](MISSING, 2) == 2
    assert call["typeof"](MISSING) == "missing" and call["typeof"](None) == "null"
    assert call["length"](MISSING) is None and call["max"](1, MISSING) is None
    assert call["hex"](MISSING) == "" and call["quote"](MISSING) == "NULL"
    counter, values = lookup_aggregate("count")(), lookup_aggregate("array_agg")()
    for x in (1, MISSING, None, "a"):
        counter.step(x)
        values.step(x)
    assert counter.final() == 2 and values.final() == [1, None, None, "a"]


def test_documents_in_functions():
    call = {name: f.fn for name, f in SCALARS.items()}
    doc = {"a": [1, 2]}
    assert call["typeof"](doc) == "object" and call["typeof"]([1]) == "array"
    assert call["abs"](doc) is None and call["round"]([1]) is None and call["sign"](doc) is None
    assert call["length"](doc) == len('{"a":[1,2]}') and call["coalesce"](None, doc) is doc
    assert call["max"]([1], {"x": 1}) == {"x": 1} and call["iif"](doc, 1, 2) == 2
    total = lookup_aggregate("sum")()
    total.step(doc)
    assert total.final() is None


def test_string_agg_and_group_concat():
    joined = lookup_aggregate("string_agg")()
    for x, sep in (("a", "; "), (None, "!"), (2, "; "), (1.5, None)):
        joined.step(x, sep)
    assert joined.final() == "a; 21.5"
    assert lookup_aggregate("group_concat")().final() is None
    empty = lookup_aggregate("group_concat")()
    empty.step("")
    assert empty.final() == ""


def test_scalar_examples():
    call = {name: f.fn for name, f in SCALARS.items()}
    assert call["abs"]("5") == 5.0 and call["hex"](None) == "" and call["quote"](0.1) == "0.1"
    assert call["min"](1, 1.0) == 1.0 and type(call["min"](1, 1.0)) is float
    assert type(call["max"](1, 1.0)) is int
    assert call["round"](2.5) == 3.0 and call["round"](-2.5) == -3.0 and call["round"](1.005, 2) == 1.01
    assert call["substr"]("abcdef", -3, 2) == "de" and call["substr"](b"\x01\x02", 2) == b"\x02"
    assert call["substr"]("abcdef", 2, (1 << 32) + 1) == "b"  # counts are cut to 32 bits, as in SQLite
    assert call["replace"](5, "", "x") == 5 and call["instr"]("abc", "") == 1 and call["unicode"]("") is None
    assert call["sign"](" 12 ") == 1 and call["sign"]("12abc") is None and call["sign"](-0.0) == 0
    assert call["printf"]("%5.2f|%-4d|%x", 3.14159, 7, 255) == " 3.14|7   |ff" and call["printf"]("") is None
    assert call["char"](72, 105) == "Hi" and call["zeroblob"](3) == b"\0\0\0" and call["length"]("a\0b") == 1
    assert call["like"]("a%", "ABC") is True and call["glob"]("a*", "ABC") is False
    assert call["iif"]("0.0", "y", "n") == "n" and call["nullif"](1, 1.0) is None
    assert call["nullif"](1, 2) == 1
    assert call["upper"]("straße é") == "STRAßE é" and call["lower"](b"AB") == "ab"
    with pytest.raises(ValueError, match="string or blob too big"):
        call["zeroblob"](10**10)


def test_every_any_some_ignore_nulls_and_are_null_when_empty():
    for name, values, want in [("every", [1, None, 1], True), ("every", [1, 0], False),
                               ("every", [None], None), ("any", [0, None, 1], True), ("some", [0, 0], False),
                               ("any", [], None)]:
        acc = lookup_aggregate(name)()
        for x in values:
            acc.step(x)
        assert acc.final() is want, (name, values)
