"""The declared type of each column of a query's result, as sqlite3's PARSE_DECLTYPES reads it.

SQLite gives a result column a declared type when it is a table's column read as it is
(``SELECT at FROM t``, ``t.at``, ``*``, ``t.*``), also through a view or a subquery in
FROM; an expression's column has none. This follows the same rule for a plain SELECT
(joins included); for anything else (a compound SELECT, a CTE, a join with USING)
every column has none.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

from typing import Any

from docdb.errors import Error
from query import ast, ddl
from query.executor import SessionCatalog
from query.parser import parse_one

__all__ = ["declared_types"]

Column = tuple["str | None", "str | None"]  # (name, first word of its declared type)


def declared_types(conn: Any, statement: Any, width: int) -> list[str | None]:
    """The first word of each result column's declared type (None where it has none)."""
    try:
        columns = _columns(conn, statement)
    except Error:  # a view that no longer plans: its columns have no declared type
        columns = None
    if columns is None or len(columns) != width:
        return [None] * width
    return [declared for _name, declared in columns]


def _columns(conn: Any, query: Any) -> list[Column] | None:
    if not isinstance(query, ast.Query) or query.ctes:
        return None
    body = query.body
    if not isinstance(body, ast.Select) or body.value is not None:
        return None
    sources: list[tuple[str, list[Column]]] = []
    for item in _flattened(body.sources):
        found = _source(conn, item)
        if found is None:
            return None
        sources.append(found)
    out: list[Column] = []
    for column in body.columns:
        out.extend(_result_columns(column, sources))
    return out


def _flattened(items: tuple) -> list[Any]:
    found: list[Any] = []
    for item in items:
        if isinstance(item, ast.Join):
            if item.using:
                return [None]  # USING merges columns: SQLite's own rule is not worth guessing
            found.extend(_flattened((item.left, item.right)))
        else:
            found.append(item)
    return found


def _source(conn: Any, item: Any) -> tuple[str, list[Column]] | None:
    """(alias, its columns) for a table, a view or a subquery; None for anything else."""
    if isinstance(item, ast.SubquerySource):
        columns = _columns(conn, item.query)
        return ((item.alias or "").lower(), columns) if columns is not None else None
    if not (isinstance(item, ast.NamedSource) and len(item.path) == 1 and isinstance(item.path[0], str)
            and item.at is None):
        return None
    alias = (item.alias or item.path[0]).lower()
    found = ddl.find(conn, item.path[0])
    if found is None:
        return None
    name, kind = found
    if kind == "table":
        specs = ddl.owner(conn, name).describe(name)["columns"]
        return alias, [(column, spec.split()[0].upper()) for column, spec in specs.items()]
    if kind == "view":
        sql, names = SessionCatalog(conn).view(name)
        columns = _columns(conn, parse_one(sql))
        if columns is None:
            return None
        if names and len(names) == len(columns):
            columns = [(new, declared) for new, (_old, declared) in zip(names, columns)]
        return alias, columns
    return None


def _result_columns(column: Any, sources: list[tuple[str, list[Column]]]) -> list[Column]:
    if isinstance(column, ast.Star):
        return [c for _alias, columns in sources for c in columns]
    expr = column.expr
    if isinstance(expr, ast.FieldStar) and isinstance(expr.base, ast.Name):
        return [c for alias, columns in sources if alias == expr.base.name.lower() for c in columns]
    if isinstance(expr, ast.Name):
        alias, name = None, expr.name
    elif isinstance(expr, ast.Field) and isinstance(expr.base, ast.Name):
        alias, name = expr.base.name.lower(), expr.name
    else:
        return [(column.alias, None)]
    for source, columns in sources:
        if alias is None or alias == source:
            for column_name, declared in columns:
                if column_name is not None and column_name.lower() == str(name).lower():
                    return [(column.alias or column_name, declared)]
    return [(column.alias, None)]
