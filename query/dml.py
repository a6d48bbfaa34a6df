"""INSERT, UPDATE and DELETE, on tables and collections, each one atomic statement.

A statement runs inside the connection's ``writing()`` block, so it commits by
itself in autocommit mode and, if any row fails (a type, NOT NULL or UNIQUE
violation), leaves the database as it was. UPDATE and DELETE first collect the
rows they will change, then change them, so a change never feeds back into the
rows it selects. Rows are written through the models (``Table.insert``,
``update``, ``delete``; ``Collection.insert_one`` ...), which keep indexes in
step. Returns ``(rowcount, lastrowid, returned rows)``.
May import: the standard library, ``docdb.errors``, ``docdb.models.documents`` and ``query``'s own modules.
"""

from __future__ import annotations

from typing import Any

from docdb.errors import IntegrityError, NotSupportedError, ProgrammingError
from docdb.models.documents import detached
from query import ast
from query import values as v
from query.cache import prepared
from query.expressions import Env, compile_expr
from query.planner import Planner
from query.pushdown import conjuncts
from query.scope import Scope, Source

__all__ = ["delete", "insert", "update"]

Outcome = tuple[int, Any, list[tuple]]


def _returning(planner: Planner, items: tuple, source: Source) -> tuple[list, list[str]]:
    if not items:
        return [], []
    scope = Scope([Source(source.alias, source.columns, rowid=source.rowid, hidden=source.hidden)])
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
        plan = prepared(conn, node.source, lambda: planner.query(node.source)[0])
        rows = list(plan.rows(env))
    if kind == "collection":
        return _insert_documents(conn.collection(name), rows)
    return _insert_rows(planner, conn, conn.table(name), node, rows, env)


def batchable(node: Any) -> bool:
    """Is ``node`` an INSERT of one VALUES row (or VALUE) with nothing per row but its
    values -- no conflict clause, no RETURNING -- which ``insert_batch`` can run for many
    parameter sets at once?"""
    if not isinstance(node, ast.Insert) or node.or_action is not None or node.on_conflict is not None \
            or node.returning:
        return False
    source = node.source
    if isinstance(source, tuple):
        return True
    return isinstance(source, ast.Query) and isinstance(source.body, ast.Values) and \
        len(source.body.rows) == 1 and not (source.order_by or source.limit is not None or source.ctes)


def insert_batch(planner: Planner, conn: Any, node: ast.Insert, target: tuple[str, str],
                 envs: Any) -> Outcome:
    """A ``batchable`` INSERT once per execution in ``envs``, in one write: the values
    compiled once, the rows checked, encoded and written in one loop (``executemany``)."""
    name, kind = target
    ctx = planner.context()
    if kind == "collection":
        value = compile_expr(node.source[1], Scope(), ctx)
        documents = []
        for env in envs:
            document = value((), env)
            if not isinstance(document, dict):
                raise ProgrammingError(f"a collection takes documents (objects), not {document!r:.80}")
            documents.append(dict(document))
        ids = conn.collection(name).insert_many(documents).inserted_ids
        return len(ids), ids[-1] if ids else None, []
    table = conn.table(name)
    all_columns = table.columns
    names = [_column(all_columns, c) for c in node.columns] if node.columns else all_columns
    exprs = [compile_expr(e, Scope(), ctx) for e in node.source.body.rows[0]]
    if exprs and len(exprs) != len(names):
        raise ProgrammingError(f"table {table.name} has {len(names)} columns but {len(exprs)} values "
                               "were supplied")
    rows = [{n: (None if x is v.MISSING else x) for n, x in zip(names, (e((), env) for e in exprs))}
            for env in envs]
    keys = table.insert_many(rows)
    return len(keys), keys[-1] if keys else None, []


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
    # RETURNING may name a table's hidden row id (asked only then: it reads the whole statement)
    hidden_rowid = bool(node.returning) and not table.schema().primary_key and planner.wants_rowid
    source = Source(table.name, (*all_columns, "rowid"), rowid="rowid", hidden=1) if hidden_rowid \
        else Source(table.name, tuple(all_columns))
    returning, _ = _returning(planner, node.returning, source)
    upsert = _upsert(planner, table, node)
    returned: list[tuple] = []
    count, last = 0, None
    with conn.writing():
        for row in rows:
            if row and len(row) != len(names):
                raise ProgrammingError(f"table {table.name} has {len(names)} columns but {len(row)} values "
                                       "were supplied")
            values = {n: (None if x is v.MISSING else x) for n, x in zip(names, row)}
            if node.or_action is None and node.on_conflict is None:
                key = table.insert(values)  # a refusal fails the whole statement: no row of its own
            else:
                try:
                    with conn.writing():  # a refused row undoes itself; the statement goes on
                        key = table.insert(values)
                except IntegrityError as refused:
                    key = _on_conflict(conn, table, node, values, upsert, env, refused)
                    if key is None:
                        continue
            count, last = count + 1, key
            if returning:
                stored = table.get(key)
                full = tuple((stored or values).get(c) for c in all_columns)
                returned.append(tuple(r((*full, key) if hidden_rowid else full, env) for r in returning))
    return count, last, returned


def _upsert(planner: Planner, table: Any, node: ast.Insert) -> Any:
    """DO UPDATE's assignments (and WHERE) over (the stored row, ``excluded``: the new one)."""
    if node.on_conflict is None or not node.on_conflict.changes:
        return None
    columns = tuple(table.columns)
    # as SQLite reads DO UPDATE: a bare column is the stored row's, excluded.x the refused row's
    scope = Scope([Source(table.name, columns), Source("excluded", columns)], first_wins=True)
    ctx = planner.context()
    changes = []
    for change in node.on_conflict.changes:
        path = _strip_alias(change.target, None, table.name)
        if len(path) != 1:
            raise NotSupportedError("DO UPDATE sets whole columns")
        changes.append((_column(table.columns, path[0]), compile_expr(change.value, scope, ctx)))
    where = node.on_conflict.where
    return changes, compile_expr(where, scope, ctx) if where is not None else None


def _on_conflict(conn: Any, table: Any, node: ast.Insert, values: dict, upsert: Any, env: Env,
                 refused: IntegrityError) -> Any:
    """After a refused insert: the key written (REPLACE, DO UPDATE), None to skip the row
    (IGNORE, DO NOTHING, a DO UPDATE whose WHERE is false); re-raises when the refusal was
    not a uniqueness conflict (NOT NULL...) or the statement asks for no conflict handling."""
    handled = node.or_action in ("IGNORE", "REPLACE") or node.on_conflict is not None
    conflicts = _conflicts(table, values) if handled else []
    if not conflicts:
        raise refused
    if node.or_action == "REPLACE":
        for key in conflicts:
            table.delete(key)
        with conn.writing():
            return table.insert(values)
    if upsert is None:
        return None
    changes, where = upsert
    key = conflicts[0]
    stored = table.get(key)
    row = tuple(stored[c] for c in table.columns) + tuple(values.get(c) for c in table.columns)
    if where is not None and not v.truth(where(row, env)):
        return None
    table.update(key, {column: _plain(value(row, env)) for column, value in changes})
    return key


def _conflicts(table: Any, values: dict) -> list:
    """Keys of the stored rows the new one collides with: on the primary key or a UNIQUE index."""
    schema = table.schema()
    try:
        typed = dict(zip((c.name for c in schema.columns), schema.check_row(values)))
    except Exception:  # noqa: BLE001 - the row is bad in another way: no conflict to resolve
        return []
    found = []
    keys = list(schema.primary_key)
    if keys:
        pk = tuple(typed[k] for k in keys)
        pk = pk[0] if len(pk) == 1 else pk
        if table.get(pk) is not None:
            found.append(pk)
    for index in table.indexes():
        columns = index["columns"]
        if index["unique"] and all(typed[c] is not None for c in columns):
            wanted = {c: typed[c] for c in columns}
            for key, row in table.candidates(wanted)[1]:
                stored = dict(zip((c.name for c in schema.columns), row))
                if all(stored[c] == wanted[c] for c in columns) and key not in found:
                    found.append(key)
    return found


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
    unit.filters = conjuncts(where)
    planner.pushdown(unit)
    source = unit.source
    local = Scope([Source(source.alias, source.columns, rowid=source.rowid, hidden=source.hidden)])
    test = compile_expr(where, local, planner.context()) if where is not None else None
    hidden_rowid = bool(source.hidden)  # WHERE reads a table's hidden row id: the key, after the row
    if kind == "table":
        pairs = unit.plan.keyed_rows(env)  # type: ignore[attr-defined]
    else:
        pairs = ((row[0].get("_id"), row) for row in unit.plan.rows(env))
    if hidden_rowid:  # the row id is read as a last column: SET and RETURNING may name it too
        pairs = ((key, (*row, key)) for key, row in pairs)
    chosen = [(key, row) for key, row in pairs if test is None or v.truth(test(row, env))]
    return source, chosen


def update(planner: Planner, conn: Any, node: ast.Update, target: tuple[str, str], env: Env) -> Outcome:
    name, kind = target
    with conn.writing():
        source, matched = _matching(planner, target, node.alias, node.where, conn, env)
        scope = Scope([Source(source.alias, source.columns, rowid=source.rowid, hidden=source.hidden)])
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
                    full = tuple(new.get(c, x) for c, x in zip(table.columns, row)) + row[len(table.columns):]
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
    """A value to store: NULL for MISSING; an object or array copied (it may be part of a
    cached document, and one SET may change what another put there)."""
    return None if value is v.MISSING else detached(value)


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
