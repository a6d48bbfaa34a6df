"""The SQL language end to end through the DB-API, checked against sqlite3 where SQL is SQL."""

import sqlite3

import pytest

import docdb

SETUP = [
    "CREATE TABLE t1(a INTEGER, b INTEGER, c INTEGER, d INTEGER, e INTEGER)",
    "CREATE TABLE t2(id INTEGER PRIMARY KEY, name TEXT, score REAL, t1a INTEGER)",
    "CREATE INDEX t2_score ON t2 (score)",
    "INSERT INTO t1(e,c,b,d,a) VALUES(103,102,100,101,104)",
    "INSERT INTO t1(a,c,d,e,b) VALUES(107,106,108,109,105)",
    "INSERT INTO t1 VALUES(110,NULL,112,113,114)",
    "INSERT INTO t1 VALUES(NULL,116,117,118,119)",
    "INSERT INTO t1 VALUES(120,121,NULL,123,124)",
    "INSERT INTO t2 VALUES(1, 'ann', 3.5, 104)",
    "INSERT INTO t2 VALUES(2, 'bob', NULL, 107)",
    "INSERT INTO t2 VALUES(3, 'cy', 1.25, 999)",
    "INSERT INTO t2 VALUES(4, NULL, 9.0, 110)",
]

QUERIES = [
    "SELECT a, b FROM t1 ORDER BY a",
    "SELECT * FROM t1 WHERE a > 105 ORDER BY 1",
    "SELECT a+b*2, c-d, e/3, e%7, -a, a||'x' FROM t1 ORDER BY e",
    "SELECT CASE WHEN a<b-3 THEN 111 WHEN a<=b THEN 222 WHEN a<b+3 THEN 333 ELSE 444 END FROM t1 ORDER BY 1",
    "SELECT count(*), count(a), sum(b), avg(c), min(d), max(e), total(a) FROM t1",
    "SELECT a IS NULL, b IS NOT NULL, c BETWEEN 100 AND 110, d IN (101, 112, NULL), e NOT IN (1,2) FROM t1",
    "SELECT (SELECT count(*) FROM t1 AS x WHERE x.b<t1.b), a FROM t1 ORDER BY 2",
    "SELECT a FROM t1 WHERE EXISTS(SELECT 1 FROM t2 WHERE t2.t1a = t1.a) ORDER BY a",
    "SELECT a FROM t1 WHERE a IN (SELECT t1a FROM t2) ORDER BY 1",
    "SELECT t1.a, t2.name FROM t1 JOIN t2 ON t2.t1a = t1.a ORDER BY 1",
    "SELECT t1.a, t2.name FROM t1, t2 WHERE t2.t1a = t1.a AND t2.score > 2 ORDER BY 1",
    "SELECT t1.a, t2.name FROM t1 LEFT JOIN t2 ON t2.t1a = t1.a ORDER BY 1, 2",
    "SELECT a, x.b, y.c FROM t1 AS x JOIN t1 AS y USING (a) ORDER BY 1",
    "SELECT * FROM t1 AS x LEFT JOIN t1 AS y USING (a, b) ORDER BY x.e",
    "SELECT name, score FROM t2 WHERE score >= 3.5 ORDER BY score DESC",
    "SELECT name FROM t2 WHERE score = 9 OR id = 1 ORDER BY name",
    "SELECT id FROM t2 WHERE id IN (1, 1.5, NULL, 3.0) ORDER BY id",
    "SELECT id FROM t2 WHERE score IN (3.5, NULL, 9) ORDER BY id",
    "SELECT b % 3 AS g, count(*), sum(e) FROM t1 GROUP BY g ORDER BY g",
    "SELECT DISTINCT a AS o0, b AS o1 FROM t1 ORDER BY (o0 + 0) DESC, 2",
    "SELECT b % 2 AS g, count(*) AS n FROM t1 GROUP BY g HAVING n > 1 ORDER BY n + g",
    "SELECT a + b AS s, count(*) FROM t1 GROUP BY s ORDER BY s",
    "SELECT b % 2, (SELECT count(*) FROM t1 AS x WHERE x.b % 2 = t1.b % 2), count(*) FROM t1 "
    "GROUP BY b % 2 ORDER BY 1",
    "SELECT b % 3, count(*) FROM t1 GROUP BY 1 HAVING count(*) > 1 ORDER BY 1",
    "SELECT DISTINCT b % 2 FROM t1 ORDER BY 1",
    "SELECT a FROM t1 ORDER BY a DESC LIMIT 2 OFFSET 1",
    "SELECT a FROM t1 ORDER BY a LIMIT 1, 2",
    "SELECT b % 3, e FROM t1 ORDER BY b % 3 DESC, e DESC LIMIT 3 OFFSET 1",
    "SELECT b % 3, e FROM t1 ORDER BY b % 3, e LIMIT 2",
    "SELECT b % 3, e FROM t1 ORDER BY b % 3 DESC, e LIMIT 4",
    "SELECT a FROM t1 UNION SELECT t1a FROM t2 ORDER BY 1",
    "SELECT a FROM t1 UNION ALL SELECT t1a FROM t2 ORDER BY 1",
    "SELECT a FROM t1 INTERSECT SELECT t1a FROM t2 ORDER BY 1",
    "SELECT a FROM t1 EXCEPT SELECT t1a FROM t2 ORDER BY 1",
    "WITH big(x) AS (SELECT a FROM t1 WHERE a > 106) SELECT x FROM big ORDER BY x",
    "SELECT s.x FROM (SELECT a AS x FROM t1 WHERE a < 110) AS s ORDER BY 1",
    "SELECT lower(name), upper(name), length(name), substr(name, 2), coalesce(name, 'none') "
    "FROM t2 ORDER BY id",
    "SELECT abs(-a), round(score, 1), typeof(score), nullif(id, 2) FROM t2, t1 WHERE t1.a = t2.t1a "
    "ORDER BY 1",
    "SELECT name FROM t2 WHERE name LIKE '_o%' OR name LIKE 'C%'",
    "SELECT count(DISTINCT b % 3), sum(id) FROM t1, t2 WHERE t2.id < 3",
    "SELECT group_concat(name), group_concat(name, ';') FROM t2",
    "SELECT 1, 'two', NULL, 2.5, 7/2, 7.0/2, 1 = 1.0, 'a' < 'b'",
    "SELECT a FROM t1 WHERE NOT (a > 105) ORDER BY a",
    "SELECT max(a) FROM t1 WHERE a < 0",
    "SELECT a, b FROM t1 WHERE (a > 105 AND b < 120) OR c IS NULL ORDER BY a",
    "SELECT CAST(a AS TEXT), CAST('12x' AS INTEGER), CAST(score AS INTEGER) FROM t1, t2 "
    "WHERE t2.id = 1 ORDER BY 1",
]


def _load(conn):
    for statement in SETUP:
        conn.execute(statement)


@pytest.fixture(scope="module")
def both():
    ours = docdb.connect(autocommit=True)
    theirs = sqlite3.connect(":memory:")
    _load(ours)
    _load(theirs)
    yield ours, theirs
    ours.close()
    theirs.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_query_matches_sqlite(both, sql):
    ours, theirs = both
    assert ours.execute(sql).fetchall() == theirs.execute(sql).fetchall()


def test_description_names_the_columns(both):
    ours, _ = both
    cur = ours.execute("SELECT a, b AS bee, count(*) FROM t1 GROUP BY a, b")
    assert [d[0] for d in cur.description] == ["a", "bee", "count(*)"]


def test_parameters_qmark_and_named(both):
    ours, _ = both
    assert ours.execute("SELECT name FROM t2 WHERE id = ?", (2,)).fetchall() == [("bob",)]
    assert ours.execute("SELECT name FROM t2 WHERE id = :id", {"id": 3}).fetchall() == [("cy",)]
    with pytest.raises(docdb.ProgrammingError, match="bindings supplied"):
        ours.execute("SELECT name FROM t2 WHERE id = ?").fetchall()


def test_writes_update_delete_and_rowcount():
    conn = docdb.connect(autocommit=True)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER DEFAULT 0)")
    cur = conn.executemany("INSERT INTO t (id, v) VALUES (?, ?)", [(i, f"v{i}") for i in range(10)])
    assert cur.rowcount == 10
    assert conn.execute("UPDATE t SET n = n + id WHERE id >= 5").rowcount == 5
    assert conn.execute("DELETE FROM t WHERE id < 3").rowcount == 3
    assert conn.execute("SELECT count(*), sum(n) FROM t").fetchone() == (7, 35)
    with pytest.raises(docdb.IntegrityError):
        conn.execute("INSERT INTO t (id, v) VALUES (1, NULL)")
    with pytest.raises(docdb.IntegrityError):
        conn.execute("INSERT INTO t (id, v) VALUES (5, 'again')")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (7,)  # the failed ones left nothing
    conn.close()


def test_a_failed_statement_changes_nothing():
    conn = docdb.connect(autocommit=True)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
    conn.execute("INSERT INTO t VALUES (1, 1), (2, 2)")
    with pytest.raises(docdb.IntegrityError):
        conn.execute("INSERT INTO t VALUES (3, 3), (1, 9)")  # the second row collides
    with pytest.raises(docdb.DataError):
        conn.execute("UPDATE t SET v = 'text'")  # strict types: no TEXT in an INTEGER column
    assert conn.execute("SELECT * FROM t ORDER BY id").fetchall() == [(1, 1), (2, 2)]
    conn.close()


def test_transactions_by_statement():
    conn = docdb.connect()
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.execute("BEGIN")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    conn.execute("INSERT INTO t VALUES (2)")
    conn.execute("COMMIT")
    assert conn.execute("SELECT id FROM t").fetchall() == [(2,)]
    conn.close()


@pytest.mark.parametrize("bad, where", [
    ("SELECT * FROM nowhere", "no such table: nowhere"),
    ("SELECT nothing FROM t1", "no such column: nothing"),
    ("SELECT frob(a) FROM t1", "no such function: frob"),
    ("SELEC a FROM t1", "line 1, column 1"),
    ("SELECT a FROM t1\nWHERE a = = 1", "line 2, column 11"),
])
def test_errors_name_the_problem(both, bad, where):
    ours, _ = both
    with pytest.raises(docdb.ProgrammingError, match=where):
        ours.execute(bad).fetchall()


def test_explain_shows_index_and_join(both):
    ours, _ = both
    plan = [row[0] for row in ours.execute(
        "EXPLAIN SELECT t1.a FROM t1, t2 WHERE t2.t1a = t1.a AND t2.score > 3")]
    text = "\n".join(plan)
    assert "HASH JOIN" in text and "SEARCH TABLE t2" in text and "SCAN TABLE t1" in text
