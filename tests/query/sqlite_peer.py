"""Asking docdb and sqlite3 the same statement: what each answers, or that it refused."""

from __future__ import annotations

import sqlite3

import docdb


def ask(conn, sql: str, params: tuple) -> tuple[str, object]:
    """("value", the first column of the first row) or ("error", None)."""
    try:
        return ("value", conn.execute(sql, params).fetchone()[0])
    except (docdb.Error, sqlite3.Error):
        return ("error", None)


def both(*statements: str, rows: tuple[str, list] | None = None, autocommit: bool = False,
         foreign_keys: bool = False) -> tuple:
    """An in-memory docdb and an in-memory sqlite3 that have each run ``statements`` and, if
    given, ``rows`` = (an INSERT with parameters, the parameter sets); ``autocommit``: both
    commit each statement; ``foreign_keys``: sqlite3 enforces them, as docdb always does."""
    mine = docdb.connect(":memory:", autocommit=autocommit)
    peer = sqlite3.connect(":memory:", isolation_level=None if autocommit else "")
    if foreign_keys:
        peer.execute("PRAGMA foreign_keys = ON")
    for conn in (mine, peer):
        for statement in statements:
            conn.execute(statement)
        if rows is not None:
            conn.executemany(*rows)
    return mine, peer
