"""Every function SQLite's core has (sqlite3's PRAGMA function_list, less the extensions --
FTS, R*Tree, load_extension, compile options) exists in docdb, and agrees with sqlite3 on
sample inputs: the same value, or an error where sqlite3 errs. Functions of the moment or of
chance (random, changes...) are held to what they must be instead."""

from __future__ import annotations

import itertools
import math
import sqlite3

import pytest

import docdb
from query.functions import AGGREGATES, SCALARS
from query.windows import RANKING, VALUE_FUNCTIONS

EXTENSIONS = {"bm25", "fts3_tokenizer", "fts5", "fts5_source_id", "highlight", "load_extension", "match",
              "matchinfo", "offsets", "optimize", "rtreecheck", "rtreedepth", "rtreenode", "snippet",
              "sqlite_compileoption_get", "sqlite_compileoption_used", "sqlite_log", "subtype"}
OPERATORS_AND_KEYWORDS = {"->", "->>", "current_date", "current_time", "current_timestamp"}
UNREPEATABLE = {"random", "randomblob", "changes", "total_changes", "last_insert_rowid", "sqlite_source_id"}
SAMPLES = [1, -2.5, "abc", "2024-01-02", None, b"\x01", '{"a":[1,2]}', "$.a", 0, 3]


def _listed() -> list[tuple[str, str, int]]:
    with sqlite3.connect(":memory:") as peer:
        rows = peer.execute("SELECT name, type, narg FROM pragma_function_list ORDER BY name").fetchall()
    return [(n, t, a) for n, t, a in rows if n not in EXTENSIONS | OPERATORS_AND_KEYWORDS]


def _ask(conn, sql, params):
    try:
        return "value", conn.execute(sql, params).fetchone()[0]
    except (docdb.Error, sqlite3.Error):
        return "error", None


def _same(mine, theirs) -> bool:
    if mine[0] != theirs[0] or mine[0] == "error":
        return mine[0] == theirs[0]
    x, y = mine[1], theirs[1]
    if type(x) is bool:  # docdb's booleans are booleans; sqlite3 gives 1 or 0
        x = int(x)
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-9) or (x != x and y != y)
    return type(x) is type(y) and x == y


def test_every_function_of_sqlites_core_exists():
    mine = set(SCALARS) | set(AGGREGATES) | set(RANKING) | set(VALUE_FUNCTIONS)
    missing = sorted({name for name, _, _ in _listed()} - mine)
    assert not missing, missing


@pytest.mark.parametrize("name, narg", sorted({(n, a) for n, t, a in _listed()
                                               if t == "s" and n not in UNREPEATABLE}))
def test_each_scalar_function_agrees_with_sqlite3_on_samples(name, narg):
    mine, peer = docdb.connect(":memory:"), sqlite3.connect(":memory:")
    for count in [narg] if narg >= 0 else [1, 2, 3]:
        cases = itertools.product(SAMPLES, repeat=count) if count <= 2 else \
            [tuple(SAMPLES[:3]), (1, 2, 3), ('{"a":1}', "$.a", 1)]
        for args in cases:
            sql = f"SELECT {name}({', '.join('?' * count)})"
            got, want = _ask(mine, sql, args), _ask(peer, sql, args)
            assert _same(got, want), (sql, args, got, want)


def test_functions_of_chance_and_of_the_connection():
    conn = docdb.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)")
    conn.executemany("INSERT INTO t (a) VALUES (?)", [(1,), (2,), (3,)])
    conn.execute("UPDATE t SET a = a + 1 WHERE id > 1")
    assert conn.execute("SELECT changes(), total_changes(), last_insert_rowid()").fetchone() == (2, 5, 3)
    assert conn.execute("SELECT typeof(random()), length(randomblob(7)), sqlite_source_id() LIKE 'docdb%'"
                        ).fetchone() == ("integer", 7, True)
    assert conn.execute("SELECT sqlite_version()").fetchone() == ("3.40.1",)
