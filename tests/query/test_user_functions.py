"""create_function and create_aggregate, beside sqlite3's."""

import sqlite3

import pytest

import docdb


class Mean:
    def __init__(self):
        self.n, self.total = 0, 0

    def step(self, value):
        if value is not None:
            self.n, self.total = self.n + 1, self.total + value

    def finalize(self):
        return self.total / self.n if self.n else None


QUERIES = [
    "SELECT g, mean(v), double(sum(v)), DOUBLE(max(v)) FROM t GROUP BY g ORDER BY g",
    "SELECT double(v), joined(g, v, 'x') FROM t ORDER BY g, v",
    "SELECT mean(double(v)) FROM t WHERE double(v) > 2",
    "SELECT count(*) FROM t GROUP BY g HAVING mean(v) > 2",
]


@pytest.fixture
def both():
    conns = [docdb.connect(autocommit=True), sqlite3.connect(":memory:")]
    for conn in conns:
        conn.create_function("double", 1, lambda x: None if x is None else x * 2)
        conn.create_function("joined", -1, lambda *parts: "-".join(map(str, parts)))
        conn.create_aggregate("mean", 1, Mean)
        conn.execute("CREATE TABLE t (g TEXT, v INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [("a", 1), ("a", 3), ("b", None), ("b", 4)])
    yield conns
    for conn in conns:
        conn.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_same_answers_as_sqlite3(both, sql):
    mine, theirs = both
    assert mine.execute(sql).fetchall() == theirs.execute(sql).fetchall()


def test_errors_in_user_code_are_operational_errors_naming_the_function(both):
    mine, theirs = both
    for conn in both:
        conn.create_function("boom", 0, lambda: 1 / 0)
    with pytest.raises(sqlite3.OperationalError):
        theirs.execute("SELECT boom()").fetchall()
    with pytest.raises(docdb.OperationalError, match=r"boom\(\) raised ZeroDivisionError"):
        mine.execute("SELECT boom()").fetchall()
    mine.create_function("odd", 0, lambda: {1, 2})
    with pytest.raises(docdb.OperationalError, match="returned a set"):
        mine.execute("SELECT odd()").fetchall()
    with pytest.raises(docdb.ProgrammingError, match="wrong number of arguments"):
        mine.execute("SELECT double(1, 2)").fetchall()


def test_replacing_and_removing_functions(both):
    mine, _ = both
    assert mine.execute("SELECT upper('a')").fetchone() == ("A",)
    mine.create_function("upper", 1, lambda s: s + "!")  # as sqlite3: a built-in may be replaced
    assert mine.execute("SELECT upper('a')").fetchone() == ("a!",)
    mine.create_function("upper", 1, None)
    assert mine.execute("SELECT upper('a')").fetchone() == ("A",)
    other = docdb.connect()
    with pytest.raises(docdb.ProgrammingError, match="no such function: double"):
        other.execute("SELECT double(1)")  # functions belong to their connection
    with pytest.raises(docdb.ProgrammingError):
        mine.create_function("not a name", 1, len)
