"""INSERT, UPDATE and DELETE, on tables and collections, each one atomic statement.

A statement runs inside the connection's ``writing()`` block, so it commits by
itself in autocommit mode and, if any row fails (a type, NOT NULL or UNIQUE
violation), leaves the database as it was. UPDATE and DELETE first collect the
rows they will change, then change them, so a change never feeds back into the
rows it selects. Rows are written through the models (``Table.insert``,
``update``, ``delete``; ``Collection.insert_one`` ...), which keep indexes in
step. Returns ``(rowcount, lastrowid, returned rows)``.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

from typing import Any

from docdb.errors import IntegrityError, NotSupportedError, ProgrammingError
from query import ast
from query import values as v
from query.expressions import Env, compile_expr
from query.planner import Planner
from query.scope import Scope, Source

__all__ = ["delete", "insert", "update"]

Outcome = tuple[int, Any, list[tuple]]


def _returning(planner: Planner, items: tuple, source: Source) -> tuple[list, list[str]]:
    if not items:
        return [], []
    scope = Scope([Source(source.alias, source.columns)])
    exprs, names = planner._expand(list(items), scope)
    return [compile_expr(e, scope, planner.context()) for e in exprs], names


def insert(planner: Planner, conn: Any, node: ast.Insert, target: tuple[str, str], env: Env) -> Outcome:
    name, kind = target
    if node.source == "DEFAULT":
        rows: list[tuple] = [()]
    elif isinstance(node.source, tuple):  # VALUE expr
        value = compile_expr(node.source[1], Scope(), planner.context())
        rows = [(value((), env),)]
    else:
        rows = list(planner.query(node.source)[0].rows(env))
    if kind == "collection":
        return _insert_documents(conn.collection(name), rows)
    return _insert_rows(planner, conn, conn.table(name), node, rows, env)


def _insert_documents(collection: Any, rows: list[tuple]) -> Outcome:
    last = None
    for row in rows:
        if len(row) != 1 or not isinstance(row[0], dict):
            raise ProgrammingError(f"a collection takes documents (objects), not {row!r:.80}")
        last = collection.insert_one(dict(row[0])).inserted_id
    return len(rows), last, []


def _insert_rows(planner: Planner, conn: Any, table: Any, node: ast.Insert, rows: list[tuple],
                 env: Env) -> Outcome:
    all_columns = table.columns
    names = [_column(all_columns, c) for c in node.columns] if node.columns else all_columns
    source = Source(table.name, tuple(all_columns))
    returning, _ = _returning(planner, node.returning, source)
    returned: list[tuple] = []
    count, last = 0, None
    with conn.writing():
        for row in rows:
            if row and len(row) != len(names):
                raise ProgrammingError(f"table {table.name} has {len(names)} columns but {len(row)} values "
                                       "were supplied")
            values = {n: (None if x is v.MISSING else x) for n, x in zip(names, row)}
            try:
                with conn.writing():
                    last = table.insert(values)
            except IntegrityError:
                ignore = node.or_action == "IGNORE" or (node.on_conflict is not None
                                                        and not node.on_conflict.changes)
                if ignore and _conflicting(table, values) is not None:
                    continue
                raise
            count += 1
            if returning:
                stored = table.get(last)
                full = tuple((stored or values).get(c) for c in all_columns)
                returned.append(tuple(r(full, env) for r in returning))
    return count, last, returned


def _conflicting(table: Any, values: dict) -> Any:
    """The key of a stored row the new one collides with on its primary key, or None."""
    schema = table.schema()
    if schema.primary_key and all(values.get(k) is not None for k in schema.primary_key):
        pk = tuple(values[k] for k in schema.primary_key)
        return pk if table.get(pk if len(pk) > 1 else pk[0]) is not None else None
    return None


def _column(columns: list[str], name: str) -> str:
    for column in columns:
        if column.lower() == name.lower():
            return column
    raise ProgrammingError(f"no such column: {name}")


def _matching(planner: Planner, target: tuple[str, str], alias: str | None, where: ast.Expr | None,
              conn: Any, env: Env) -> tuple[Source, list[tuple[Any, tuple]]]:
    """The rows WHERE selects, as (key, row): table rows by primary key (or hidden row id),
    documents by _id -- read through the same index choice a SELECT would make."""
    name, kind = target
    unit = planner.unit(ast.NamedSource((name,), alias), [], None)
    unit.filters = _conjuncts(where)
    planner.pushdown(unit)
    local = Scope([Source(unit.source.alias, unit.source.columns)])
    test = compile_expr(where, local, planner.context()) if where is not None else None
    if kind == "table":
        pairs = unit.plan.keyed_rows(env)  # type: ignore[attr-defined]
    else:
        pairs = ((row[0].get("_id"), row) for row in unit.plan.rows(env))
    chosen = [(key, row) for key, row in pairs if test is None or v.truth(test(row, env))]
    return unit.source, chosen


def _conjuncts(expr: ast.Expr | None) -> list[ast.Expr]:
    if expr is None:
        return []
    if isinstance(expr, ast.Logical) and expr.op == "AND":
        return _conjuncts(expr.left) + _conjuncts(expr.right)
    return [expr]


def update(planner: Planner, conn: Any, node: ast.Update, target: tuple[str, str], env: Env) -> Outcome:
    name, kind = target
    with conn.writing():
        source, matched = _matching(planner, target, node.alias, node.where, conn, env)
        scope = Scope([Source(source.alias, source.columns)])
        ctx = planner.context()
        returning, _ = _returning(planner, node.returning, source)
        returned = []
        if kind == "table":
            table = conn.table(name)
            changes = []
            for change in node.changes:
                if isinstance(change, ast.Unset):
                    raise ProgrammingError("UNSET removes a field of a document; tables have columns")
                path = _strip_alias(change.target, source.alias, name)
                if len(path) != 1:
                    raise NotSupportedError("UPDATE of a part of a JSON column: set the whole column")
                changes.append((_column(table.columns, path[0]), compile_expr(change.value, scope, ctx)))
            for pk, row in matched:
                new = {column: _plain(value(row, env)) for column, value in changes}
                table.update(pk, new)
                if returning:
                    full = tuple(new.get(c, x) for c, x in zip(table.columns, row))
                    returned.append(tuple(r(full, env) for r in returning))
            return len(matched), None, returned
        collection = conn.collection(name)
        for _id, row in matched:
            sets, unsets = {}, {}
            for change in node.changes:
                path = ".".join(str(p) for p in _strip_alias(change.target, source.alias, name))
                if isinstance(change, ast.Unset):
                    unsets[path] = ""
                else:
                    sets[path] = _plain(compile_expr(change.value, scope, ctx)(row, env))
            operations = {k: val for k, val in (("$set", sets), ("$unset", unsets)) if val}
            collection.update_one({"_id": _id}, operations)
        return len(matched), None, returned


def _plain(value: Any) -> Any:
    return None if value is v.MISSING else value


def _strip_alias(path: tuple, alias: str | None, name: str) -> tuple:
    names = {n.lower() for n in (alias, name) if n}
    if len(path) > 1 and isinstance(path[0], str) and path[0].lower() in names:
        return path[1:]
    return path


def delete(planner: Planner, conn: Any, node: ast.Delete, target: tuple[str, str], env: Env) -> Outcome:
    name, kind = target
    with conn.writing():
        source, matched = _matching(planner, target, node.alias, node.where, conn, env)
        returning, _ = _returning(planner, node.returning, source)
        returned = [tuple(r(row, env) for r in returning) for _, row in matched] if returning else []
        if kind == "table":
            table = conn.table(name)
            for pk, _row in matched:
                table.delete(pk)
        else:
            collection = conn.collection(name)
            for _id, _row in matched:
                collection.delete_one({"_id": _id})
        return len(matched), None, returned
