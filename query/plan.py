"""Plan nodes: what a query does, each node a generator of rows when executed.

A plan is a tree of these nodes, built once by ``query.planner`` and run many
times (plans are cached by statement text): ``node.rows(env)`` yields flat row
tuples for one execution with the parameters and enclosing rows in ``env``.
``node.explain()`` gives the lines EXPLAIN prints -- which index or scan feeds
each source, the join method and the order -- so the plan is visible data.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

import heapq
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from docdb.errors import DataError
from query import values as v
from query.expressions import Compiled, Env
from query.inline import Emitter, gathering, hash_table, keyed, pipeline, probe, top
from storage.batches import chunked

MISSING = v.MISSING
BATCH = 1024  # rows per list where a node makes its own lists
_first = operator.itemgetter(0)


hashable, MISSING_KEY = v.hashable, v.MISSING_KEY


def unjoinable(key: tuple) -> bool:
    """A join key with a NULL or MISSING part equals nothing."""
    return None in key or MISSING_KEY in key


def _or_none(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def attempt(value: Any) -> Any:
        try:
            return convert(value)
        except LookupError:
            return None
    return attempt


def row_key(row: tuple) -> tuple:
    return tuple(hashable(x) for x in row)


def slot(position: int) -> Compiled:
    """The value at ``position`` of a row (an ORDER BY key over a projection's output);
    ``.slot`` says which, so a sort can compute it from the projection's input instead."""
    def value(row: tuple, env: Env) -> Any:
        return row[position]
    value.slot = position  # type: ignore[attr-defined]
    value.emit_value = lambda emitter: f"row[{position}]"  # type: ignore[attr-defined]
    return value


class Plan:
    def rows(self, env: Env) -> Iterator[tuple]:
        raise TypeError(f"{type(self).__name__} is abstract")  # every node overrides

    def batches(self, env: Env) -> Iterator[list[tuple]]:
        """``rows`` a list at a time: what compiled pipelines (``query.inline``) loop over.
        Nodes that read storage or run a pipeline give their own lists; the lists may be
        shared (a scan's come from the row cache), so no consumer changes them."""
        return chunked(self.rows(env), BATCH)

    def compiled(self, build: Callable[[], Callable]) -> Callable:
        """This node's generated function, built once (a plan is cached and run many times)."""
        function = self.__dict__.get("_compiled")
        if function is None:
            function = self.__dict__["_compiled"] = build()
        return function

    def children(self) -> tuple[Plan, ...]:
        return ()

    def label(self) -> str:
        return type(self).__name__.upper()

    def walk(self, depth: int = 0) -> Iterator[tuple[int, Plan]]:
        """(depth, node) of this node and every node under it, parents first."""
        yield depth, self
        for child in self.children():
            yield from child.walk(depth + 1)

    def explain(self) -> list[str]:
        return ["  " * depth + node.label() for depth, node in self.walk()]


@dataclass(eq=False)
class OneRow(Plan):
    def rows(self, env: Env) -> Iterator[tuple]:
        yield ()

    def label(self) -> str:
        return "ONE ROW"


@dataclass(eq=False)
class ValuesRows(Plan):
    exprs: list[list[Compiled]]

    def rows(self, env: Env) -> Iterator[tuple]:
        for row in self.exprs:
            yield tuple(e((), env) for e in row)

    def label(self) -> str:
        return f"VALUES ({len(self.exprs)} rows)"


@dataclass(eq=False)
class TableScan(Plan):
    """A table's rows, through the index ``constraints`` let the table pick."""
    table: Any  # docdb.models.table.Table
    alias: str
    constraints: list[tuple[str, str, Compiled, Callable[[Any], Any]]] = field(default_factory=list)
    # (column, "$eq"/"$gt"/..., value closure, conversion to the column's type or raise LookupError)
    indexed: bool = True  # False: NOT INDEXED, read every row
    with_rowid: bool = False  # a table without a primary key: its hidden row id ends each row

    covering: bool = False  # every WHERE conjunct on this table is one of the constraints

    def bound(self, env: Env) -> dict | None:
        """The constraints with this execution's values, as the table's filter; None if a
        constraint can match nothing (a NULL, or a value the column's type cannot hold)."""
        return self._bound(env)[0]

    def count(self, env: Env) -> int | None:
        """How many rows the WHERE keeps, counted from an index alone -- or None when that
        cannot be known without the rows (a condition no constraint states exactly, or an
        index that does not answer the constraints exactly)."""
        if not self.covering:
            return None
        where, whole = self._bound(env)
        if where is None:
            return 0
        return self.table.count_exact(where) if whole else None

    def _bound(self, env: Env) -> tuple[dict | None, bool]:
        """(``bound``'s filter, whether it states every constraint: not if a range bound of
        another type, or a second bound of one kind on a column, was left out)."""
        where: dict[str, Any] = {}
        whole = True
        for column, op, value, convert in self.constraints:
            raw = value((), env)
            if raw is None or raw is MISSING or (op == "$in" and not raw):
                return None, whole
            if op == "$in":  # a listed value the column cannot hold matches nothing: leave it out
                converted = [c for c in map(_or_none(convert), raw) if c is not None]
                if not converted:
                    return None, whole
                whole = whole and column not in where
                where[column] = {"$in": converted}
                continue
            try:
                converted = convert(raw)
            except LookupError:
                if op in ("$eq", "$in"):
                    return None, whole
                whole = False
                continue  # a range bound of another type: scan, let the filter decide
            if op == "$eq":
                whole = whole and column not in where
                where[column] = converted
            else:
                cond = where.setdefault(column, {})
                if isinstance(cond, dict) and op not in cond:
                    cond[op] = converted
                else:
                    whole = False
        return where, whole

    def rows(self, env: Env) -> Iterator[tuple]:
        where = self.bound(env)
        if where is None:
            return iter(())
        if self.with_rowid:
            return ((*row, rowid) for rowid, row in self.table.candidates(where)[1])
        return self.table.row_values(where)

    def batches(self, env: Env) -> Iterator[list[tuple]]:
        if self.with_rowid:
            return super().batches(env)
        where = self.bound(env)
        if where is None:
            return iter(())
        if len(where) == 1 and self.key_column is not None:
            found = where.get(self.key_column, where)
            if found is not where and not isinstance(found, dict):  # the primary key's one value
                rows = self.table.row_at(found)
                return iter((rows,) if rows else ())
        return self.table.row_batches(where)

    @property
    def key_column(self) -> str | None:
        """The table's primary key column, if it has exactly one."""
        key = self.__dict__.get("_key_column", ())
        if key == ():
            primary = self.table.schema().primary_key
            key = self.__dict__["_key_column"] = primary[0] if len(primary) == 1 else None
        return key

    def keyed_rows(self, env: Env) -> Iterator[tuple[Any, tuple]]:
        where = self.bound(env)
        return iter(()) if where is None else self.table.candidates(where)[1]

    def label(self) -> str:
        """SEARCH ... USING the index (or primary key) the table's own choice reads, else SCAN.

        The choice is made by the table, as a run makes it, for the
        constraints' shape with stand-in values (``Table.access_name``): which index wins depends on which
        columns are constrained and how (equality, range, IN), not on the values. (A
        guess of its own once named the primary key while the read used an index.)"""
        where: dict[str, Any] = {}
        for column, op, _value, _convert in self.constraints:
            if op == "$eq":
                where[column] = 0
            elif op == "$in":
                where[column] = {"$in": [0]}
            elif not isinstance(where.get(column, {}), dict):
                continue  # an equality already holds the column
            else:
                where.setdefault(column, {})[op] = 0
        using = self.table.access_name(where) if where else None
        if using is None:
            return f"SCAN TABLE {self.table.name} AS {self.alias}"
        return f"SEARCH TABLE {self.table.name} AS {self.alias} USING {using}"


@dataclass(eq=False)
class DocumentScan(Plan):
    collection: Any  # docdb.models.collection.Collection
    alias: str
    filter: Any = None  # query.pushdown.DocumentFilter: env -> MongoDB filters whose union holds the matches

    def rows(self, env: Env) -> Iterator[tuple]:
        return itertools.chain.from_iterable(self.batches(env))

    def batches(self, env: Env) -> Iterator[list[tuple]]:
        queries = self.filter(env) if self.filter is not None else [{}]
        found = [self.collection.sql_candidates(q) for q in queries]
        if None in found:
            # no index serves them: the whole collection, through the row cache, as filtering
            # decoded documents costs less than decoding the ones a MongoDB filter passes
            return self.collection.document_rows()
        rows = self._union(found) if len(found) > 1 else ((doc,) for doc in found[0])
        return chunked(rows, BATCH)

    def _union(self, candidates: list[Iterator[dict]]) -> Iterator[tuple]:
        seen: set = set()
        for found in candidates:
            for doc in found:
                marker = hashable(doc.get("_id"))
                if marker not in seen:
                    seen.add(marker)
                    yield (doc,)

    def label(self) -> str:
        """SEARCH ... USING INDEX the collection's choice for the filter's shape, else SCAN."""
        index = self.collection.access_name(self.filter.shape()) if self.filter is not None else None
        if index is None:
            return f"SCAN COLLECTION {self.collection.name} AS {self.alias}"
        using = "PRIMARY KEY (_id)" if index == "_id_" else f"INDEX {index}"
        return f"SEARCH COLLECTION {self.collection.name} AS {self.alias} USING {using}"


@dataclass(eq=False)
class Filter(Plan):
    input: Plan
    predicate: Compiled
    text: str = ""

    def rows(self, env: Env) -> Iterator[tuple]:
        return itertools.chain.from_iterable(self.batches(env))

    def batches(self, env: Env) -> Iterator[list[tuple]]:
        run = self.compiled(lambda: pipeline(self.predicate, None))
        return run(self.input.batches(env), env)

    def children(self) -> tuple[Plan, ...]:
        return (self.input,)

    def label(self) -> str:
        return "FILTER" + (f" {self.text}" if self.text else "")


@dataclass(eq=False)
class Project(Plan):
    input: Plan
    exprs: list[Compiled]

    def rows(self, env: Env) -> Iterator[tuple]:
        return itertools.chain.from_iterable(self.batches(env))

    def batches(self, env: Env) -> Iterator[list[tuple]]:
        """The projected rows; over a FILTER, one comprehension does both."""
        below = self.input
        whole = self.__dict__.get("_whole")
        if whole is None:  # decided once per plan: it reads the table's columns
            source = below.input if isinstance(below, Filter) else below
            whole = self.__dict__["_whole"] = _whole_rows(self.exprs, source)
        exprs = None if whole else self.exprs  # SELECT *: the rows as they are
        if isinstance(below, Filter):
            run = self.compiled(lambda: pipeline(below.predicate, exprs))
            return run(below.input.batches(env), env)
        if exprs is None:
            return below.batches(env)
        run = self.compiled(lambda: pipeline(None, exprs))
        return run(below.batches(env), env)

    def children(self) -> tuple[Plan, ...]:
        return (self.input,)

    def label(self) -> str:
        return f"PROJECT {len(self.exprs)} columns"


def _whole_rows(exprs: list[Compiled], source: Plan) -> bool:
    """Do ``exprs`` pick every value of ``source``'s rows, in order (a table's ``SELECT *``)?"""
    if isinstance(source, TableScan):
        width = len(source.table.columns) + source.with_rowid
    elif isinstance(source, DocumentScan):
        width = 1
    else:
        return False
    if len(exprs) != width:
        return False
    emitter = Emitter()
    return all(getattr(e, "emit_value", None) is not None and e.emit_value(emitter) == f"row[{i}]"
               for i, e in enumerate(exprs))


def _joined(lefts: Iterable[tuple], partners: Callable[[tuple], Iterable[tuple]], test: Compiled | None,
            outer: bool, right_width: int, env: Env) -> Iterator[tuple]:
    """Each left row with each partner the join offers it that passes ``test``; with
    ``outer`` (LEFT JOIN), a left row no partner passes comes once, with NULLs."""
    truth, nulls = v.truth, (None,) * right_width
    for left in lefts:
        matched = False
        for right in partners(left):
            row = left + right
            if test is None or truth(test(row, env)):
                matched = True
                yield row
        if outer and not matched:
            yield left + nulls


@dataclass(eq=False)
class NestedLoopJoin(Plan):
    left: Plan
    right: Plan
    predicate: Compiled | None
    outer: bool  # LEFT JOIN: a left row without a match gets NULLs
    right_width: int
    lateral: bool = False  # the right side reads the left row (an unnest)

    def rows(self, env: Env) -> Iterator[tuple]:
        inner = None if self.lateral else list(self.right.rows(env))

        def partners(left: tuple) -> Iterable[tuple]:
            return inner if inner is not None else self.right.elements(left, env)  # type: ignore[attr-defined]
        return _joined(self.left.rows(env), partners, self.predicate, self.outer, self.right_width, env)

    def children(self) -> tuple[Plan, ...]:
        return (self.left, self.right)

    def label(self) -> str:
        kind = "LEFT " if self.outer else ""
        return f"{kind}NESTED LOOP JOIN" + (" (lateral)" if self.lateral else "")


@dataclass(eq=False)
class HashJoin(Plan):
    left: Plan
    right: Plan
    left_keys: list[Compiled]
    right_keys: list[Compiled]  # over the right side's own rows
    residual: Compiled | None
    outer: bool
    right_width: int
    text: str = ""  # the equalities, as EXPLAIN prints them
    reuse: bool = False  # in a recursive CTE's step: the build side's table is made once per run

    def rows(self, env: Env) -> Iterator[tuple]:
        if not self.outer:
            return itertools.chain.from_iterable(self.batches(env))
        return self._outer_rows(env)

    def batches(self, env: Env) -> Iterator[list[tuple]]:
        """An inner join: the right side's rows by key, then each left batch joined in one
        comprehension (``query.inline.probe``)."""
        if self.outer:
            return super().batches(env)
        build = self.compiled(lambda: (hash_table(self.right_keys), probe(self.left_keys, self.residual)))
        if self.reuse:
            return _probed(build, self.left, self.right, env, (id(self), "built"))
        return _probed(build, self.left, self.right, env)

    def _outer_rows(self, env: Env) -> Iterator[tuple]:
        table: dict[tuple, list[tuple]] = {}
        for right in self.right.rows(env):
            key = tuple(hashable(k(right, env)) for k in self.right_keys)
            if not unjoinable(key):
                table.setdefault(key, []).append(right)
        keys = self.left_keys

        def partners(left: tuple) -> Iterable[tuple]:
            key = tuple(hashable(k(left, env)) for k in keys)
            return () if unjoinable(key) else table.get(key, ())
        return _joined(self.left.rows(env), partners, self.residual, self.outer, self.right_width, env)

    def children(self) -> tuple[Plan, ...]:
        return (self.left, self.right)

    def label(self) -> str:
        on = f"ON {self.text}" if self.text else f"on {len(self.left_keys)} key(s)"
        return ("LEFT " if self.outer else "") + f"HASH JOIN {on}"


def _probed(build: tuple[Callable, Callable], left: Plan, right: Plan, env: Env,
            keep: tuple | None = None) -> Iterator[list[tuple]]:
    """``keep``: the key in ``env.cache`` under which the built table is kept for the next call."""
    table = env.cache.get(keep) if keep is not None else None
    if table is None:
        table = build[0](right.batches(env), env)
        if keep is not None:
            env.cache[keep] = table
    if table:
        yield from build[1](left.batches(env), env, table)


@dataclass(eq=False)
class Unnest(Plan):
    """The elements of an array value, one row each: a lateral source, so a join hands it
    each left row (``elements``) instead of running it on its own."""
    value: Compiled  # evaluated against the left row
    alias: str
    at: bool = False  # rows carry each element's position (or key) too
    unpivot: bool = False  # a struct's values, keyed by name
    expand: Callable[..., Iterable[tuple]] | None = None  # a table-valued function: value is its arguments

    def elements(self, left: tuple, env: Env) -> Iterator[tuple]:
        items = self.value(left, env)
        if self.expand is not None:
            return iter(self.expand(*[None if x is MISSING else x for x in items]))
        if self.unpivot:
            if isinstance(items, dict):
                pairs = [(v, k) for k, v in items.items() if v is not MISSING]
            else:  # PartiQL: anything else unpivots as {'_1': value}; MISSING as {}
                pairs = [] if items is MISSING else [(items, "_1")]
        elif isinstance(items, list):
            positions = range(len(items)) if type(items) is list else [MISSING] * len(items)  # a bag has none
            pairs = list(zip(items, positions))
        else:
            pairs = [(items, MISSING)]  # PartiQL: any other value (NULL, MISSING too) ranges as itself
        return iter(pairs) if self.at else ((value,) for value, _ in pairs)

    def rows(self, env: Env) -> Iterator[tuple]:
        return self.elements((), env)  # first in FROM: an expression over no source

    def label(self) -> str:
        return f"{'TABLE FUNCTION' if self.expand is not None else 'UNNEST'} AS {self.alias}"


@dataclass(eq=False)
class Aggregate(Plan):
    """Hash aggregation: rows ``(a row of the group, aggregate results...)``; groups in
    the order first seen. Without GROUP BY an empty input still gives one row."""
    input: Plan
    keys: list[Compiled]
    aggregates: list[tuple[Callable[[], Any], list[Compiled], bool]]  # (factory, args, distinct)
    input_width: int
    grouped: bool
    count_only: bool = False  # no GROUP BY, only count(*), nothing reads a group's row: an index may count
    keeps_row: bool = True  # something above reads a row of each group (a bare column)

    def rows(self, env: Env) -> Iterator[tuple]:
        if self.count_only:
            below = self.input.input if isinstance(self.input, Filter) else self.input
            counted = below.count(env) if isinstance(below, TableScan) else None
            if counted is not None:
                return iter([((None,) * self.input_width, *[counted] * len(self.aggregates))])
        if all(len(args) <= 1 for _, args, _ in self.aggregates):
            return self._gathered(env)
        return self._stepped(env)

    def _gathered(self, env: Env) -> Iterator[tuple]:
        """The generated loop (``query.inline.gathering``) groups each batch's values; each
        group's aggregates then take them a list at a time (``step_many``)."""
        aggregates = self.aggregates
        gather = self.compiled(lambda: gathering(self.keys, [args[0] if args else None
                                                              for _, args, _ in aggregates], self.keeps_row))
        groups: dict[Any, list] = {}
        try:
            for batch in gather(self.input.batches(env), env):
                for key, part in batch.items():
                    state = groups.get(key)
                    if state is None:
                        state = groups[key] = [None, [f() for f, _, _ in aggregates],
                                               [set() for _ in aggregates]]
                    state[0] = part[0]
                    for (_, _, distinct), acc, seen, values in zip(aggregates, state[1], state[2], part[1:]):
                        _feed(acc, values, distinct, seen)
        except OverflowError:
            raise DataError("integer overflow") from None
        yield from self._results(groups)

    def _results(self, groups: dict[Any, list]) -> Iterator[tuple]:
        if not groups and not self.grouped:
            groups[()] = [(None,) * self.input_width, [f() for f, _, _ in self.aggregates], []]
        for row, accs, _ in groups.values():
            try:
                yield (row, *[acc.final() for acc in accs])
            except OverflowError:
                raise DataError("integer overflow") from None

    def _stepped(self, env: Env) -> Iterator[tuple]:
        """Row by row: for aggregates of several arguments (group_concat(x, sep))."""
        groups: dict[Any, list] = {}
        keys, aggregates = self.keys, self.aggregates
        key_of = group_key(keys, env)
        for row in self.input.rows(env):
            key = key_of(row)
            state = groups.get(key)
            if state is None:
                state = groups[key] = [row, [f() for f, _, _ in aggregates], [set() for _ in aggregates]]
            state[0] = row
            try:
                for (_, args, distinct), acc, seen in zip(aggregates, state[1], state[2]):
                    if not args:
                        acc.step()  # count(*)
                        continue
                    first = args[0](row, env)
                    if first is MISSING:
                        first = None
                    if distinct:
                        if first is None:
                            continue
                        marker = hashable(first)
                        if marker in seen:
                            continue
                        seen.add(marker)
                    if len(args) == 1:
                        acc.step(first)
                    else:
                        acc.step(first, *[None if (x := a(row, env)) is MISSING else x for a in args[1:]])
            except OverflowError:
                raise DataError("integer overflow") from None
        yield from self._results(groups)

    def children(self) -> tuple[Plan, ...]:
        return (self.input,)

    def label(self) -> str:
        below = self.input.input if isinstance(self.input, Filter) else self.input
        if self.count_only and isinstance(below, TableScan) and below.covering:
            return "COUNT (the index's keys when it answers the WHERE exactly, else the rows)"
        return f"HASH AGGREGATE ({len(self.keys)} keys, {len(self.aggregates)} aggregates)"


def _feed(acc: Any, values: Any, distinct: bool, seen: set) -> None:
    """One group's aggregate takes a batch's values (an int: count(*)'s rows), in order:
    MISSING as NULL; with DISTINCT, only non-NULL values it has not had."""
    if type(values) is int:
        add_rows = getattr(acc, "add_rows", None)
        if add_rows is not None:
            add_rows(values)
        else:
            for _ in range(values):
                acc.step()
        return
    if MISSING in values:
        values = [None if x is MISSING else x for x in values]
    if distinct:
        fresh = []
        for x in values:
            marker = hashable(x)
            if x is not None and marker not in seen:
                seen.add(marker)
                fresh.append(x)
        values = fresh
    step_many = getattr(acc, "step_many", None)
    if step_many is not None:
        step_many(values)
    else:
        for x in values:
            acc.step(x)


def group_key(keys: list[Compiled], env: Env) -> Callable[[tuple], Any]:
    """The function giving a row's group: no keys, one (its value), or a tuple of several."""
    if not keys:
        return lambda row: ()
    if len(keys) == 1:
        only = keys[0]
        return lambda row: hashable(only(row, env))
    return lambda row: tuple(hashable(k(row, env)) for k in keys)


def sort_rows(rows: list[tuple], keys: list[tuple[Compiled, bool, bool | None]], env: Env) -> None:
    """Sort ``rows`` in place by ORDER BY ``keys`` -- (key, descending, nulls first) -- as
    SQLite orders values: one stable pass per key, the last key first."""
    for key, descending, nulls_first in reversed(keys):
        def sort_key(row: tuple, k: Compiled = key) -> Any:
            return v.sort_key(k(row, env))
        if nulls_first is None:
            rows.sort(key=sort_key, reverse=descending)
        else:
            def nulls_key(row: tuple, k: Compiled = key, nf: bool = nulls_first,
                          desc: bool = descending) -> Any:
                value = k(row, env)
                is_null = value is None or value is MISSING
                return (is_null != nf if not desc else is_null == nf, v.sort_key(value))
            rows.sort(key=nulls_key, reverse=descending)


@dataclass(eq=False)
class Sort(Plan):
    input: Plan
    keys: list[tuple[Compiled, bool, bool | None]]  # (key, descending, nulls first)
    limit: Compiled | None = None  # ORDER BY ... LIMIT: only the first limit + offset rows matter
    offset: Compiled | None = None

    def rows(self, env: Env) -> Iterator[tuple]:
        wanted = self._wanted(env)
        if wanted is not None and len(self.keys) == 1 and self.keys[0][2] is None:
            return iter(self._top(wanted, env))
        directions = {descending for _, descending, nulls in self.keys if nulls is None}
        if wanted is not None and len(directions) == 1 and all(n is None for _, _, n in self.keys):
            pairs = self.compiled(lambda: keyed([k for k, _, _ in self.keys]))(self.input.batches(env), env)
            pick = heapq.nlargest if directions.pop() else heapq.nsmallest  # as sorted(...)[:n]
            return (row for _, row in pick(wanted, itertools.chain.from_iterable(pairs), key=_first))
        rows = list(self.input.rows(env))
        sort_rows(rows, self.keys, env)
        return iter(rows)

    def _top(self, wanted: int, env: Env) -> list[tuple]:
        """ORDER BY one key LIMIT n: a generated loop keeps the first n (``query.inline.top``),
        skipping rows that cannot enter once n are held; over a projection whose output the
        key reads, the key is computed from the projection's input and only the rows kept
        are projected."""
        key, descending, _ = self.keys[0]
        below = self.input
        position = getattr(key, "slot", None)
        if isinstance(below, Project) and position is not None:
            run = self.compiled(lambda: (top(below.exprs[position], descending), pipeline(None, below.exprs)))
            source = below.input
        else:
            run = self.compiled(lambda: (top(key, descending), None))
            source = below
        kept = [row for _, row in run[0](source.batches(env), env, wanted)]
        if run[1] is None or not kept:
            return kept
        return next(run[1]([kept], env))

    def children(self) -> tuple[Plan, ...]:
        return (self.input,)

    def _wanted(self, env: Env) -> int | None:
        if self.limit is None:
            return None
        limit = _count(self.limit, env, "LIMIT")
        if limit is None or limit < 0:
            return None
        return limit + max(_count(self.offset, env, "OFFSET") or 0, 0)

    def label(self) -> str:
        top = " (top rows only)" if self.limit is not None else ""
        return f"SORT by {len(self.keys)} key(s){top}"


@dataclass(eq=False)
class Pivot(Plan):
    """PartiQL's PIVOT: rows of one ``[key, value]`` each, folded into one struct -- a key
    that is not text, or a MISSING value, leaves its pair out."""
    input: Plan

    def rows(self, env: Env) -> Iterator[tuple]:
        made: list = []
        for (pair,) in self.input.rows(env):
            key, value = pair
            if isinstance(key, str) and value is not MISSING:
                made.append((key, value))
        yield (v.struct(made),)

    def children(self) -> tuple[Plan, ...]:
        return (self.input,)

    def label(self) -> str:
        return "PIVOT"


@dataclass(eq=False)
class Distinct(Plan):
    input: Plan
    width: int | None = None  # only the first ``width`` values decide (hidden sort keys follow)

    def rows(self, env: Env) -> Iterator[tuple]:
        seen: set = set()
        width = self.width
        for row in self.input.rows(env):
            key = row_key(row if width is None else row[:width])
            if key not in seen:
                seen.add(key)
                yield row

    def children(self) -> tuple[Plan, ...]:
        return (self.input,)


@dataclass(eq=False)
class Limit(Plan):
    input: Plan
    limit: Compiled | None
    offset: Compiled | None
    permissive: bool = False  # PartiQL's permissive mode: an OFFSET that is no integer is no OFFSET

    def rows(self, env: Env) -> Iterator[tuple]:
        limit = _count(self.limit, env, "LIMIT")
        try:
            offset = _count(self.offset, env, "OFFSET") or 0
        except DataError:
            if not self.permissive:
                raise
            offset = 0
        rows = self.input.rows(env)
        for _ in range(offset):
            if next(rows, None) is None:
                return
        if limit is None or limit < 0:
            yield from rows
            return
        for _, row in zip(range(limit), rows):
            yield row

    def children(self) -> tuple[Plan, ...]:
        return (self.input,)


def _count(expr: Compiled | None, env: Env, what: str) -> int | None:
    if expr is None:
        return None
    value = expr((), env)
    number = v.to_number(value) if isinstance(value, str) else value
    if not isinstance(number, int) or isinstance(number, bool):
        if isinstance(number, float) and number.is_integer():
            return int(number)
        raise DataError(f"{what} takes an integer, not {value!r}")
    return number


@dataclass(eq=False)
class Strip(Plan):
    input: Plan
    width: int

    def rows(self, env: Env) -> Iterator[tuple]:
        width = self.width
        return (row[:width] for row in self.input.rows(env))

    def children(self) -> tuple[Plan, ...]:
        return (self.input,)

    def label(self) -> str:
        return "RESULT"


@dataclass(eq=False)
class SetOperation(Plan):
    op: str
    left: Plan
    right: Plan

    def rows(self, env: Env) -> Iterator[tuple]:
        if self.op == "UNION ALL":
            yield from self.left.rows(env)
            yield from self.right.rows(env)
            return
        seen: set = set()
        if self.op == "UNION":  # each side read once, left first: its rows, then the right's new ones
            for row in itertools.chain(self.left.rows(env), self.right.rows(env)):
                key = row_key(row)
                if key not in seen:
                    seen.add(key)
                    yield row
            return
        right = {row_key(r) for r in self.right.rows(env)}
        keep = self.op == "INTERSECT"
        for row in self.left.rows(env):
            key = row_key(row)
            if key not in seen and (key in right) == keep:
                seen.add(key)
                yield row

    def children(self) -> tuple[Plan, ...]:
        return (self.left, self.right)

    def label(self) -> str:
        return self.op


@dataclass(eq=False)
class Shared(Plan):
    """A subquery or CTE read more than once per execution: computed once, then replayed.
    ``lazy``: computed only as far as its readers read (a recursive CTE that never ends
    by itself, read under a LIMIT)."""
    input: Plan
    name: str
    lazy: bool = False

    def rows(self, env: Env) -> Iterator[tuple]:
        key = id(self)
        if self.lazy:
            if key not in env.cache:
                env.cache[key] = ([], self.input.rows(env))
            return _replay(*env.cache[key])
        if key not in env.cache:
            env.cache[key] = list(self.input.rows(env))
        return iter(env.cache[key])

    def children(self) -> tuple[Plan, ...]:
        return (self.input,)

    def label(self) -> str:
        return f"MATERIALIZE {self.name}"


def _replay(done: list[tuple], source: Iterator[tuple]) -> Iterator[tuple]:
    """The rows computed so far, then more from ``source`` as they are wanted (each kept
    for the next reader)."""
    i = 0
    while True:
        if i == len(done):
            row = next(source, None)
            if row is None:
                return
            done.append(row)
        yield done[i]
        i += 1
