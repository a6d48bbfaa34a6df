"""register_converter and detect_types, each query beside sqlite3 with the same converters."""

import datetime
import sqlite3

import pytest

import docdb

SETUP = [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, at TIMESTAMP, day DATE, p COORDS, n NUMBER(10), r REAL)",
    "CREATE TABLE u (tid INTEGER, note TEXT, at TIMESTAMP)",
    "INSERT INTO t VALUES (1, '2026-01-02 03:04:05', '2026-01-02', '1;2', 7, 1.5)",
    "INSERT INTO t VALUES (2, NULL, NULL, NULL, NULL, NULL)",
    "INSERT INTO u VALUES (1, 'x', '2027-05-06 07:08:09')",
    "CREATE VIEW v AS SELECT at FROM t",
    "CREATE VIEW w (stamp, other) AS SELECT t.at, u.at FROM t JOIN u ON u.tid = t.id",
]
QUERIES = [
    "SELECT * FROM t ORDER BY id",
    "SELECT at, day, p, n, r FROM t ORDER BY id",
    "SELECT t.at, u.at, u.note FROM t JOIN u ON u.tid = t.id",
    "SELECT t.*, u.* FROM t, u WHERE u.tid = t.id",
    "SELECT u.* FROM t JOIN u ON u.tid = t.id",
    "SELECT at AS moment, n + 1 FROM t ORDER BY id",
    "SELECT at FROM v",
    "SELECT other, stamp FROM w",
    "SELECT * FROM w",
    "SELECT at FROM (SELECT at FROM t) ORDER BY at",
    'SELECT at AS "stamp [timestamp]", p AS "where [coords]", n AS "plain" FROM t ORDER BY id',
    'SELECT r AS "half [number]", \'3\' AS "three [NUMBER]" FROM t WHERE id = 1',
    'SELECT day AS "d [nothing registered]" FROM t WHERE id = 1',
    "SELECT max(at), count(*) FROM t",
]


@pytest.fixture(scope="module", autouse=True)
def converters():
    for module in (docdb, sqlite3):
        module.register_converter("timestamp", lambda b: datetime.datetime.fromisoformat(b.decode()))
        module.register_converter("DATE", lambda b: datetime.date.fromisoformat(b.decode()))
        module.register_converter("Coords", lambda b: tuple(float(x) for x in b.split(b";")))
        module.register_converter("number", lambda b: ("number", b))


@pytest.mark.parametrize("detect", [0, 1, 2, 3])
@pytest.mark.parametrize("sql", QUERIES)
def test_converted_as_sqlite3(sql, detect):
    answers = []
    for module in (docdb, sqlite3):
        conn = module.connect(":memory:", detect_types=detect)
        for statement in SETUP:
            conn.execute(statement)
        cursor = conn.execute(sql)
        answers.append((cursor.fetchall(), [d[0] for d in cursor.description]))
        conn.close()
    assert answers[0] == answers[1]


def test_values_reach_a_converter_as_sqlite3_hands_them_over():
    seen = {}
    for module in (docdb, sqlite3):
        module.register_converter("RAW", lambda b, m=module.__name__: seen.setdefault(m, []).append(b) or b)
        conn = module.connect(":memory:", detect_types=docdb.PARSE_COLNAMES)
        conn.execute(
            'SELECT 1 AS "a [raw]", 2.5 AS "b [raw]", \'t\' AS "c [raw]", NULL AS "d [raw]"'
        ).fetchall()
    assert seen["docdb"] == seen["sqlite3"] == [b"1", b"2.5", b"t"]  # never called for NULL


def test_documents_reach_a_converter_as_json(tmp_path):
    docdb.register_converter("DOC", lambda b: ("doc", b))
    conn = docdb.connect(detect_types=docdb.PARSE_COLNAMES)
    row = conn.execute("""SELECT {'a': [1, true]} AS "x [doc]" """).fetchone()
    assert row == (("doc", b'{"a":[1,true]}'),)


def test_a_converter_is_kept_with_the_declared_type_across_a_reopen(tmp_path):
    path = str(tmp_path / "db")
    conn = docdb.connect(path, autocommit=True)
    conn.execute("CREATE TABLE e (at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, n INTEGER)")
    conn.execute("INSERT INTO e (n) VALUES (1)")
    conn.close()
    conn = docdb.connect(path, detect_types=docdb.PARSE_DECLTYPES)
    ((at, n),) = conn.execute("SELECT * FROM e").fetchall()
    assert isinstance(at, datetime.datetime) and n == 1
    assert conn.execute("PRAGMA table_info(e)").fetchall()[0][2] == "TIMESTAMP"
    conn.close()


def test_bad_registrations():
    with pytest.raises(docdb.ProgrammingError):
        docdb.register_converter("x", "not callable")
    with pytest.raises(docdb.ProgrammingError):
        docdb.register_converter(5, str)
