"""Join order and join method for the units of a FROM clause.

``order_joins`` handles inner joins and comma lists, whose order is free: each
conjunct of WHERE/ON is attached to the units it reads -- one unit: a filter
(and maybe an index constraint) on that unit alone; several: a join predicate.
It starts from the unit with the most selective constraint and keeps adding a
unit linked by an equality to what is joined (a hash join on those equalities),
falling back to a nested loop only when no unit is linked -- so a many-way join
written as a comma list never builds the cross product. Lateral units (unnest
of an earlier source's array) join right after what they read.
``join_written`` builds LEFT JOIN queries in the written order, which their
meaning depends on.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from docdb.errors import ProgrammingError
from query import ast
from query import plan as p
from query.expressions import Context, compile_expr
from query.pushdown import and_all, has_subquery, source_paths
from query.scope import Scope, Source
from query.sqltext import sql


class Planner(Protocol):
    """What joining asks of the planner (``query.planner.Planner``) that calls it."""

    def context(self) -> Context: ...

    def pushdown(self, unit: Unit) -> None: ...

    def unit(self, item: Any, earlier: list[Source], outer: Scope | None) -> Unit: ...


@dataclass
class Unit:
    """One FROM source before joining: its plan over its own slots, and its conjuncts."""
    plan: p.Plan
    source: Source
    filters: list[ast.Expr] = field(default_factory=list)
    lateral: ast.Expr | None = None  # ranges over this value (of earlier sources or variables)
    at: Source | None = None  # AT name: each element's position (or, unpivoting, key)
    unpivot: bool = False  # over a struct's values, not an array's elements
    expand: Any = None  # a table-valued function of the values ``lateral`` (an array of them) gives

    @property
    def width(self) -> int:
        return self.source.width + (1 if self.at is not None else 0)
    rank: int = 2  # 0: an equality an index can use, 1: some filter, 2: none



__all__ = ["join_written", "order_joins", "using_conditions"]


def _aliases(expr: ast.Expr, units: list[Unit], outer: Scope | None, implicit: bool = True
             ) -> set[str] | None:
    """The aliases of the units ``expr`` reads; None when it must wait for all of them.
    ``implicit``: a name no column claims may be a field of the one document source
    (not so for what a FROM item ranges over: there a bare name is a source or a variable)."""
    if has_subquery(expr):
        return None
    sources = [Source(u.source.alias, u.source.columns, rowid=u.source.rowid) for u in units]
    owners = {u.at.alias: u.source.alias for u in units if u.at is not None}  # AT names are their unit's
    sources += [Source(name, None, origin="position") for name in owners]
    probe = Scope(sources, implicit_fields=implicit)
    found: set[str] = set()
    for path in source_paths(expr):
        try:
            ref = probe.resolve_here(path)
        except ProgrammingError:
            return None
        if ref is not None and ref.source is not None:
            found.add(owners.get(ref.source.alias, ref.source.alias))
    return found


def _unit_plan(planner: Planner, unit: Unit, outer: Scope | None) -> p.Plan:
    if not unit.filters:
        return unit.plan
    local = Scope([Source(unit.source.alias, unit.source.columns, rowid=unit.source.rowid)], parent=outer)
    predicate = compile_expr(and_all(unit.filters), local, planner.context())
    return p.Filter(unit.plan, predicate, sql(and_all(unit.filters)))


def order_joins(planner: Planner, units: list[Unit], conjuncts: list[ast.Expr], scope: Scope) -> p.Plan:
    outer = scope.parent
    pending: list[tuple[ast.Expr, set[str] | None]] = []
    for expr in conjuncts:
        aliases = _aliases(expr, units, outer)
        single = [u for u in units if aliases is not None and aliases == {u.source.alias}]
        if single and single[0].lateral is None:
            single[0].filters.append(expr)
        else:
            pending.append((expr, aliases))
    for unit in units:
        if unit.lateral is None:
            planner.pushdown(unit)
    lateral_needs = {id(u): _aliases(u.lateral, [o for o in units if o is not u], outer, False) or set()
                     for u in units if u.lateral is not None}
    remaining = list(units)
    joined: set[str] = set()
    plan: p.Plan | None = None
    while remaining:
        ready = [u for u in remaining if u.lateral is None or lateral_needs[id(u)] <= joined]
        if not ready:
            raise ProgrammingError("an unnested source reads a source that is not in the FROM clause")
        linked = [u for u in ready if plan is not None and _equalities(pending, joined, u, units, outer)]
        unit = min(linked or ready, key=lambda u: (u.lateral is None and plan is not None and not linked,
                                                   u.rank, units.index(u)))
        remaining.remove(unit)
        plan = _join(planner, plan, unit, pending, joined, scope, units)
        joined.add(unit.source.alias)
        now = [c for c in pending if c[1] is not None and c[1] <= joined]
        if now:
            pending = [c for c in pending if c not in now]
            condition = and_all([c[0] for c in now])
            plan = p.Filter(plan, compile_expr(condition, scope, planner.context()), sql(condition))
    assert plan is not None
    if pending:
        condition = and_all([c[0] for c in pending])
        plan = p.Filter(plan, compile_expr(condition, scope, planner.context()), sql(condition))
    return plan


def _equalities(pending: list, joined: set[str], unit: Unit, units: list[Unit], outer: Scope | None
                ) -> list[tuple[ast.Expr, ast.Expr, tuple]]:
    """(expression over the joined units, expression over ``unit``, conjunct) pairs."""
    found = []
    alias = unit.source.alias
    for conjunct in pending:
        expr, aliases = conjunct
        if aliases is None or not isinstance(expr, ast.Binary) or expr.op != "=" or alias not in aliases:
            continue
        for mine, theirs in ((expr.left, expr.right), (expr.right, expr.left)):
            if _aliases(mine, units, outer) == {alias}:
                other = _aliases(theirs, units, outer)
                if other and alias not in other and other <= joined:
                    found.append((theirs, mine, conjunct))
                    break
    return found


def _join(planner: Planner, plan: p.Plan | None, unit: Unit, pending: list, joined: set[str],
          scope: Scope, units: list[Unit]) -> p.Plan:
    outer = scope.parent
    if unit.lateral is not None:
        scope_before = Scope(list(scope.sources), parent=outer, implicit_fields=False)
        value = compile_expr(unit.lateral, scope_before, planner.context())
        unnest = p.Unnest(value, unit.source.alias, unit.at is not None, unit.unpivot, unit.expand)
        scope.add(unit.source)
        if unit.at is not None:
            scope.add(unit.at)
        if plan is None:
            return unnest
        return p.NestedLoopJoin(plan, unnest, None, False, unit.width, lateral=True)
    if plan is None:
        scope.add(unit.source)
        return _unit_plan(planner, unit, outer)
    equalities = _equalities(pending, joined, unit, units, outer)
    right = _unit_plan(planner, unit, outer)
    local = Scope([Source(unit.source.alias, unit.source.columns, rowid=unit.source.rowid)], parent=outer)
    if equalities:
        left_keys = [compile_expr(theirs, scope, planner.context()) for theirs, _, _ in equalities]
        right_keys = [compile_expr(mine, local, planner.context()) for _, mine, _ in equalities]
        for _, _, conjunct in equalities:
            pending.remove(conjunct)
        scope.add(unit.source)
        return p.HashJoin(plan, right, left_keys, right_keys, None, False, unit.source.width,
                          text=" AND ".join(sql(conjunct[0]) for _, _, conjunct in equalities))
    scope.add(unit.source)
    return p.NestedLoopJoin(plan, right, None, False, unit.source.width)


def using_conditions(columns: tuple[str, ...], left: list[Source], right: str) -> list[ast.Expr]:
    """``JOIN ... USING (c)`` as ``left_owner.c = right.c`` for each column."""
    found: list[ast.Expr] = []
    for column in columns:
        owner = next((s.alias for s in left if s.columns and column in s.columns), None)
        if owner is None:
            raise ProgrammingError(f"cannot join using column {column} - column not present in both tables")
        found.append(ast.Binary("=", ast.Field(ast.Name(owner), column), ast.Field(ast.Name(right), column)))
    return found


def join_written(planner: Planner, plan: p.Plan | None, item: Any, scope: Scope, kind: str) -> p.Plan:
    """``plan`` joined with ``item`` as written (used when the FROM clause has a LEFT JOIN)."""
    outer = scope.parent
    if isinstance(item, ast.Join):
        plan = join_written(planner, plan, item.left, scope, "INNER")
        if isinstance(item.right, ast.Join):
            raise ProgrammingError("a parenthesized join on the right of a LEFT JOIN is not supported")
        unit = planner.unit(item.right, list(scope.sources), outer)
        on = item.on
        scope.merged.update(c.lower() for c in item.using)
        for test in using_conditions(item.using, scope.sources, unit.source.alias):
            on = test if on is None else ast.Logical("AND", on, test)
        if unit.lateral is not None:
            joined = _join(planner, plan, unit, [], set(), scope, [])
            if isinstance(joined, p.NestedLoopJoin):  # LEFT JOIN x.items / LEFT CROSS JOIN: keep lefts
                joined.outer = item.kind == "LEFT"
                joined.predicate = compile_expr(on, scope, planner.context()) if on is not None else None
            return joined
        scope.add(unit.source)
        predicate = compile_expr(on, scope, planner.context()) if on is not None else None
        return p.NestedLoopJoin(plan, unit.plan, predicate, item.kind == "LEFT", unit.source.width)
    unit = planner.unit(item, list(scope.sources), outer)
    if unit.lateral is not None:
        return _join(planner, plan, unit, [], set(), scope, [])
    scope.add(unit.source)
    if plan is None:
        return unit.plan
    return p.NestedLoopJoin(plan, unit.plan, None, False, unit.source.width)
