"""PartiQL's statements and SQL's row values: PIVOT, GROUP BY ... AS / GROUP AS / GROUP ALL,
the COLL_* aggregates, structs in which a name repeats, bags from SELECT VALUE subqueries,
permissive evaluation -- and row values against sqlite3 on random rows (NULLs included)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import docdb
from query.executor import evaluate
from query.values import MISSING, Fields
from tests.query.sqlite_peer import both

VALUES = st.one_of(st.none(), st.integers(-2, 2))
OPS = ["=", "!=", "<", "<=", ">", ">="]


@settings(max_examples=500, deadline=None)
@given(left=st.tuples(VALUES, VALUES, VALUES), right=st.tuples(VALUES, VALUES, VALUES),
       op=st.sampled_from(OPS), rows=st.lists(st.tuples(VALUES, VALUES, VALUES), max_size=4))
def test_row_values_agree_with_sqlite3(left, right, op, rows):
    mine, peer = both("CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER)",
                      rows=("INSERT INTO t VALUES (?, ?, ?)", rows))
    sql = (f"SELECT (?, ?, ?) {op} (?, ?, ?), (?, ?, ?) IN (SELECT a, b, c FROM t), "
           "(?, ?, ?) NOT IN (SELECT a, b, c FROM t)")
    params = left + right + left + left
    got = mine.execute(sql, params).fetchone()
    want = peer.execute(sql, params).fetchone()
    assert tuple(None if x is None else int(x) for x in got) == want, (sql, params, rows)


def test_pivot_folds_rows_into_one_struct():
    conn = docdb.connect(":memory:")
    conn.execute("CREATE COLLECTION prices")
    for sym, price in [("tdc", 31.5), ("amzn", 840.0), ("x", None)]:
        conn.execute("INSERT INTO prices VALUE ?", ({"sym": sym, "price": price},))
    assert conn.execute("PIVOT p.price AT p.sym FROM prices AS p WHERE p.price IS NOT NULL").fetchone() == (
        {"tdc": 31.5, "amzn": 840.0},)
    assert evaluate(conn, "PIVOT p.price AT p.sym FROM prices AS p ORDER BY p.price LIMIT 1") == {"x": None}
    assert evaluate(conn, "PIVOT v AT 'k' FROM [1, 2] AS v") == Fields([("k", 1), ("k", 2)])


def test_group_as_gives_each_group_its_rows():
    conn = docdb.connect(":memory:")
    logs = [{"sensor": 1, "co": 0.4}, {"sensor": 1, "co": 0.2}, {"sensor": 2, "co": 0.3}, {"co": 0.1}]
    got = evaluate(conn, "SELECT VALUE {'sensor': sensor, 'n': COLL_COUNT(g), "
                         "'avg': COLL_AVG(SELECT VALUE v.l.co FROM g AS v)} "
                         "FROM logs AS l GROUP BY l.sensor AS sensor GROUP AS g", {"logs": logs})
    assert sorted(got, key=lambda r: str(r["sensor"])) == [
        {"sensor": 1, "n": 2, "avg": 0.30000000000000004}, {"sensor": 2, "n": 1, "avg": 0.3},
        {"sensor": None, "n": 1, "avg": 0.1}]
    assert evaluate(conn, "SELECT VALUE COLL_MAX(SELECT VALUE x.l.co FROM g AS x) FROM logs AS l "
                          "GROUP ALL AS g", {"logs": logs}) == [0.4]
    assert evaluate(conn, "SELECT s AS s FROM logs AS l GROUP BY l.sensor AS s HAVING s > 1",
                    {"logs": logs}) == [{"s": 2}]


def test_repeated_names_and_bags_and_permissive_mode():
    conn = docdb.connect(":memory:")
    row = evaluate(conn, "SELECT * FROM [{'id': 1}] AS a, [{'id': 2}] AS b")[0]
    assert isinstance(row, Fields) and list(row.items()) == [("id", 1), ("id", 2)]
    assert evaluate(conn, "SELECT VALUE {'xs': (SELECT VALUE x FROM [1, 2] AS x)} FROM [0] AS y") == [
        {"xs": [1, 2]}]
    assert evaluate(conn, "nosuch", permissive=True) is MISSING
    assert evaluate(conn, "5 > 'a'", permissive=True) is MISSING
    assert evaluate(conn, "9 < '10'", permissive=True) is True
    assert evaluate(conn, "5 > 'a'") is False  # SQL's order: text sorts above numbers
    assert evaluate(conn, "(1, 2) IN (VALUES (1, 2), (3, 4))") is True
    assert evaluate(conn, "{'a': 1}.'a'") == 1
    assert evaluate(conn, "COLL_SUM([1, 2, NULL])") == 3


def test_parenthesised_operands_of_a_set_operation_keep_their_own_order_and_limit():
    conn = docdb.connect(":memory:")
    conn.execute("CREATE TABLE a (x INTEGER)")
    conn.executemany("INSERT INTO a VALUES (?)", [(i,) for i in range(10)])
    assert conn.execute("(SELECT x FROM a ORDER BY x LIMIT 3) UNION "
                        "(SELECT x FROM a ORDER BY x DESC LIMIT 2) "
                        "ORDER BY 1 DESC LIMIT 4").fetchall() == [(9,), (8,), (2,), (1,)]
    assert conn.execute("((SELECT x FROM a WHERE x < 2) UNION ALL (SELECT x FROM a WHERE x > 8)) "
                        "ORDER BY x DESC").fetchall() == [(9,), (1,), (0,)]
    assert conn.execute("SELECT x FROM a WHERE x < 1 EXCEPT (SELECT 5)").fetchall() == [(0,)]
    assert conn.execute("(SELECT 1)").fetchall() == [(1,)]  # alone: a parenthesised expression, as before
