"""Running one parsed statement against a connection: the query layer's entry point.

``execute(conn, statement, params)`` returns a ``Result`` (column names, a row
iterator, rowcount, lastrowid). ``conn`` is duck-typed: the public Connection
(``reading``, ``writing``, ``table``, ``collection``, ``create_table`` ...), so
this package never imports the API above it. Every error leaves as a docdb
error: anything else escaping the planner or executor is a bug, reported as
``InternalError`` with the statement's text rather than as a bare traceback.
May import: the standard library, ``docdb.errors``, ``docdb.models.documents`` and ``query``'s own modules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from docdb.errors import Error, NotSupportedError, OperationalError, ProgrammingError
from docdb.models.documents import detached
from query import (
    ast,
    checks,  # noqa: F401 - installs the CHECK compiler in docdb.models
    ddl,
    dml,
)
from query.analyze import analyzed
from query.cache import prepared
from query.expressions import Env
from query.parser import parse_one
from query.planner import Planner
from query.pragmas import pragma
from query.scope import Scope, Source
from query.values import MISSING, struct

__all__ = ["Result", "evaluate", "execute", "execute_many"]


@dataclass
class Result:
    columns: list[str] | None = None  # None: the statement returns no rows
    rows: Iterator[tuple] = field(default_factory=lambda: iter(()))
    rowcount: int = -1
    lastrowid: Any = None


class SessionCatalog:
    """The planner's view of the connection's catalog: names matched in any case."""

    def __init__(self, conn: Any):
        self.conn = conn
        self.documents = False  # has a collection been looked up (its documents are shared)?

    def kind(self, name: str) -> str | None:
        found = ddl.find(self.conn, name)
        return found[1] if found else None

    def _stored(self, name: str) -> str:
        found = ddl.find(self.conn, name)
        if found is None:
            raise ProgrammingError(f"no such table: {name}")
        return found[0]

    def table(self, name: str) -> Any:
        stored = self._stored(name)
        return ddl.owner(self.conn, stored).table(stored)

    def collection(self, name: str) -> Any:
        self.documents = True
        stored = self._stored(name)
        return ddl.owner(self.conn, stored).collection(stored)

    def view(self, name: str) -> tuple[str, list[str]]:
        """(the view's SQL, its column names or [] to take the query's)."""
        temporary = self.conn.temp_views.get(name.lower())
        if temporary is not None:
            return temporary[1], temporary[2]
        entry = self.conn.reading().catalog.get(self._stored(name))
        return entry["sql"], list(entry.get("columns", ()))


def execute(conn: Any, statement: Any, params: Any = (), keep_missing: bool = False) -> Result:
    """Run ``statement``. Result rows hold None where a value is MISSING (an absent field),
    as SQL has no MISSING -- unless ``keep_missing`` (PartiQL's view, for its tests)."""
    catalog = SessionCatalog(conn)
    planner = Planner(catalog, functions=getattr(conn, "functions", None), statement=statement)
    env = Env(params, conn)
    if isinstance(statement, ast.Query):
        plan, names, documents = prepared(conn, statement,
                                          lambda: (*planner.query(statement), catalog.documents))
        rows = _guarded(plan.rows(env))
        if documents:  # the row cache's documents, or parts of them, may be in the results
            return Result(names, map(_detached, rows) if keep_missing else map(_detached_plain, rows))
        return Result(names, rows if keep_missing else map(_without_missing, rows))
    if isinstance(statement, ast.Explain):
        if statement.analyze and isinstance(statement.statement, ast.Query):
            plan = planner.query(statement.statement)[0]  # its own plan: the run instruments it
            return Result(["plan"], iter([(line,) for line in analyzed(plan, env)]))
        return Result(["plan"], iter([(line,) for line in explain(planner, statement.statement)]))
    if isinstance(statement, (ast.Insert, ast.Update, ast.Delete)):
        return _change(planner, conn, statement, env)
    if isinstance(statement, ast.Pragma):
        columns, rows = pragma(conn, statement)
        return Result(columns or None, iter(rows))
    _define(conn, statement, planner, env)
    return Result()


def execute_many(conn: Any, statement: Any, params: Any) -> Result | None:
    """``statement`` once per parameter set of ``params``, as one write -- for an INSERT of
    one row of values (``dml.batchable``); None for any other statement, which the caller
    runs once per set."""
    if not dml.batchable(statement):
        return None
    found = ddl.find(conn, statement.target)
    if found is None or found[1] not in ("table", "collection"):
        raise ProgrammingError(f"no such table: {statement.target}")
    planner = Planner(SessionCatalog(conn), functions=getattr(conn, "functions", None), statement=statement)
    envs = (Env(p, conn) for p in params)
    count, last, _ = dml.insert_batch(planner, ddl.owner(conn, found[0]), statement, found, envs)
    return Result(None, iter(()), count, last)


def evaluate(conn: Any, text: str, bindings: dict | None = None, permissive: bool = False) -> Any:
    """PartiQL's answer to ``text``: a bare expression's value, or the query's bag (a list)
    of structs -- or of values, for SELECT VALUE -- with MISSING kept. ``bindings`` are
    named values the statement reads like variables (a FROM over one ranges over it).
    ``permissive``: PartiQL's permissive mode -- a name bound to nothing, a path into NULL
    and a comparison of values of different kinds are MISSING (else they are docdb's SQL:
    an error, NULL, SQLite's order)."""
    statement = parse_one(text)
    if not isinstance(statement, ast.Query):
        return execute(conn, statement).rowcount
    names = list(bindings or {})
    root = Scope([Source(name, None) for name in names], implicit_fields=False) if names else None
    env = Env((), conn, outer=(tuple((bindings or {}).values()),) if names else ())
    plan, columns = Planner(SessionCatalog(conn), partiql=True, functions=getattr(conn, "functions", None),
                            statement=statement, permissive=permissive).query(statement, root)
    rows = list(_guarded(plan.rows(env)))
    if statement.bare or isinstance(statement.body, ast.Select) and statement.body.pivot:
        return rows[0][0] if rows else MISSING
    if _selects_value(statement.body) or columns == ["*"]:
        return [row[0] for row in rows]
    return [_struct(columns, row) for row in rows]


def _struct(columns: list[str], row: tuple) -> dict:
    """A PartiQL result row: its named values, with each ``t.*`` merged in; MISSING left out
    (a name given twice is there twice: ``values.Fields``)."""
    pairs: list = []
    for name, value in zip(columns, row):
        if name == "*" and isinstance(value, dict):
            pairs += value.items()
        elif value is not MISSING:
            pairs.append((name, value))
    return struct(pairs)


def _selects_value(body: Any) -> bool:
    while isinstance(body, (ast.SetOperation, ast.Query)):
        body = body.left if isinstance(body, ast.SetOperation) else body.body
    return isinstance(body, ast.Select) and body.value is not None or (
        isinstance(body, ast.Values) and body.single)


def explain(planner: Planner, statement: Any) -> list[str]:
    if isinstance(statement, ast.Query):
        return planner.query(statement)[0].explain()
    return [type(statement).__name__.upper()]


def _change(planner: Planner, conn: Any, node: Any, env: Env) -> Result:
    found = ddl.find(conn, node.target)
    if found is None or found[1] not in ("table", "collection"):
        raise ProgrammingError(f"no such table: {node.target}")
    run = {ast.Insert: dml.insert, ast.Update: dml.update, ast.Delete: dml.delete}[type(node)]
    count, last, returned = run(planner, ddl.owner(conn, found[0]), node, found, env)
    if node.returning:
        scope_names = _returning_names(planner, conn, node, found)
        return Result(scope_names, iter(returned), count, last)
    return Result(None, iter(()), count, last)


def _returning_names(planner: Planner, conn: Any, node: Any, found: tuple[str, str]) -> list[str]:
    columns = tuple(ddl.owner(conn, found[0]).table(found[0]).columns) if found[1] == "table" else None
    scope = Scope([Source(found[0], columns)])
    return planner._expand(list(node.returning), scope)[1]


def _views_plan(conn: Any) -> None:
    """Every view still plans after a change of a table's columns; else the error names it."""
    catalog = SessionCatalog(conn)
    names = [*conn.reading().catalog.names("view"), *(v[0] for v in conn.temp_views.values())]
    for name in names:
        text, _columns = catalog.view(name)
        try:
            Planner(catalog, functions=getattr(conn, "functions", None)).query(parse_one(text))
        except ProgrammingError as error:
            raise ProgrammingError(f"error in view {name}: {error}") from None


def _define(conn: Any, node: Any, planner: Planner, env: Env) -> None:
    if isinstance(node, ast.CreateTable):
        ddl.create_table(conn, node, planner.context(), env)
    elif isinstance(node, ast.CreateTableAs):
        plan, names = planner.query(node.query)
        ddl.create_table_as(conn, node, names, map(_without_missing, _guarded(plan.rows(env))))
    elif isinstance(node, ast.CreateCollection):
        ddl.create_collection(conn, node)
    elif isinstance(node, ast.CreateIndex):
        ddl.create_index(conn, node)
    elif isinstance(node, ast.CreateView):
        ddl.create_view(conn, node, planner)
    elif isinstance(node, ast.Drop):
        ddl.drop(conn, node)
    elif isinstance(node, ast.AddColumn):
        ddl.add_column(conn, node, planner.context(), env)
    elif isinstance(node, ast.RenameTable):
        ddl.rename_table(conn, node)
    elif isinstance(node, ast.RenameColumn):
        ddl.rename_column(conn, node, lambda: _views_plan(conn))
    elif isinstance(node, ast.DropColumn):
        ddl.drop_column(conn, node, lambda: _views_plan(conn))
    elif isinstance(node, ast.Begin):
        conn.begin(deferred=not node.immediate)
    elif isinstance(node, ast.Commit):
        if not conn.in_transaction:  # as SQLite (the Python method commit() is a quiet no-op)
            raise OperationalError("cannot commit - no transaction is active")
        conn.commit()
    elif isinstance(node, ast.Rollback):
        if node.to is None:
            if not conn.in_transaction:
                raise OperationalError("cannot rollback - no transaction is active")
            conn.rollback()
        else:
            conn.rollback_to_savepoint(node.to)
    elif isinstance(node, ast.Savepoint):
        conn.set_savepoint(node.name)
    elif isinstance(node, ast.Release):
        conn.release_savepoint(node.name)
    elif isinstance(node, ast.Vacuum):
        if conn.in_transaction:
            raise OperationalError("cannot VACUUM from within a transaction")
        conn.compact()
    else:
        raise NotSupportedError(f"{type(node).__name__} statements are not supported yet")


def _detached(row: tuple) -> tuple:
    """``row`` with its objects and arrays copied, so a caller changing them changes nothing shared."""
    for x in row:
        if isinstance(x, (dict, list)):
            return tuple(map(detached, row))
    return row


def _detached_plain(row: tuple) -> tuple:
    """``_detached`` and ``_without_missing``."""
    return _without_missing(_detached(row))


def _without_missing(row: tuple) -> tuple:
    if MISSING in row:
        return tuple(None if x is MISSING else x for x in row)
    return row


def _guarded(rows: Iterator[tuple]) -> Iterator[tuple]:
    """The rows, with any non-docdb exception from inside the executor made an InternalError."""
    try:
        yield from rows
    except Error:
        raise
    except RecursionError:
        raise ProgrammingError("query nests too deeply to run") from None
