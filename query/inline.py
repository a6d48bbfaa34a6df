"""Plans become Python functions: expressions inlined into one loop over a batch of rows.

Executing a plan node by node costs a generator frame and a closure call per row
per node, where the work itself -- a comparison, picking a column -- takes a few
tens of nanoseconds. So a pipeline (a filter and a projection over a scan, an
aggregation's input) is turned into the source of one function whose inner loop is
a list comprehension over a batch, with the predicate and the projected values
written out as Python expressions, and that source is compiled once per plan.

Every compiled expression (``query.expressions``) is a closure ``f(row, env)``. One
may also carry how to write it as source: ``f.emit_value(emitter)`` gives a Python
expression for its value, ``f.emit_test(emitter)`` one that is true exactly when
its SQL truth is TRUE (what WHERE keeps). A closure without them is called from the
generated code, so any expression compiles; the inlined ones are the common,
per-row ones (columns, literals, parameters, comparisons, AND/OR, BETWEEN, IS
NULL), each with a fast path for values of one plain type and its closure's own
semantics otherwise. Parameters and literals are read once per execution, before
the loop (``Emitter.hoist``).
May import: the standard library and ``query``'s own modules.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from query import values as v

__all__ = ["Emitter", "pipeline"]

Batches = Iterator[list]
_COUNTER = itertools.count()


class Emitter:
    """Collects what one generated function needs: its constants (bound as globals),
    what it computes once per execution (the prologue) and fresh local names."""

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {"_truth": v.truth, "MISSING": v.MISSING}
        self.prologue: list[str] = []
        self._names = itertools.count()
        self._bound: dict[int, str] = {}

    def local(self) -> str:
        return f"_t{next(self._names)}"

    def constant(self, value: Any) -> str:
        """A global name holding ``value`` (a function, a literal) in the generated code."""
        name = self._bound.get(id(value))
        if name is None:
            name = self._bound[id(value)] = f"_k{next(self._names)}"
            self.globals[name] = value
        return name

    def hoist(self, compiled: Callable) -> str:
        """A local holding ``compiled``'s value, computed once before the loop (it reads no row)."""
        name = self.local()
        self.prologue.append(f"{name} = {self.constant(compiled)}((), env)")
        return name

    def value(self, compiled: Callable) -> str:
        emit = getattr(compiled, "emit_value", None)
        return emit(self) if emit is not None else f"{self.constant(compiled)}(row, env)"

    def test(self, compiled: Callable) -> str:
        emit = getattr(compiled, "emit_test", None)
        return emit(self) if emit is not None else f"(_truth({self.value(compiled)}) is True)"

    def build(self, name: str, body: list[str]) -> Callable:
        """The function ``name(batches, env)`` whose body is the prologue and ``body``."""
        lines = [f"def {name}(batches, env):", *("    " + line for line in self.prologue),
                 *("    " + line for line in body)]
        source = "\n".join(lines)
        code = compile(source, f"<docdb plan {next(_COUNTER)}>", "exec")
        namespace = dict(self.globals)
        exec(code, namespace)  # noqa: S102 - source built here from plan nodes, never from input
        function = namespace[name]
        function.source = source
        return function


def pipeline(test: Callable | None, exprs: list[Callable] | None) -> Callable[[Batches, Any], Batches]:
    """``f(batches, env)``: each batch's rows that pass ``test`` (all if None), as
    ``exprs``' values (the rows themselves if None); batches left empty are skipped."""
    emitter = Emitter()
    condition = f" if {emitter.test(test)}" if test is not None else ""
    if exprs is None:
        made = "row"
    else:
        made = "(" + "".join(emitter.value(e) + ", " for e in exprs) + ")"
    body = ["for batch in batches:",
            f"    out = [{made} for row in batch{condition}]",
            "    if out:",
            "        yield out"]
    return emitter.build("pipeline", body)
