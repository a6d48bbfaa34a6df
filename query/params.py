"""Which parameters a statement reads: how many ``?`` positions and which ``:names``.

The cursor checks what it is given against this before running anything, as
sqlite3 does, so two values for one ``?`` or a missing ``:name`` is a
``ProgrammingError`` up front rather than a value silently ignored or an error
halfway through a statement. Found once per parsed statement (parses are cached,
so the statement objects are too).
May import: the standard library and ``query``'s own modules.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from query import ast

__all__ = ["Slots", "parameter_slots"]


@dataclasses.dataclass(frozen=True)
class Slots:
    positions: int  # ``?`` values needed (the highest ``?NNN`` for numbered ones)
    names: frozenset[str]


_FOUND: dict[int, tuple[Any, Slots]] = {}  # id(statement) -> (statement, its slots): no hashing of
_LIMIT = 4096                               # a large statement per execute; the statement kept checks


def _walk(node: Any, positions: list[int], names: set[str]) -> None:
    stack = [node]
    while stack:  # iterative: a statement may nest deeper than Python's recursion limit
        item = stack.pop()
        if isinstance(item, ast.Param):
            if item.name is not None:
                names.add(item.name)
            else:
                positions.append(item.index)
        elif dataclasses.is_dataclass(item):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, (tuple, list)):
            stack.extend(item)


def parameter_slots(statement: Any) -> Slots:
    found = _FOUND.get(id(statement))
    if found is not None and found[0] is statement:
        return found[1]
    positions: list[int] = []
    names: set[str] = set()
    _walk(statement, positions, names)
    slots = Slots(max(positions) + 1 if positions else 0, frozenset(names))
    if len(_FOUND) >= _LIMIT:
        _FOUND.clear()
    _FOUND[id(statement)] = (statement, slots)
    return slots
