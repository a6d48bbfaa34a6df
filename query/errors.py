"""The query language's errors, in docdb's PEP 249 hierarchy.

A syntax error carries the statement, line and column, and renders the offending
line with a caret under the column, the way a person wants to read it in a
shell; a name or type error during planning names the thing.
May import: the standard library and ``docdb.errors``.
"""

from __future__ import annotations

from docdb.errors import NotSupportedError, ProgrammingError

__all__ = ["QuerySyntaxError", "UnsupportedSyntax"]


class QuerySyntaxError(ProgrammingError):
    """Text that is not a statement of the language."""

    def __init__(self, message: str, text: str, line: int, column: int):
        self.message, self.text, self.line, self.column = message, text, line, column
        lines = text.splitlines() or [""]
        shown = lines[line - 1] if 0 < line <= len(lines) else ""
        super().__init__(f"syntax error at line {line}, column {column}: {message}\n"
                         f"  {shown}\n  {' ' * (column - 1)}^")


class UnsupportedSyntax(QuerySyntaxError, NotSupportedError):
    """SQL that SQLite takes and docdb does not (yet): ``ATTACH``, triggers, window
    functions... said plainly, at its position, instead of a misleading parse error."""
