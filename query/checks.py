"""CHECK constraints compiled: the SQL a table keeps, as a test of the rows it writes.

``docdb.models.constraints`` holds a table's CHECKs as text, and cannot compile SQL
(the models do not import the query layer); importing this module installs
``compile_check`` there. A CHECK reads the row's columns by name (or ``table.column``)
and may call any built-in scalar function; as in SQLite, it may not hold a subquery,
a parameter, an aggregate or a window function.
May import: the standard library, ``docdb.errors``, ``docdb.models`` and ``query``'s own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from docdb.errors import ProgrammingError
from docdb.models.constraints import install_check_compiler
from query import ast
from query.errors import QuerySyntaxError
from query.expressions import Context, Env, compile_expr
from query.parser import parse_one
from query.pushdown import references
from query.scope import Scope, Source
from query.udf import BUILTINS
from query.values import truth

__all__ = ["compile_check"]


def compile_check(table: str, columns: list[str], sql: str) -> Callable[[tuple], Any]:
    """``sql`` as a predicate of a row of ``table``'s ``columns``: True, False, or None for NULL."""
    try:
        statement = parse_one(f"SELECT ({sql}\n)")
    except QuerySyntaxError as error:
        raise ProgrammingError(f"table {table}: CHECK ({sql}) is not an expression: {error}") from None
    body = statement.body if isinstance(statement, ast.Query) else None
    if not isinstance(body, ast.Select) or len(body.columns) != 1 or body.sources or statement.ctes \
            or not isinstance(body.columns[0], ast.ResultColumn):
        raise ProgrammingError(f"table {table}: CHECK ({sql}) is not one expression")
    expr = body.columns[0].expr
    for node in references(expr):
        if isinstance(node, (ast.Subquery, ast.Exists, ast.InQuery)):
            raise ProgrammingError(f"table {table}: subqueries prohibited in CHECK constraints")
        if isinstance(node, ast.Param):
            raise ProgrammingError(f"table {table}: parameters prohibited in CHECK constraints")
        if isinstance(node, ast.Call) and (node.over is not None or BUILTINS.is_aggregate(node.name)):
            raise ProgrammingError(f"table {table}: misuse of aggregate or window function {node.name}() "
                                   "in a CHECK constraint")
    scope = Scope([Source(table, tuple(columns), origin=table)])
    compiled = compile_expr(expr, scope, Context(_no_queries, functions=BUILTINS))
    env = Env((), None)
    return lambda row: truth(compiled(row, env))


def _no_queries(node: Any, scope: Scope) -> Any:
    raise ProgrammingError("subqueries prohibited in CHECK constraints")


install_check_compiler(compile_check)
