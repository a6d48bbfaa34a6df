"""What a statement evaluates, and how often: AND and OR stop at the operand that decides,
and UNION reads each of its sides once.

A user function that counts its calls (``create_function``) shows it from outside.
SQLite short-circuits the same way, so a right operand that would fail is never reached
when the left decides.
"""

from __future__ import annotations

import pytest

import docdb


@pytest.fixture
def conn(tmp_path):
    conn = docdb.connect(str(tmp_path / "db"), autocommit=True)
    conn.execute("CREATE TABLE t (a INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    calls = []

    def tick(x):
        calls.append(x)
        return x

    conn.create_function("tick", 1, tick)
    conn.calls = calls
    yield conn
    conn.close()


@pytest.mark.parametrize(("where", "rows", "ticked"), [
    ("a < 3 AND tick(a) >= 0", 3, 3),  # FALSE on the left: the right not run
    ("a >= 3 OR tick(a) >= 0", 10, 3),  # TRUE on the left: the right not run
    ("NULL AND tick(a) > 100", 0, 10),  # NULL decides nothing: the right runs
    ("tick(a) < 3 AND a < 3", 3, 10),
])
def test_and_or_stop_at_the_deciding_operand(conn, where, rows, ticked):
    assert len(conn.execute(f"SELECT a FROM t WHERE {where}").fetchall()) == rows
    assert len(conn.calls) == ticked


def test_the_right_operand_is_not_reached_when_the_left_decides(conn):
    """Its error is never raised, as in SQLite."""

    def boom():
        raise ValueError("evaluated")

    conn.create_function("boom", 0, boom)
    assert conn.execute("SELECT 0 AND boom()").fetchone() == (0,)
    assert conn.execute("SELECT 1 OR boom()").fetchone() == (1,)
    with pytest.raises(docdb.OperationalError):
        conn.execute("SELECT 1 AND boom()").fetchone()


@pytest.mark.parametrize("op", ["UNION", "UNION ALL", "INTERSECT", "EXCEPT"])
def test_a_set_operation_reads_each_side_once(conn, op):
    found = conn.execute(f"SELECT a FROM t WHERE a < 6 {op} SELECT tick(a) FROM t WHERE a > 3").fetchall()
    assert sorted(conn.calls) == [4, 5, 6, 7, 8, 9]
    expected = {"UNION": set(range(10)), "UNION ALL": set(range(10)), "INTERSECT": {4, 5},
                "EXCEPT": {0, 1, 2, 3}}[op]
    assert {a for (a,) in found} == expected
