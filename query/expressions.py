"""Expressions compiled once per statement into Python closures ``f(row, env)``.

``compile_expr(node, scope, ctx)`` walks a ``query.ast`` expression once and
returns a closure; executing a plan calls closures, never the tree, and never
``eval``. ``row`` is the flat tuple of the sources' slots (``query.scope``);
``env`` (``Env``) carries what one execution of a cached plan binds: the
parameters, the rows of enclosing queries (correlated subqueries) and the
results of uncorrelated subqueries, computed once per execution. Value
semantics -- three-valued logic, comparisons, arithmetic, LIKE, CAST -- are
SQLite's, from ``query.values``; functions come from ``query.functions``.
Aggregate calls are not compiled here: ``query.planner`` replaces them with
slots of the aggregation's output (``ctx.aggregates``).
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from docdb.errors import DataError, ProgrammingError
from docdb.models.schema import current_time_text
from query import ast
from query import functions as fn
from query import jsonfunctions as jf
from query import values as v
from query.inline import FIXED, SIMPLE
from query.numbers import numeric_affinity
from query.scope import Ref, Scope
from query.udf import BUILTINS

__all__ = ["Compiled", "Context", "Env", "as_bag", "compile_expr", "navigate"]

MISSING = v.MISSING
Compiled = Callable[[tuple, "Env"], Any]


class Env:
    """What one execution binds: parameters, enclosing rows, subquery results."""

    __slots__ = ("params", "outer", "cache", "session")

    def __init__(self, params: Any, session: Any, outer: tuple = ()):
        self.params = params
        self.session = session
        self.outer = outer  # rows of enclosing queries, innermost last
        self.cache: dict[int, Any] = {}

    def nested(self, row: tuple) -> Env:
        env = Env(self.params, self.session, self.outer + (row,))
        env.cache = self.cache  # uncorrelated results are the same at every depth
        return env


@dataclass
class Context:
    """What compiling needs besides the scope: how to plan a subquery, and the
    aggregation's slots when compiling above a GROUP BY."""
    plan_query: Callable[[ast.Query, Scope], Any]  # -> (plan, columns); see query.planner
    aggregates: dict[ast.Expr, int] = field(default_factory=dict)  # aggregate call -> slot
    group_input: Scope | None = None  # the scope under an aggregation (bare columns)
    partiql: bool = False  # PartiQL's values: arrays and bags keep MISSING elements
    functions: Any = None  # query.udf.Functions: the connection's own and the built-ins
    # how to compile (SELECT ...), EXISTS and IN (SELECT ...): query.subqueries.compile_subquery,
    # handed in by the planner (which plans them), so this module does not import it
    subquery: Callable[[ast.Expr, Scope, Context], Compiled] | None = None
    # above an aggregation: a mark is added here by each expression that reads a group's row
    # (a bare column, a correlated subquery), so the aggregation keeps one only if asked
    group_rows_read: list = field(default_factory=list)
    # PartiQL's permissive mode: a name bound to nothing, a path into NULL, a comparison of
    # values of different kinds are MISSING (query.executor.evaluate)
    permissive: bool = False


Bag, Fields = v.Bag, v.Fields


class Spread(Bag):
    """The values a wildcard path step (``[*]``, ``.*``) spread out: the steps after it
    apply to each of them, and the path's value is the bag of what they give."""

    __slots__ = ()


def navigate(value: Any, step: Any, exact: bool = False) -> Any:
    """``value.step`` / ``value[step]``: a field of an object or an element of an array;
    MISSING where there is none (PartiQL's permissive mode). A bare (unquoted) field name
    that is not a key matches a key that differs only in case, as PartiQL reads names;
    ``exact``: ``step`` is a computed value (``s[expr]``), matched as it is."""
    if isinstance(value, dict):
        if isinstance(step, str):
            found = value.get(step, MISSING)
            if found is MISSING and not exact and not isinstance(step, ast.Quoted):
                lowered = step.lower()
                found = next((v for k, v in value.items() if k.lower() == lowered), MISSING)
            return found
        return MISSING
    if isinstance(value, Spread):
        return Spread(x for x in (navigate(item, step, exact) for item in value) if x is not MISSING)
    if isinstance(value, list) and not isinstance(value, Bag) and type(step) is int:
        return value[step] if 0 <= step < len(value) else MISSING
    return None if value is None else MISSING  # a path into NULL is NULL


def spread(value: Any, fields: bool) -> Spread:
    """A wildcard step: an array's elements (``[*]``) or a struct's values (``.*``); any
    other value stands for itself, MISSING for nothing."""
    if isinstance(value, Spread):
        return Spread(x for item in value for x in spread(item, fields))
    if value is MISSING:
        return Spread()
    if fields and isinstance(value, dict):
        return Spread(value.values())
    if not fields and isinstance(value, list):
        return Spread(value)
    return Spread([value])


def _walk(base: Compiled, steps: tuple) -> Compiled:
    for step in steps:
        if isinstance(step, str):
            base = _field(base, step)
        else:
            base = (lambda b, s: lambda row, env: navigate(b(row, env), s(row, env), True))(base, step)
    return base


def _field(base: Compiled, step: str) -> Compiled:
    """``base.step``; inlined as a dict lookup, with ``navigate`` for anything but a found key."""
    def field(row: tuple, env: Env) -> Any:
        return navigate(base(row, env), step)

    def emit(emitter: Any) -> str:
        t, found = emitter.local(), emitter.local()
        name = emitter.constant(step)
        return (f"({found} if type({t} := {emitter.value(base)}) is dict and ({found} := {t}.get({name}, "
                f"MISSING)) is not MISSING else {emitter.constant(navigate)}({t}, {name}))")
    return _emits(field, value=emit)


def _rows_of(left: ast.Expr, right: ast.Expr) -> bool:
    """Whether both sides are row values of one width: ``(a, b) = (1, 2)``."""
    return all(isinstance(side, ast.ArrayCtor) and not side.bag and len(side.items) > 1
               for side in (left, right)) and len(left.items) == len(right.items)  # type: ignore[attr-defined]


def _row_comparison(node: ast.Binary, scope: Scope, ctx: Context) -> Compiled:
    """SQLite's row-value comparison: pair by pair, the first pair that is not equal
    decides (``=``/``!=``: any unequal pair); a NULL met before that makes it NULL."""
    lefts = [compile_expr(x, scope, ctx) for x in node.left.items]  # type: ignore[attr-defined]
    rights = [compile_expr(x, scope, ctx) for x in node.right.items]  # type: ignore[attr-defined]
    op, decide = node.op, _BINARY[node.op]

    def compare(row: tuple, env: Env) -> Any:
        unknown = False
        for left, right in zip(lefts, rights):
            a, b = left(row, env), right(row, env)
            if a is None or b is None or a is MISSING or b is MISSING:
                unknown = True
                if op in ("=", "!="):
                    continue
                return None
            if v.eq(a, b) is True:
                continue
            if op in ("=", "!="):
                return op == "!="
            return decide(a, b)
        if unknown:
            return None
        return op in ("=", "<=", ">=")
    return compare


def _comparable(compare: Callable[[Any, Any], Any], left: Compiled, right: Compiled) -> Compiled:
    """PartiQL's permissive ordering: a number and text that spells one compare as numbers;
    values of kinds that do not compare (a number and other text) give MISSING, where SQL
    orders them."""
    def permissive(row: tuple, env: Env) -> Any:
        a, b = left(row, env), right(row, env)
        if a is None or b is None or a is MISSING or b is MISSING:
            return MISSING if a is MISSING or b is MISSING else None
        if _kind(a) != _kind(b):
            a, b = _as_number(a), _as_number(b)
            if a is None or b is None:
                return MISSING
        return compare(a, b)
    return permissive


def _as_number(value: Any) -> Any:
    if _kind(value) == "number":
        return value
    return numeric_affinity(value) if isinstance(value, str) else None  # only text that is a number


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__ if not isinstance(value, (dict, list)) else "container"


def _step(index: ast.Expr, scope: Scope, ctx: Context) -> Compiled:
    """A ``[index]`` step. In PartiQL only a literal names a struct's field this way
    (``s['a']``); a computed one (``s[v]``) reaches array elements, and in a struct, nothing."""
    compiled = compile_expr(index, scope, ctx)
    if not ctx.partiql or isinstance(index, (ast.Literal, ast.Cast)):  # a CAST names it explicitly
        return compiled

    def position(row: tuple, env: Env) -> Any:
        value = compiled(row, env)
        return value if not isinstance(value, str) else _NO_FIELD
    return position


_NO_FIELD = object()  # a step that names no field of any struct


def _column(ref: Ref) -> Compiled:
    slot = ref.slot
    if ref.slot is None:  # a whole table row, as an object
        src = ref.source
        assert src is not None and src.columns is not None
        names, start = src.shown, src.offset
        if ref.depth:
            depth = ref.depth
            return lambda row, env: dict(zip(names, env.outer[-depth][start:start + len(names)]))
        return lambda row, env: dict(zip(names, row[start:start + len(names)]))
    if ref.depth:
        depth = ref.depth
        return lambda row, env: env.outer[-depth][slot]
    return _emits(lambda row, env: row[slot], value=lambda emitter: f"row[{slot}]")


def _path_of(node: ast.Expr) -> tuple[tuple[str, ...], tuple] | None:
    """``a.b.c`` -> (("a", "b", "c"), ()); with index steps after the names, those too."""
    steps: list = []
    while isinstance(node, (ast.Field, ast.Index)):
        steps.append(node.name if isinstance(node, ast.Field) else node.index)
        node = node.base
    if not isinstance(node, ast.Name):
        return None
    steps.reverse()
    names = [node.name]
    for i, step in enumerate(steps):
        if not isinstance(step, str):
            return tuple(names), tuple(steps[i:])
        names.append(step)
    return tuple(names), ()


def _json_operator(operator: Callable[[Any, Any], Any], symbol: str) -> Callable[[Any, Any], Any]:
    def apply(json: Any, path: Any) -> Any:
        try:
            return operator(json, path)
        except ValueError as error:
            raise DataError(f"{symbol}: {error}") from None
    return apply


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "=": v.eq, "!=": v.ne, "<": v.lt, "<=": v.le, ">": v.gt, ">=": v.ge,
    "+": v.add, "-": v.sub, "*": v.mul, "/": v.div, "%": v.mod, "||": v.concat,
    "&": v.bit_and, "|": v.bit_or, "<<": v.lshift, ">>": v.rshift,
    "->": _json_operator(jf.arrow, "->"), "->>": _json_operator(jf.arrow_value, "->>"),
}


_COMPARING = frozenset({"=", "!=", "<", "<=", ">", ">="})
# SQLite's collations as the text each compares by: NOCASE folds ASCII letters, RTRIM
# ignores trailing spaces, BINARY compares as stored
_FOLDS: dict[str, Callable[[str], str] | None] = {
    "BINARY": None, "NOCASE": lambda text: text.translate(fn._LOWER), "RTRIM": lambda text: text.rstrip(" ")}


def _fold(collation: str, ctx: Context) -> Callable[[str], str] | None:
    """What text compares as under ``collation``: the connection's own (create_collation)
    first, then SQLite's three; None for BINARY."""
    functions = ctx.functions
    user = functions.collations.get(collation) if functions is not None else None
    if user is not None:
        return user
    if collation not in _FOLDS:
        raise ProgrammingError(f"no such collation sequence: {collation}")
    return _FOLDS[collation]


def _folding(node: ast.Binary, ctx: Context) -> Callable[[str], str] | None:
    """The collation a comparison uses: its left operand's COLLATE, else its right's."""
    for side in (node.left, node.right):
        if isinstance(side, ast.Collate):
            return _fold(side.collation, ctx)
    return None


def _folded(compiled: Compiled, fold: Callable[[str], str]) -> Compiled:
    def folded(row: tuple, env: Env) -> Any:
        value = compiled(row, env)
        return fold(value) if type(value) is str else value
    return folded


def compile_sort_key(node: ast.Expr, scope: Scope, ctx: Context) -> Compiled:
    """An ORDER BY key: the value, folded by its COLLATE if it has one."""
    compiled = compile_expr(node, scope, ctx)
    fold = _fold(node.collation, ctx) if isinstance(node, ast.Collate) else None
    return _folded(compiled, fold) if fold is not None else compiled


def compile_expr(node: ast.Expr, scope: Scope, ctx: Context) -> Compiled:  # noqa: C901, PLR0911, PLR0912
    """The closure computing ``node`` for a row of ``scope``."""
    if ctx.aggregates and node in ctx.aggregates:
        slot = ctx.aggregates[node]
        return lambda row, env: row[slot]
    if isinstance(node, ast.Literal):
        value = node.value
        return _emits(lambda row, env: value, value=lambda emitter: emitter.constant(value))
    if isinstance(node, ast.Param):
        param = _param(node)
        return _emits(param, value=lambda emitter: emitter.hoist(param))
    if isinstance(node, ast.CurrentTime):
        kind = node.kind
        return lambda row, env: current_time_text(kind)
    if isinstance(node, (ast.Name, ast.Field, ast.Index)):
        path = _path_of(node)
        if path is not None:
            names, tail = path
            return _reference(names, tail, scope, ctx)
        base = compile_expr(node.base, scope, ctx)
        step = node.name if isinstance(node, ast.Field) else _step(node.index, scope, ctx)
        walked = _walk(base, (step,))
        if ctx.permissive:  # a path into NULL is MISSING
            return lambda row, env: MISSING if base(row, env) is None else walked(row, env)
        return walked
    if isinstance(node, ast.Binary) and node.op in _COMPARING and _rows_of(node.left, node.right):
        return _row_comparison(node, scope, ctx)
    if isinstance(node, ast.Binary):
        left, right = compile_expr(node.left, scope, ctx), compile_expr(node.right, scope, ctx)
        fold = _folding(node, ctx) if node.op in _COMPARING else None
        if fold is not None:  # a COLLATE on either side: both compare as the collation folds them
            left, right = _folded(left, fold), _folded(right, fold)
        if ctx.permissive and node.op in ("<", "<=", ">", ">="):
            return _comparable(_BINARY[node.op], left, right)
        return _binary(_BINARY[node.op], left, right)
    if isinstance(node, ast.Logical):
        left, right = compile_expr(node.left, scope, ctx), compile_expr(node.right, scope, ctx)
        return _logical(left, right, decides=node.op == "OR")
    if isinstance(node, ast.Unary):
        return _unary(node.op, compile_expr(node.operand, scope, ctx), ctx.permissive)
    if isinstance(node, ast.Is):
        return _is(node, scope, ctx)
    if isinstance(node, ast.NullTest):
        value, negated = compile_expr(node.value, scope, ctx), node.negated

        def null_test(emitter: Any) -> str:
            t = emitter.local()
            return f"(({t} := {emitter.value(value)}) is {'not ' if negated else ''}None " \
                   f"{'and' if negated else 'or'} {t} is {'not ' if negated else ''}MISSING)"
        return _emits(lambda row, env: (value(row, env) in (None, MISSING)) != negated,
                      value=null_test, test=null_test)
    if isinstance(node, ast.Between):
        return _between(node, scope, ctx)
    if isinstance(node, ast.InList):
        return _in_list(node, scope, ctx)
    if isinstance(node, ast.InValue):
        return _in_value(node, scope, ctx)
    if isinstance(node, ast.Like):
        return _like(node, scope, ctx)
    if isinstance(node, ast.Case):
        return _case(node, scope, ctx)
    if isinstance(node, ast.Cast):
        value, type_name = compile_expr(node.value, scope, ctx), node.type_name
        try:
            v.cast(None, type_name)
        except ValueError as error:
            raise ProgrammingError(str(error)) from None
        return lambda row, env: MISSING if (x := value(row, env)) is MISSING else v.cast(x, type_name)
    if isinstance(node, ast.Call):
        return _call(node, scope, ctx)
    if isinstance(node, ast.Collate):
        _fold(node.collation, ctx)  # an unknown name is an error even where it does not compare
        return compile_expr(node.value, scope, ctx)
    if isinstance(node, ast.ObjectCtor):
        return _object(node, scope, ctx)
    if isinstance(node, ast.ArrayCtor):
        items = [compile_expr(as_bag(item, ctx), scope, ctx) for item in node.items]
        kind = Bag if node.bag else list
        if ctx.partiql:
            return lambda row, env: kind([item(row, env) for item in items])
        return lambda row, env: kind([_stored(item(row, env)) for item in items])  # JSON has no MISSING
    if isinstance(node, (ast.Subquery, ast.Exists, ast.InQuery)):
        if ctx.subquery is None:
            raise ProgrammingError("a subquery cannot be used here")
        return ctx.subquery(node, scope, ctx)
    if isinstance(node, ast.StarStruct):
        return _star_struct(node, scope)
    if isinstance(node, (ast.FieldStar, ast.IndexStar)):
        base, fields = compile_expr(node.base, scope, ctx), isinstance(node, ast.FieldStar)
        return lambda row, env: spread(base(row, env), fields)
    raise ProgrammingError(f"cannot evaluate {type(node).__name__} here")


def _stored(value: Any) -> Any:
    """A value placed in a constructed object or array: MISSING has no JSON form, so null."""
    return None if value is MISSING else value


def _param(node: ast.Param) -> Compiled:
    if node.name is not None:
        name = node.name

        def named(row: tuple, env: Env) -> Any:
            try:
                return env.params[name]
            except (KeyError, TypeError):
                raise ProgrammingError(f"no value was given for parameter :{name}") from None
        return named
    index = node.index

    def positional(row: tuple, env: Env) -> Any:
        try:
            return env.params[index]
        except (IndexError, KeyError, TypeError):
            raise ProgrammingError(f"no value was given for parameter {index + 1} (?)") from None
    return positional


def _reference(names: tuple[str, ...], tail: tuple, scope: Scope, ctx: Context) -> Compiled:
    if ctx.group_input is not None:  # above an aggregation: a bare column reads the group's row
        ctx.group_rows_read.append(names)
        inner = _reference(names, tail, ctx.group_input,
                           Context(ctx.plan_query, partiql=ctx.partiql, functions=ctx.functions,
                                   subquery=ctx.subquery, permissive=ctx.permissive))
        return lambda row, env: inner(row[0], env)
    try:
        ref = scope.resolve(names)
    except ProgrammingError:
        if ctx.partiql and ctx.permissive:  # PartiQL's permissive mode: a name bound to nothing is MISSING
            return lambda row, env: MISSING
        raise
    steps = tuple(_step(step, scope, ctx) if isinstance(step, ast.Expr) else step for step in tail)
    return _walk(_column(ref), ref.rest + steps)


_NATIVE = {v.eq: operator.eq, v.ne: operator.ne, v.lt: operator.lt, v.le: operator.le, v.gt: operator.gt,
           v.ge: operator.ge}
_PLAIN = (int, float, str)


def _emits(compiled: Compiled, value: Callable[[Any], str] | None = None,
           test: Callable[[Any], str] | None = None) -> Compiled:
    """``compiled`` with how to write it as source (``query.inline``): its value, and a test
    true exactly when its SQL truth is TRUE. Returns the closure itself."""
    if value is not None:
        compiled.emit_value = value  # type: ignore[attr-defined]
    if test is not None:
        compiled.emit_test = test  # type: ignore[attr-defined]
    return compiled


def _logical(left: Compiled, right: Compiled, decides: bool) -> Compiled:
    """Three-valued AND (``decides=False``) or OR (``decides=True``) that stops at the first
    operand whose truth is ``decides``: the right side is not evaluated (nor its errors
    raised, nor its subqueries run) when the left decides, as in SQLite."""
    truth = v.truth

    def logical(row: Any, env: Env) -> bool | None:
        a = truth(left(row, env))
        if a is decides:
            return decides
        b = truth(right(row, env))
        if b is decides:
            return decides
        return None if a is None or b is None else not decides

    # WHERE keeps a row when AND's operands are both TRUE, or when either of OR's is
    joiner = " or " if decides else " and "
    return _emits(logical, test=lambda emitter: f"({emitter.test(left)}{joiner}{emitter.test(right)})")


_SYMBOL = {operator.eq: "==", operator.ne: "!=", operator.lt: "<", operator.le: "<=", operator.gt: ">",
           operator.ge: ">="}


def compare_mixed(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """A comparison of two values not of one plain type: MISSING if either is MISSING
    (PartiQL), but NULL against NULL; else SQLite's rules (``query.values``)."""
    if a is MISSING or b is MISSING:
        return None if a is None or b is None else MISSING
    return op(a, b)


def _binary(op: Callable[[Any, Any], Any], left: Compiled, right: Compiled) -> Compiled:
    native = _NATIVE.get(op)
    if native is not None:  # two values of one plain type compare as Python compares them
        def compare(row: tuple, env: Env) -> Any:
            a, b = left(row, env), right(row, env)
            kind = type(a)
            if kind is type(b) and kind in _PLAIN:
                return native(a, b)
            return compare_mixed(op, a, b)

        def emit(emitter: Any, test: bool) -> str:
            a, b = emitter.value(left), emitter.value(right)
            symbol = _SYMBOL[native]
            if FIXED.match(b) or FIXED.match(a):  # one side fixed: its type is looked at once
                fixed, other, flip = (b, a, False) if FIXED.match(b) else (a, b, True)
                x, kind = emitter.local(), emitter.plain_type(fixed)
                pair = (fixed, x) if flip else (x, fixed)
                slow = f"{emitter.constant(compare_mixed)}({emitter.constant(op)}, {pair[0]}, {pair[1]})"
                return (f"({pair[0]} {symbol} {pair[1]} if type({x} := {other}) is {kind} else "
                        + (f"_truth({slow}) is True)" if test else f"{slow})"))
            x, y = emitter.local(), emitter.local()
            slow = f"{emitter.constant(compare_mixed)}({emitter.constant(op)}, {x}, {y})"
            outcome = f"_truth({slow}) is True)" if test else f"{slow})"
            return (f"({x} {symbol} {y} if type({x} := {a}) is type({y} := {b}) and type({x}) in "
                    f"{emitter.constant(_PLAIN)} else {outcome}")
        compare.emit_value = lambda emitter: emit(emitter, False)  # type: ignore[attr-defined]
        compare.emit_test = lambda emitter: emit(emitter, True)  # type: ignore[attr-defined]
        return compare

    def binary(row: tuple, env: Env) -> Any:
        a, b = left(row, env), right(row, env)
        if a is MISSING or b is MISSING:
            return MISSING
        try:
            return op(a, b)
        except OverflowError:
            raise DataError("integer overflow") from None
    return binary


def _unary(op: str, operand: Compiled, permissive: bool = False) -> Compiled:
    if op == "NOT" and permissive:  # NOT of a struct or array is MISSING (PartiQL)
        return lambda row, env: MISSING if isinstance(x := operand(row, env), (dict, list)) else \
            v.not_(v.truth(x))
    if op == "NOT":
        return lambda row, env: v.not_(v.truth(operand(row, env)))
    if op == "-":
        return lambda row, env: MISSING if (x := operand(row, env)) is MISSING else v.neg(x)
    if op == "~":
        return lambda row, env: v.bit_not(operand(row, env))
    return lambda row, env: _unary_plus(operand(row, env))


def _unary_plus(value: Any) -> Any:
    return value


def _is(node: ast.Is, scope: Scope, ctx: Context) -> Compiled:
    left, negated = compile_expr(node.left, scope, ctx), node.negated
    if isinstance(node.right, ast.Literal) and node.right.value is MISSING:
        return lambda row, env: (left(row, env) is MISSING) != negated
    right = compile_expr(node.right, scope, ctx)
    test = v.is_not if negated else v.is_
    return lambda row, env: test(left(row, env), right(row, env))


def _between(node: ast.Between, scope: Scope, ctx: Context) -> Compiled:
    value = compile_expr(node.value, scope, ctx)
    low, high = compile_expr(node.low, scope, ctx), compile_expr(node.high, scope, ctx)
    fold = next((_fold(side.collation, ctx) for side in (node.value, node.low, node.high)
                 if isinstance(side, ast.Collate)), None)
    if fold is not None:  # x >= low AND x <= high, each under the collation
        value, low, high = _folded(value, fold), _folded(low, fold), _folded(high, fold)
    if node.negated:
        return lambda row, env: v.not_(v.between(value(row, env), low(row, env), high(row, env)))

    def emit(emitter: Any, test: bool) -> str:
        lo, hi = emitter.value(low), emitter.value(high)
        if not (SIMPLE.match(lo) and SIMPLE.match(hi)):  # bounds that cost something: call
            return f"(_truth({emitter.constant(between)}(row, env)) is True)" if test else \
                f"{emitter.constant(between)}(row, env)"
        x = emitter.local()
        slow = f"{emitter.constant(v.between)}({x}, {lo}, {hi})"
        if FIXED.match(lo) and FIXED.match(hi):  # the bounds' type is looked at once
            same = f"type({x} := {emitter.value(value)}) is {emitter.plain_type(lo, hi)}"
        else:
            same = (f"type({x} := {emitter.value(value)}) is type({lo}) is type({hi}) "
                    f"and type({x}) in {emitter.constant(_PLAIN)}")
        return f"({lo} <= {x} <= {hi} if {same} else " + (f"_truth({slow}) is True)" if test else f"{slow})")

    def between(row: tuple, env: Env) -> Any:
        return v.between(value(row, env), low(row, env), high(row, env))
    return _emits(between, value=lambda emitter: emit(emitter, False),
                  test=lambda emitter: emit(emitter, True))


def _in_list(node: ast.InList, scope: Scope, ctx: Context) -> Compiled:
    left = compile_expr(node.left, scope, ctx)
    items = [compile_expr(item, scope, ctx) for item in node.items]
    negated = node.negated
    fold = _fold(node.left.collation, ctx) if isinstance(node.left, ast.Collate) else None
    if fold is not None:  # as SQLite: the left operand's collation compares it with each item
        left, items = _folded(left, fold), [_folded(item, fold) for item in items]
    elif all(isinstance(item, ast.Literal) for item in node.items):  # constant: look up a set
        constants = [item.value for item in node.items]  # type: ignore[attr-defined]
        hashable = {c for c in constants if c is not None and c is not MISSING}
        has_null = len(hashable) != len(constants) or not all(
            isinstance(c, (int, float, str, bytes)) for c in hashable)
        if not has_null:
            def member(row: tuple, env: Env) -> Any:
                value = left(row, env)
                if value is None or value is MISSING:
                    return None if hashable else negated
                return (value in hashable) != negated if isinstance(value, (int, float, str, bytes)) \
                    else v.not_(v.in_list(value, constants)) if negated else v.in_list(value, constants)
            return member
    if negated:
        return lambda row, env: v.not_(v.in_list(left(row, env), [i(row, env) for i in items]))
    return lambda row, env: v.in_list(left(row, env), [i(row, env) for i in items])


def _in_value(node: ast.InValue, scope: Scope, ctx: Context) -> Compiled:
    if isinstance(node.container, ast.Name):
        try:
            scope.resolve((node.container.name,))
        except ProgrammingError:  # SQLite's ``x IN table``: the table's one column
            table = ast.NamedSource((node.container.name,), None)
            query = ast.Query(ast.Select((ast.Star(),), sources=(table,)))
            return compile_expr(ast.InQuery(node.left, query, node.negated, pos=node.pos), scope, ctx)
    left, container = compile_expr(node.left, scope, ctx), compile_expr(node.container, scope, ctx)
    negated = node.negated

    def member(row: tuple, env: Env) -> Any:
        items = container(row, env)
        if not isinstance(items, list):
            return None
        found = v.in_list(left(row, env), items)
        return v.not_(found) if negated else found
    return member


def _like(node: ast.Like, scope: Scope, ctx: Context) -> Compiled:
    left, pattern = compile_expr(node.left, scope, ctx), compile_expr(node.pattern, scope, ctx)
    escape = compile_expr(node.escape, scope, ctx) if node.escape is not None else None
    negated = node.negated
    if node.glob:
        def glob(row: tuple, env: Env) -> Any:
            found = v.glob(left(row, env), pattern(row, env))
            return v.not_(found) if negated else found
        return glob

    def like(row: tuple, env: Env) -> Any:
        try:
            found = v.like(left(row, env), pattern(row, env), escape(row, env) if escape else None)
        except ValueError as error:
            raise DataError(str(error)) from None
        return v.not_(found) if negated else found
    return like


def _case(node: ast.Case, scope: Scope, ctx: Context) -> Compiled:
    whens = [(compile_expr(c, scope, ctx), compile_expr(r, scope, ctx)) for c, r in node.whens]
    otherwise = compile_expr(node.otherwise, scope, ctx) if node.otherwise is not None else None
    operand = compile_expr(node.operand, scope, ctx) if node.operand is not None else None

    def case(row: tuple, env: Env) -> Any:
        if operand is not None:
            subject = operand(row, env)
            for condition, result in whens:
                if v.eq(subject, condition(row, env)):
                    return result(row, env)
        else:
            for condition, result in whens:
                if v.truth(condition(row, env)):
                    return result(row, env)
        return otherwise(row, env) if otherwise is not None else None
    return case


def _call(node: ast.Call, scope: Scope, ctx: Context, instead: Callable[..., Any] | None = None) -> Compiled:
    """A scalar function call (``instead``: call this in the function's place, with its checks)."""
    registry = ctx.functions or BUILTINS
    if registry.is_aggregate(node.name) and not (node.name in ("min", "max") and len(node.args) > 1):
        raise ProgrammingError(f"misuse of aggregate function {node.name}()")
    try:
        function = registry.lookup_scalar(node.name)
    except KeyError:
        raise ProgrammingError(f"no such function: {node.name}") from None
    if node.star or node.distinct:
        raise ProgrammingError(f"{node.name}() takes no * or DISTINCT")
    try:
        fn.check_arity(function, len(node.args))
    except ValueError as error:
        raise ProgrammingError(str(error)) from None
    builtin = function is fn.SCALARS.get(node.name)
    if builtin and node.name in fn.SESSION:  # changes(), last_insert_rowid()...: the connection's
        reads = fn.SESSION[node.name]
        return lambda row, env: reads(env.session)
    embeds = jf.EMBEDS.get(node.name) if builtin else None
    args = [compile_json_argument(arg, scope, ctx) if embeds is not None and embeds(i) else
            compile_expr(arg, scope, ctx) for i, arg in enumerate(node.args)]
    call = function.fn if instead is None else instead

    def apply(row: tuple, env: Env) -> Any:
        try:
            return call(*[None if a is MISSING else a for a in (arg(row, env) for arg in args)])
        except OverflowError:
            raise DataError("integer overflow") from None
        except (ValueError, TypeError) as error:
            raise DataError(f"{node.name}(): {error}") from None
    return apply


def compile_json_argument(node: ast.Expr, scope: Scope, ctx: Context) -> Compiled:
    """An argument whose value a JSON function embeds: where it is itself JSON (SQLite's
    subtype: what json(), json_array(), ``->`` ... made), the JSON value it stands for, which
    embeds as JSON; anything else as it is, which embeds as a JSON string or number."""
    registry = ctx.functions or BUILTINS
    if isinstance(node, ast.Binary) and node.op == "->":
        text = compile_expr(node, scope, ctx)
        return lambda row, env: jf.embedded(text(row, env))
    if not isinstance(node, ast.Call) or node.name not in jf.AS_VALUE or node.over is not None:
        return compile_expr(node, scope, ctx)
    if not registry.is_aggregate(node.name) and \
            registry.lookup_scalar(node.name) is not fn.SCALARS.get(node.name):
        return compile_expr(node, scope, ctx)  # a function of the connection's own by that name
    variant = jf.AS_VALUE[node.name]
    if variant is None:  # its result is JSON text: embed what it says
        text = compile_expr(node, scope, ctx)
        return lambda row, env: jf.embedded(text(row, env))
    replaced = _call(node, scope, ctx, variant)
    return replaced


def _star_struct(node: ast.StarStruct, scope: Scope) -> Compiled:
    sources = [scope.source(alias) for alias in node.aliases]

    def merge(row: tuple, env: Env) -> dict:
        pairs: list = []
        for position, src in enumerate(sources, 1):
            assert src is not None
            if src.columns is not None:
                pairs += zip(src.columns, row[src.offset:src.offset + len(src.columns)])
                continue
            value = row[src.offset]
            if isinstance(value, dict):
                pairs += value.items()
            elif value is not MISSING:  # PartiQL names a non-struct by its position, an AT name by itself
                pairs.append((src.alias if src.origin == "position" else f"_{position}", value))
        return v.struct(pairs)
    return merge


def as_bag(node: ast.Expr, ctx: Context) -> ast.Expr:
    """In PartiQL, a ``(SELECT VALUE ...)`` that builds part of an array or struct is the bag
    of its values, not one of them."""
    if ctx.partiql and isinstance(node, ast.Subquery) and isinstance(node.query.body, ast.Select) \
            and node.query.body.value is not None and not node.query.body.pivot:
        return ast.Subquery(node.query, bag=True, pos=node.pos)
    return node


def _object(node: ast.ObjectCtor, scope: Scope, ctx: Context) -> Compiled:
    pairs = [(compile_expr(k, scope, ctx), compile_expr(as_bag(val, ctx), scope, ctx))
             for k, val in node.pairs]
    partiql = ctx.partiql

    def construct(row: tuple, env: Env) -> dict:
        made = []
        for key, value in pairs:
            name = key(row, env)
            if not isinstance(name, str):
                if partiql:  # permissive: a field whose name is no text is left out
                    continue
                raise DataError(f"an object's keys are text, not {name!r:.40}")
            item = value(row, env)
            if item is not MISSING:  # PartiQL: a MISSING value leaves the field out
                made.append((name, item))
        return v.struct(made)
    return construct
