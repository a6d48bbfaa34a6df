"""Definitions: CREATE / DROP of tables, collections and indexes, run against the models.

SQL type names map onto docdb's strict types the way SQLite's affinity rules
read them (anything with INT is INTEGER; CHAR, CLOB, TEXT, STRING are TEXT;
REAL, FLOA, DOUB, NUMERIC, DECIMAL are REAL; BOOL is BOOLEAN; BLOB; JSON), and a
column declared without a type holds any JSON value. Names of tables,
collections and indexes are matched without regard to case, as in SQL.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

from docdb.dump import sql_literal
from docdb.errors import NotSupportedError, ProgrammingError
from docdb.models.schema import storage_type
from query import ast
from query.expressions import Context, Env, compile_expr
from query.parser import parse_one
from query.pushdown import references
from query.scope import Scope
from query.sqltext import sql

__all__ = ["add_column", "column_type", "create_index", "create_table", "drop", "drop_column",
           "rename_column", "rename_table"]


def column_type(declared: str | None) -> str:
    """The type word a column's spec keeps for SQL's declared type: its first word when that
    stands for the same docdb type (TIMESTAMP, VARCHAR, BIGINT: what sqlite3's converters go
    by), else the docdb type itself (INTEGER for UNSIGNED BIG INT); JSON when none is given."""
    if not declared:
        return "JSON"
    held = storage_type(declared)
    word = re.match(r"[A-Za-z]+", declared)
    return word.group(0).upper() if word is not None and storage_type(word.group(0)) == held else held


def _literal(value: Any) -> str:
    """A default value as the models' column spec reads it: SQL's literal, JSON for a
    document or array (the spec's reader takes JSON there)."""
    return json.dumps(value) if isinstance(value, (dict, list)) else sql_literal(value)


def _column_spec(column: ast.ColumnDef, ctx: Context, env: Env) -> str:
    """A column definition as the models' spec: ``"TYPE [NOT NULL] [UNIQUE] [DEFAULT v]"``."""
    spec = column_type(column.type_name)
    if column.not_null:
        spec += " NOT NULL"
    if column.unique:
        spec += " UNIQUE"
    if isinstance(column.default, ast.CurrentTime):  # the time of each insert, not of CREATE
        return spec + " DEFAULT " + column.default.kind
    if column.default is not None:
        value = compile_expr(column.default, Scope(), ctx)((), env)
        if isinstance(value, bytes):
            raise NotSupportedError(f"column {column.name}: a BLOB default is not supported")
        spec += " DEFAULT " + _literal(value)
    return spec


def create_table(conn: Any, node: ast.CreateTable, ctx: Context, env: Env) -> None:
    columns: dict[str, str] = {}
    keys = list(node.primary_key)
    for column in node.columns:
        if column.name.lower() in (c.lower() for c in columns):
            raise ProgrammingError(f"duplicate column name: {column.name}")
        columns[str(column.name)] = _column_spec(column, ctx, env)  # a "quoted" name is stored plain
        if column.primary_key:
            if keys:
                raise ProgrammingError(f"table {node.name} has more than one primary key")
            keys = [column.name]
    for unique in node.unique:
        if len(unique) != 1:
            raise NotSupportedError("a UNIQUE constraint on several columns: create a UNIQUE INDEX instead")
        columns[unique[0]] = columns[unique[0]] + " UNIQUE" if unique[0] in columns else columns[unique[0]]
    home = _table_home(conn, node)
    if home is None:
        return
    autoincrement = any(column.autoincrement for column in node.columns)
    checks, foreign_keys = constraints(node.columns, node.checks, node.foreign_keys)
    home.create_table(str(node.name), columns, [str(k) for k in keys] or None, engine=node.engine,
                      autoincrement=autoincrement, checks=checks, foreign_keys=foreign_keys)


def constraints(columns: Any, checks: Any = (), foreign_keys: Any = ()) -> tuple[list[dict], list[dict]]:
    """The CHECKs and FOREIGN KEYs of column definitions and of the table, in the catalog's
    form (``docdb.models.constraints``)."""
    every_check = [c for column in columns for c in column.checks] + list(checks)
    every_key = [column.references for column in columns if column.references is not None]
    every_key += list(foreign_keys)
    return ([{"name": c.name, "sql": c.text} for c in every_check],
            [{"name": k.name, "columns": [str(c) for c in k.columns], "parent": str(k.parent),
              "parent_columns": [str(c) for c in k.parent_columns], "on_delete": k.on_delete,
              "on_update": k.on_update} for k in every_key])


def column_definitions(table: str, columns: dict[str, str]) -> tuple[dict[str, str], list[dict], list[dict]]:
    """Column definitions as the Python API takes them (``{"b": "INTEGER REFERENCES p(id)
    CHECK (b > 0)"}``), read as SQL: the plain specs the models keep, the CHECKs and the
    foreign keys."""
    text = ", ".join(f'"{name.replace(chr(34), chr(34) * 2)}" {spec}' for name, spec in columns.items())
    node = parse_one(f"CREATE TABLE _ ({text})")
    if not isinstance(node, ast.CreateTable) or node.primary_key or node.unique or node.checks:
        raise ProgrammingError(f"table {table}: a column definition holds one column's type and constraints")
    ctx, env = Context(_no_queries), Env((), None)
    specs = {str(column.name): _column_spec(column, ctx, env) for column in node.columns}
    checks, foreign_keys = constraints(node.columns)
    return specs, checks, foreign_keys


def _no_queries(node: Any, scope: Scope) -> Any:
    raise ProgrammingError("a column definition holds no query")


def _result_type(values: list) -> str:
    """A column type for a query's values: INTEGER, REAL, TEXT, BOOLEAN, BLOB when they
    all fit it, else JSON (which holds any JSON value, and is also what no values give)."""
    kinds = {type(v) for v in values if v is not None}
    for wanted, type_ in (({int}, "INTEGER"), ({int, float}, "REAL"), ({float}, "REAL"), ({str}, "TEXT"),
                          ({bool}, "BOOLEAN"), ({bytes}, "BLOB")):
        if kinds and kinds <= wanted and (kinds == wanted or type_ != "REAL" or float in kinds):
            return type_
    return "JSON"


def create_table_as(conn: Any, node: ast.CreateTableAs, names: list[str], rows: Any) -> None:
    """CREATE TABLE t AS SELECT: the query's columns, typed by their values (docdb's types
    are strict, so a type is read off what the query returned), then its rows."""
    home = _table_home(conn, node)
    if home is None:
        return
    if len({n.lower() for n in names}) != len(names):
        raise ProgrammingError(f"table {node.name}: the query gives two columns the same name; "
                               "name them with AS")
    rows = list(rows)
    columns = {str(name): _result_type([row[i] for row in rows]) for i, name in enumerate(names)}
    table = home.create_table(str(node.name), columns, None, engine=node.engine)
    table.insert_many([dict(zip(columns, row)) for row in rows])


def add_column(conn: Any, node: ast.AddColumn, ctx: Context, env: Env) -> None:
    found = _find(conn, node.table)
    if found is None or found[1] != "table":
        raise ProgrammingError(f"no such table: {node.table}")
    if node.column.primary_key:
        raise ProgrammingError("cannot add a PRIMARY KEY column")
    table = owner(conn, found[0]).table(found[0])
    checks, foreign_keys = constraints([node.column])
    if foreign_keys and node.column.default is not None and not (
            isinstance(node.column.default, ast.Literal) and node.column.default.value is None):
        raise ProgrammingError("Cannot add a REFERENCES column with non-NULL default value")
    table.add_column(str(node.column.name), _column_spec(node.column, ctx, env), checks, foreign_keys)


def rename_column(conn: Any, node: ast.RenameColumn, views_plan: Callable[[], None]) -> None:
    """ALTER TABLE t RENAME [COLUMN] a TO b: indexes, foreign keys and CHECKs follow the
    column; a view that no longer plans refuses the change, which is then undone."""
    home, table = _altered(conn, node.table)
    checks = [{"name": c["name"], "sql": sql(_renamed(_check_expr(c["sql"]), node.column, node.new_name))}
              for c in home.describe(table.name)["checks"]]
    with home.writing():
        table.rename_column(node.column, str(node.new_name), checks)
        views_plan()


def drop_column(conn: Any, node: ast.DropColumn, views_plan: Callable[[], None]) -> None:
    """ALTER TABLE t DROP [COLUMN] a: refused, as SQLite refuses it, when an index, a key, a
    CHECK or a view needs the column."""
    home, table = _altered(conn, node.table)
    with home.writing():
        table.drop_column(node.column, _check_reads)
        views_plan()


def _altered(conn: Any, name: str) -> tuple[Any, Any]:
    found = _find(conn, name)
    if found is None or found[1] != "table":
        raise ProgrammingError(f"no such table: {name}")
    home = owner(conn, found[0])
    return home, home.table(found[0])


def _check_expr(text: str) -> ast.Expr:
    return parse_one(f"SELECT ({text}\n)").body.columns[0].expr


def _check_reads(text: str, column: str) -> bool:
    """Whether the CHECK ``text`` reads ``column``."""
    return any(isinstance(node, ast.Name) and node.name.lower() == column.lower()
               or isinstance(node, ast.Field) and node.name.lower() == column.lower()
               for node in references(_check_expr(text)))


def _renamed(expr: Any, old: str, new: str) -> Any:
    """``expr`` with the column ``old`` called ``new`` (as a bare name or ``t.old``)."""
    if isinstance(expr, ast.Name) and expr.name.lower() == old.lower():
        return ast.Name(new, pos=expr.pos)
    if isinstance(expr, ast.Field) and isinstance(expr.base, ast.Name) and expr.name.lower() == old.lower():
        return ast.Field(expr.base, new, pos=expr.pos)
    if isinstance(expr, tuple):
        return tuple(_renamed(item, old, new) for item in expr)
    if not isinstance(expr, ast.Node):
        return expr
    changes = {f.name: _renamed(getattr(expr, f.name), old, new) for f in dataclasses.fields(expr)
               if f.name != "pos"}
    return dataclasses.replace(expr, **changes)


def rename_table(conn: Any, node: ast.RenameTable) -> None:
    found = _find(conn, node.table)
    if found is None or found[1] not in ("table", "collection"):
        raise ProgrammingError(f"no such table: {node.table}")
    taken = _find(conn, node.new_name)
    if taken is not None:
        raise ProgrammingError(f"there is already another table or index with this name: {node.new_name}")
    owner(conn, found[0]).rename(found[0], str(node.new_name))


def create_collection(conn: Any, node: ast.CreateCollection) -> None:
    existing = _find(conn, node.name)
    if existing is not None:
        if node.if_not_exists and existing[1] == "collection":
            return
        raise ProgrammingError(f"{existing[1]} {existing[0]} already exists")
    conn.create_collection(str(node.name), engine=node.engine)


def create_index(conn: Any, node: ast.CreateIndex) -> None:
    target = _find(conn, node.target)
    if target is None or target[1] not in ("table", "collection"):
        raise ProgrammingError(f"no such table: {node.target}")
    if index_owner(conn, node.name) is not None:
        if node.if_not_exists:
            return
        raise ProgrammingError(f"index {node.name} already exists")
    name, kind = target
    conn = owner(conn, name)
    if kind == "table":
        table = conn.table(name)
        columns = [_table_column(table, part) for part in node.parts]
        table.create_index([str(c) for c in columns], unique=node.unique, name=str(node.name))
    else:
        conn.collection(name).create_index([(".".join(part[1:] if len(part) > 1 and
                                                      part[0].lower() == name.lower() else part), 1)
                                            for part in node.parts], unique=node.unique, name=str(node.name))


def _table_column(table: Any, part: tuple[str, ...]) -> str:
    if len(part) == 2 and part[0].lower() == table.name.lower():
        part = part[1:]
    if len(part) != 1:
        raise NotSupportedError(f"an index on table {table.name} is on its columns, not on {'.'.join(part)}")
    for column in table.columns:
        if column.lower() == part[0].lower():
            return column
    raise ProgrammingError(f"no such column: {part[0]}")


def create_view(conn: Any, node: ast.CreateView, planner: Any) -> None:
    existing = _find(conn, node.name)
    if existing is not None:
        if node.if_not_exists:
            return
        raise ProgrammingError(f"{existing[1]} {existing[0]} already exists")
    _plan, names = planner.query(node.query)  # checks every name the view reads, now
    if node.columns and len(node.columns) != len(names):
        raise ProgrammingError(f"view {node.name} has {len(names)} columns but {len(node.columns)} names")
    if len({n.lower() for n in node.columns}) != len(node.columns):
        raise ProgrammingError(f"view {node.name}: column names must differ")
    if node.temporary:
        conn.temp_views[node.name.lower()] = (str(node.name), node.text, [str(c) for c in node.columns])
        conn.query_cache.clear()  # plans may have read a table this view now hides
    else:
        conn.create_view(str(node.name), node.text, [str(c) for c in node.columns])


def drop(conn: Any, node: ast.Drop) -> None:
    if node.kind == "INDEX":
        holder = index_owner(conn, node.name)
        if holder is None:
            if node.if_exists:
                return
            raise ProgrammingError(f"no such index: {node.name}")
        name, kind, index = holder
        home = owner(conn, name)
        (home.table(name) if kind == "table" else home.collection(name)).drop_index(index)
        return
    if node.kind == "VIEW" and node.name.lower() in conn.temp_views:
        del conn.temp_views[node.name.lower()]
        conn.query_cache.clear()
        return
    found = _find(conn, node.name)
    wanted = node.kind.lower()
    if found is None or found[1] != wanted:
        if node.if_exists and found is None:
            return
        what = "table" if wanted == "table" else wanted
        raise ProgrammingError(f"no such {what}: {node.name}")
    owner(conn, found[0]).drop(found[0])


def _find(conn: Any, name: str) -> tuple[str, str] | None:
    """(stored name, kind) of the object called ``name``, any case; a temporary view or
    table first (they hide the database's objects of the same name, as in SQLite)."""
    temporary = conn.temp_views.get(name.lower())
    if temporary is not None:
        return temporary[0], "view"
    entry = owner(conn, name).reading().catalog.get(name)  # any case
    return (entry["name"], entry["kind"]) if entry is not None else None


def index_owner(conn: Any, index: str) -> tuple[str, str, str] | None:
    """(object, kind, index name) of the index called ``index``, any case (a temporary
    table's first)."""
    lowered = index.lower()
    temp = conn.temp_database
    for home in (temp, conn) if temp is not None else (conn,):
        for entry in home.reading().catalog.entries():
            for name in entry.get("indexes", {}):
                if name.lower() == lowered:
                    return entry["name"], entry["kind"], name
    return None


def find(conn: Any, name: str) -> tuple[str, str] | None:
    return _find(conn, name)


def owner(conn: Any, name: str) -> Any:
    """The connection that holds the table or collection ``name``: the one of ``conn``'s
    temporary tables (CREATE TEMP TABLE) if it has one of that name, else ``conn``."""
    temp = conn.temp_database
    if temp is not None and temp.reading().catalog.get(name) is not None:
        return temp
    return conn


def _table_home(conn: Any, node: ast.CreateTable | ast.CreateTableAs) -> Any:
    """Where CREATE [TEMP] TABLE makes its table (``creator``); None if the name is taken and
    IF NOT EXISTS says to do nothing; ProgrammingError if it is taken."""
    home = creator(conn, node.temporary)
    existing = _find(home, node.name)
    if existing is None:
        return home
    if node.if_not_exists:
        return None
    raise ProgrammingError(f"{existing[1]} {existing[0]} already exists")


def creator(conn: Any, temporary: bool) -> Any:
    """The connection a CREATE [TEMP] TABLE makes its table in (and where a name it
    takes must be free: a temporary table may hide one of the database's)."""
    return conn.temporary_database() if temporary else conn
