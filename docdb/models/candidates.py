"""Which cached documents a filter may match, tested by one generated comprehension.

A full scan of a collection whose documents the row cache holds decoded still has
to test each one, and the compiled filter (``filters.compile_filter``) costs a few
closure calls per document. For the common filter -- equalities of paths to strings
or numbers -- this module writes one list comprehension that keeps a document if
every such path, followed through dicts, reaches a value equal to the one asked
(or reaches an array anywhere, where MongoDB's array rules apply), so most
documents are dismissed by a couple of dict lookups. What it keeps is a superset;
the compiled filter then decides on those few.
May import: the standard library only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

__all__ = ["ValueTable", "candidate_test", "path_equality"]

_COUNTER = itertools.count()
_ABSENT = object()


def _equalities(filter: Any) -> list[tuple[list[str], Any]]:
    """The filter's equalities of plain dotted paths to strings or numbers: (steps, value)."""
    found = []
    for path, wanted in filter.items() if isinstance(filter, dict) else ():
        if isinstance(wanted, dict) and list(wanted) == ["$eq"]:
            wanted = wanted["$eq"]
        if not isinstance(path, str) or path.startswith("$") or type(wanted) not in (str, int, float):
            continue
        steps = path.split(".")
        if all(steps) and not any(step.isdigit() or step.startswith("$") for step in steps):
            found.append((steps, wanted))
    return found


def path_equality(filter: Any) -> tuple[tuple[str, ...], Any] | None:
    """The first of the filter's equalities (a path's steps, the value), for a ``ValueTable``."""
    found = _equalities(filter)
    return (tuple(found[0][0]), found[0][1]) if found else None


class ValueTable:
    """For cached documents, which hold each value at one path: built once from the row
    cache's lists (``RowCache.derived``), then an equality on that path finds its candidates
    by one dict lookup instead of a walk over every document. Documents whose path meets an
    array on the way are candidates for every value (MongoDB's array rules decide)."""

    def __init__(self, batches: list[list[tuple]], steps: tuple[str, ...]):
        self.documents = [row[0] for rows in batches for row in rows]
        self.positions: dict[Any, list[int]] = {}
        self.arrays: list[int] = []
        for position, document in enumerate(self.documents):
            value = _value_at(document, steps)
            if value is _ARRAY:
                self.arrays.append(position)
            elif value is not _ABSENT:
                self.positions.setdefault(value, []).append(position)

    def candidates(self, wanted: Any) -> list[dict]:
        """The documents that may hold ``wanted`` at the path, in the collection's order
        (``1``, ``1.0`` and ``True`` share a key: a superset the filter then narrows)."""
        found = self.positions.get(wanted, [])
        if self.arrays:
            found = sorted(found + self.arrays)
        documents = self.documents
        return [documents[i] for i in found]


_ARRAY = object()


def _value_at(document: dict, steps: tuple[str, ...]) -> Any:
    value: Any = document
    for step in steps:
        if type(value) is not dict:
            return _ARRAY if type(value) is list else _ABSENT
        value = value.get(step, _ABSENT)
    if type(value) is list:
        return _ARRAY
    return _ABSENT if type(value) is dict else value


def candidate_test(filter: Any) -> Callable[[list[tuple]], list[dict]] | None:
    """``keep(rows)``: the documents of ``(document,)`` rows that may match ``filter``; None
    if the filter has no equality to a string or number on a plain dotted path."""
    tests, constants = [], {"_ABSENT": _ABSENT}
    for steps, wanted in _equalities(filter):
        constants[f"_w{len(tests)}"] = wanted
        tests.append(_path_test(steps, f"_w{len(tests)}", len(tests)))
    if not tests:
        return None
    source = (f"def keep(rows):\n    return [row[0] for row in rows if {' and '.join(tests)}]\n")
    namespace = dict(constants)
    exec(compile(source, f"<docdb candidates {next(_COUNTER)}>", "exec"), namespace)  # noqa: S102
    return namespace["keep"]


def _path_test(steps: list[str], wanted: str, n: int) -> str:
    """True if the path reaches a value equal to ``wanted``, or an array on the way. Built
    from the last step back: each level a dict lookup (``A and B or C``: the lookup is a
    dict and the rest holds, or it is an array)."""
    expression = ""
    for i in range(len(steps) - 1, -1, -1):
        holder = "row[0]" if i == 0 else f"_v{n}_{i - 1}"
        name, step = f"_v{n}_{i}", repr(steps[i])
        if i == len(steps) - 1:
            expression = f"(({name} := {holder}.get({step}, _ABSENT)) == {wanted} or type({name}) is list)"
        else:
            expression = (f"(type({name} := {holder}.get({step}, _ABSENT)) is dict and {expression} "
                          f"or type({name}) is list)")
    return expression
