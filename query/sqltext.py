"""An expression written back as SQL text: what EXPLAIN prints for a filter's predicate.

``sql(expr)`` spells a ``query.ast`` expression the way a reader would type it --
``items.b BETWEEN ?1 AND ?2``, ``d.m.a > 10 AND d.cat = 'x'`` -- with a compound
operand in parentheses, so the text parses back to the same tree (positional
parameters are numbered from 1, as SQLite's ``?NNN``). A subquery prints as
``(SELECT ...)``: its own plan lines follow where it runs.
May import: the standard library and ``query``'s own modules.
"""

from __future__ import annotations

from typing import Any

from query import ast
from query.values import MISSING

__all__ = ["sql"]

_ATOMS = (ast.Literal, ast.Param, ast.Name, ast.Field, ast.Index, ast.Call, ast.CurrentTime, ast.Subquery,
          ast.ObjectCtor, ast.ArrayCtor, ast.FieldStar, ast.IndexStar, ast.StarStruct, ast.Exists)


def sql(expr: Any) -> str:  # noqa: C901, PLR0911, PLR0912 - one case per node type
    if isinstance(expr, ast.Literal):
        return _literal(expr.value)
    if isinstance(expr, ast.Param):
        return f":{expr.name}" if expr.name is not None else f"?{expr.index + 1}"
    if isinstance(expr, ast.Name):
        return _name(expr.name)
    if isinstance(expr, ast.Field):
        return f"{_operand(expr.base)}.{_name(expr.name)}"
    if isinstance(expr, ast.Index):
        return f"{_operand(expr.base)}[{sql(expr.index)}]"
    if isinstance(expr, ast.FieldStar):
        return f"{_operand(expr.base)}.*"
    if isinstance(expr, ast.IndexStar):
        return f"{_operand(expr.base)}[*]"
    if isinstance(expr, ast.StarStruct):
        return ", ".join(f"{alias}.*" for alias in expr.aliases) or "*"
    if isinstance(expr, ast.CurrentTime):
        return expr.kind
    if isinstance(expr, ast.Unary):
        return f"NOT {_operand(expr.operand)}" if expr.op == "NOT" else f"{expr.op}{_operand(expr.operand)}"
    if isinstance(expr, (ast.Binary, ast.Logical)):
        return f"{_operand(expr.left)} {expr.op} {_operand(expr.right)}"
    if isinstance(expr, ast.Is):
        return f"{_operand(expr.left)} IS {'NOT ' if expr.negated else ''}{_operand(expr.right)}"
    if isinstance(expr, ast.NullTest):
        return f"{_operand(expr.value)} IS {'NOT ' if expr.negated else ''}NULL"
    if isinstance(expr, ast.Between):
        return (f"{_operand(expr.value)} {'NOT ' if expr.negated else ''}BETWEEN {_operand(expr.low)} "
                f"AND {_operand(expr.high)}")
    if isinstance(expr, ast.InList):
        return f"{_operand(expr.left)} {_not(expr)}IN ({', '.join(sql(i) for i in expr.items)})"
    if isinstance(expr, ast.InQuery):
        return f"{_operand(expr.left)} {_not(expr)}IN (SELECT ...)"
    if isinstance(expr, ast.InValue):
        return f"{_operand(expr.left)} {_not(expr)}IN {_operand(expr.container)}"
    if isinstance(expr, ast.Like):
        word = "GLOB" if expr.glob else "LIKE"
        escape = f" ESCAPE {_operand(expr.escape)}" if expr.escape is not None else ""
        return f"{_operand(expr.left)} {_not(expr)}{word} {_operand(expr.pattern)}{escape}"
    if isinstance(expr, ast.Case):
        operand = f" {sql(expr.operand)}" if expr.operand is not None else ""
        whens = "".join(f" WHEN {sql(c)} THEN {sql(r)}" for c, r in expr.whens)
        otherwise = f" ELSE {sql(expr.otherwise)}" if expr.otherwise is not None else ""
        return f"CASE{operand}{whens}{otherwise} END"
    if isinstance(expr, ast.Cast):
        return f"CAST({sql(expr.value)} AS {expr.type_name})"
    if isinstance(expr, ast.Call):
        inside = "*" if expr.star else ("DISTINCT " if expr.distinct else "") + ", ".join(map(sql, expr.args))
        return f"{expr.name}({inside})"
    if isinstance(expr, ast.Exists):
        return "EXISTS (SELECT ...)"
    if isinstance(expr, ast.Subquery):
        return "(SELECT ...)"
    if isinstance(expr, ast.Collate):
        return f"{_operand(expr.value)} COLLATE {expr.collation}"
    if isinstance(expr, ast.ObjectCtor):
        return "{" + ", ".join(f"{sql(k)}: {sql(v)}" for k, v in expr.pairs) + "}"
    if isinstance(expr, ast.ArrayCtor):
        inside = ", ".join(map(sql, expr.items))
        return f"<<{inside}>>" if expr.bag else f"[{inside}]"
    return f"<{type(expr).__name__}>"


def _operand(expr: Any) -> str:
    """An operand: in parentheses unless it is atomic (a name, a literal, a call...)."""
    text = sql(expr)
    return text if isinstance(expr, _ATOMS) else f"({text})"


def _not(expr: Any) -> str:
    return "NOT " if expr.negated else ""


def _name(name: str) -> str:
    plain = name.replace("_", "a").isalnum() and not name[:1].isdigit() and not isinstance(name, ast.Quoted)
    return name if plain else '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if value is MISSING:
        return "MISSING"
    if value is True or value is False:
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bytes):
        return "X'" + value.hex().upper() + "'"
    return repr(value)
