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

__all__ = ["candidate_test"]

_COUNTER = itertools.count()
_ABSENT = object()


def candidate_test(filter: Any) -> Callable[[list[tuple]], list[dict]] | None:
    """``keep(rows)``: the documents of ``(document,)`` rows that may match ``filter``; None
    if the filter has no equality to a string or number on a plain dotted path."""
    if not isinstance(filter, dict):
        return None
    tests, constants = [], {"_ABSENT": _ABSENT}
    for path, wanted in filter.items():
        if isinstance(wanted, dict) and list(wanted) == ["$eq"]:
            wanted = wanted["$eq"]
        if not isinstance(path, str) or path.startswith("$") or type(wanted) not in (str, int, float):
            continue
        steps = path.split(".")
        if not all(steps) or any(step.isdigit() or step.startswith("$") for step in steps):
            continue
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
