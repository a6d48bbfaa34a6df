"""Documents in SQL: paths, MISSING, unnesting, constructors, cross-model joins, document DML.

Answers are checked against the collection API (the same data read with ``find``)
and against results worked out by hand.
"""

import pytest

import docdb

ORDERS = [
    {"_id": 1, "user_id": 1, "total": 10.5, "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}],
     "address": {"city": "Oslo", "zip": "0150"}, "tags": ["gift", "rush"]},
    {"_id": 2, "user_id": 2, "total": 3, "items": [], "address": {"city": "Rome"}, "tags": []},
    {"_id": 3, "user_id": 1, "total": 7, "items": [{"sku": "c", "qty": 5}], "tags": ["gift"]},
    {"_id": 4, "user_id": 9, "total": None, "items": [{"sku": "a", "qty": 1}], "odd key": True},
]


@pytest.fixture
def conn():
    c = docdb.connect(autocommit=True)
    c.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    c.execute("INSERT INTO users VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')")
    c.execute("CREATE COLLECTION orders")
    c.executemany("INSERT INTO orders VALUE ?", [(d,) for d in ORDERS])
    yield c
    c.close()


def test_select_star_is_one_column_holding_the_document(conn):
    cur = conn.execute("SELECT * FROM orders ORDER BY orders._id")
    assert [d[0] for d in cur.description] == ["orders"]
    assert [row[0] for row in cur.fetchall()] == ORDERS
    assert conn.collection("orders").find_one({"_id": 3}) == ORDERS[2]


def test_paths_missing_and_null(conn):
    rows = conn.execute("SELECT o._id, o.address.city, o.items[0].sku, o['odd key'] FROM orders o "
                        "ORDER BY o._id").fetchall()
    assert rows == [(1, "Oslo", "a", None), (2, "Rome", None, None), (3, None, "c", None),
                    (4, None, "a", True)]
    missing = conn.execute("SELECT VALUE o._id FROM orders o WHERE o.address IS MISSING ORDER BY 1")
    assert missing.fetchall() == [(3,), (4,)]
    null_total = conn.execute("SELECT o._id FROM orders o WHERE o.total IS NULL").fetchall()
    assert null_total == [(4,)]  # a missing field is NULL too; total is present and null
    assert conn.execute("SELECT count(*) FROM orders o WHERE o.address.city = 'Oslo'").fetchone() == (1,)


def test_filter_answers_match_find(conn):
    by_sql = sorted(r[0] for r in conn.execute("SELECT o._id FROM orders o WHERE o.total > 5"))
    by_find = sorted(d["_id"] for d in conn.collection("orders").find({"total": {"$gt": 5}}))
    assert by_sql == by_find == [1, 3]


def test_unnest_both_spellings(conn):
    comma = conn.execute("SELECT o._id, i.sku, i.qty FROM orders o, o.items AS i ORDER BY 1, 2").fetchall()
    unnest = conn.execute("SELECT o._id, i.sku, i.qty FROM orders o, UNNEST(o.items) AS i "
                          "ORDER BY 1, 2").fetchall()
    assert comma == unnest == [(1, "a", 2), (1, "b", 1), (3, "c", 5), (4, "a", 1)]
    assert conn.execute("SELECT i.sku, sum(i.qty) FROM orders o, o.items i GROUP BY i.sku "
                        "ORDER BY 1").fetchall() == [("a", 3), ("b", 1), ("c", 5)]


def test_in_an_array_and_constructors(conn):
    gifts = conn.execute("SELECT o._id FROM orders o WHERE 'gift' IN o.tags ORDER BY 1").fetchall()
    assert gifts == [(1,), (3,)]
    made = conn.execute("SELECT {'id': o._id, 'first': o.items[0].sku, 'nothing': o.nope} FROM orders o "
                        "WHERE o._id = 1").fetchone()[0]
    assert made == {"id": 1, "first": "a"}  # a MISSING value leaves its field out
    assert conn.execute("SELECT [1, 'two', NULL]").fetchone() == ([1, "two", None],)


def test_join_a_table_with_a_collection(conn):
    rows = conn.execute("SELECT u.name, o.total FROM users u JOIN orders o ON o.user_id = u.id "
                        "ORDER BY o._id").fetchall()
    assert rows == [("ann", 10.5), ("bob", 3), ("ann", 7)]
    grouped = conn.execute("SELECT {'name': u.name, 'n': count(*)} FROM users u JOIN orders o "
                           "ON o.user_id = u.id GROUP BY u.name ORDER BY u.name").fetchall()
    assert grouped == [({"name": "ann", "n": 2},), ({"name": "bob", "n": 1},)]
    left = conn.execute("SELECT u.name, count(o._id) FROM users u LEFT JOIN orders o ON o.user_id = u.id "
                        "GROUP BY u.name ORDER BY 1").fetchall()
    assert left == [("ann", 2), ("bob", 1), ("cy", 0)]
    plan = "\n".join(r[0] for r in conn.execute(
        "EXPLAIN SELECT u.name FROM users u JOIN orders o ON o.user_id = u.id"))
    assert "HASH JOIN" in plan and "COLLECTION orders" in plan and "TABLE users" in plan


def test_document_insert_update_unset_delete(conn):
    conn.execute("INSERT INTO orders VALUE {'_id': 5, 'user_id': ?, 'meta': ?}", (3, {"a": [1, 2]}))
    assert conn.collection("orders").find_one({"_id": 5}) == {"_id": 5, "user_id": 3, "meta": {"a": [1, 2]}}
    cur = conn.execute("UPDATE orders SET orders.meta.a = 7, orders.flag = TRUE, UNSET orders.user_id "
                       "WHERE orders._id = 5")
    assert cur.rowcount == 1
    assert conn.collection("orders").find_one({"_id": 5}) == {"_id": 5, "meta": {"a": 7}, "flag": True}
    assert conn.execute("DELETE FROM orders WHERE orders.total IS NULL").rowcount == 2
    assert conn.collection("orders").count_documents({}) == 3
    with pytest.raises(docdb.ProgrammingError, match="documents"):
        conn.execute("INSERT INTO orders VALUES (1, 2)")


def test_collection_index_serves_sql(conn):
    conn.execute("CREATE INDEX by_city ON orders (address.city)")
    assert conn.collection("orders").index_information()["by_city"]["key"] == [("address.city", 1)]
    found = conn.execute("SELECT o._id FROM orders o WHERE o.address.city = ?", ("Rome",)).fetchall()
    assert found == [(2,)]
    conn.execute("DROP INDEX by_city")
    assert "by_city" not in conn.collection("orders").index_information()
