"""SAVEPOINT, RELEASE and ROLLBACK TO beside sqlite3 (random sequences, hypothesis), and the
``conn.savepoint()`` context manager."""

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import docdb

NAMES = ["a", "b", "c"]
STEP = st.one_of(
    st.integers(1, 9).map(lambda n: f"INSERT INTO t VALUES ({n})"),
    st.sampled_from(NAMES).map(lambda n: f"SAVEPOINT {n}"),
    st.sampled_from(NAMES).map(lambda n: f"RELEASE {n}"),
    st.sampled_from(NAMES).map(lambda n: f"ROLLBACK TO {n}"),
    st.sampled_from(["BEGIN", "COMMIT", "ROLLBACK", "DELETE FROM t WHERE a > 5"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, max_size=25))
def test_random_savepoint_sequences_match_sqlite3(tmp_path_factory, steps):
    directory = tmp_path_factory.mktemp("sp")
    mine = docdb.connect(str(directory / "db"))
    mine.isolation_level = None
    theirs = sqlite3.connect(str(directory / "db.sqlite"), isolation_level=None)
    try:
        for conn in (mine, theirs):
            conn.execute("CREATE TABLE t (a INTEGER)")
        for sql in steps:
            outcomes = []
            for conn in (mine, theirs):
                try:
                    conn.execute(sql)
                    outcomes.append("ok")
                except (docdb.Error, sqlite3.Error):
                    outcomes.append("error")
            assert outcomes[0] == outcomes[1], sql
            assert mine.in_transaction == theirs.in_transaction, sql
            query = "SELECT a FROM t ORDER BY a"
            assert mine.execute(query).fetchall() == theirs.execute(query).fetchall(), sql
    finally:
        mine.close()
        theirs.close()


def test_savepoint_context_manager(tmp_path):
    conn = docdb.connect(str(tmp_path / "db"), autocommit=True)
    conn.execute("CREATE TABLE t (a INTEGER)")
    with conn.savepoint():
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ZeroDivisionError), conn.savepoint():
            conn.execute("INSERT INTO t VALUES (2)")
            raise ZeroDivisionError
        assert conn.in_transaction
        conn.collection("c").insert_one({"_id": 1})  # the Python API joins the same transaction
    assert not conn.in_transaction  # the outermost block committed
    assert conn.execute("SELECT a FROM t").fetchall() == [(1,)]
    assert conn.collection("c").count_documents({}) == 1
    with pytest.raises(docdb.OperationalError, match="no such savepoint"):
        conn.execute("ROLLBACK TO nothing")
    conn.close()


def test_savepoint_inside_an_open_transaction_does_not_commit_it(tmp_path):
    conn = docdb.connect(str(tmp_path / "db"))  # PEP 249: writes wait for commit()
    conn.execute("CREATE TABLE t (a INTEGER)")
    conn.commit()
    conn.execute("INSERT INTO t VALUES (1)")
    with conn.savepoint("s"):
        conn.execute("INSERT INTO t VALUES (2)")
    assert conn.in_transaction
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    conn.close()
