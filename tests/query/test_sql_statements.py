"""Definitions, upserts, views, plan caching and error paths of the SQL language."""

import pytest

import docdb
from query.planner import Planner


@pytest.fixture
def conn():
    c = docdb.connect(autocommit=True)
    yield c
    c.close()


def test_create_table_types_constraints_and_engine(conn):
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, "
                 "score DOUBLE DEFAULT 1.5, ok BOOL DEFAULT TRUE, blob BLOB, meta JSON, anything, "
                 "UNIQUE (name)) USING hash")
    columns = {c.name: c for c in conn.table("t").schema().columns}
    assert {n: c.type for n, c in columns.items()} == {
        "id": "INTEGER", "name": "TEXT", "score": "REAL", "ok": "BOOLEAN", "blob": "BLOB", "meta": "JSON",
        "anything": "JSON"}
    conn.execute("INSERT INTO t (id, name, meta) VALUES (1, 'a', ?)", ({"k": [1, 2]},))
    assert conn.execute("SELECT score, ok, meta FROM t").fetchone() == (1.5, True, {"k": [1, 2]})
    assert conn.execute("SELECT t.meta.k[1] FROM t").fetchone() == (2,)  # a JSON column is navigable
    with pytest.raises(docdb.IntegrityError):
        conn.execute("INSERT INTO t (id, name) VALUES (2, 'a')")  # UNIQUE (name)
    with pytest.raises(docdb.ProgrammingError, match="already exists"):
        conn.execute("CREATE TABLE T (x INTEGER)")  # names are matched in any case
    conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    conn.execute("CREATE TABLE u (x GEOMETRY)")  # as SQLite, any type name: it holds any value
    conn.execute("INSERT INTO u VALUES ('a'), (1), ('{\"k\": 1}')")
    assert conn.describe("u")["columns"] == {"x": "GEOMETRY"} and conn.describe("u")["types"] == {"x": "JSON"}


def test_indexes_and_drop(conn):
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)")
    conn.execute("CREATE UNIQUE INDEX t_a ON t (a)")
    with pytest.raises(docdb.ProgrammingError, match="already exists"):
        conn.execute("CREATE INDEX T_A ON t (a)")
    conn.execute("CREATE INDEX IF NOT EXISTS t_a ON t (a)")
    conn.execute("INSERT INTO t VALUES (1, 10)")
    with pytest.raises(docdb.IntegrityError):
        conn.execute("INSERT INTO t VALUES (2, 10)")
    conn.execute("DROP INDEX t_a")
    conn.execute("INSERT INTO t VALUES (2, 10)")
    with pytest.raises(docdb.ProgrammingError, match="no such index"):
        conn.execute("DROP INDEX t_a")
    conn.execute("DROP INDEX IF EXISTS t_a")
    conn.execute("DROP TABLE t")
    with pytest.raises(docdb.ProgrammingError, match="no such table"):
        conn.execute("SELECT * FROM t")
    conn.execute("DROP TABLE IF EXISTS t")
    conn.execute("CREATE COLLECTION c")
    with pytest.raises(docdb.ProgrammingError, match="no such table"):
        conn.execute("DROP TABLE c")  # a collection is dropped as one
    conn.execute("DROP COLLECTION c")
    assert conn.collections() == []


def test_upserts_match_sqlite():
    import sqlite3

    script = ["CREATE TABLE t (id INTEGER PRIMARY KEY, u TEXT UNIQUE, n INTEGER)",
              "INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2)",
              "INSERT OR IGNORE INTO t VALUES (1, 'z', 9)",
              "INSERT OR REPLACE INTO t VALUES (3, 'b', 3)",
              "REPLACE INTO t VALUES (1, 'aa', 10)",
              "INSERT INTO t VALUES (1, 'q', 5) ON CONFLICT (id) DO UPDATE SET n = t.n + excluded.n",
              "INSERT INTO t VALUES (4, 'aa', 5) ON CONFLICT DO NOTHING",
              "INSERT INTO t VALUES (3, 'x', 100) ON CONFLICT (id) DO UPDATE SET n = excluded.n "
              "WHERE excluded.n < 50"]
    ours, theirs = docdb.connect(autocommit=True), sqlite3.connect(":memory:", isolation_level=None)
    for statement in script:
        ours.execute(statement)
        theirs.execute(statement)
    query = "SELECT * FROM t ORDER BY id"
    assert ours.execute(query).fetchall() == theirs.execute(query).fetchall() == [(1, "aa", 15), (3, "b", 3)]
    with pytest.raises(docdb.IntegrityError):  # NOT NULL is no conflict DO NOTHING handles
        ours.execute("CREATE TABLE n (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        ours.execute("INSERT INTO n VALUES (1, NULL) ON CONFLICT DO NOTHING")
    ours.close()


def test_views_read_tables_and_collections(conn):
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users VALUES (1, 'ann'), (2, 'bob')")
    conn.execute("CREATE COLLECTION orders")
    conn.execute("INSERT INTO orders VALUES {'user_id': 1, 'total': 5}, {'user_id': 1, 'total': 7}")
    conn.execute("CREATE VIEW spend (name, spent) AS SELECT u.name, sum(o.total) FROM users u "
                 "JOIN orders o ON o.user_id = u.id GROUP BY u.name")
    assert conn.execute("SELECT name, spent FROM spend").fetchall() == [("ann", 12)]
    conn.execute("INSERT INTO orders VALUE {'user_id': 2, 'total': 1}")
    assert conn.execute("SELECT * FROM spend ORDER BY name").fetchall() == [("ann", 12), ("bob", 1)]
    assert conn.views() == ["spend"]
    conn.execute("CREATE TEMP VIEW mine AS SELECT name FROM users WHERE id = 1")
    assert conn.execute("SELECT * FROM mine").fetchall() == [("ann",)]
    with pytest.raises(docdb.ProgrammingError, match="no such table: nowhere"):
        conn.execute("CREATE VIEW bad AS SELECT * FROM nowhere")
    conn.execute("DROP VIEW spend")
    conn.execute("DROP VIEW mine")
    with pytest.raises(docdb.ProgrammingError, match="no such table: spend"):
        conn.execute("SELECT * FROM spend")


def test_temp_views_belong_to_their_connection(tmp_path):
    first = docdb.connect(tmp_path / "db", autocommit=True)
    second = docdb.connect(tmp_path / "db", autocommit=True)
    first.execute("CREATE TABLE t (x INTEGER)")
    first.execute("CREATE TEMP VIEW v AS SELECT x FROM t")
    first.execute("SELECT * FROM v")
    with pytest.raises(docdb.ProgrammingError, match="no such table: v"):
        second.execute("SELECT * FROM v")
    first.close()
    second.close()


def test_a_repeated_statement_is_planned_once_until_the_catalog_changes(conn, monkeypatch):
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, i % 7) for i in range(50)])
    planned = []
    original = Planner.query

    def counting(self, node, outer=None):
        planned.append(node)
        return original(self, node, outer)
    monkeypatch.setattr(Planner, "query", counting)
    sql = "SELECT count(*) FROM t WHERE a = ?"
    assert [conn.execute(sql, (k,)).fetchone()[0] for k in range(7)] == [8, 7, 7, 7, 7, 7, 7]
    assert len(planned) == 1
    conn.execute("CREATE INDEX t_a ON t (a)")
    assert conn.execute(sql, (3,)).fetchone() == (7,)
    assert len(planned) == 2  # a new catalog: planned again, now with the index
    assert "SEARCH TABLE t" in "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, (3,)))


def test_executescript_and_comments(conn):
    conn.executescript("""
        -- a comment
        CREATE TABLE t (x INTEGER); /* a block
        comment */ INSERT INTO t VALUES (1);
        INSERT INTO t VALUES (2);;
    """)
    assert conn.execute("SELECT sum(x) FROM t").fetchone() == (3,)
    with pytest.raises(docdb.ProgrammingError, match="one statement"):
        conn.execute("SELECT 1; SELECT 2")


def test_cursor_api(conn):
    conn.execute("CREATE TABLE t (x INTEGER)")
    cur = conn.cursor()
    cur.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
    assert cur.rowcount == 5 and cur.description is None
    cur.execute("SELECT x FROM t ORDER BY x")
    assert cur.fetchone() == (0,)
    cur.arraysize = 2
    assert cur.fetchmany() == [(1,), (2,)]
    assert list(cur) == [(3,), (4,)]
    assert cur.fetchall() == []
    cur.close()
    with pytest.raises(docdb.InterfaceError):
        cur.fetchone()
    assert docdb.paramstyle == "qmark"


@pytest.mark.parametrize("bad, message", [
    ("SELECT count(*) FROM t GROUP BY count(*)", "aggregate functions are not allowed"),
    ("SELECT x FROM t HAVING x > 1", "HAVING clause on a non-aggregate query"),
    ("SELECT x FROM t HAVING avg(x) > 1", "HAVING clause on a non-aggregate query"),
    ("SELECT x FROM t ORDER BY 3", "out of range"),
    ("SELECT sum(x, x) FROM t", "sum"),
    ("SELECT (SELECT 1, 2)", "sub-select returns 2 columns"),
    ("SELECT x FROM t UNION SELECT 1, 2", "same number of result columns"),
    ("INSERT INTO t VALUES (1, 2)", "1 columns but 2 values"),
    ("INSERT INTO t (nope) VALUES (1)", "no such column: nope"),
    ("SELECT x FROM t WHERE x = 'a' COLLATE klingon", "no such collation"),
    ("SELECT CAST(x AS COLOUR) FROM t", "COLOUR"),
    ("UPDATE t SET x = 'text'", "INTEGER"),
])
def test_error_paths(conn, bad, message):
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(docdb.DatabaseError, match=message):
        conn.execute(bad).fetchall()
    assert conn.execute("SELECT * FROM t").fetchall() == [(1,)]  # nothing changed


def test_alter_table_add_column_and_rename_survive_reopen(tmp_path):
    conn = docdb.connect(tmp_path / "db", autocommit=True)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)")
    conn.execute("CREATE INDEX t_a ON t (a)")
    conn.execute("INSERT INTO t VALUES (1, 'x')")
    conn.execute("ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 7")
    conn.execute("ALTER TABLE t ADD c TEXT")
    conn.execute("INSERT INTO t VALUES (2, 'y', 3, 'z')")
    conn.execute("CREATE INDEX t_b ON t (b)")
    conn.execute("ALTER TABLE t RENAME TO u")
    conn.close()
    conn = docdb.connect(tmp_path / "db", autocommit=True)
    assert conn.tables() == ["u"]
    assert conn.execute("SELECT * FROM u ORDER BY id").fetchall() == [(1, "x", 7, None), (2, "y", 3, "z")]
    assert conn.execute("SELECT id FROM u WHERE b = 7").fetchall() == [(1,)]  # the old row's default
    assert conn.execute("SELECT id FROM u WHERE a = 'y'").fetchall() == [(2,)]  # its index moved along
    for bad, message in [("ALTER TABLE u ADD COLUMN d INTEGER NOT NULL", "NOT NULL column"),
                         ("ALTER TABLE u ADD COLUMN A TEXT", "duplicate column name"),
                         ("ALTER TABLE u ADD COLUMN e TEXT UNIQUE", "UNIQUE column"),
                         ("ALTER TABLE u ADD COLUMN f INTEGER PRIMARY KEY", "PRIMARY KEY"),
                         ("ALTER TABLE nope ADD x INTEGER", "no such table: nope"),
                         ("ALTER TABLE u RENAME TO u", "already another table")]:
        with pytest.raises(docdb.ProgrammingError, match=message):
            conn.execute(bad)
    assert [c for c in conn.table("u").columns] == ["id", "a", "b", "c"]
    conn.close()


def test_quoted_names_in_every_definition_and_a_dump_of_them():
    """ORMs and migration tools quote every name: "a" and `a` stand wherever a name can."""
    conn = docdb.connect(autocommit=True)
    conn.executescript('''
        CREATE TABLE "Order Lines" ("id" INTEGER PRIMARY KEY, `sku code` TEXT NOT NULL, "qty" INTEGER);
        INSERT INTO "Order Lines" ("id", `sku code`, "qty") VALUES (1, 'apple', 3);
        CREATE INDEX "by sku" ON "Order Lines" ("sku code");
        ALTER TABLE "Order Lines" ADD COLUMN "note" TEXT;
        CREATE VIEW "big lines" ("line") AS SELECT "id" FROM "Order Lines" WHERE "qty" > 2;
        CREATE COLLECTION "odd docs";
    ''')
    assert conn.execute('SELECT "sku code", qty FROM "Order Lines"').fetchall() == [("apple", 3)]
    assert conn.execute('SELECT * FROM "big lines"').fetchall() == [(1,)]
    assert conn.describe("Order Lines")["columns"] == {"id": "INTEGER", "sku code": "TEXT NOT NULL",
                                                       "qty": "INTEGER", "note": "TEXT"}
    copy = docdb.connect(autocommit=True)
    copy.executescript("\n".join(conn.iterdump()))
    assert list(copy.iterdump()) == list(conn.iterdump())
