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
