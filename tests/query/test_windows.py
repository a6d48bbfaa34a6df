"""Window functions agree with sqlite3: random rows (numbers, NULLs, ties), random windows --
partitions, orderings, ROWS/RANGE/GROUPS frames with offsets and EXCLUDE -- and every
ranking, value and aggregate function; over tables and over collections; errors as SQLite's."""

from __future__ import annotations

import math
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import docdb
from tests.query.sqlite_peer import both

ROWS = st.lists(st.tuples(st.sampled_from([1, 2, 3, None]),
                          st.one_of(st.integers(-5, 5), st.none(), st.sampled_from([0.5, 2.5])),
                          st.integers(-20, 20)), max_size=14)

FUNCTIONS = ["row_number()", "rank()", "dense_rank()", "percent_rank()", "cume_dist()",
             "ntile(3)", "ntile(1)", "lag(c)", "lag(c, 2, -1)", "lead(c)", "lead(b, 1, 'none')",
             "first_value(c)",
             "last_value(b)", "nth_value(c, 2)", "sum(c)", "count(*)", "count(b)", "avg(b)", "min(c)",
             "max(b)", "total(c)", "group_concat(c)", "sum(c) FILTER (WHERE c > 0)",
             "count(*) FILTER (WHERE b IS NULL)"]
BOUNDS_START = ["UNBOUNDED PRECEDING", "1 PRECEDING", "2 PRECEDING", "CURRENT ROW", "1 FOLLOWING"]
BOUNDS_END = ["UNBOUNDED FOLLOWING", "1 FOLLOWING", "0 FOLLOWING", "CURRENT ROW", "1 PRECEDING",
              "3 FOLLOWING"]
ORDER = ["b", "b DESC", "c", "b, c", "b NULLS LAST", "c DESC, b"]
RANK = ["row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead"]


@st.composite
def windows(draw):
    partition = draw(st.sampled_from(["", "PARTITION BY a ", "PARTITION BY a, b "]))
    order = draw(st.sampled_from(["", *ORDER]))
    text = partition + (f"ORDER BY {order} " if order else "")
    if draw(st.booleans()):
        unit = draw(st.sampled_from(["ROWS", "GROUPS", "RANGE"]))
        start, end = draw(st.sampled_from(BOUNDS_START)), draw(st.sampled_from(BOUNDS_END))
        if unit == "RANGE" and (order not in ("b", "b DESC", "c", "b NULLS LAST")):
            start, end = "UNBOUNDED PRECEDING", "CURRENT ROW"
        exclude = draw(st.sampled_from(["", " EXCLUDE CURRENT ROW", " EXCLUDE GROUP", " EXCLUDE TIES",
                                        " EXCLUDE NO OTHERS"]))
        text += f"{unit} BETWEEN {start} AND {end}{exclude}"
    return text


def _same(mine, theirs):
    if isinstance(mine, float) and isinstance(theirs, float):
        return math.isclose(mine, theirs, rel_tol=1e-9)
    return type(mine) is type(theirs) and mine == theirs


def _both(rows):
    return both("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b REAL, c INTEGER)",
                rows=("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", rows))


def _outcome(conn, sql):
    try:
        return "rows", conn.execute(sql).fetchall()
    except (docdb.Error, sqlite3.Error):
        return "error", None


@settings(max_examples=300, deadline=None)
@given(rows=ROWS, function=st.sampled_from(FUNCTIONS), window=windows())
def test_window_functions_agree_with_sqlite3(rows, function, window):
    mine, peer = _both(rows)
    sql = f"SELECT id, {function} OVER ({window}) FROM t ORDER BY id"
    got, want = _outcome(mine, sql), _outcome(peer, sql)
    assert got[0] == want[0], (sql, rows, got, want)
    if got[0] == "rows":
        assert len(got[1]) == len(want[1])
        for g, w in zip(got[1], want[1]):
            assert all(_same(x, y) for x, y in zip(g, w)), (sql, rows, got[1], want[1])


@settings(max_examples=100, deadline=None)
@given(rows=ROWS, order=st.sampled_from(ORDER))
def test_windows_over_groups_agree_with_sqlite3(rows, order):
    mine, peer = _both(rows)
    order = order.replace("b", "sum(b)").replace("c", "count(*)")
    sql = (f"SELECT a, count(*), sum(count(*)) OVER (ORDER BY a), rank() OVER (ORDER BY {order}), "
           f"sum(sum(c)) OVER w FROM t GROUP BY a "
           f"WINDOW w AS (ORDER BY {order}, a ROWS 1 PRECEDING) ORDER BY a")
    got, want = _outcome(mine, sql), _outcome(peer, sql)
    assert got[0] == want[0] == "rows", (sql, got, want)
    assert got[1] == want[1], (sql, rows)


def test_named_windows_and_their_refinements():
    mine, peer = _both([(1, 1.0, 5), (1, 2.0, 6), (2, 1.0, 7), (2, 3.0, 8)])
    sql = ("SELECT id, sum(c) OVER w, sum(c) OVER (w ORDER BY b), row_number() OVER (w ORDER BY b DESC) "
           "FROM t WINDOW w AS (PARTITION BY a) ORDER BY id")
    assert mine.execute(sql).fetchall() == peer.execute(sql).fetchall()


def test_aggregate_filter_without_a_window():
    mine, peer = _both([(1, 1.0, 5), (1, None, -6), (2, 1.0, 7), (2, 3.0, -8), (2, 3.0, -8)])
    sql = ("SELECT a, count(*) FILTER (WHERE c > 0), sum(c) FILTER (WHERE b IS NOT NULL), "
           "count(DISTINCT c) FILTER (WHERE c < 0), group_concat(c, '-') FILTER (WHERE c <> 7) "
           "FROM t GROUP BY a ORDER BY a")
    assert mine.execute(sql).fetchall() == peer.execute(sql).fetchall()


def test_window_over_a_collection_reads_document_paths():
    conn = docdb.connect(":memory:")
    conn.execute("CREATE COLLECTION sales")
    for region, amount in [("n", 5), ("s", 3), ("n", 2), ("s", 9), ("n", 7)]:
        conn.execute("INSERT INTO sales VALUE ?", ({"place": {"region": region}, "amount": amount},))
    got = conn.execute("SELECT s.place.region, s.amount, rank() OVER (PARTITION BY s.place.region "
                       "ORDER BY s.amount DESC) AS r, sum(s.amount) OVER (PARTITION BY s.place.region) "
                       "FROM sales s ORDER BY 1, 3").fetchall()
    assert got == [("n", 7, 1, 14), ("n", 5, 2, 14), ("n", 2, 3, 14), ("s", 9, 1, 12), ("s", 3, 2, 12)]


def test_without_order_by_rows_come_in_window_order():
    mine, peer = _both([(2, 1.0, 5), (1, 2.0, 6), (3, 1.0, 7)])
    sql = "SELECT a, row_number() OVER (ORDER BY a) FROM t"
    assert mine.execute(sql).fetchall() == peer.execute(sql).fetchall()


def test_a_window_function_used_wrongly_says_so():
    mine, _ = _both([(1, 1.0, 1)])
    cases = {
        "SELECT row_number() FROM t": "misuse of window function row_number()",
        "SELECT a FROM t WHERE rank() OVER () > 1": "misuse of window function rank()",
        "SELECT sum(rank() OVER ()) FROM t": "misuse of window function rank()",
        "SELECT abs(a) OVER () FROM t": "abs() may not be used as a window function",
        "SELECT nosuch(a) OVER () FROM t": "no such function: nosuch",
        "SELECT sum(a) OVER w FROM t": "no such window: w",
        "SELECT count(DISTINCT a) OVER () FROM t": "DISTINCT is not supported for window functions",
        "SELECT rank(a) OVER () FROM t": "wrong number of arguments to function rank()",
        "SELECT sum(a) OVER (ROWS BETWEEN CURRENT ROW AND 1 PRECEDING) FROM t": "unsupported frame",
        "SELECT sum(a) OVER (ORDER BY a, b RANGE 1 PRECEDING) FROM t": "RANGE with offset",
        "SELECT sum(a) OVER (ROWS -1 PRECEDING) FROM t": "non-negative integer",
        "SELECT ntile(0) OVER () FROM t": "argument of ntile must be a positive integer",
        "SELECT row_number() FILTER (WHERE a > 1) OVER () FROM t": "FILTER clause may only be used",
    }
    for sql, message in cases.items():
        with pytest.raises(docdb.Error, match=message.replace("(", r"\(").replace(")", r"\)")):
            mine.execute(sql).fetchall()


def test_running_sums_over_many_rows():
    conn = docdb.connect(":memory:")
    conn.execute("CREATE TABLE big (x INTEGER)")
    conn.executemany("INSERT INTO big VALUES (?)", [(i,) for i in range(20_000)])
    last = conn.execute("SELECT x, sum(x) OVER (ORDER BY x), count(*) OVER () FROM big ORDER BY x DESC "
                        "LIMIT 1").fetchone()
    assert last == (19_999, sum(range(20_000)), 20_000)


def test_explain_prints_the_window_calls_as_sql_that_parses_back():
    from query.parser import parse_one
    from query.sqltext import sql
    for text in ["sum(x) FILTER (WHERE x > 1) OVER (PARTITION BY a ORDER BY b DESC NULLS LAST "
                 "ROWS BETWEEN 1 PRECEDING AND UNBOUNDED FOLLOWING EXCLUDE TIES)", "rank() OVER w",
                 "count(*) OVER (w ORDER BY c)", "lag(x, 2) OVER (GROUPS 2 FOLLOWING)"]:
        expr = parse_one("SELECT " + text).body.columns[0].expr
        assert parse_one("SELECT " + sql(expr)).body.columns[0].expr == expr
    conn, _ = _both([])
    plan = [row[0] for row in conn.execute("EXPLAIN SELECT sum(c) OVER (PARTITION BY a) FROM t")]
    assert any("WINDOW sum(c) OVER (PARTITION BY a)" in line for line in plan), plan


def test_a_users_own_aggregate_runs_over_a_window():
    class Longest:
        def __init__(self):
            self.best = ""

        def step(self, value):
            if value is not None and len(value) > len(self.best):
                self.best = value

        def finalize(self):
            return self.best

    conn = docdb.connect(":memory:")  # sqlite3 would need create_window_function; docdb takes any aggregate
    conn.create_aggregate("longest", 1, Longest)
    conn.execute("CREATE TABLE w (id INTEGER PRIMARY KEY, s TEXT)")
    conn.executemany("INSERT INTO w (s) VALUES (?)", [("a",), ("abc",), ("ab",), (None,), ("abcd",)])
    assert conn.execute("SELECT id, longest(s) OVER (ORDER BY id ROWS 1 PRECEDING), "
                        "longest(s) OVER (ORDER BY id) FROM w ORDER BY id").fetchall() == [
        (1, "a", "a"), (2, "abc", "abc"), (3, "abc", "abc"), (4, "ab", "abc"), (5, "abcd", "abcd")]
