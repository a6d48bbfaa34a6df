"""The whole statement path under mutated SQL and generated documents.

Hypothesis mutates statements of every kind (queries with paths, joins and unnesting, DML,
DDL, transactions, pragmas) -- dropping, repeating, swapping and inserting tokens, and
swapping literals for hostile ones -- and generates documents, filters and updates for the
collection API. Every input must give a result or a docdb error (never another
exception), and an input that fails must leave the database exactly as it was.
``DOCDB_FUZZ_EXAMPLES`` sets the examples per test (default 300).
"""

from __future__ import annotations

import os
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import docdb

STATEMENTS = [
    "SELECT id, name, price * 2 AS p FROM items WHERE price > 1 ORDER BY id LIMIT 3",
    "SELECT o.customer, i.name FROM orders AS o, o.lines AS l JOIN items AS i ON i.id = l.item",
    "SELECT o.customer, count(*) FROM orders AS o GROUP BY o.customer HAVING count(*) > 0",
    "SELECT {'who': o.customer, 'n': o.lines[0].qty} FROM orders AS o WHERE o.total BETWEEN 1 AND 99",
    "SELECT name FROM items WHERE name LIKE 'a%' OR id IN (1, 2, 3) UNION SELECT 'x'",
    "SELECT (SELECT max(price) FROM items) - price, CASE WHEN price > 2 THEN 'hi' ELSE 'lo' END FROM items",
    "SELECT CAST(price AS TEXT) || name, coalesce(NULL, 1), abs(-3), length(name) FROM items",
    "INSERT INTO items VALUES (10, 'new', 1.5)",
    "INSERT INTO items (id, name, price) SELECT id + 100, name, price FROM items WHERE id < 3",
    "UPDATE items SET price = price + 1 WHERE id = 2",
    "DELETE FROM items WHERE price > 100",
    "INSERT INTO orders VALUE {'_id': 9, 'customer': 'zed', 'lines': [{'item': 1, 'qty': 2}], 'total': 5}",
    "UPDATE orders SET total = 7 WHERE customer = 'ann'",
    "DELETE FROM orders WHERE total < 0",
    "CREATE TABLE extra (a INTEGER PRIMARY KEY, b TEXT NOT NULL UNIQUE)",
    "CREATE INDEX items_price ON items (price)",
    "DROP INDEX IF EXISTS items_name",
    "ALTER TABLE items ADD COLUMN note TEXT DEFAULT 'n'",
    "CREATE VIEW cheap AS SELECT * FROM items WHERE price < 2",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT s1",
    "PRAGMA table_info(items)",
    "WITH t AS (SELECT id FROM items) SELECT * FROM t WHERE id > 1",
    "SELECT * FROM items i LEFT JOIN orders o ON o.lines[0].item = i.id ORDER BY 1 DESC",
]
HOSTILE = [
    "NULL",
    "''",
    "'\x00'",
    "'é🙂'",
    "9" * 40,
    "-9223372036854775809",
    "1e999",
    "X'00ff'",
    "(SELECT 1)",
    "[1, [2, {'a': 3}]]",
    "{'a': {'b': {}}}",
    "?",
    ":p",
    "*",
    "items",
    "orders.x.y",
]
TOKEN = re.compile(r"'(?:[^']|'')*'|\w+|[^\s\w]")


def database() -> docdb.Connection:
    conn = docdb.connect(autocommit=True)
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
    conn.execute("CREATE INDEX items_name ON items (name)")
    conn.executemany(
        "INSERT INTO items VALUES (?, ?, ?)", [(1, "apple", 1.0), (2, "bread", 2.5), (3, "avocado", 3.0)]
    )
    conn.collection("orders").insert_many(
        [
            {
                "_id": 1,
                "customer": "ann",
                "lines": [{"item": 1, "qty": 2}, {"item": 3, "qty": 1}],
                "total": 5.0,
            },
            {"_id": 2, "customer": "bob", "lines": [], "total": 0},
        ]
    )
    conn.collection("orders").create_index("customer")
    return conn


def state(conn: docdb.Connection) -> tuple:
    """Everything the database holds, schema included."""
    tables = tuple(sorted(row[1] for row in conn.execute("PRAGMA table_list")))
    rows = []
    for name in tables:
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            rows.append(sorted(map(repr, conn.execute(f"SELECT * FROM {quoted}").fetchall())))
        except docdb.ProgrammingError:  # a view over something dropped
            rows.append(None)
    schema = tuple(tuple(conn.execute(f"PRAGMA table_info({n})").fetchall()) for n in tables if n != "orders")
    indexes = tuple(
        tuple(conn.execute(f"PRAGMA index_list({n})").fetchall()) for n in tables if n != "orders"
    )
    docs = sorted(map(repr, conn.collection("orders").find({})))
    return tables, tuple(map(repr, rows)), schema, indexes, tuple(docs)


@st.composite
def mutated(draw) -> str:
    tokens = TOKEN.findall(draw(st.sampled_from(STATEMENTS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(tokens) - 1, 0)))
        how = draw(st.sampled_from(["drop", "repeat", "swap", "insert", "hostile", "cut"]))
        if not tokens:
            break
        if how == "drop":
            del tokens[at]
        elif how == "repeat":
            tokens.insert(at, tokens[at])
        elif how == "swap":
            other = draw(st.integers(0, len(tokens) - 1))
            tokens[at], tokens[other] = tokens[other], tokens[at]
        elif how == "insert":
            tokens.insert(
                at,
                draw(
                    st.sampled_from(
                        [
                            "(",
                            ")",
                            ",",
                            "SELECT",
                            "FROM",
                            "WHERE",
                            "AND",
                            "NOT",
                            "[",
                            "]",
                            "{",
                            "}",
                            ".",
                            "*",
                            "JOIN",
                            "ON",
                            "AS",
                            "UNNEST",
                            ";",
                            "--",
                        ]
                    )
                ),
            )
        elif how == "hostile":
            tokens[at] = draw(st.sampled_from(HOSTILE))
        else:
            tokens = tokens[:at]
    return " ".join(tokens)


EXAMPLES = int(os.environ.get("DOCDB_FUZZ_EXAMPLES", 300))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_checked(conn: docdb.Connection, action) -> None:
    """``action(conn)`` gives a result or a docdb error; after an error, nothing changed."""
    before = state(conn)
    try:
        action(conn)
    except docdb.Error:
        assert state(conn) == before, "a failed statement changed the database"


@FUZZ
@given(st.lists(mutated(), min_size=1, max_size=4), st.sampled_from([(), (1,), {"p": "x"}]))
def test_mutated_statements_give_results_or_docdb_errors(statements, params):
    conn = database()
    try:
        for sql in statements:
            run_checked(conn, lambda c, sql=sql: c.execute(sql, params).fetchall())
    finally:
        conn.close()


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)
OPERATORS = st.sampled_from(
    ["$set", "$unset", "$inc", "$push", "$pull", "$rename", "$min", "$mul", "$bogus", "x"]
)
FILTER_OPS = st.sampled_from(
    ["$eq", "$gt", "$in", "$exists", "$regex", "$size", "$elemMatch", "$not", "$nope"]
)
FIELDS = st.sampled_from(["customer", "total", "lines", "lines.0.qty", "lines.item", "", "$x", "a..b", "_id"])


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("insert"), st.dictionaries(FIELDS, JSON, max_size=4)),
            st.tuples(
                st.just("update"),
                st.dictionaries(FIELDS, JSON, max_size=2),
                st.dictionaries(OPERATORS, st.dictionaries(FIELDS, JSON, max_size=2), max_size=2),
            ),
            st.tuples(
                st.just("find"),
                st.dictionaries(FIELDS, st.dictionaries(FILTER_OPS, JSON, max_size=2) | JSON, max_size=2),
            ),
            st.tuples(st.just("delete"), st.dictionaries(FIELDS, JSON, max_size=2)),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_generated_documents_filters_and_updates_give_results_or_docdb_errors(calls):
    conn = database()
    orders = conn.collection("orders")
    try:
        for call in calls:
            if call[0] == "insert":
                run_checked(conn, lambda c, doc=call[1]: orders.insert_one(doc))
            elif call[0] == "update":
                run_checked(conn, lambda c, f=call[1], u=call[2]: orders.update_many(f, u))
            elif call[0] == "find":
                run_checked(conn, lambda c, f=call[1]: list(orders.find(f)))
            else:
                run_checked(conn, lambda c, f=call[1]: orders.delete_many(f))
    finally:
        conn.close()
