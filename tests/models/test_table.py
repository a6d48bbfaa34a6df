"""Tables through the Python API: typed rows, keys, constraints, indexes; checked against sqlite3."""

from __future__ import annotations

import math
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import docdb


@pytest.fixture(params=["lsm", "hash"])
def conn(request, tmp_path):
    connection = docdb.connect(str(tmp_path / "db"), engine=request.param)
    yield connection
    connection.close()


def users(conn):
    return conn.create_table("users", {"id": "INTEGER", "name": "TEXT NOT NULL", "email": "TEXT UNIQUE",
                                       "score": "REAL DEFAULT 0", "active": "BOOLEAN DEFAULT TRUE",
                                       "meta": "JSON", "photo": "BLOB"}, primary_key="id")


def test_insert_get_and_defaults(conn):
    t = users(conn)
    assert t.insert({"id": 1, "name": "ann", "score": 3}) == 1
    assert t.get(1) == {"id": 1, "name": "ann", "email": None, "score": 3.0, "active": True,
                        "meta": None, "photo": None}
    assert type(t.get(1)["score"]) is float  # INTEGER widened into REAL
    assert t.get(2) is None


def test_values_round_trip_exactly(conn):
    t = users(conn)
    meta = {"tags": ["a", {"b": None}], "n": 1.5, "big": 2**63 - 1}
    t.insert({"id": -(2**80), "name": "x\x00y", "score": -math.inf, "meta": meta, "photo": b"\x00\xff"})
    assert t.get(-(2**80)) == {"id": -(2**80), "name": "x\x00y", "email": None, "score": -math.inf,
                               "active": True, "meta": meta, "photo": b"\x00\xff"}
    conn.commit()


def test_both_row_forms_read_back(conn):
    """Plain rows are stored as JSON arrays, rows JSON cannot hold exactly (a blob, an
    infinity, an integer past 64 bits) as keycode tuples; both read back the same way."""
    t = users(conn)
    plain = {"id": 1, "name": "a", "email": None, "score": 0.1, "active": False, "meta": {"k": [1]},
             "photo": None}
    odd = [{**plain, "id": 2, "photo": b"\x01"}, {**plain, "id": 3, "score": math.inf},
           {**plain, "id": 4, "meta": None, "score": float(2**70)}, {**plain, "id": 2**64}]
    for row in [plain, *odd]:
        t.insert(row)
    reader = conn.reading()
    raws = {raw[:1] == b"[" for _, raw in reader.scan(reader.catalog.get("users")["id"])}
    assert raws == {True, False}  # both forms are on disk
    assert [t.get(r["id"]) for r in [plain, *odd]] == [plain, *odd]


@pytest.mark.parametrize("row, error, fragment", [
    ({"id": 1, "name": 5}, docdb.DataError, "column name is TEXT"),
    ({"id": "1", "name": "a"}, docdb.DataError, "column id is INTEGER"),
    ({"id": 1, "name": None}, docdb.IntegrityError, "column name is NOT NULL"),
    ({"id": 1, "name": "a", "active": 1}, docdb.DataError, "column active is BOOLEAN"),
    ({"id": 1, "name": "a", "nope": 1}, docdb.ProgrammingError, "no column 'nope'"),
    ({"id": 1, "name": "a", "meta": {1, 2}}, docdb.DataError, "column meta"),
    ({"id": 1, "name": "a", "score": math.nan}, docdb.DataError, "NaN"),
    ({"id": 1, "name": "a", "meta": [2**64]}, docdb.DataError, "column meta.*64-bit"),
])
def test_bad_rows_are_refused_naming_table_and_column(conn, row, error, fragment):
    t = users(conn)
    with pytest.raises(error, match=fragment) as info:
        t.insert(row)
    assert "users" in str(info.value)
    assert t.count() == 0


def test_primary_key_and_unique_violations_change_nothing(conn):
    t = users(conn)
    t.insert({"id": 1, "name": "a", "email": "a@x"})
    with pytest.raises(docdb.IntegrityError, match="primary key 1"):
        t.insert({"id": 1, "name": "b"})
    with pytest.raises(docdb.IntegrityError, match="email_unique.*'a@x'"):
        t.insert({"id": 2, "name": "b", "email": "a@x"})
    with pytest.raises(docdb.IntegrityError):
        t.insert_many([{"id": 3, "name": "c"}, {"id": 4, "name": "d", "email": "a@x"}])
    assert [r["id"] for r in t.rows()] == [1]
    t.insert_many([{"id": 5, "name": "e"}, {"id": 6, "name": "f"}])  # NULLs never collide
    assert t.count() == 3


def test_update_and_delete(conn):
    t = users(conn)
    t.insert_many([{"id": i, "name": f"n{i}", "email": f"{i}@x"} for i in range(5)])
    assert t.update(2, {"name": "two", "score": 2}) is True
    assert t.get(2)["name"] == "two" and t.get(2)["score"] == 2.0
    assert t.update(99, {"name": "x"}) is False
    with pytest.raises(docdb.IntegrityError):
        t.update(3, {"email": "4@x"})
    with pytest.raises(docdb.IntegrityError):
        t.update(3, {"name": None})
    assert t.get(3)["email"] == "3@x"
    assert t.update(4, {"id": 40}) is True  # the key moves
    assert t.get(4) is None and t.get(40)["name"] == "n4"
    with pytest.raises(docdb.IntegrityError):
        t.update(40, {"id": 1})
    assert t.delete(1) is True and t.delete(1) is False
    assert sorted(r["id"] for r in t.rows()) == [0, 2, 3, 40]
    assert t.rows({"email": "4@x"}) == [t.get(40)]


def test_composite_key(conn):
    t = conn.create_table("edges", {"a": "TEXT", "b": "INTEGER", "w": "REAL"}, primary_key=["a", "b"])
    assert t.insert({"a": "x", "b": 2, "w": 1}) == ("x", 2)
    t.insert({"a": "x", "b": 1, "w": 1})
    t.insert({"a": "w", "b": 9, "w": 1})
    assert [(r["a"], r["b"]) for r in t.rows()] == [("w", 9), ("x", 1), ("x", 2)]  # key order
    assert t.get(("x", 1))["w"] == 1.0
    with pytest.raises(docdb.ProgrammingError):
        t.get("x")
    assert t.explain({"a": "x"})["index"] == "PRIMARY"


def test_hidden_rowid(conn):
    t = conn.create_table("log", {"msg": "TEXT"})
    assert [t.insert({"msg": m}) for m in "abc"] == [1, 2, 3]
    t.delete(3)
    assert t.insert({"msg": "d"}) == 3  # one more than the largest, as SQLite's rowid
    assert t.rows() == [{"msg": "a"}, {"msg": "b"}, {"msg": "d"}]
    assert t.get(2) == {"msg": "b"}


def test_rows_where_order_limit_and_index(conn):
    t = users(conn)
    t.insert_many([{"id": i, "name": f"n{i % 7}", "score": i % 3} for i in range(300)])
    assert t.explain({"name": "n3"})["plan"] == "SCAN"
    name = t.create_index("name")
    assert name == "name_idx" and t.indexes()[-1] == {"name": name, "columns": ["name"], "unique": False}
    plan = t.explain({"name": "n3"})
    assert plan["index"] == name and plan["rows_examined"] == plan["returned"] == 43
    assert t.explain({"name": "n3", "score": 1}) | {"returned": 0} != plan
    rows = t.rows({"name": "n3"}, order_by=["-score", "id"], limit=5)
    assert [(r["score"], r["id"]) for r in rows] == [(2.0, 17), (2.0, 38), (2.0, 59), (2.0, 80), (2.0, 101)]
    with pytest.raises(docdb.ProgrammingError):
        t.rows(order_by="nope")
    with pytest.raises(docdb.DataError):
        t.rows({"id": "1"})
    t.drop_index(name)
    assert t.explain({"name": "n3"})["plan"] == "SCAN"


def test_unique_index_on_existing_duplicates_is_refused(conn):
    t = users(conn)
    t.insert_many([{"id": 1, "name": "a"}, {"id": 2, "name": "a"}])
    with pytest.raises(docdb.IntegrityError, match="'a'"):
        t.create_index("name", unique=True)
    assert t.indexes() == [{"name": "email_unique", "columns": ["email"], "unique": True}]


def test_catalog_operations(conn):
    users(conn)
    conn.create_table("users", {"x": "INTEGER"}, if_not_exists=True)
    with pytest.raises(docdb.ProgrammingError, match="already exists"):
        conn.create_table("users", {"x": "INTEGER"})
    with pytest.raises(docdb.ProgrammingError, match="no such table"):
        conn.table("nope")
    conn.collection("docs").insert_one({})
    with pytest.raises(docdb.ProgrammingError, match="not a table"):
        conn.table("docs")
    assert conn.tables() == ["users"] and conn.collections() == ["docs"]
    conn.drop("users")
    conn.drop("users", if_exists=True)
    with pytest.raises(docdb.ProgrammingError):
        conn.drop("users")
    assert conn.tables() == []


def test_engine_per_table(tmp_path):
    conn = docdb.connect(str(tmp_path / "db"), engine="hash")
    conn.create_table("a", {"x": "INTEGER"}).insert({"x": 1})
    conn.create_table("b", {"x": "INTEGER"}, engine="lsm").insert({"x": 1})
    conn.commit()
    with pytest.raises(docdb.ProgrammingError):
        conn.create_table("c", {"x": "INTEGER"}, engine="btree")
    conn.close()  # the last to close checkpoints: each store's engine now has its directory
    import os
    names = sorted(n.split("-")[1] for n in os.listdir(tmp_path / "db" / "objects"))
    assert names == ["hash", "hash", "lsm"]  # the catalog's store, a, b


# ----- differential: random operations against sqlite3 -----------------------------------------

_ops = st.lists(st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 20), st.sampled_from(["a", "b", "c", None]),
              st.integers(-3, 3)),
    st.tuples(st.just("update"), st.integers(0, 20), st.sampled_from(["a", "b", "c", None]),
              st.integers(-3, 3)),
    st.tuples(st.just("delete"), st.integers(0, 20), st.none(), st.none()),
), max_size=40)


def _apply(table, op, k, tag, n):
    if op == "insert":
        table.insert({"k": k, "tag": tag, "n": n})
    elif op == "update":
        table.update(k, {"tag": tag, "n": n})
    else:
        table.delete(k)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_ops, indexed=st.booleans())
def test_same_rows_as_sqlite(conn, ops, indexed):
    conn.drop("t", if_exists=True)
    t = conn.create_table("t", {"k": "INTEGER", "tag": "TEXT UNIQUE", "n": "INTEGER"}, primary_key="k")
    if indexed:
        t.create_index(["n", "tag"])
    ref = sqlite3.connect(":memory:")
    ref.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, tag TEXT UNIQUE, n INTEGER)")
    for op, k, tag, n in ops:
        sql, args = {"insert": ("INSERT INTO t VALUES (?, ?, ?)", (k, tag, n)),
                     "update": ("UPDATE t SET tag = ?, n = ? WHERE k = ?", (tag, n, k)),
                     "delete": ("DELETE FROM t WHERE k = ?", (k,))}[op]
        try:
            ref.execute(sql, args)
            expected_error = None
        except sqlite3.IntegrityError:
            expected_error = docdb.IntegrityError
        if expected_error:
            with pytest.raises(expected_error):
                _apply(t, op, k, tag, n)
        else:
            _apply(t, op, k, tag, n)
    expected = [dict(zip(("k", "tag", "n"), r)) for r in ref.execute("SELECT * FROM t ORDER BY k")]
    assert t.rows() == expected
    for n in range(-3, 4):
        want = [r for r in expected if r["n"] == n]
        assert t.rows({"n": n}, order_by="k") == want  # (unordered, rows come in index order)


def test_columns_in_declared_order(conn):
    assert users(conn).columns == ["id", "name", "email", "score", "active", "meta", "photo"]


def test_hidden_row_ids_stay_unique_across_a_long_transaction(tmp_path):
    """Row ids of a table without a primary key come from a per-transaction counter that a
    delete or a failed insert resets: each is still the largest + 1, never a live row's."""
    import docdb

    conn = docdb.connect(str(tmp_path / "db"))
    table = conn.create_table("t", {"n": "INTEGER NOT NULL"})
    ids = [table.insert({"n": i}) for i in range(50)]
    conn.execute("DELETE FROM t WHERE n >= 45")
    with pytest.raises(docdb.IntegrityError):
        table.insert({"n": None})
    ids += [table.insert({"n": i}) for i in range(50, 60)]
    conn.commit()
    ids += [table.insert({"n": i}) for i in range(60, 65)]
    conn.commit()
    assert ids == list(range(1, 51)) + list(range(46, 61))  # the largest + 1, as SQLite's rowid
    assert sorted(r[0] for r in conn.execute("SELECT n FROM t")) == list(range(45)) + list(range(50, 65))
    conn.close()
