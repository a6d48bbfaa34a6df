"""WITH RECURSIVE agrees with sqlite3: counting, walks over random graphs (UNION ends on
cycles), trees stored as documents, LIMIT on a recursion without end; a runaway recursion
is stopped with an error; misshapen recursive CTEs are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import docdb
from query import recursion
from tests.query.sqlite_peer import both

EDGES = st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), max_size=20)


def _both(edges):
    return both("CREATE TABLE edge (src INTEGER, dst INTEGER)",
                rows=("INSERT INTO edge VALUES (?, ?)", edges))


@settings(max_examples=200, deadline=None)
@given(edges=EDGES, start=st.integers(0, 8), union=st.sampled_from(["UNION", "UNION ALL"]))
def test_graph_walks_agree_with_sqlite3(edges, start, union):
    mine, peer = _both(edges)
    if union == "UNION":
        sql = ("WITH RECURSIVE reach(n) AS (SELECT ? UNION SELECT e.dst FROM edge e JOIN reach r "
               "ON e.src = r.n) SELECT n FROM reach ORDER BY n")
    else:  # paths of bounded length: UNION ALL keeps repeats
        sql = ("WITH RECURSIVE walk(n, depth) AS (SELECT ?, 0 UNION ALL "
               "SELECT e.dst, w.depth + 1 FROM walk w, "
               "edge e WHERE e.src = w.n AND w.depth < 3) SELECT n, depth, count(*) FROM walk "
               "GROUP BY n, depth ORDER BY n, depth")
    assert mine.execute(sql, (start,)).fetchall() == peer.execute(sql, (start,)).fetchall()


def test_counting_fibonacci_and_limits_agree_with_sqlite3():
    mine, peer = _both([])
    for sql in [
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) "
        "SELECT sum(x), count(*) FROM c",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c LIMIT 5",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x * 2 FROM c LIMIT 10) SELECT max(x) FROM c",
        "WITH RECURSIVE f(a, b) AS (SELECT 0, 1 UNION ALL SELECT b, a + b FROM f WHERE b < 1000) "
        "SELECT a FROM f",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION SELECT x % 5 + 1 FROM c) "
        "SELECT x FROM c ORDER BY x",
        "WITH RECURSIVE c(x) AS (VALUES (1), (2) UNION ALL SELECT x + 10 FROM c WHERE x < 30) "
        "SELECT x FROM c "
        "ORDER BY x",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3), "
        "d(y) AS (SELECT x * 10 FROM c) SELECT y FROM d ORDER BY y",
    ]:
        assert mine.execute(sql).fetchall() == peer.execute(sql).fetchall(), sql


def test_a_tree_of_documents_walked_from_its_root():
    conn = docdb.connect(":memory:")
    conn.execute("CREATE COLLECTION staff")
    for name, boss in [("ann", None), ("bob", "ann"), ("cy", "bob"), ("di", "ann"), ("ed", "cy")]:
        conn.execute("INSERT INTO staff VALUE ?", ({"name": name, "boss": boss},))
    got = conn.execute("WITH RECURSIVE under(name, depth) AS (SELECT 'ann', 0 UNION ALL "
                       "SELECT s.name, u.depth + 1 FROM staff s JOIN under u ON s.boss = u.name) "
                       "SELECT name, depth FROM under ORDER BY depth, name").fetchall()
    assert got == [("ann", 0), ("bob", 1), ("di", 1), ("cy", 2), ("ed", 3)]


def test_a_runaway_recursion_is_stopped_with_an_error(monkeypatch):
    monkeypatch.setattr(recursion, "MAX_ROWS", 1000)
    conn = docdb.connect(":memory:")
    with pytest.raises(docdb.OperationalError, match="recursive CTE c has made 1,000 rows and goes on"):
        conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                     "SELECT count(*) FROM c").fetchall()


def test_misshapen_recursive_ctes_are_refused():
    conn = docdb.connect(":memory:")
    for sql, message in [
        ("WITH RECURSIVE c(x) AS (SELECT x FROM c) SELECT * FROM c", "must be an initial SELECT"),
        ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT count(*) FROM c) SELECT * FROM c",
         "recursive aggregate"),
        ("WITH RECURSIVE c(x, y) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT * FROM c", "2 columns"),
        ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x, x FROM c) SELECT * FROM c", "same number"),
        ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x IN (SELECT x FROM c)) "
         "SELECT * FROM c", "recursive reference in a subquery: c"),
    ]:
        with pytest.raises(docdb.ProgrammingError, match=message):
            conn.execute(sql).fetchall()
