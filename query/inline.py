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

import heapq
import itertools
import operator
import re
from collections.abc import Callable, Iterator
from typing import Any

from query import values as v

__all__ = ["Emitter", "pipeline"]

Batches = Iterator[list]
PLAIN = (int, float, str)  # values of one of these types compare as Python compares them
FIXED = re.compile(r"^_[hk]\d+$")  # the source of a value fixed for one execution
SIMPLE = re.compile(r"^(_[hk]\d+|row\[\d+\])$")  # a fixed value or a column: free to repeat
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
        name = f"_h{next(self._names)}"
        self.prologue.append(f"{name} = {self.constant(compiled)}((), env)")
        return name

    def plain_type(self, *fixed: str) -> str:
        """A local holding, once per execution, the type of the ``fixed`` values (hoisted or
        constant: see ``FIXED``) if they all have one plain type (int, float, str), else None
        -- so a row's value is tested against them with one ``type(x) is ...``."""
        name = f"_h{next(self._names)}"
        first = fixed[0]
        same = "".join(f" and type({other}) is type({first})" for other in fixed[1:])
        plain = self.constant(PLAIN)
        self.prologue.append(f"{name} = type({first}) if type({first}) in {plain}{same} else None")
        return name

    def value(self, compiled: Callable) -> str:
        emit = getattr(compiled, "emit_value", None)
        return emit(self) if emit is not None else f"{self.constant(compiled)}(row, env)"

    def test(self, compiled: Callable) -> str:
        emit = getattr(compiled, "emit_test", None)
        return emit(self) if emit is not None else f"(_truth({self.value(compiled)}) is True)"

    def build(self, name: str, body: list[str], params: str = "batches, env") -> Callable:
        """The function ``name(params)`` whose body is the prologue and ``body``."""
        lines = [f"def {name}({params}):", *("    " + line for line in self.prologue),
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


def gathering(keys: list[Callable], args: list[Callable | None],
              keep_row: bool = True) -> Callable[[Batches, Any], Iterator[dict]]:
    """``f(batches, env)``: per batch, a dict of the batch's groups, each ``[a row of the
    group (its last), then per aggregate its argument's values in row order -- or, for an
    aggregate without one (count(*)), how many rows]``. ``keys`` give a row's group (none:
    one group), each as a dict key (``values.hashable``); ``args`` the aggregates' arguments.
    Without ``keep_row`` (nothing reads a group's row) the row kept is the group's first;
    a count(*) beside an aggregate with an argument is that one's list's length."""
    emitter = Emitter()
    key = _key_source(emitter, keys) if keys else "()"
    fresh = "[row" + "".join(", 0" if a is None else ", []" for a in args) + "]"
    listed = next((i for i, a in enumerate(args, 1) if a is not None), None)  # a count(*) may use its length
    body = ["for batch in batches:",
            "    groups = {}",
            "    for row in batch:",
            f"        key = {key}",
            "        group = groups.get(key)",
            "        if group is None:",
            f"            group = groups[key] = {fresh}"]
    if keep_row:
        body += ["        else:",
                 "            group[0] = row"]
    counted = []
    for i, arg in enumerate(args, 1):
        if arg is not None:
            body.append(f"        group[{i}].append({emitter.value(arg)})")
        elif listed is None:
            body.append(f"        group[{i}] += 1")
        else:
            counted.append(i)
    if counted:  # count(*) from the length of a list every row of the group added to
        body += ["    for group in groups.values():",
                 *(f"        group[{i}] = len(group[{listed}])" for i in counted)]
    body.append("    yield groups")
    return emitter.build("gathering", body)


_SCALARS = frozenset({int, float, str, bool, bytes, type(None)})


def keyed(keys: list[Callable]) -> Callable[[Batches, Any], Batches]:
    """``f(batches, env)``: each batch's rows as ``(sort key, row)`` pairs, the key being
    ``values.sort_key`` of each of ``keys`` (a tuple of them if there are several)."""
    emitter = Emitter()
    parts = []
    ranks, ranked = emitter.constant(v.RANK), emitter.constant(_RANKED)
    sort_key = emitter.constant(v.sort_key)
    for compiled in keys:
        t = emitter.local()
        parts.append(f"(({ranks}[type({t})], {t}) if type({t} := {emitter.value(compiled)}) in {ranked} "
                     f"else {sort_key}({t}))")
    key = parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ",)"
    body = ["for batch in batches:",
            f"    yield [({key}, row) for row in batch]"]
    return emitter.build("keyed", body)


_RANKED = frozenset(t for t, rank in v.RANK.items() if 1 <= rank <= 3)  # sort_key is (rank, value)


def _key_source(emitter: Emitter, keys: list[Callable]) -> str:
    """A row's dict key over ``keys``: ``values.hashable`` of each (a tuple if several)."""
    parts = []
    scalars, hashable = emitter.constant(_SCALARS), emitter.constant(v.hashable)
    for compiled in keys:
        t = emitter.local()
        parts.append(f"({t} if type({t} := {emitter.value(compiled)}) in {scalars} else {hashable}({t}))")
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ",)"


def hash_table(keys: list[Callable]) -> Callable[[Batches, Any], dict]:
    """``f(batches, env)``: the rows by join key (rows in input order under each), leaving
    out rows whose key has a NULL or MISSING part -- they equal nothing."""
    emitter = Emitter()
    missing = emitter.constant(v.MISSING_KEY)
    joinable = (f"key is not None and (type(key) is not tuple or key != {missing})" if len(keys) == 1
                else f"None not in key and {missing} not in key")
    body = ["table = {}",
            "for batch in batches:",
            "    for row in batch:",
            f"        key = {_key_source(emitter, keys)}",
            f"        if {joinable}:",
            "            found = table.get(key)",
            "            if found is None:",
            "                table[key] = [row]",
            "            else:",
            "                found.append(row)",
            "return table"]
    return emitter.build("hash_table", body)


def probe(keys: list[Callable], test: Callable | None) -> Callable[[Batches, Any, dict], Batches]:
    """``f(batches, env, table)``: each row joined to its partners in ``table`` (by ``keys``,
    computed on the row), in order, that pass ``test`` over the joined row."""
    emitter = Emitter()
    key = _key_source(emitter, keys)
    condition = f" if {emitter.test(test)}" if test is not None else ""
    body = ["for batch in batches:",
            f"    keys = [{key} for row in batch]",
            "    out = [row for left, key in zip(batch, keys) for right in table.get(key, ()) "
            f"for row in (left + right,){condition}]",
            "    if out:",
            "        yield out"]
    return emitter.build("probe", body, "batches, env, table")


def top(value: Callable, descending: bool) -> Callable[[Batches, Any, int], list]:
    """``f(batches, env, n)``: the first ``n`` ``(sort key, row)`` pairs in ORDER BY order of
    ``value`` (``values.sort_key``), as ``sorted(...)[:n]`` keeps them: ties in input order.
    Once ``n`` are held and the last is a number, a row whose value is a number that cannot
    enter (not strictly before it) is skipped by one comparison, before any key is made."""
    emitter = Emitter()
    ranks, ranked = emitter.constant(v.RANK), emitter.constant(_RANKED)
    sort_key, numbers = emitter.constant(v.sort_key), emitter.constant(_NUMBERS)
    pick = emitter.constant(heapq.nlargest if descending else heapq.nsmallest)
    beyond = ">" if descending else "<"
    x = emitter.local()
    body = ["best = []",
            "bound = None",
            "if wanted <= 0:",
            "    return best",
            "for batch in batches:",
            f"    pairs = [((({ranks}[type({x})], {x}) if type({x}) in {ranked} else {sort_key}({x})), row) "
            f"for row in batch if type({x} := {emitter.value(value)}) not in {numbers} or bound is None "
            f"or {x} {beyond} bound]",
            "    if pairs:",
            f"        best = {pick}(wanted, _chain(best, pairs), key=_first)",
            "        last = best[-1][0] if len(best) >= wanted else None",
            f"        bound = last[1] if last is not None and last[0] == 1 and type(last[1]) in {numbers} "
            "else None",
            "return best"]
    emitter.globals.update(_chain=itertools.chain, _first=operator.itemgetter(0))
    return emitter.build("top", body, "batches, env, wanted")


_NUMBERS = frozenset({int, float})
