"""Queries to plans: sources, filters pushed down, join order, aggregation, ordering.

``Planner(db).query(node)`` returns ``(plan, column names)``. The FROM clause
becomes *units* (a table, collection, subquery or CTE, each with the WHERE
conjuncts that mention only it, pushed into its scan where an index can use
them). Inner joins are then ordered greedily: the unit with the most selective
constraint first, then always a unit joined to what is already there by an
equality, which becomes a hash join -- never a cross product while a join
predicate can avoid one. A LEFT JOIN keeps the written order. Aggregation is a
hash aggregation whose output row is ``(a row of the group, aggregate
values...)``. ORDER BY may name result columns, their ordinals, or anything the
sources hold (computed as hidden columns and stripped at the end).
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any, Protocol

from docdb.errors import DataError, ProgrammingError
from query import ast, functions, recursion
from query import jsonfunctions as jf
from query import plan as p
from query.expressions import Context, as_bag, compile_expr, compile_json_argument, compile_sort_key
from query.joins import Unit, join_written, order_joins, using_conditions
from query.parser import parse_one
from query.pushdown import and_all, conjuncts, constraints_for, covers, document_filter
from query.scope import ROWID_NAMES, Scope, Source
from query.sqltext import sql
from query.subqueries import compile_subquery
from query.udf import BUILTINS, Functions
from query.values import truth
from query.windowplan import aggregate_calls, refuse_windows, window_calls, windowed

__all__ = ["Database", "Planner"]


class Database(Protocol):
    def kind(self, name: str) -> str | None: ...  # "table", "collection", "view" or None

    def table(self, name: str) -> Any: ...

    def collection(self, name: str) -> Any: ...

    def view(self, name: str) -> tuple[str, list[str]]: ...  # (SELECT text, column names or [])


class Planner:
    def __init__(self, db: Database, partiql: bool = False, functions: Functions | None = None,
                 statement: Any = None, permissive: bool = False):
        """``partiql``: shape results as PartiQL does -- ``*`` is one struct merging the
        sources, an unnamed expression column is ``_1``, ``_2``... (``query.executor.evaluate``).
        ``functions``: what statements may call (a connection's own functions and the built-ins).
        ``statement``: the whole statement planned, which says whether row ids are wanted."""
        self.db = db
        self.partiql = partiql
        self.permissive = permissive  # PartiQL's permissive mode (query.executor.evaluate)
        self.functions = functions or BUILTINS
        self.statement = statement
        self._wants_rowid: bool | None = None
        self.ctes: list[dict[str, tuple[p.Plan, list[str]]]] = []

    @property
    def wants_rowid(self) -> bool:
        """Whether the statement names rowid, oid or _rowid_ anywhere (subqueries, UPDATE's
        WHERE...): only then do tables without a primary key read their hidden row ids.
        Asked at plan time only, when such a table is planned."""
        if self._wants_rowid is None:
            self._wants_rowid = self.statement is not None and mentions_rowid(self.statement)
        return self._wants_rowid

    def context(self) -> Context:
        return Context(self.query, partiql=self.partiql, functions=self.functions, subquery=compile_subquery,
                       permissive=self.permissive)

    # ----- queries

    def query(self, node: ast.Query, outer: Scope | None = None) -> tuple[p.Plan, list[str]]:
        self.ctes.append({})
        try:
            for cte in node.ctes:
                if node.recursive and reads_source(cte.query, cte.name):
                    self._recursive(cte, outer)
                    continue
                plan, names = self.query(cte.query, outer)
                if cte.columns:
                    if len(cte.columns) != len(names):
                        raise ProgrammingError(f"table {cte.name} has {len(names)} values for "
                                               f"{len(cte.columns)} columns")
                    names = list(cte.columns)
                self.ctes[-1][cte.name.lower()] = (p.Shared(plan, cte.name), names)
            return self._ordered(node, outer)
        finally:
            self.ctes.pop()

    def _recursive(self, cte: ast.Cte, outer: Scope | None) -> None:
        """A CTE that reads itself: ``initial UNION [ALL] recursive``, where only the last
        SELECT reads the CTE (``query.recursion``)."""
        body, name = cte.query.body, cte.name
        if not isinstance(body, ast.SetOperation) or body.op not in ("UNION", "UNION ALL") \
                or reads_source(body.left, name) or isinstance(body.right, ast.SetOperation):
            raise ProgrammingError(f"recursive CTE {name} must be an initial SELECT, then UNION or "
                                   f"UNION ALL, then one SELECT that reads {name}")
        if cte.query.order_by:
            raise ProgrammingError(f"ORDER BY in the recursive CTE {name} is not supported")
        if _any_node(body.right, lambda item: isinstance(item, (ast.Subquery, ast.Exists, ast.InQuery,
                                                                  ast.SubquerySource))
                     and reads_source(item.query, name)):
            raise ProgrammingError(f"recursive reference in a subquery: {name}")  # as SQLite says
        if aggregate_calls(_select_exprs(body.right), self.functions):
            raise ProgrammingError(f"recursive aggregate queries not supported ({name})")
        initial, names = self.compound(body.left, outer)
        if cte.columns:
            if len(cte.columns) != len(names):
                raise ProgrammingError(f"table {name} has {len(names)} values for {len(cte.columns)} columns")
            names = list(cte.columns)
        working = recursion.WorkingRow(name)
        self.ctes[-1][name.lower()] = (working, names)
        step, step_names = self.compound(body.right, outer)
        if len(step_names) != len(names):
            raise ProgrammingError(f"SELECTs to the left and right of {body.op} do not have the same number "
                                   "of result columns")
        together = not getattr(body.right, "distinct", False) and not window_calls(_select_exprs(body.right))
        plan = self._limited(recursion.Recursive(initial, step, working, body.op == "UNION", name, together),
                             cte.query, outer)
        self.ctes[-1][name.lower()] = (p.Shared(plan, name, lazy=True), names)

    def _ordered(self, node: ast.Query, outer: Scope | None) -> tuple[p.Plan, list[str]]:
        body = node.body
        if isinstance(body, ast.Select):
            plan, names, width = self.select(body, outer, node.order_by)
        else:
            plan, names = self.compound(body, outer)
            width = len(names)
            if node.order_by:
                plan = self._sort_output(plan, names, node.order_by, outer)
        plan = self._limited(plan, node, outer)
        if width != len(names):
            plan = p.Strip(plan, len(names))
        if isinstance(body, ast.Select) and body.pivot:
            return p.Pivot(plan), ["value"]
        return plan, names

    def _limited(self, plan: p.Plan, node: ast.Query, outer: Scope | None) -> p.Plan:
        """``plan`` under the query's LIMIT and OFFSET, if it has them (a sort below keeps only
        the rows they can reach)."""
        if node.limit is None and node.offset is None:
            return plan
        ctx, empty = self.context(), Scope(parent=outer)
        limit = compile_expr(node.limit, empty, ctx) if node.limit is not None else None
        offset = compile_expr(node.offset, empty, ctx) if node.offset is not None else None
        if isinstance(plan, p.Sort):
            plan.limit, plan.offset = limit, offset
        if self.partiql and _negative_literal(node.offset):  # PartiQL: OFFSET -1 is an error
            raise ProgrammingError("OFFSET takes a non-negative integer")
        return p.Limit(plan, limit, offset, self.permissive)

    def compound(self, body: Any, outer: Scope | None) -> tuple[p.Plan, list[str]]:
        if isinstance(body, ast.Query):  # (SELECT ... ORDER BY ... LIMIT n) UNION ...: its own query
            return self.query(body, outer)
        if isinstance(body, ast.SetOperation):
            left, names = self.compound(body.left, outer)
            right, right_names = self.compound(body.right, outer)
            if len(names) != len(right_names):
                raise ProgrammingError(f"SELECTs to the left and right of {body.op} do not have the "
                                       "same number of result columns")
            return p.SetOperation(body.op, left, right), names
        if isinstance(body, ast.Values):
            ctx = self.context()
            empty = Scope(parent=outer)
            widths = {len(row) for row in body.rows}
            if len(widths) != 1:
                raise ProgrammingError("all VALUES must have the same number of terms")
            rows = [[compile_expr(e, empty, ctx) for e in row] for row in body.rows]
            names = ["value"] if body.single else [f"column{i + 1}" for i in range(widths.pop())]
            return p.ValuesRows(rows), names
        plan, names, _ = self.select(body, outer, ())
        return plan, names

    def _sort_output(self, plan: p.Plan, names: list[str], order: tuple[ast.Ordering, ...],
                     outer: Scope | None) -> p.Plan:
        scope = Scope([Source("", tuple(names))], parent=outer)
        keys = []
        for ordering in order:
            position = _ordinal(ordering.expr, len(names))
            if position is not None:
                key = p.slot(position)
            else:
                key = compile_sort_key(ordering.expr, scope, self.context())
            keys.append((key, ordering.descending, ordering.nulls_first))
        return p.Sort(plan, keys)

    # ----- SELECT

    def select(self, sel: ast.Select, outer: Scope | None, order: tuple[ast.Ordering, ...]
               ) -> tuple[p.Plan, list[str], int]:
        if sel.group_as is not None or sel.group_names:
            sel, order = _regrouped(sel, order, self.functions)
        scope = Scope(parent=outer)
        refuse_windows([sel.where, *sel.group_by], [])
        plan = self.from_clause(sel, scope)
        ctx = self.context()
        items = list(sel.columns) if sel.value is None else [ast.ResultColumn(sel.value, "value")]
        exprs, names = self._expand(items, scope)
        aliases = {item.alias.lower(): item.expr for item in items
                   if isinstance(item, ast.ResultColumn) and item.alias}
        order = tuple(o if isinstance(o.expr, ast.Name)  # a bare alias names its result column
                      else ast.Ordering(_aliased(o.expr, aliases, scope, first=True), o.descending,
                                        o.nulls_first)
                      for o in order)
        if sel.having is not None:
            sel = replace(sel, having=_aliased(sel.having, aliases, scope, first=False))
        if sel.group_by:
            sel = replace(sel, group_by=tuple(_aliased(g, aliases, scope, first=False) for g in sel.group_by))
        calls = aggregate_calls([e for e in exprs] + [sel.having] + [o.expr for o in order], self.functions)
        windows = window_calls(exprs + [o.expr for o in order])
        refuse_windows([sel.having, *calls, *windows], exprs)
        if sel.having is not None and not sel.group_by and \
                not aggregate_calls(exprs + [o.expr for o in order], self.functions):
            raise ProgrammingError("HAVING clause on a non-aggregate query")  # as SQLite says
        aggregation = None
        if calls or sel.group_by:
            plan, ctx, scope = self._aggregate(plan, sel, scope, calls, exprs, names)
            aggregation = plan
            if sel.having is not None:
                plan = p.Filter(plan, compile_expr(sel.having, scope, ctx), "HAVING " + sql(sel.having))
        if windows:
            width = 1 + len(calls) if aggregation is not None else scope.width
            plan, ctx = windowed(plan, sel, scope, ctx, windows, width, self.functions)
        compiled = [compile_expr(as_bag(e, ctx), scope, ctx) for e in exprs]
        keys = []
        for ordering in order:
            position = _ordinal(ordering.expr, len(names))
            if position is None:
                alias = _alias_position(ordering.expr, items, names)
                position = alias if alias is not None else len(compiled)
                if alias is None:
                    compiled.append(compile_sort_key(ordering.expr, scope, ctx))
            keys.append((p.slot(position), ordering.descending,
                         ordering.nulls_first))
        if aggregation is not None:  # compiled all that reads the groups: does any read a row?
            aggregation.keeps_row = bool(ctx.group_rows_read)
        plan = p.Project(plan, compiled)
        if sel.distinct:
            plan = p.Distinct(plan, len(names))
        if keys:
            plan = p.Sort(plan, keys)
        return plan, names, len(compiled)

    def _expand(self, items: list, scope: Scope) -> tuple[list[ast.Expr], list[str]]:
        """The select list with ``*`` and ``t.*`` spelled out, and each column's name."""
        exprs: list[ast.Expr] = []
        names: list[str] = []
        for item in items:
            if isinstance(item, ast.Star) or (isinstance(item, ast.ResultColumn) and item.alias is None
                                              and isinstance(item.expr, ast.FieldStar)):
                chosen = scope.sources
                if isinstance(item, ast.ResultColumn):
                    base = item.expr.base  # type: ignore[attr-defined]
                    src = scope.source(base.name) if isinstance(base, ast.Name) else None
                    if src is None and self.partiql and not isinstance(base, ast.Name):
                        exprs.append(base)  # PartiQL's r.commander.*: the struct's fields, merged in
                        names.append("*")
                        continue
                    if src is None:
                        raise ProgrammingError(f"no such table: {getattr(base, 'name', '?')}")
                    chosen = [src]
                if not scope.sources:
                    raise ProgrammingError("no tables specified for *")
                if self.partiql:
                    exprs.append(ast.StarStruct(tuple(s.alias for s in chosen)))
                    names.append("*")
                    continue
                shown: set[str] = set()
                for src in chosen:
                    for column in src.shown if src.columns is not None else (None,):
                        if column is not None and column.lower() in scope.merged:
                            if column.lower() in shown:
                                continue  # a USING column appears once, as in SQL
                            shown.add(column.lower())
                        path = (src.alias,) if column is None else (src.alias, column)
                        exprs.append(_name_path(path))
                        names.append(column or src.alias)
                continue
            exprs.append(item.expr)
            name = item.alias or _rowid_column(item.expr, scope) or _column_name(item)
            if self.partiql and not item.alias and not isinstance(item.expr, (ast.Name, ast.Field)):
                name = f"_{len(names) + 1}"
            names.append(name)
        return exprs, names

    def _aggregate(self, plan: p.Plan, sel: ast.Select, scope: Scope, calls: list[ast.Call],
                   exprs: list[ast.Expr], names: list[str]) -> tuple[p.Plan, Context, Scope]:
        inner = self.context()
        keys = []
        for expr in sel.group_by:
            position = _ordinal(expr, len(names))
            alias = None if position is not None else _alias_position(expr, [], names, exprs)
            chosen = exprs[position if position is not None else alias] \
                if position is not None or alias is not None else expr
            if aggregate_calls([chosen], self.functions):
                raise ProgrammingError("aggregate functions are not allowed in the GROUP BY clause")
            keys.append(compile_expr(chosen, scope, inner))
        aggregates = []
        for call in calls:
            try:
                factory = self.functions.lookup_aggregate(call.name)
            except KeyError:
                raise ProgrammingError(f"no such function: {call.name}") from None
            if call.star and call.name != "count":
                raise ProgrammingError(f"{call.name}(*) is not a function call; use {call.name}(x)")
            try:
                functions.check_arity(factory, len(call.args))
            except ValueError as error:
                raise ProgrammingError(str(error)) from None
            if aggregate_calls(list(call.args), self.functions):
                raise ProgrammingError(f"misuse of aggregate function {call.name}()")
            if call.distinct and len(call.args) != 1:
                raise ProgrammingError("DISTINCT aggregates must have exactly one argument")
            embeds = jf.EMBEDS.get(call.name) if factory is functions.AGGREGATES.get(call.name) else None
            args = [compile_json_argument(a, scope, inner) if embeds is not None and embeds(i) else
                    compile_expr(a, scope, inner) for i, a in enumerate(call.args)]
            distinct = call.distinct
            if call.filter is not None:  # FILTER (WHERE ...): a first argument says whether the row counts
                args = [_passes(compile_expr(call.filter, scope, inner)), *args]
                factory, distinct = functions.filtered(factory, distinct), False
            aggregates.append((factory, args, distinct))
        counts_only = not sel.group_by and sel.having is None and all(
            isinstance(e, ast.Call) and e.name == "count" and e.star and not e.distinct and e.over is None
            for e in exprs)
        node = p.Aggregate(plan, keys, aggregates, scope.width, bool(sel.group_by),
                           count_only=counts_only and all(f is functions.Count for f, _, _ in aggregates))
        ctx = Context(self.query, {call: 1 + i for i, call in enumerate(calls)}, scope, self.partiql,
                      self.functions, compile_subquery, permissive=self.permissive)
        return node, ctx, Scope(parent=scope.parent)

    # ----- FROM

    def from_clause(self, sel: ast.Select, scope: Scope) -> p.Plan:
        units: list[Unit] = []
        pending = conjuncts(sel.where)
        if not sel.sources:
            plan: p.Plan = p.OneRow()
            return p.Filter(plan, compile_expr(sel.where, scope, self.context()), sql(sel.where)) \
                if sel.where is not None else plan
        if any(_has_left_join(item) for item in sel.sources):
            return self._written_order(sel, scope, pending)
        for item in sel.sources:
            self._flatten(item, units, pending, scope)
        return order_joins(self, units, pending, scope)

    def _flatten(self, item: Any, units: list[Unit], pending: list[ast.Expr], scope: Scope) -> None:
        if isinstance(item, ast.Join):
            self._flatten(item.left, units, pending, scope)
            self._flatten(item.right, units, pending, scope)
            if item.on is not None:
                pending.extend(conjuncts(item.on))
            pending.extend(_using(item, units))
            scope.merged.update(c.lower() for c in item.using)
            return
        units.append(self.unit(item, [u.source for u in units], scope.parent))

    def _written_order(self, sel: ast.Select, scope: Scope, pending: list[ast.Expr]) -> p.Plan:
        plan = None
        for item in sel.sources:
            plan = join_written(self, plan, item, scope, "INNER")
        assert plan is not None
        if pending:
            condition = and_all(pending)
            plan = p.Filter(plan, compile_expr(condition, scope, self.context()), sql(condition))
        return plan

    def unit(self, item: Any, earlier: list[Source], outer: Scope | None) -> Unit:
        """A FROM source on its own: its plan, and the Source it adds to the scope."""
        if isinstance(item, ast.SubquerySource):
            plan, names = self.query(item.query, outer)
            alias = item.alias or f"_{len(earlier) + 1}"
            if self.partiql:  # a PartiQL subquery is a bag of values (structs), not rows of columns
                return Unit(p.Project(plan, [_as_value(names)]), Source(alias, None, origin="subquery"))
            return Unit(plan, Source(alias, tuple(names), origin="subquery"))
        if isinstance(item, ast.FunctionSource):
            return _table_function(item)
        if isinstance(item, ast.UnnestSource):
            alias = item.alias or f"_{len(earlier) + 1}"  # PartiQL names an unnamed source by position
            return _ranging(alias, item.value, item.at, item.unpivot)
        if not isinstance(item, ast.NamedSource):
            raise ProgrammingError(f"cannot read from {type(item).__name__}")
        first = item.path[0]
        known = self.db.kind(first) is not None or any(first.lower() in frame for frame in self.ctes)
        if len(item.path) > 1 or (not known and any(s.alias.lower() == first.lower() for s in earlier)):
            return _ranging(item.alias or str(item.path[-1]), _name_path(item.path), item.at)
        alias = item.alias or first
        for frame in reversed(self.ctes):
            if first.lower() in frame:
                shared, names = frame[first.lower()]
                unit = Unit(shared, Source(alias, tuple(names), origin=f"cte {first}"))
                if isinstance(shared, recursion.WorkingRow):
                    unit.rank = -1  # joined first: the tables it meets are built once (HashJoin.reuse)
                return unit
        kind = self.db.kind(first)
        if kind == "table":
            table = self.db.table(first)
            schema = table.schema()
            if not schema.primary_key and self.wants_rowid:  # its hidden row id, as a last column
                return Unit(p.TableScan(table, alias, indexed=not item.not_indexed, with_rowid=True),
                            Source(alias, (*table.columns, "rowid"), origin=first, rowid="rowid", hidden=1))
            return Unit(p.TableScan(table, alias, indexed=not item.not_indexed),
                        Source(alias, tuple(table.columns), origin=first, rowid=schema.rowid_column))
        if kind == "collection":
            return Unit(p.DocumentScan(self.db.collection(first), alias), Source(alias, None, origin=first))
        if kind is None and outer is not None and _resolves(outer, first):
            return _ranging(alias, _name_path(item.path), item.at)  # a value bound outside the query
        if kind == "view":
            sql, columns = self.db.view(first)
            plan, names = self.query(parse_one(sql), None)  # a view sees no enclosing query
            return Unit(plan, Source(alias, tuple(columns or names), origin=f"view {first}"))
        raise ProgrammingError(f"no such table: {first}")

    def pushdown(self, unit: Unit) -> None:
        """Give a table or collection scan the unit's conjuncts an index can use."""
        local = Scope([Source(unit.source.alias, unit.source.columns, rowid=unit.source.rowid)])
        if isinstance(unit.plan, p.TableScan) and unit.plan.indexed:
            unit.plan.constraints = constraints_for(unit.plan.table, local, unit.filters, self.context())
            unit.plan.covering = covers(unit.plan.table, local, unit.filters, self.context())
            if any(op in ("$eq", "$in") for _, op, _, _ in unit.plan.constraints):
                unit.rank = 0
        elif isinstance(unit.plan, p.DocumentScan):
            unit.plan.filter = document_filter(local, unit.filters, self.context())
        if unit.filters and unit.rank > 1:
            unit.rank = 1


def _regrouped(sel: ast.Select, order: tuple[ast.Ordering, ...], registry: Functions
               ) -> tuple[ast.Select, tuple[ast.Ordering, ...]]:
    """PartiQL's ``GROUP BY k AS name ... GROUP AS g`` (or ``GROUP ALL AS g``) as SQL: a
    grouping subquery giving each group's keys by those names and, as ``g``, the bag of its
    rows (a struct of the FROM variables each), which the SELECT then reads. Without GROUP
    AS, a key's name in the SELECT, HAVING and ORDER BY is the key's expression."""
    names = list(sel.group_names) + [None] * (len(sel.group_by) - len(sel.group_names))
    if sel.group_as is None:
        keys = {n.lower(): k for n, k in zip(names, sel.group_by) if n}
        sel = replace(sel, columns=tuple(replace(c, expr=_aliased(c.expr, keys, Scope(), True))
                                         if isinstance(c, ast.ResultColumn) else c for c in sel.columns),
                      value=_aliased(sel.value, keys, Scope(), True) if sel.value is not None else None,
                      having=_aliased(sel.having, keys, Scope(), True) if sel.having is not None else None,
                      group_names=())
        return sel, tuple(replace(o, expr=_aliased(o.expr, keys, Scope(), True)) for o in order)
    items = [c.expr for c in sel.columns if isinstance(c, ast.ResultColumn)] + \
        [e for e in (sel.value, sel.having) if e is not None]
    if aggregate_calls(items, registry):
        raise ProgrammingError("GROUP AS with aggregate functions is not supported: use COLL_COUNT(g) ... "
                               "over the group")
    variables = _variables(sel.sources)
    # a MISSING key groups with NULL, as NULL (PartiQL)
    keys = [ast.Case(None, ((ast.NullTest(k, False), ast.Literal(None)),), k) for k in sel.group_by]
    rows = ast.ObjectCtor(tuple((ast.Literal(name), ast.Name(name)) for name in variables))
    inner = ast.Select(tuple(ast.ResultColumn(key, name or f"$key{i}") for i, (key, name) in
                             enumerate(zip(keys, names)))
                       + (ast.ResultColumn(ast.Call("array_agg", (rows,)), sel.group_as),),
                       sources=sel.sources, where=sel.where, group_by=tuple(keys))
    grouped = ast.SubquerySource(ast.Query(inner), "$grouped")
    return replace(sel, sources=(grouped,), where=sel.having, group_by=(), having=None, group_names=(),
                   group_as=None), order


def _variables(sources: Any) -> list[str]:
    """The names a FROM clause binds (aliases and AT names), in order."""
    found: list[str] = []
    for item in sources:
        if isinstance(item, ast.Join):
            found += _variables((item.left, item.right))
            continue
        alias = getattr(item, "alias", None)
        if alias is None and isinstance(item, ast.NamedSource):
            alias = str(item.path[-1])
        if alias is not None:
            found.append(alias)
        if getattr(item, "at", None):
            found.append(item.at)
    return found


def _as_value(names: list[str]) -> Any:
    """A row of a PartiQL subquery as the one value it stands for: its struct, or the
    value of SELECT VALUE / SELECT * (a single column of that name)."""
    if names in (["value"], ["*"]):
        return lambda row, env: row[0]
    return lambda row, env: {n: x for n, x in zip(names, row) if x is not p.MISSING}


TABLE_FUNCTIONS = {"json_each": jf.each, "json_tree": jf.tree}


def _table_function(item: ast.FunctionSource) -> Unit:
    """``FROM json_each(doc [, path])``: a lateral source whose rows the function makes from
    its arguments (which may read the sources before it)."""
    expand = TABLE_FUNCTIONS.get(item.name)
    if expand is None:
        raise ProgrammingError(f"no such table-valued function: {item.name}")
    if not 1 <= len(item.args) <= 2:
        raise ProgrammingError(f"{item.name}() takes a JSON value and, optionally, a path")
    source = Source(item.alias or item.name, jf.EACH_COLUMNS, origin=item.name)
    return Unit(p.OneRow(), source, lateral=ast.ArrayCtor(item.args), expand=_reporting(item.name, expand))


def _reporting(name: str, expand: Any) -> Any:
    def rows(*args: Any) -> list[tuple]:
        try:
            return list(expand(*args))
        except ValueError as error:
            raise DataError(f"{name}(): {error}") from None
    return rows


def _ranging(alias: str, value: ast.Expr, at: str | None, unpivot: bool = False) -> Unit:
    """A unit ranging over ``value`` (built when joined: it reads the rows before it)."""
    return Unit(p.OneRow(), Source(alias, None, origin="value"), lateral=value,
                at=Source(at, None, origin="position") if at else None, unpivot=unpivot)


def _aliased(expr: Any, aliases: dict[str, ast.Expr], scope: Scope, first: bool) -> Any:
    """``expr`` with result-column aliases replaced by what they name, as SQLite reads
    ORDER BY (an alias before a column: ``first``) and HAVING (a column first)."""
    if not aliases:
        return expr
    if isinstance(expr, ast.Name) and expr.name.lower() in aliases:
        if first or not _resolves(scope, expr.name):
            return aliases[expr.name.lower()]
        return expr
    if isinstance(expr, (ast.Query, ast.Subquery, ast.Exists, ast.InQuery)) or not isinstance(expr, ast.Node):
        return expr
    changes = {}
    for name in expr.__dataclass_fields__:
        if name == "pos":
            continue
        value = getattr(expr, name)
        if isinstance(value, tuple):
            new = tuple(_aliased(v, aliases, scope, first) if not isinstance(v, tuple)
                        else tuple(_aliased(x, aliases, scope, first) for x in v) for v in value)
        else:
            new = _aliased(value, aliases, scope, first)
        if new is not value and new != value:
            changes[name] = new
    return replace(expr, **changes) if changes else expr


def _resolves(scope: Scope, name: str) -> bool:
    try:
        scope.resolve((name,))
    except ProgrammingError:
        return False
    return True


def _ordinal(expr: ast.Expr, count: int) -> int | None:
    if isinstance(expr, ast.Literal) and type(expr.value) is int:
        if not 1 <= expr.value <= count:
            raise ProgrammingError(f"term out of range - should be between 1 and {count}")
        return expr.value - 1
    return None


def _alias_position(expr: ast.Expr, items: list, names: list[str], exprs: list | None = None) -> int | None:
    """A bare name that is a result column's alias (ORDER BY total, GROUP BY total)."""
    if not isinstance(expr, ast.Name):
        return None
    wanted = expr.name.lower()
    aliased = [i for i, item in enumerate(items)
               if isinstance(item, ast.ResultColumn) and item.alias and item.alias.lower() == wanted]
    if aliased:
        return aliased[0]
    if exprs is not None:
        for i, name in enumerate(names):
            if name.lower() == expr.name.lower() and not isinstance(exprs[i], ast.Name):
                return i
    return None


def reads_source(node: Any, name: str) -> bool:
    """Whether a FROM anywhere in ``node`` (subqueries too) names ``name``."""
    wanted = name.lower()
    return _any_node(node, lambda item: isinstance(item, ast.NamedSource)
                     and str(item.path[0]).lower() == wanted)


def _any_node(node: Any, test: Any) -> bool:
    """Whether ``test`` holds for a node anywhere in the statement (an iterative walk)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if test(item):
            return True
        if dataclasses.is_dataclass(item):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
    return False


def _select_exprs(body: Any) -> list:
    if not isinstance(body, ast.Select):
        return []
    return [c.expr for c in body.columns if isinstance(c, ast.ResultColumn)] + \
        ([body.value] if body.value is not None else []) + ([body.having] if body.having is not None else [])


def mentions_rowid(node: Any) -> bool:
    """Whether a name in the statement is rowid, oid or _rowid_."""
    return _any_node(node, lambda item: isinstance(item, (ast.Name, ast.Field)) and isinstance(item.name, str)
                     and item.name.lower() in ROWID_NAMES)


def _rowid_column(expr: ast.Expr, scope: Scope) -> str | None:
    """The INTEGER PRIMARY KEY column a ``rowid`` (``oid``, ``_rowid_``) names: SQLite calls
    the result column by it."""
    path = None
    if isinstance(expr, ast.Name):
        path = (expr.name,)
    elif isinstance(expr, ast.Field) and isinstance(expr.base, ast.Name):
        path = (expr.base.name, expr.name)
    if path is None or path[-1].lower() not in ROWID_NAMES:
        return None
    try:
        ref = scope.resolve_here(path)
    except ProgrammingError:
        return None
    if ref is None or ref.source is None or ref.source.rowid is None or ref.slot is None:
        return None
    return ref.source.columns[ref.slot - ref.source.offset] if ref.source.columns else None


def _column_name(item: ast.ResultColumn) -> str:
    expr = item.expr
    if isinstance(expr, ast.Name):
        return expr.name
    if isinstance(expr, ast.Field):
        return expr.name
    return item.text or "?column?"


def _name_path(path: tuple) -> ast.Expr:
    expr: ast.Expr = ast.Name(path[0])
    for part in path[1:]:
        expr = ast.Field(expr, part) if isinstance(part, str) else ast.Index(expr, part)
    return expr


def _using(join: ast.Join, units: list[Unit]) -> list[ast.Expr]:
    if not join.using:
        return []
    return using_conditions(join.using, [u.source for u in units[:-1]], units[-1].source.alias)


def _has_left_join(item: Any) -> bool:
    return isinstance(item, ast.Join) and (item.kind == "LEFT" or _has_left_join(item.left)
                                           or _has_left_join(item.right))


def _negative_literal(expr: Any) -> bool:
    return isinstance(expr, ast.Unary) and expr.op == "-" and isinstance(expr.operand, ast.Literal) \
        and isinstance(expr.operand.value, (int, float)) and expr.operand.value > 0


def _passes(condition: Any) -> Any:
    """Whether a row passes a FILTER's condition: True, or False for false, NULL and MISSING."""
    return lambda row, env: truth(condition(row, env)) is True


__all__ += ["Unit"]
