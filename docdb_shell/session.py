"""A shell session: one open database, the output settings, and running one statement.

The session runs in autocommit mode, as the sqlite3 shell does: each statement
commits unless a ``BEGIN`` opened a transaction, which lasts until ``COMMIT`` or
``ROLLBACK``; closing the session (or opening another database) with a
transaction open rolls it back and says so. A statement's error is reported and
the session goes on; the open transaction stays, less the failed statement.
May import: the standard library, ``docdb`` and ``docdb_shell.script``/``render``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

import docdb
from docdb_shell.render import MODES
from docdb_shell.script import Piece

__all__ = ["Session", "Settings", "describe_error"]

INTERACTIVE_MAXROWS = 100


@dataclass
class Settings:
    mode: str = "table"
    headers: bool = True
    timer: bool = False
    maxrows: int = 0  # 0: no cap
    explain: bool = False
    echo: bool = False
    status: bool = False  # "N rows" after each statement (on in a terminal)


def describe_error(error: BaseException, piece: Piece, source: str | None) -> str:
    """``source:line:column: Kind: message`` (``line L, column C`` without a source) and, for a
    syntax error, the line with a caret under the column."""
    line, column = piece.line, piece.column
    caret = ""
    message = str(error)
    if isinstance(error, docdb.ProgrammingError) and hasattr(error, "column") and hasattr(error, "message"):
        line, column = piece.position(error.line, error.column)
        message = f"syntax error: {error.message}"
        lines = piece.text.splitlines() or [""]
        shown = lines[error.line - 1] if 0 < error.line <= len(lines) else ""
        caret = f"\n  {shown.expandtabs(1)}\n  {' ' * (error.column - 1)}^"
    else:
        message = f"{type(error).__name__}: {message}"
    where = f"{source}:{line}:{column}" if source else f"line {line}, column {column}"
    return f"{where}: {message}{caret}"


class Session:
    def __init__(self, path: str | None = None, *, out: TextIO | None = None, err: TextIO | None = None,
                 settings: Settings | None = None, engine: str = "lsm"):
        self.console = out or sys.stdout  # where status lines and prompts' answers go
        self.out = self.console  # where results go (.output may move it)
        self.err = err or sys.stderr
        self.settings = settings or Settings()
        self.engine = engine
        self.conn: Any = None
        self.path: str | None = None
        self.changed = 0  # bumped by each statement run: completions re-read the schema
        self.open(path)

    # ----- the database ----------------------------------------------------------------

    def open(self, path: str | None) -> None:
        """Close the current database (rolling back an open transaction) and open ``path``
        (``None``: a new in-memory database)."""
        conn = docdb.connect(path or ":memory:", engine=self.engine, autocommit=True)
        self._close_database()
        self.conn, self.path = conn, path
        self.changed += 1

    def close(self) -> None:
        """Roll back an open transaction (saying so), close the database and an .output file."""
        self.set_output(None)
        self._close_database()

    def _close_database(self) -> None:
        if self.conn is None:
            return
        try:
            if self.conn.in_transaction:
                self.conn.rollback()
                self.err.write("The open transaction was rolled back.\n")
        finally:
            self.conn.close()
            self.conn = None

    def set_output(self, out: TextIO | None) -> None:
        if self.out is not self.console:
            self.out.close()
        self.out = out or self.console

    # ----- statements ------------------------------------------------------------------

    def run(self, piece: Piece, source: str | None = None) -> bool:
        """Run one statement and print its result; report an error and return False."""
        settings = self.settings
        if settings.echo:
            self.out.write(piece.text.strip() + ";\n")
        started = time.perf_counter()
        try:
            if settings.explain:
                self._explain(piece.text)
            cursor = self.conn.execute(piece.text)
            if cursor.description is not None:
                self._show(cursor)
            elif settings.status and cursor.rowcount >= 0:
                self.console.write(f"{_count(cursor.rowcount)} changed\n")
        except docdb.Error as error:
            self.err.write(describe_error(error, piece, source) + "\n")
            return False
        except KeyboardInterrupt:
            self.err.write("Interrupted: the statement was stopped; what it changed is undone.\n")
            return False
        finally:
            self.changed += 1
            if settings.timer:
                self.console.write(f"Run Time: {time.perf_counter() - started:.3f} s\n")
        return True

    def _explain(self, text: str) -> None:
        try:
            plan = self.conn.execute("EXPLAIN " + text).fetchall()
        except docdb.Error:
            return  # not a statement EXPLAIN takes: the statement itself will say what is wrong
        self.out.write("".join(f"{row[0]}\n" for row in plan))

    def _show(self, cursor: Any) -> None:
        settings = self.settings
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall() if not settings.maxrows else cursor.fetchmany(settings.maxrows)
        hidden = 0 if not settings.maxrows else sum(1 for _ in cursor)
        MODES[settings.mode](columns, rows, self.out, settings.headers)
        if hidden:
            self.console.write(f"({len(rows)} of {len(rows) + hidden:,} rows shown; "
                               f".maxrows 0 shows all)\n")
        elif settings.status:
            self.console.write(f"{_count(len(rows))}\n")


def _count(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")
