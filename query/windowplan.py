"""Planning window calls: which calls of a SELECT are windows or aggregates, where a window
call may not stand, and the ``query.windows.Windowed`` node that computes them.

``windowed`` compiles each call's window (named windows resolved), groups the calls that
share a partitioning and ordering (sorted once), and gives back the context that reads
each call's value from the slot the node appends. The planner (``query.planner``) calls
it after GROUP BY and HAVING, so window calls read groups and their aggregates.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from docdb.errors import ProgrammingError
from query import ast, functions
from query import plan as p
from query import windows as w
from query.expressions import Context, compile_expr, compile_sort_key
from query.pushdown import references
from query.scope import Scope
from query.sqltext import sql
from query.udf import Functions

__all__ = ["aggregate_calls", "refuse_windows", "resolve_window", "window_calls", "windowed"]


def aggregate_calls(exprs: list, registry: Functions) -> list[ast.Call]:
    """The aggregate calls in ``exprs``, each once, not looking into subqueries (a window
    call is none, but what its arguments and window hold may be)."""
    return _calls(exprs, lambda node: node.over is None and registry.is_aggregate(node.name)
                  and not (node.name in ("min", "max") and len(node.args) > 1))


def window_calls(exprs: list) -> list[ast.Call]:
    """The window function calls (``f(...) OVER ...``) in ``exprs``, each once, not in subqueries."""
    return _calls(exprs, lambda node: node.over is not None)


def _calls(exprs: list, wanted: Any) -> list[ast.Call]:
    found: list[ast.Call] = []
    for expr in exprs:
        for node in references(expr, into_calls=True):
            if isinstance(node, ast.Call) and wanted(node) and node not in found:
                found.append(node)
    return found


def refuse_windows(places: list, others: list) -> None:
    """A window call where none may stand (WHERE, GROUP BY, HAVING, an aggregate's or another
    window call's arguments), or a window-only function without OVER anywhere (``others``
    too): SQLite's "misuse of window function"."""
    for place in places:
        inner = place
        if isinstance(place, ast.Call):  # a call's own window is its business; look inside it
            inner = (place.args, place.filter, place.over)
        for call in window_calls([inner]):
            raise ProgrammingError(f"misuse of window function {call.name}()")
    for node in references(tuple(places + others), into_calls=True):
        if isinstance(node, ast.Call) and node.over is None and w.window_arity(node.name) is not None:
            raise ProgrammingError(f"misuse of window function {node.name}()")


def resolve_window(window: ast.Window, named: dict[str, ast.Window]) -> ast.Window:
    """``OVER w`` or ``OVER (w ORDER BY ...)``: the named window with this one's additions."""
    if window.base is None:
        return window
    base = named.get(window.base.lower())
    if base is None:
        raise ProgrammingError(f"no such window: {window.base}")
    base = resolve_window(base, named)
    if window.partition:
        raise ProgrammingError(f"cannot override PARTITION clause of window: {window.base}")
    if window.order and base.order:
        raise ProgrammingError(f"cannot override ORDER BY clause of window: {window.base}")
    return ast.Window(None, base.partition, window.order or base.order, window.frame or base.frame)


def windowed(plan: p.Plan, sel: ast.Select, scope: Scope, ctx: Context, calls: list[ast.Call], width: int,
             registry: Functions) -> tuple[p.Plan, Context]:
    """The window calls computed over ``plan``'s rows and appended to them; the
    context that reads each call from its slot."""
    named = {name.lower(): window for name, window in sel.windows}
    grouped: dict[tuple, tuple[w.WindowSpec, list]] = {}
    for position, call in enumerate(calls):
        window = resolve_window(call.over, named)
        spec_key = (window.partition, window.order)
        if spec_key not in grouped:
            order = [(compile_sort_key(o.expr, scope, ctx), o.descending, o.nulls_first)
                     for o in window.order]
            grouped[spec_key] = (w.WindowSpec([compile_expr(e, scope, ctx) for e in window.partition],
                                              order), [])
        grouped[spec_key][1].append((position, _window_call(call, window, scope, ctx, registry)))
    node = w.Windowed(plan, list(grouped.values()), len(calls), [sql(c) for c in calls])
    slots = {call: width + i for i, call in enumerate(calls)}
    return node, replace(ctx, aggregates={**ctx.aggregates, **slots})


def _window_call(call: ast.Call, window: ast.Window, scope: Scope, ctx: Context,
                 registry: Functions) -> w.WindowCall:
    arity = w.window_arity(call.name)
    factory = None
    if arity is not None:
        if not arity[0] <= len(call.args) <= arity[1] or call.star:
            raise ProgrammingError(f"wrong number of arguments to function {call.name}()")
        if call.filter is not None:
            raise ProgrammingError("FILTER clause may only be used with aggregate window functions")
    else:
        try:
            factory = registry.lookup_aggregate(call.name)
        except KeyError:
            known = _is_scalar(registry, call.name)
            raise ProgrammingError(f"{call.name}() may not be used as a window function" if known
                                   else f"no such function: {call.name}") from None
        try:
            functions.check_arity(factory, len(call.args))
        except ValueError as error:
            raise ProgrammingError(str(error)) from None
    if call.distinct:
        raise ProgrammingError("DISTINCT is not supported for window functions")
    frame = window.frame or ast.Frame("RANGE", ("UNBOUNDED PRECEDING", None))
    w.check_frame(frame.unit, frame.start[0], frame.end[0], len(window.order))

    def offset(bound: tuple) -> Any:
        return compile_expr(bound[1], scope, ctx) if bound[1] is not None else None
    compiled = w.Frame(frame.unit, frame.start[0], offset(frame.start), frame.end[0], offset(frame.end),
                       frame.exclude)
    return w.WindowCall(call.name, factory, [compile_expr(a, scope, ctx) for a in call.args], compiled,
                        compile_expr(call.filter, scope, ctx) if call.filter is not None else None,
                        call.star, runs=factory in functions.AGGREGATES.values())


def _is_scalar(registry: Functions, name: str) -> bool:
    try:
        registry.lookup_scalar(name)
    except KeyError:
        return False
    return True
