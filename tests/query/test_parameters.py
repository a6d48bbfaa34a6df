"""Parameters as sqlite3 takes them: counts and names checked up front, dates stored as ISO text,
other types refused (or adapted by register_adapter) -- never silently matching nothing."""

import datetime
import decimal
import sqlite3
import uuid
import warnings

import pytest

import docdb
from docdb import adapters


@pytest.fixture
def conn():
    connection = docdb.connect(autocommit=True)
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT, n REAL)")
    yield connection
    connection.close()


@pytest.fixture
def clean_adapters():
    saved = dict(adapters._ADAPTERS)
    yield
    adapters._ADAPTERS.clear()
    adapters._ADAPTERS.update(saved)


@pytest.mark.parametrize(
    "sql, params",
    [
        ("SELECT ?", (1, 2)),
        ("SELECT ?", ()),
        ("SELECT ?, ?", (1,)),
        ("SELECT :a", {}),
        ("SELECT :a, :b", {"a": 1}),
        ("SELECT ?", "ab"),
    ],
)
def test_wrong_parameters_are_programming_errors_as_in_sqlite3(conn, sql, params):
    with pytest.raises(sqlite3.ProgrammingError):
        sqlite3.connect(":memory:").execute(sql, params)
    with pytest.raises(docdb.ProgrammingError):
        conn.execute(sql, params)


def test_extra_names_in_a_mapping_are_allowed_as_in_sqlite3(conn):
    assert conn.execute("SELECT :a", {"a": 1, "unused": 2}).fetchall() == [(1,)]
    assert sqlite3.connect(":memory:").execute("SELECT :a", {"a": 1, "unused": 2}).fetchall() == [(1,)]


@pytest.mark.parametrize(
    "value",
    [
        datetime.date(2026, 12, 6),
        datetime.datetime(2026, 12, 6, 18, 30, 5),
        datetime.datetime(2026, 12, 6, 18, 30, 5, 123456),
    ],
)
def test_dates_are_stored_as_sqlite3_stores_them(conn, value):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # sqlite3's default adapters (3.12+)
        expected = sqlite3.connect(":memory:").execute("SELECT ?", (value,)).fetchone()[0]
    assert conn.execute("SELECT ?", (value,)).fetchone()[0] == expected
    conn.execute("INSERT INTO t (id, at) VALUES (1, ?)", (value,))
    assert conn.execute("SELECT id FROM t WHERE at = ?", (value,)).fetchall() == [(1,)]
    assert conn.execute("UPDATE t SET n = 1 WHERE at = ?", (value,)).rowcount == 1


def test_times_and_nested_dates_are_iso_text(conn):
    assert conn.execute("SELECT ?", (datetime.time(7, 5),)).fetchone() == ("07:05:00",)
    assert conn.execute("SELECT ?", ({"on": [datetime.date(2020, 1, 2)]},)).fetchone() == (
        {"on": ["2020-01-02"]},
    )


@pytest.mark.parametrize("value", [decimal.Decimal("1.5"), uuid.UUID(int=1), {1, 2}, object(), {1: "x"}])
def test_unsupported_types_are_refused_naming_the_parameter(conn, value):
    with pytest.raises(docdb.ProgrammingError, match="parameter 2"):
        conn.execute("SELECT ?, ?", (1, value))
    with pytest.raises(docdb.ProgrammingError, match="parameter :v"):
        conn.execute("UPDATE t SET n = 2 WHERE at = :v", {"v": value})


def test_register_adapter(conn, clean_adapters):
    docdb.register_adapter(decimal.Decimal, str)
    docdb.register_adapter(uuid.UUID, lambda u: u.bytes)
    assert conn.execute("SELECT ?, ?", (decimal.Decimal("1.50"), uuid.UUID(int=1))).fetchone() == (
        "1.50",
        uuid.UUID(int=1).bytes,
    )
    docdb.register_adapter(decimal.Decimal, lambda d: 1 / 0)
    with pytest.raises(docdb.ProgrammingError, match="adapter for Decimal failed"):
        conn.execute("SELECT ?", (decimal.Decimal(1),))


def test_executemany_checks_every_set(conn):
    with pytest.raises(docdb.ProgrammingError, match="the statement uses 3, and there are 2"):
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(1, "a", 1.0), (2, "b")])
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)  # all or nothing
