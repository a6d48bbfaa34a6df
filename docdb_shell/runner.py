"""Lines to statements: what the shell, ``docdb run`` and ``.read`` have in common.

A ``Runner`` is fed a script a line (or a typed block) at a time. A line that
starts with ``.`` where no statement is pending is a dot-command, handed to
``dot`` (so this module needs nothing of them); everything else collects until a
``;`` ends a statement, which runs at once -- so a script's ``BEGIN``, a failing
statement and a ``COMMIT`` behave as typed. ``finish`` runs a last statement
left without its ``;``. With ``stop_on_error`` the first failure ends the run.
May import: the standard library and ``docdb_shell.session``/``script``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from docdb_shell.script import Piece, has_statement, is_complete, split_statements
from docdb_shell.session import Session

__all__ = ["Quit", "Runner", "run_lines"]

DotHandler = Callable[[Session, str, str | None], bool]


class Stop(Exception):
    """A run ended early, at its first error (with ``stop_on_error``)."""


class Quit(Exception):
    """``.quit``: the shell ends, from however deep in ``.read`` scripts it was asked."""


class Runner:
    def __init__(self, session: Session, dot: DotHandler, source: str | None = None,
                 stop_on_error: bool = False):
        self.session, self.dot, self.source, self.stop_on_error = session, dot, source, stop_on_error
        self.pending = Piece("", 1, 1)
        self.errors = 0
        self.line = 0  # the number of the last line fed

    def feed(self, text: str) -> None:
        """One line of the script (or a block of lines typed at once), without or with its newline."""
        first = self.line + 1
        self.line += text.count("\n") + (0 if text.endswith("\n") else 1)
        if is_complete(self.pending.text):  # nothing pending but space and comments
            self.pending = Piece("", first, 1)
            if text.lstrip().startswith("."):
                self._done(self.dot(self.session, text.strip(), self.source))
                return
        text = self.pending.text + text + ("" if text.endswith("\n") else "\n")
        pieces, self.pending = split_statements(text, self.pending.line, self.pending.column)
        for piece in pieces:
            self._done(self.session.run(piece, self.source))

    def finish(self) -> None:
        """Run what is left unfinished at the end of the script, if it is a statement."""
        pending, self.pending = self.pending, Piece("", self.line + 1, 1)
        if has_statement(pending.text):
            self._done(self.session.run(pending, self.source))

    def _done(self, ok: bool) -> None:
        if not ok:
            self.errors += 1
            if self.stop_on_error:
                raise Stop()


def run_lines(session: Session, lines: Iterable[str], dot: DotHandler, source: str | None,
              stop_on_error: bool) -> int:
    """Run a whole script; the number of statements that failed."""
    runner = Runner(session, dot, source, stop_on_error)
    try:
        for line in lines:
            runner.feed(line)
        runner.finish()
    except Stop:
        pass
    return runner.errors
