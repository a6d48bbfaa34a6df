"""A table to test index choices on: a primary key, an index on ``a`` and one on ``(b, c)``."""

from __future__ import annotations

import docdb


def indexed_table(rows: list[tuple]) -> docdb.Connection:
    """An in-memory database with ``t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL)``
    holding ``rows``, and its indexes ``t_a`` and ``t_bc``."""
    conn = docdb.connect(":memory:", autocommit=True)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL)")
    conn.execute("CREATE INDEX t_a ON t (a)")
    conn.execute("CREATE INDEX t_bc ON t (b, c)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    return conn
