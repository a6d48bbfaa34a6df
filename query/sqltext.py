"""An expression written back as SQL text: what EXPLAIN prints for a filter's predicate.

``sql(expr)`` spells a ``query.ast`` expression the way a reader would type it --
``items.b BETWEEN ?1 AND ?2``, ``d.m.a > 10 AND d.cat = 'x'`` -- with a compound
operand in parentheses, so the text parses back to the same tree (positional
parameters are numbered from 1, as SQLite's ``?NNN``). A subquery prints as
``(SELECT ...)``: its own plan lines follow where it runs.
May import: the standard library and ``query``'s own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from query import ast
from query.values import MISSING

__all__ = ["sql"]

_ATOMS = (ast.Literal, ast.Param, ast.Name, ast.Field, ast.Index, ast.Call, ast.CurrentTime, ast.Subquery,
          ast.ObjectCtor, ast.ArrayCtor, ast.FieldStar, ast.IndexStar, ast.StarStruct, ast.Exists)


def sql(expr: Any) -> str:
    printer = _PRINTERS.get(type(expr))
    return printer(expr) if printer is not None else f"<{type(expr).__name__}>"


def _is(e: Any) -> str:
    right = "NULL" if isinstance(e, ast.NullTest) else _operand(e.right)
    return f"{_operand(e.value if isinstance(e, ast.NullTest) else e.left)} IS {_not(e)}{right}"


def _like(e: ast.Like) -> str:
    escape = f" ESCAPE {_operand(e.escape)}" if e.escape is not None else ""
    return f"{_operand(e.left)} {_not(e)}{'GLOB' if e.glob else 'LIKE'} {_operand(e.pattern)}{escape}"


def _case(e: ast.Case) -> str:
    operand = f" {sql(e.operand)}" if e.operand is not None else ""
    whens = "".join(f" WHEN {sql(c)} THEN {sql(r)}" for c, r in e.whens)
    otherwise = f" ELSE {sql(e.otherwise)}" if e.otherwise is not None else ""
    return f"CASE{operand}{whens}{otherwise} END"


def _call(e: ast.Call) -> str:
    inside = "*" if e.star else ("DISTINCT " if e.distinct else "") + ", ".join(map(sql, e.args))
    text = f"{e.name}({inside})"
    if e.filter is not None:
        text += f" FILTER (WHERE {sql(e.filter)})"
    if e.over is not None:
        text += f" OVER {_window(e.over)}"
    return text


def _window(w: ast.Window) -> str:
    if w.base is not None and not (w.partition or w.order or w.frame):
        return _name(w.base)
    parts = [_name(w.base)] if w.base is not None else []
    if w.partition:
        parts.append("PARTITION BY " + ", ".join(map(sql, w.partition)))
    if w.order:
        parts.append("ORDER BY " + ", ".join(sql(o.expr) + (" DESC" if o.descending else "")
                                             + ("" if o.nulls_first is None else
                                                " NULLS FIRST" if o.nulls_first else " NULLS LAST")
                                             for o in w.order))
    if w.frame is not None:
        f = w.frame
        bounds = [kind if offset is None else f"{sql(offset)} {kind}" for kind, offset in (f.start, f.end)]
        exclude = "" if f.exclude == "NO OTHERS" else f" EXCLUDE {f.exclude}"
        parts.append(f"{f.unit} BETWEEN {bounds[0]} AND {bounds[1]}{exclude}")
    return "(" + " ".join(parts) + ")"


def _array(e: ast.ArrayCtor) -> str:
    inside = ", ".join(map(sql, e.items))
    return f"<<{inside}>>" if e.bag else f"[{inside}]"


_PRINTERS: dict[type, Callable[[Any], str]] = {
    ast.Literal: lambda e: _literal(e.value),
    ast.Param: lambda e: f":{e.name}" if e.name is not None else f"?{e.index + 1}",
    ast.Name: lambda e: _name(e.name),
    ast.Field: lambda e: f"{_operand(e.base)}.{_name(e.name)}",
    ast.Index: lambda e: f"{_operand(e.base)}[{sql(e.index)}]",
    ast.FieldStar: lambda e: f"{_operand(e.base)}.*",
    ast.IndexStar: lambda e: f"{_operand(e.base)}[*]",
    ast.StarStruct: lambda e: ", ".join(f"{alias}.*" for alias in e.aliases) or "*",
    ast.CurrentTime: lambda e: e.kind,
    ast.Unary: lambda e: f"NOT {_operand(e.operand)}" if e.op == "NOT" else f"{e.op}{_operand(e.operand)}",
    ast.Binary: lambda e: f"{_operand(e.left)} {e.op} {_operand(e.right)}",
    ast.Logical: lambda e: f"{_operand(e.left)} {e.op} {_operand(e.right)}",
    ast.Is: _is,
    ast.NullTest: _is,
    ast.Between: lambda e: (f"{_operand(e.value)} {_not(e)}BETWEEN {_operand(e.low)} "
                            f"AND {_operand(e.high)}"),
    ast.InList: lambda e: f"{_operand(e.left)} {_not(e)}IN ({', '.join(sql(i) for i in e.items)})",
    ast.InQuery: lambda e: f"{_operand(e.left)} {_not(e)}IN (SELECT ...)",
    ast.InValue: lambda e: f"{_operand(e.left)} {_not(e)}IN {_operand(e.container)}",
    ast.Like: _like,
    ast.Case: _case,
    ast.Cast: lambda e: f"CAST({sql(e.value)} AS {e.type_name})",
    ast.Call: _call,
    ast.Exists: lambda e: "EXISTS (SELECT ...)",
    ast.Subquery: lambda e: "(SELECT ...)",
    ast.Collate: lambda e: f"{_operand(e.value)} COLLATE {e.collation}",
    ast.ObjectCtor: lambda e: "{" + ", ".join(f"{sql(k)}: {sql(v)}" for k, v in e.pairs) + "}",
    ast.ArrayCtor: _array,
}


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
