"""SQLite's math functions (and soundex, likely...) agree with sqlite3 on sample inputs:
numbers, numeric and non-numeric text, NULL, blobs, domain errors, overflow."""

from __future__ import annotations

import math
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import docdb
from tests.query.sqlite_peer import ask

UNARY = ["acos", "asin", "atan", "acosh", "asinh", "atanh", "cos", "sin", "tan", "cosh", "sinh", "tanh",
         "sqrt", "degrees", "radians", "exp", "ln", "log10", "log2", "log", "ceil", "ceiling", "floor",
         "trunc", "soundex", "likely", "unlikely"]
BINARY = ["pow", "power", "mod", "atan2", "log"]
SAMPLES = [0, 1, -1, 2, 0.5, -0.5, 1.0, 3.7, -3.7, 710, -710, 1e308, 2**62, "4", "2.5", "x", " 3", "",
           None, b"1", True]
VALUES = st.one_of(st.sampled_from(SAMPLES), st.integers(-1000, 1000),
                   st.floats(-1e6, 1e6, allow_nan=False), st.text("0123456789.-eE ", max_size=5))


@pytest.fixture(scope="module")
def both():
    return docdb.connect(":memory:"), sqlite3.connect(":memory:")


def _agree(mine, theirs):
    if type(mine) is bool:  # docdb keeps a boolean a boolean; sqlite3 hands back 0 or 1
        mine = int(mine)
    if isinstance(theirs, float) and isinstance(mine, float):
        if mine == 0 == theirs:
            return math.copysign(1, mine) == math.copysign(1, theirs)  # -0.0 is not 0.0 here
        return mine == theirs or math.isclose(mine, theirs, rel_tol=1e-12, abs_tol=1e-300)
    return type(mine) is type(theirs) and mine == theirs


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(UNARY + BINARY), x=VALUES, y=VALUES)
def test_math_functions_agree_with_sqlite3(both, name, x, y):
    mine_conn, peer = both
    two = name in BINARY and (name != "log" or y is not None)
    sql = f"SELECT {name}(?, ?)" if two else f"SELECT {name}(?)"
    params = (x, y) if "?, ?" in sql else (x,)
    mine, theirs = ask(mine_conn, sql, params), ask(peer, sql, params)
    assert mine[0] == theirs[0], (sql, params, mine, theirs)
    assert _agree(mine[1], theirs[1]), (sql, params, mine, theirs)


def test_every_one_exists_with_sqlite3s_arity(both):
    mine, _ = both
    got = mine.execute("SELECT pi(), typeof(random()), length(randomblob(5)), likelihood(3, 0.5)").fetchone()
    assert got == (math.pi, "integer", 5, 3)
    with pytest.raises(docdb.ProgrammingError):
        mine.execute("SELECT sqrt(1, 2)")
