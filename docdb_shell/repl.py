"""The interactive prompt: prompt_toolkit line editing over a ``Runner``.

Enter runs the input once it is complete -- a dot-command, or statements ending
with ``;`` -- and otherwise starts a new line, so a statement may span lines and
comes back whole from the history (``~/.docdb_history``, or ``$DOCDB_HISTORY``).
Ctrl-C clears the input, or stops a statement that is running; Ctrl-D on an empty
line leaves. Completion offers keywords, dot-commands, object names, and the
columns and fields of the objects the statement names; pygments colours the SQL.
May import: the standard library, prompt_toolkit, pygments, ``docdb`` and ``docdb_shell``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.history import FileHistory
from prompt_toolkit.lexers import PygmentsLexer
from pygments.lexers.sql import SqlLexer

from docdb_shell.dotcommands import COMMANDS, dispatch
from docdb_shell.runner import Quit, Runner
from docdb_shell.script import is_complete
from docdb_shell.session import Session
from docdb_shell.summary import field_paths

__all__ = ["KEYWORDS", "SchemaCompleter", "interact"]

_KEYWORD_WORDS = """
    SELECT FROM WHERE GROUP BY HAVING ORDER LIMIT OFFSET DISTINCT AS AND OR NOT NULL IS IN
    LIKE GLOB BETWEEN EXISTS CASE WHEN THEN ELSE END CAST JOIN INNER LEFT OUTER CROSS ON
    USING UNION INTERSECT EXCEPT ALL ASC DESC NULLS FIRST LAST INSERT INTO VALUES VALUE
    UPDATE SET UNSET DELETE CREATE TABLE COLLECTION INDEX UNIQUE VIEW DROP ALTER ADD COLUMN
    RENAME TO PRIMARY KEY DEFAULT IF BEGIN COMMIT ROLLBACK EXPLAIN WITH RETURNING CONFLICT
    DO NOTHING REPLACE UNNEST UNPIVOT AT MISSING TRUE FALSE INTEGER REAL TEXT BOOLEAN BLOB
    JSON count sum avg min max
    SAVEPOINT RELEASE PRAGMA VACUUM AUTOINCREMENT CURRENT_TIMESTAMP CURRENT_DATE CURRENT_TIME
    IMMEDIATE DEFERRED EXCLUSIVE COLLATE NOCASE
    OVER PARTITION WINDOW ROWS RANGE GROUPS UNBOUNDED PRECEDING FOLLOWING CURRENT ROW EXCLUDE
    FILTER RECURSIVE REFERENCES FOREIGN CHECK CONSTRAINT CASCADE RESTRICT PIVOT LATERAL
    row_number rank dense_rank lag lead first_value last_value json_extract json_each json_tree
"""
KEYWORDS = sorted(_KEYWORD_WORDS.split())
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*$")
_PATH = re.compile(r"([A-Za-z_][A-Za-z_0-9$]*)\.((?:[A-Za-z_0-9$]+\.)*)([A-Za-z_0-9$]*)$")
_WANTS_OBJECT = re.compile(r"\b(FROM|JOIN|INTO|UPDATE|TABLE|COLLECTION|ON|VIEW)\s+[A-Za-z_0-9$]*$", re.I)
# "customers c", "orders AS o": a lookahead, so "FROM customers c" is not eaten as ("FROM", "customers")
_ALIAS = re.compile(r"\b([A-Za-z_][A-Za-z_0-9$]*)(?=(?:\s+AS)?\s+([A-Za-z_][A-Za-z_0-9$]*))", re.I)


class SchemaCompleter(Completer):
    """Completions from the session's database, re-read after each statement."""

    def __init__(self, session: Session):
        self.session = session
        self._seen = -1
        self._fields: dict[str, list[str]] = {}

    def _objects(self) -> list[str]:
        conn = self.session.conn
        return sorted(conn.tables() + conn.collections() + conn.views())

    def fields(self, name: str) -> list[str]:
        """Columns of a table or view, field paths seen in a collection."""
        if self._seen != self.session.changed:
            self._fields, self._seen = {}, self.session.changed
        if name not in self._fields:
            conn = self.session.conn
            if name in conn.tables():
                self._fields[name] = list(conn.describe(name)["columns"])
            elif name in conn.collections():
                self._fields[name] = [p.replace("[]", "") for p in field_paths(conn.collection(name))]
            else:
                self._fields[name] = []
        return self._fields[name]

    def get_completions(self, document: Document, complete_event: Any) -> Iterable[Completion]:
        before = document.text_before_cursor
        try:
            yield from self._complete(before, document.text)
        except Exception:  # noqa: BLE001 - completion must never break the prompt (a closed db...)
            return

    def _complete(self, before: str, text: str) -> Iterable[Completion]:
        if before.lstrip().startswith(".") and " " not in before.strip():
            word = before.strip()
            yield from (Completion(c, -len(word)) for c in sorted(COMMANDS) if c.startswith(word))
            return
        path = _PATH.search(before)
        if path:
            owner, middle, word = path.groups()
            objects = self._objects()
            aliases = {alias: name for name, alias in _ALIAS.findall(text) if name in objects}
            target = owner if owner in objects else aliases.get(owner)
            if target:
                for field in self.fields(target):
                    if field.startswith(middle + word) and field != middle + word:
                        yield Completion(field[len(middle):], -len(word))
            return
        match = _WORD.search(before)
        word = match.group(0) if match else ""
        objects = self._objects()
        if _WANTS_OBJECT.search(before):
            candidates = objects
        else:
            mentioned = [o for o in objects if re.search(rf"\b{re.escape(o)}\b", text)]
            columns = [f for o in mentioned for f in self.fields(o) if "." not in f]
            candidates = list(dict.fromkeys(columns + objects + KEYWORDS))
        lower = word.lower()
        for candidate in candidates:
            if candidate.lower().startswith(lower) and candidate != word:
                yield Completion(candidate, -len(word))


def _history_path() -> str:
    return os.environ.get("DOCDB_HISTORY") or os.path.join(os.path.expanduser("~"), ".docdb_history")


def interact(session: Session) -> int:
    """Read, run, print until Ctrl-D or ``.quit``; the number of statements that failed."""
    errors = 0
    prompt: PromptSession = PromptSession(
        history=FileHistory(_history_path()),
        lexer=PygmentsLexer(SqlLexer),
        completer=SchemaCompleter(session),
        complete_while_typing=False,
        multiline=Condition(lambda: not _ready(prompt.default_buffer.text)),
        prompt_continuation=lambda width, line, soft: "...> ".rjust(width),
    )
    session.settings.status = True
    while True:
        try:
            text = prompt.prompt(_prompt(session))
        except KeyboardInterrupt:
            continue  # Ctrl-C: the input is dropped, the shell stays
        except EOFError:
            break
        runner = Runner(session, dispatch, None, stop_on_error=False)  # lines count from this input
        try:
            runner.feed(text)
            runner.finish()
        except Quit:
            break
        except KeyboardInterrupt:
            session.err.write("Interrupted.\n")
        errors += runner.errors
    return errors


def _ready(text: str) -> bool:
    stripped = text.strip()
    return not stripped or stripped.startswith(".") or is_complete(text)


def _prompt(session: Session) -> str:
    return "docdb*> " if session.conn.in_transaction else "docdb> "
