"""SQLite's JSON functions (json, json_extract, json_type, json_valid, json_array_length,
json_quote, json_array, json_object) agree with sqlite3 on random JSON text, paths and
values, and read docdb's own JSON values (a JSON column's objects, documents) the same way."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import docdb
from tests.query.sqlite_peer import ask

KEYS = st.sampled_from(["a", "b", "c d", "x"])
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.sampled_from([0.5, -2.25, 3.0]),
                   st.text("abc é", max_size=3))
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(KEYS, inner, max_size=3)), max_leaves=8)
STEPS = st.lists(st.one_of(KEYS.map(lambda k: f'."{k}"' if " " in k else f".{k}"),
                           st.integers(0, 3).map(lambda i: f"[{i}]"),
                           st.integers(1, 3).map(lambda i: f"[#-{i}]")), max_size=3)
PATHS = STEPS.map(lambda steps: "$" + "".join(steps))
TEXTS = st.one_of(VALUES.map(lambda v: json.dumps(v, ensure_ascii=False)),
                  st.sampled_from(["{", "[1,", "x", ""]))


@pytest.fixture(scope="module")
def both():
    return docdb.connect(":memory:"), sqlite3.connect(":memory:")


@settings(max_examples=600, deadline=None)
@given(text=TEXTS, path=PATHS, more=PATHS,
       call=st.sampled_from(["json_extract(?, ?)", "json_extract(?, ?, ?)", "json_type(?)", "json_type(?, ?)",
                             "json_valid(?)", "json_array_length(?)", "json_array_length(?, ?)",
                             "json_quote(?)"]))
def test_json_functions_agree_with_sqlite3(both, text, path, more, call):
    params = (text, path, more)[:call.count("?")]
    mine, theirs = (ask(c, f"SELECT {call}", params) for c in both)
    assert mine == theirs, (call, params, mine, theirs)


def test_json_functions_read_json_columns_and_documents():
    conn = docdb.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON)")
    conn.execute("INSERT INTO t VALUES (1, ?)", ({"a": [1, {"b": "x"}], "n": None},))
    conn.execute("CREATE COLLECTION c")
    conn.execute("INSERT INTO c VALUE {'a': [1, {'b': 'x'}]}")
    assert conn.execute("SELECT json_extract(doc, '$.a[1].b'), json_type(doc, '$.a'), "
                        "json_array_length(doc, '$.a'), json_extract(doc, '$.a[1]') FROM t").fetchone() \
        == ("x", "array", 2, {"b": "x"})
    assert conn.execute("SELECT json_extract(d, '$.a[#-1].b') FROM c AS d").fetchone() == ("x",)


SQL_VALUES = st.one_of(st.none(), st.integers(-10**6, 10**6), st.sampled_from([0.5, -2.25, 3.0, 1e20, 0.1]),
                       st.text("ab\"\\é\n", max_size=3), st.just(b"x"))


@settings(max_examples=400, deadline=None)
@given(values=st.lists(SQL_VALUES, max_size=4), text=TEXTS,
       call=st.sampled_from(["json_array", "json_object", "json_quote", "json"]))
def test_json_makers_agree_with_sqlite3(both, values, text, call):
    if call == "json":
        params: tuple = (text,)
    elif call == "json_quote":
        params = tuple(values[:1]) or (None,)
    elif call == "json_object":
        params = tuple(v for pair in zip([f"k{i}" for i in range(len(values))], values) for v in pair)
    else:
        params = tuple(values)
    sql = f"SELECT {call}({', '.join('?' * len(params))})"
    mine, theirs = (ask(c, sql, params) for c in both)
    assert mine == theirs, (sql, params, mine, theirs)
