"""A script as statements: where each one starts, and whether typed input is complete.

The shell runs a statement when a line ends with ``;`` and a script runner reports an
error at ``file:line:column``, so both need to cut text at the semicolons that end
statements -- not those inside 'strings', "quoted names", `quoted names`,
``-- comments`` or ``/* block comments */`` -- and to know where each piece began.
May import: the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Piece", "split_statements", "has_statement", "is_complete"]


@dataclass(frozen=True)
class Piece:
    """One statement's text (without its ``;``) and the line and column it starts at."""

    text: str
    line: int
    column: int

    def position(self, line: int, column: int) -> tuple[int, int]:
        """A line and column inside ``text`` as a line and column of the whole script."""
        if line <= 1:
            return self.line, self.column + column - 1
        return self.line + line - 1, column


_CLOSERS = {"'": "'", '"': '"', "`": "`"}


def _scan(text: str) -> tuple[list[tuple[int, int, bool]], bool]:
    """The statements' (start, end) offsets, each with whether it holds anything besides
    space and comments; and whether the text ends inside a quote or block comment."""
    pieces = []
    start, i, n, content = 0, 0, len(text), False
    while i < n:
        c = text[i]
        if c in _CLOSERS:
            close = text.find(_CLOSERS[c], i + 1)
            while close != -1 and text.startswith(c, close + 1):  # a doubled quote stays inside
                close = text.find(c, close + 2)
            if close == -1:
                pieces.append((start, n, True))
                return pieces, True
            i, content = close + 1, True
        elif c == "-" and text.startswith("--", i):
            newline = text.find("\n", i)
            i = n if newline == -1 else newline + 1
        elif c == "/" and text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close == -1:
                pieces.append((start, n, content))
                return pieces, True
            i = close + 2
        elif c == ";":
            pieces.append((start, i, content))
            start, i, content = i + 1, i + 1, False
        else:
            content = content or not c.isspace()
            i += 1
    pieces.append((start, n, content))
    return pieces, False


def split_statements(text: str, line: int = 1, column: int = 1) -> tuple[list[Piece], Piece]:
    """The complete statements of ``text`` (each ended by ``;``; those holding only space and
    comments are left out), and the unfinished text after the last one. ``line`` and
    ``column`` are where ``text`` starts in its script."""
    whole = Piece(text, line, column)
    spans, _open = _scan(text)

    def piece(start: int, end: int) -> Piece:
        line_in_text = text.count("\n", 0, start) + 1
        column_in_text = start - (text.rfind("\n", 0, start) + 1) + 1
        return Piece(text[start:end], *whole.position(line_in_text, column_in_text))

    *complete, (rest_start, _end, _content) = spans
    return [piece(start, end) for start, end, content in complete if content], piece(rest_start, len(text))


def has_statement(text: str) -> bool:
    """Whether ``text`` holds anything besides space and comments."""
    spans, _open = _scan(text)
    return any(content for _start, _end, content in spans)


def is_complete(text: str) -> bool:
    """Whether typed input is ready to run: it ends with a statement's ``;`` (only space or
    a line comment after it), or holds nothing but space and comments."""
    spans, open_ = _scan(text)
    if open_:
        return False
    *_done, (_start, _end, content) = spans
    return not content
