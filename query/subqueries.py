"""Subqueries inside expressions: scalar ``(SELECT ...)``, ``EXISTS``, ``x IN (SELECT ...)``.

A subquery that reads no column of an enclosing query is run once per execution
and its answer kept in ``env.cache`` (for IN: a set, so membership is one hash
probe). A correlated one runs per row with that row in ``env.outer``; planning
it tells which kind it is, because its names that resolve outside it are
counted on the enclosing scopes (``Scope.outer_hits``).
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

from typing import Any

from docdb.errors import ProgrammingError
from query import ast
from query import values as v
from query.expressions import Bag, Compiled, Context, Env, compile_expr
from query.scope import Scope

__all__ = ["compile_subquery"]


def compile_subquery(node: Any, scope: Scope, ctx: Context) -> Compiled:
    # Above a GROUP BY the subquery sees the grouped rows' scope: a row of the group
    # (``row[0]`` of the aggregation's output) is the row it is correlated with.
    outer = ctx.group_input if ctx.group_input is not None else scope
    before = outer.chain_hits()
    plan, names = ctx.plan_query(node.query, outer)
    correlated = outer.chain_hits() != before
    grouped = ctx.group_input is not None
    if grouped and correlated:
        ctx.group_rows_read.append(node)  # it runs against each group's row

    def cached(run: Any) -> Compiled:
        return _memo(correlated, run, grouped)
    if isinstance(node, ast.Exists):
        return cached(lambda env: next(iter(plan.rows(env)), None) is not None)
    if isinstance(node, ast.Subquery) and node.bag:
        return cached(_bag(plan, names))
    if isinstance(node, ast.InQuery) and isinstance(node.left, ast.ArrayCtor) \
            and len(node.left.items) == len(names) > 1:  # (a, b) IN (SELECT x, y ...): rows as row values
        rows = cached(lambda env: list(plan.rows(env)))
        return _row_membership(node, [compile_expr(x, scope, ctx) for x in node.left.items], rows)
    if len(names) != 1:
        raise ProgrammingError(f"sub-select returns {len(names)} columns - expected 1")
    if isinstance(node, ast.Subquery):
        def scalar(env: Env) -> Any:
            rows = iter(plan.rows(env))
            first = next(rows, None)
            if ctx.partiql and (first is None or next(rows, None) is not None):
                return v.MISSING  # PartiQL's coercion to a scalar: only one row of one value
            return None if first is None else first[0]
        return cached(scalar)
    return _membership(node, compile_expr(node.left, scope, ctx), cached(_collector(plan)))


def _bag(plan: Any, names: list[str]) -> Any:
    """The subquery's rows as PartiQL's bag: its values (SELECT VALUE), or structs."""
    def collect(env: Env) -> Bag:
        if names in (["value"], ["*"]):
            return Bag(row[0] for row in plan.rows(env))
        return Bag({n: x for n, x in zip(names, row) if x is not v.MISSING} for row in plan.rows(env))
    return collect


def _memo(correlated: bool, run: Any, grouped: bool = False) -> Compiled:
    """``run(env)`` per row (correlated; the row, or its group's row, made the enclosing one)
    or once per execution."""
    if correlated:
        if grouped:
            return lambda row, env: run(env.nested(row[0]))
        return lambda row, env: run(env.nested(row))
    key = object()

    def once(row: tuple, env: Env) -> Any:
        cache = env.cache
        if key not in cache:  # type: ignore[comparison-overlap]
            cache[key] = run(env)  # type: ignore[index]
        return cache[key]  # type: ignore[index]
    return once


def _row_membership(node: ast.InQuery, parts: list[Compiled], rows: Compiled) -> Compiled:
    """``(a, b) IN (SELECT x, y ...)`` as SQLite has it: true if a row equals the row value,
    else NULL if one might (a NULL in a pair that would decide), else false."""
    negated = node.negated

    def member(row: tuple, env: Env) -> Any:
        mine = [part(row, env) for part in parts]
        result: bool | None = False
        for other in rows(row, env):
            pairs = list(zip(mine, other))
            if any(a is None or b is None or a is v.MISSING or b is v.MISSING for a, b in pairs):
                if all(v.eq(a, b) is not False for a, b in pairs):
                    result = None
            elif all(v.eq(a, b) is True for a, b in pairs):
                result = True
                break
        return v.not_(result) if negated else result
    return member


def _collector(plan: Any) -> Any:
    """The subquery's answer for IN: (its values as a set, whether one was NULL, how many)."""
    def collect(env: Env) -> tuple[set, bool, int]:
        found, has_null, count = set(), False, 0
        for (value,) in plan.rows(env):
            count += 1
            if value is None or value is v.MISSING:
                has_null = True
            else:
                found.add(v.hashable(value))
        return found, has_null, count
    return collect


def _membership(node: ast.InQuery, left: Compiled, answers: Compiled) -> Compiled:
    negated = node.negated

    def member(row: tuple, env: Env) -> Any:
        found, has_null, count = answers(row, env)
        value = left(row, env)
        if count == 0:
            result: bool | None = False
        elif value is None or value is v.MISSING:
            result = None
        elif v.hashable(value) in found:
            result = True
        else:
            result = None if has_null else False
        return v.not_(result) if negated else result
    return member
