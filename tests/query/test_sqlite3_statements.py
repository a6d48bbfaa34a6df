"""Statements sqlite3 users type on their first day, each beside sqlite3: BEGIN DEFERRED /
IMMEDIATE / EXCLUSIVE, VACUUM, CURRENT_TIMESTAMP / _DATE / _TIME (as values and as defaults),
and connect() refusing a directory that does not exist."""

import datetime
import re
import sqlite3

import pytest

import docdb


@pytest.fixture
def both(tmp_path):
    mine = docdb.connect(str(tmp_path / "db"))
    theirs = sqlite3.connect(str(tmp_path / "db.sqlite"), isolation_level=None)
    mine.isolation_level = None
    yield mine, theirs
    mine.close()
    theirs.close()


@pytest.mark.parametrize(
    "begin",
    ["BEGIN", "BEGIN TRANSACTION", "BEGIN DEFERRED", "BEGIN IMMEDIATE TRANSACTION", "begin exclusive"],
)
def test_begin_kinds(both, begin):
    for conn in both:
        conn.execute("CREATE TABLE t (a INTEGER)")
        conn.execute(begin)
        conn.execute("INSERT INTO t VALUES (1)")
        assert conn.in_transaction
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_vacuum(both):
    mine, theirs = both
    for conn in both:
        conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 50) for i in range(500)])
        conn.execute("DELETE FROM t WHERE a >= 10")
        conn.execute("BEGIN")
        with pytest.raises((docdb.OperationalError, sqlite3.OperationalError), match="within a transaction"):
            conn.execute("VACUUM")
        conn.execute("ROLLBACK")
    before = mine.stats()["disk_bytes"]  # the log holds the deleted rows too, until a checkpoint
    for conn in both:
        conn.execute("VACUUM")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (10,)
    after = mine.stats()
    assert after["disk_bytes"] < before and after["log_bytes"] == 0


@pytest.mark.parametrize(
    "keyword, pattern",
    [
        ("CURRENT_TIMESTAMP", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"),
        ("CURRENT_DATE", r"\d{4}-\d\d-\d\d"),
        ("current_time", r"\d\d:\d\d:\d\d"),
    ],
)
def test_current_time_values_and_defaults(both, keyword, pattern):
    texts = []
    for conn in both:
        texts.append(conn.execute(f"SELECT {keyword}").fetchone()[0])
        conn.execute(
            f"CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT DEFAULT {keyword}, n INTEGER DEFAULT 5)"
        )
        conn.execute("INSERT INTO t (id) VALUES (1)")
        row = conn.execute("SELECT at, n FROM t").fetchone()
        assert re.fullmatch(pattern, row[0]) and row[1] == 5
        texts.append(row[0])
    assert all(re.fullmatch(pattern, t) for t in texts)
    if keyword == "CURRENT_TIMESTAMP":  # the same clock (UTC) as sqlite3's, within a few seconds
        times = [datetime.datetime.fromisoformat(t) for t in texts]
        assert max(times) - min(times) < datetime.timedelta(seconds=5)


def test_a_time_default_is_taken_at_each_insert_and_survives_a_dump(both):
    mine, _ = both
    mine.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT DEFAULT CURRENT_TIMESTAMP)")
    assert "DEFAULT CURRENT_TIMESTAMP" in "\n".join(mine.iterdump())
    with pytest.raises(docdb.ProgrammingError, match="non-constant default"):
        mine.execute("ALTER TABLE t ADD COLUMN later TEXT DEFAULT CURRENT_TIME")


def test_connect_refuses_a_missing_parent_directory(tmp_path):
    with pytest.raises(sqlite3.OperationalError):
        sqlite3.connect(str(tmp_path / "no" / "such" / "db.sqlite"))
    with pytest.raises(docdb.OperationalError, match="does not exist"):
        docdb.connect(str(tmp_path / "no" / "such" / "db"))
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    "sql, column",
    [("SELECT id, name, FROM t", 18), ("SELECT a FROM t AS where", 20), ("SELECT select FROM t", 8)],
)
def test_a_keyword_where_a_name_should_be_is_a_syntax_error_at_its_position(sql, column):
    with pytest.raises(sqlite3.OperationalError, match="syntax error"):
        sqlite3.connect(":memory:").execute(sql)
    with pytest.raises(docdb.ProgrammingError, match="is a keyword") as caught:
        docdb.connect().execute(sql)
    assert (caught.value.line, caught.value.column) == (1, column)


UPSERTS = [
    "INSERT INTO c VALUES (1, 5, 'b') ON CONFLICT(id) DO UPDATE SET n = n + 1",
    "INSERT INTO c VALUES (1, 5, 'b') ON CONFLICT(id) DO UPDATE "
    "SET n = n + excluded.n, note = note || excluded.note WHERE n > 3",
    "INSERT INTO c VALUES (1, 5, 'z') ON CONFLICT(id) DO UPDATE SET note = 'never' WHERE excluded.n > 100",
    "INSERT INTO c VALUES (1, 5, 'b') ON CONFLICT(id) DO UPDATE SET n = c.n * 2",
    "INSERT INTO c VALUES (2, 7, 'new') ON CONFLICT(id) DO UPDATE SET n = n + 1",
    "INSERT INTO c VALUES (2, 7, 'new') ON CONFLICT DO UPDATE SET n = excluded.n + n",
]


def test_upsert_reads_bare_names_as_the_stored_row_as_sqlite_does(both):
    for conn in both:
        conn.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER, note TEXT)")
        conn.execute("INSERT INTO c VALUES (1, 10, 'a')")
    for sql in UPSERTS:
        for conn in both:
            conn.execute(sql)
        assert (
            both[0].execute("SELECT * FROM c ORDER BY id").fetchall()
            == both[1].execute("SELECT * FROM c ORDER BY id").fetchall()
        ), sql


@pytest.mark.parametrize(
    "sql, what, column",
    [
        ("ATTACH DATABASE 'x.db' AS x", "ATTACH", 1),
        ("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END", "CREATE TRIGGER", 1),
        ("CREATE TABLE g (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2))", "generated columns", 38),
        ("CREATE TABLE w (a INTEGER PRIMARY KEY) WITHOUT ROWID", "WITHOUT ROWID", 40),
        ("ANALYZE", "ANALYZE", 1),
    ],
)
def test_sql_docdb_does_not_take_says_so_at_its_position(sql, what, column):
    conn = docdb.connect()
    conn.execute("CREATE TABLE t (a INTEGER)")
    with pytest.raises(docdb.NotSupportedError, match=re.escape(f"{what}") + ".* is not supported") as caught:
        conn.executescript(sql)
    assert (caught.value.line, caught.value.column) == (1, column)


def test_date_and_time_column_types_are_text_holding_iso_dates():
    conn = docdb.connect(autocommit=True)
    conn.execute(
        "CREATE TABLE ev (id SERIAL PRIMARY KEY, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, day DATE, "
        "t TIME, dt DATETIME, u UUID)"
    )
    assert conn.describe("ev")["columns"] == {  # the declared names, for converters
        "id": "SERIAL",
        "at": "TIMESTAMP DEFAULT CURRENT_TIMESTAMP",
        "day": "DATE",
        "t": "TIME",
        "dt": "DATETIME",
        "u": "UUID",
    }
    assert conn.describe("ev")["types"] == {
        "id": "INTEGER",
        "at": "TEXT",
        "day": "TEXT",
        "t": "TEXT",
        "dt": "TEXT",
        "u": "TEXT",
    }
    conn.execute(
        "INSERT INTO ev (day, dt) VALUES (?, ?)",
        (datetime.date(2026, 1, 2), datetime.datetime(2026, 1, 2, 3, 4)),
    )
    assert conn.execute(
        "SELECT id, day, dt FROM ev WHERE day >= ?", (datetime.date(2026, 1, 1),)
    ).fetchall() == [(1, "2026-01-02", "2026-01-02 03:04:00")]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM t ORDER BY name COLLATE NOCASE, id",
        "SELECT id FROM t ORDER BY name COLLATE NOCASE DESC, id",
        "SELECT id FROM t WHERE name = 'BOB' COLLATE NOCASE ORDER BY id",
        "SELECT id FROM t WHERE name COLLATE NOCASE < 'b' ORDER BY id",
        "SELECT id FROM t WHERE name = 'alice' COLLATE RTRIM ORDER BY id",
        "SELECT name COLLATE NOCASE FROM t ORDER BY id LIMIT 2",
        "SELECT id FROM t WHERE name COLLATE BINARY = 'bob'",
    ],
)
def test_collations_compare_and_sort_as_sqlite3(sql):
    _answers_as_sqlite3(sql, NAMES)


NAMES = [(1, "bob"), (2, "Alice"), (3, "alice "), (4, "Bob"), (5, "carl")]


def _answers_as_sqlite3(sql, rows):
    """``sql`` over a table t (id, name) holding ``rows`` answers as in sqlite3, with the
    collation bylength made on both."""
    results = []
    for conn in (docdb.connect(autocommit=True), sqlite3.connect(":memory:", isolation_level=None)):
        conn.create_collation("bylength", _by_length)
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
        results.append(conn.execute(sql).fetchall())
    assert results[0] == results[1]


def test_a_collated_comparison_is_not_answered_by_an_index():
    conn = docdb.connect(autocommit=True)
    conn.execute("CREATE TABLE t (a TEXT)")
    conn.execute("CREATE INDEX ta ON t (a)")
    conn.execute("INSERT INTO t VALUES ('X'), ('x')")
    assert conn.execute("SELECT a FROM t WHERE a = 'x' COLLATE NOCASE ORDER BY a").fetchall() == [
        ("X",),
        ("x",),
    ]
    conn.collection("d").insert_many([{"n": "X"}, {"n": "x"}])
    conn.collection("d").create_index("n")
    assert len(conn.execute("SELECT d.n FROM d WHERE d.n = 'x' COLLATE NOCASE").fetchall()) == 2


def _by_length(a, b):
    return (len(a) > len(b)) - (len(a) < len(b))


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM t ORDER BY name COLLATE bylength, id",
        "SELECT id FROM t ORDER BY name COLLATE BYLENGTH DESC, id",
        "SELECT id FROM t WHERE name = 'xxx' COLLATE bylength ORDER BY id",
        "SELECT id FROM t WHERE name COLLATE bylength < 'abcd' ORDER BY id",
        "SELECT id FROM t WHERE name COLLATE bylength BETWEEN 'a' AND 'abc' ORDER BY id",
        "SELECT name COLLATE bylength FROM t ORDER BY id",
    ],
)
def test_create_collation_compares_and_sorts_as_sqlite3(sql):
    _answers_as_sqlite3(sql, [(1, "bob"), (2, "Alice"), (3, "al"), (4, None), (5, "carl"), (6, "x")])


def test_create_collation_removed_replaced_and_its_errors():
    conn = docdb.connect(autocommit=True)
    conn.execute("CREATE TABLE t (a TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("b",), ("a",), ("c",)])
    query = "SELECT a FROM t ORDER BY a COLLATE mine"
    conn.create_collation("mine", lambda a, b: (a < b) - (a > b))
    assert conn.execute(query).fetchall() == [("c",), ("b",), ("a",)]
    conn.create_collation("MINE", lambda a, b: (a > b) - (a < b))  # names in any case, as sqlite3
    assert conn.execute(query).fetchall() == [("a",), ("b",), ("c",)]
    conn.create_collation("mine", None)
    with pytest.raises(docdb.ProgrammingError, match="no such collation sequence: MINE"):
        conn.execute(query)
    conn.create_collation("broken", lambda a, b: 1 / 0)
    with pytest.raises(docdb.OperationalError, match="collation broken raised ZeroDivisionError"):
        conn.execute("SELECT a FROM t ORDER BY a COLLATE broken").fetchall()
    conn.create_collation("vague", lambda a, b: "less")
    with pytest.raises(docdb.OperationalError, match="not an integer"):
        conn.execute("SELECT a FROM t WHERE a = 'b' COLLATE vague").fetchall()
    with pytest.raises(docdb.ProgrammingError, match="not callable"):
        conn.create_collation("x", 42)
    other = docdb.connect()
    with pytest.raises(docdb.ProgrammingError, match="no such collation"):
        other.execute("SELECT 'a' COLLATE broken")  # a connection's own, as in sqlite3
    other.close()
    conn.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM t WHERE name COLLATE NOCASE BETWEEN 'b' AND 'BOB' ORDER BY id",
        "SELECT id FROM t WHERE name BETWEEN 'A' AND 'b' COLLATE NOCASE ORDER BY id",
        "SELECT id FROM t WHERE name COLLATE NOCASE NOT BETWEEN 'b' AND 'BOB' ORDER BY id",
        "SELECT id FROM t WHERE name COLLATE NOCASE IN ('BOB', 'CARL') ORDER BY id",
        "SELECT id FROM t WHERE name COLLATE NOCASE NOT IN ('BOB', 'CARL') ORDER BY id",
        "SELECT id FROM t WHERE name COLLATE bylength IN ('xxx', 'y') ORDER BY id",
        "SELECT id FROM t WHERE name COLLATE RTRIM IN ('alice', id) ORDER BY id",
    ],
)
def test_between_and_in_compare_under_a_collation_as_sqlite3(sql):
    _answers_as_sqlite3(sql, NAMES)
