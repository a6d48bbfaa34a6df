"""Which WHERE conjuncts a table's index or a collection's find can serve.

A conjunct ``column <op> expression`` (or ``BETWEEN``, ``IN (list)``) where the
expression reads nothing of the source itself -- literals, parameters, columns of
an enclosing query -- becomes a constraint the table hands to its index planner
(``Table.candidates``), with the value converted to the column's type at
execution time; a value the column's type cannot hold makes an equality match
nothing and a range bound be ignored. Every conjunct also stays a filter, so a
constraint only ever narrows what is read, never decides what is returned.
Collections get equalities and two-sided ranges on field paths as MongoDB-style
filters (``DocumentFilter``), which the collection serves from its indexes.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from docdb.errors import ProgrammingError
from query import ast
from query import values as v
from query.expressions import Compiled, Context, Env, compile_expr
from query.scope import Ref, Scope

__all__ = ["DocumentFilter", "and_all", "conjuncts", "constraints_for", "covers", "document_filter",
           "references", "source_paths"]

_FLIP = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_OPS = {"=": "$eq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def references(expr: Any, into_calls: bool = True) -> Iterator[Any]:
    """Every node of an expression tree, not descending into subqueries."""
    if isinstance(expr, (ast.Subquery, ast.Exists)):
        yield expr
        return
    if isinstance(expr, ast.InQuery):
        yield expr
        yield from references(expr.left, into_calls)
        return
    if isinstance(expr, ast.Node):
        yield expr
        for name in expr.__dataclass_fields__:
            if name != "pos":
                yield from references(getattr(expr, name), into_calls)
    elif isinstance(expr, tuple):
        for item in expr:
            yield from references(item, into_calls)


def conjuncts(expr: ast.Expr | None) -> list[ast.Expr]:
    """``a AND b AND c`` as ``[a, b, c]``: the parts a planner can place separately."""
    if expr is None:
        return []
    if isinstance(expr, ast.Logical) and expr.op == "AND":
        return conjuncts(expr.left) + conjuncts(expr.right)
    return [expr]


def and_all(exprs: list[ast.Expr]) -> ast.Expr:
    """``exprs`` joined by AND, as a balanced tree (evaluated left to right; its depth the
    logarithm of its length, so hundreds of conditions compile without deep recursion)."""
    if len(exprs) == 1:
        return exprs[0]
    middle = len(exprs) // 2
    return ast.Logical("AND", and_all(exprs[:middle]), and_all(exprs[middle:]))


def source_paths(expr: Any) -> Iterator[tuple[str, ...]]:
    """The name paths an expression reads (``a``, ``t.a``, ``c.x.y``), outside subqueries."""
    for node in references(expr):
        if isinstance(node, (ast.Name, ast.Field)):
            path = _path(node)
            if path is not None:
                yield path


def _path(node: Any) -> tuple[str, ...] | None:
    names: list[str] = []
    while isinstance(node, ast.Field):
        names.append(node.name)
        node = node.base
    if not isinstance(node, ast.Name):
        return None
    names.append(node.name)
    return tuple(reversed(names))


def has_subquery(expr: Any) -> bool:
    return any(isinstance(n, (ast.Subquery, ast.Exists, ast.InQuery)) for n in references(expr))


def _constant(expr: ast.Expr, local: Scope, ctx: Context) -> Compiled | None:
    """``expr`` compiled as a value fixed for one execution, or None if it reads the source."""
    if has_subquery(expr):
        return None
    for path in source_paths(expr):
        try:
            if local.resolve_here(path) is not None:
                return None
        except ProgrammingError:
            return None
    try:
        return compile_expr(expr, Scope(parent=local.parent), ctx)
    except ProgrammingError:
        return None


def _resolved(path: tuple[str, ...] | None, local: Scope) -> Ref | None:
    if path is None:
        return None
    try:
        return local.resolve_here(path)
    except ProgrammingError:
        return None


def _column_of(expr: ast.Expr, local: Scope) -> str | None:
    ref = _resolved(_path(expr), local)
    if ref is None or ref.slot is None or ref.rest or ref.source is None or ref.source.columns is None:
        return None
    return ref.source.columns[ref.slot - ref.source.offset]


def _converter(kind: str) -> Callable[[Any], Any] | None:
    def integer(x: Any) -> int:
        if isinstance(x, bool) or type(x) is int:
            return int(x)
        if isinstance(x, float) and x.is_integer():
            return int(x)
        raise LookupError(x)

    def real(x: Any) -> float:
        if type(x) in (int, float):
            return float(x)
        raise LookupError(x)

    def text(x: Any) -> str:
        if isinstance(x, str):
            return x
        raise LookupError(x)

    def boolean(x: Any) -> bool:
        if isinstance(x, bool) or (type(x) is int and x in (0, 1)):
            return bool(x)
        raise LookupError(x)
    return {"INTEGER": integer, "REAL": real, "TEXT": text, "BOOLEAN": boolean}.get(kind)


def constraints_for(table: Any, local: Scope, filters: list[ast.Expr], ctx: Context
                    ) -> list[tuple[str, str, Compiled, Callable[[Any], Any]]]:
    schema = table.schema()
    types = {c.name: c.type for c in schema.columns}
    found = []
    for expr in filters:
        for column, op, value in _simple(expr, local, ctx):
            convert = _converter(types.get(column, ""))
            if convert is not None:
                found.append((column, op, value, convert))
    return found


def covers(table: Any, local: Scope, filters: list[ast.Expr], ctx: Context) -> bool:
    """Does every conjunct state one constraint exactly (a comparison, BETWEEN or IN of a
    typed column with values), so the constraints alone decide which rows the WHERE keeps?"""
    types = {c.name: c.type for c in table.schema().columns}
    for expr in filters:
        found = _simple(expr, local, ctx)
        if not found or any(_converter(types.get(column, "")) is None for column, _, _ in found):
            return False
    return True


def _collated(expr: ast.Binary) -> bool:
    """A comparison under NOCASE or RTRIM: an index (or a MongoDB filter) compares as stored."""
    return any(isinstance(side, ast.Collate) and side.collation != "BINARY"
               for side in (expr.left, expr.right))


def _simple(expr: ast.Expr, local: Scope, ctx: Context) -> list[tuple[str, str, Compiled]]:
    """(column, mongo op, value) for a conjunct an index could serve, else []."""
    if isinstance(expr, ast.Binary) and expr.op in _OPS and not _collated(expr):
        for column_side, value_side, op in ((expr.left, expr.right, expr.op),
                                            (expr.right, expr.left, _FLIP[expr.op])):
            column = _column_of(column_side, local)
            if column is not None:
                value = _constant(value_side, local, ctx)
                if value is not None:
                    return [(column, _OPS[op], value)]
        return []
    if isinstance(expr, ast.Between) and not expr.negated:
        column = _column_of(expr.value, local)
        low, high = _constant(expr.low, local, ctx), _constant(expr.high, local, ctx)
        if column is not None and low is not None and high is not None:
            return [(column, "$gte", low), (column, "$lte", high)]
        return []
    if isinstance(expr, ast.InList) and not expr.negated and expr.items:
        column = _column_of(expr.left, local)
        items = [_constant(item, local, ctx) for item in expr.items]
        if column is not None and all(i is not None for i in items):
            def listed(row: tuple, env: Env, parts: list = items) -> Any:
                values = [part(row, env) for part in parts]  # NULL matches nothing: leave it out
                return [x for x in values if x is not None and x is not v.MISSING]
            return [(column, "$in", listed)]
    return []


def document_filter(local: Scope, filters: list[ast.Expr], ctx: Context) -> DocumentFilter | None:
    """The MongoDB filter a collection's indexes can serve for the conjuncts on field paths
    (equalities, ranges, BETWEEN), built per execution; None if there are none."""
    found: list[tuple[str, str, Compiled]] = []
    for expr in filters:
        if isinstance(expr, ast.Binary) and expr.op in _OPS and not _collated(expr):
            for path_side, value_side, op in ((expr.left, expr.right, expr.op),
                                              (expr.right, expr.left, _FLIP[expr.op])):
                ref = _document_ref(_path(path_side), local)
                value = _constant(value_side, local, ctx) if ref is not None else None
                if value is not None:
                    found.append((".".join(ref), _OPS[op], value))  # type: ignore[arg-type]
                    break
        elif isinstance(expr, ast.Between) and not expr.negated and not any(
                isinstance(side, ast.Collate) for side in (expr.value, expr.low, expr.high)):
            ref = _document_ref(_path(expr.value), local)
            low, high = (_constant(expr.low, local, ctx), _constant(expr.high, local, ctx)) \
                if ref is not None else (None, None)
            if low is not None and high is not None:
                found += [(".".join(ref), "$gte", low), (".".join(ref), "$lte", high)]  # type: ignore[arg-type]
    return DocumentFilter(found) if found else None


_NUMBER = (int, float)


class DocumentFilter:
    """Per execution, the MongoDB filters whose matches together hold every document the
    SQL conditions can keep (which still filter them): each path's equality to a string or
    number, else its range when both bounds are numbers or both text. SQL compares a
    boolean as 0 or 1, MongoDB's ranges never match one, so a number range holding 0 or 1
    adds a second filter for the path's booleans (``$in``, also served by its index).
    The rows' own SQL conditions decide: this only narrows what is read."""

    def __init__(self, conditions: list[tuple[str, str, Compiled]]):
        self.conditions = conditions

    def __call__(self, env: Env) -> list[dict]:
        equal: dict[str, Any] = {}
        bounds: dict[str, dict[str, Any]] = {}
        for dotted, op, compiled in self.conditions:
            x = compiled((), env)
            if op == "$eq":
                if type(x) in (int, float, str):
                    equal.setdefault(dotted, x)  # MongoDB's equality holds every SQL match (and more)
            elif type(x) in (int, float, str):
                tighter = bounds.setdefault(dotted, {})
                tighter.setdefault(op.rstrip("e"), (op, x))  # the first $gt/$gte, $lt/$lte given
        for dotted, x in equal.items():
            if type(x) is not str and x in (0, 1):  # SQL's 1 = TRUE, MongoDB's 1 is no boolean
                booleans_too = {**equal, dotted: {"$in": [x, bool(x)]}}
                return [booleans_too]
        query: dict[str, Any] = dict(equal)
        booleans = None
        for dotted, given in bounds.items():
            if dotted in equal or "$gt" not in given or "$lt" not in given:
                continue  # one bound: SQL orders text above numbers, so no one bracket holds it
            (low_op, low), (high_op, high) = given["$gt"], given["$lt"]
            numbers = type(low) in _NUMBER and type(high) in _NUMBER
            if not numbers and not (type(low) is str and type(high) is str):
                continue
            query[dotted] = {low_op: low, high_op: high}
            if numbers and low <= 1 and high >= 0:
                booleans = (dotted, {dotted: {"$in": [True, False]}, **equal})
        if booleans is not None and len(query) > len(equal) + 1:
            del query[booleans[0]]  # ranges on several paths: keep the others (no booleans to add)
            booleans = None
        return [query] if booleans is None else [query, booleans[1]]

    def shape(self) -> dict:
        """A filter of the same shape with stand-in values: what EXPLAIN asks the index choice."""
        shape: dict[str, Any] = {}
        for dotted, op, _ in self.conditions:
            if op == "$eq":
                shape[dotted] = 2
            elif not isinstance(shape.get(dotted, {}), dict):
                continue
            else:
                shape.setdefault(dotted, {})[op] = 2
        ranged = {k: c for k, c in shape.items() if not isinstance(c, dict) or (
            {"$gt", "$gte"} & set(c) and {"$lt", "$lte"} & set(c))}
        return ranged


def _document_ref(path: tuple[str, ...] | None, local: Scope) -> tuple[str, ...] | None:
    ref = _resolved(path, local)
    if ref is None or not ref.rest or ref.source is None or ref.source.columns is not None:
        return None
    if any(not name or name.isdigit() or "." in name or name.startswith("$") for name in ref.rest):
        return None  # not expressible as a MongoDB dotted path
    return ref.rest
