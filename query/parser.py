"""Text to syntax tree: the one place that knows Lark.

``parse(text)`` returns the statements of ``text`` as ``query.ast`` nodes. The
grammar lives in ``grammar.lark`` (LALR, contextual lexer, so a keyword that
cannot appear where it stands -- ``key``, ``value``, ``replace(...)`` -- reads as
a name). Lark's exceptions never leave this module: a syntax error becomes a
``QuerySyntaxError`` that names the line, the column and the token, shows the
line with a caret under it, and suggests a keyword when the token is a near miss.
Parsing is cached by text, so a repeated statement is parsed once.
May import: the standard library, lark, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import pathlib
import re
from typing import Any

import lark
from lark import Token, Transformer, v_args

from query import ast
from query.errors import QuerySyntaxError, UnsupportedSyntax
from query.values import MISSING

__all__ = ["parse", "parse_one"]

_GRAMMAR = pathlib.Path(__file__).with_name("grammar.lark")
_EOF = "$END"


@functools.cache
def _parser() -> lark.Lark:
    return lark.Lark(_GRAMMAR.read_text(), parser="lalr", lexer="contextual",
                     propagate_positions=True, maybe_placeholders=False, cache=True)


# Documented limits (docs/language.md), checked before anything runs: a deeper statement
# would overflow Python's stack in the recursive steps after parsing (as SQLite refuses an
# expression tree deeper than 1,000).
MAX_DEPTH = 200  # levels of nesting: operators, parentheses, subqueries, constructors
MAX_LENGTH = 16 << 20  # characters in one call's text


def _check_depth(text: str, tree: lark.Tree) -> None:
    """QuerySyntaxError at the first node nested deeper than ``MAX_DEPTH`` (iterative)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            line, column = (meta.line, meta.column) if not meta.empty else (1, 1)
            raise QuerySyntaxError(f"the statement nests deeper than {MAX_DEPTH} levels "
                                   "(operators, parentheses, subqueries, constructors)", text, line, column)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, lark.Tree))


@functools.lru_cache(maxsize=512)
def parse(text: str) -> tuple[Any, ...]:
    """The statements of ``text`` (a script may hold several, separated by ``;``)."""
    if not isinstance(text, str):
        raise TypeError(f"a statement is a str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise QuerySyntaxError(f"the text is {len(text):,} characters long; the limit is {MAX_LENGTH:,}",
                               text[:200], 1, 1)
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    except RecursionError:
        raise QuerySyntaxError("statement nests too deeply to parse", text, 1, 1) from None
    _check_depth(text, tree)
    try:
        return tuple(_ToAst(text).transform(tree).children)
    except lark.exceptions.VisitError as error:
        if isinstance(error.orig_exc, QuerySyntaxError):
            raise error.orig_exc from None
        meta = getattr(error.obj, "meta", None)  # a literal docdb cannot take: say where it is
        line, column = (meta.line, meta.column) if meta is not None and not meta.empty else (1, 1)
        raise QuerySyntaxError(f"{error.orig_exc}", text, line, column) from None


def parse_one(text: str) -> Any:
    """The single statement of ``text``; a ``QuerySyntaxError`` if there are none or several."""
    statements = parse(text)
    if len(statements) != 1:
        what = "no statement" if not statements else f"{len(statements)} statements"
        raise QuerySyntaxError(f"expected one statement, found {what} (use executescript for several)",
                               text, 1, 1)
    return statements[0]


_STATEMENT_KEYWORDS = ["SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "BEGIN", "VACUUM",
                       "SAVEPOINT", "RELEASE", "PRAGMA",
                       "COMMIT", "ROLLBACK", "EXPLAIN", "WITH", "VALUES", "REPLACE"]
_FIRST_WORD = re.compile(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*([A-Za-z_]+)", re.S)


def _misspelt_start(text: str) -> QuerySyntaxError | None:
    """``SELEC a FROM t`` parses as far as ``a`` (a bare name is an expression statement):
    point at the first word instead, when it is a near miss of a statement keyword."""
    match = _FIRST_WORD.match(text)
    if match is None or match.group(1).upper() in _STATEMENT_KEYWORDS:
        return None
    close = difflib.get_close_matches(match.group(1).upper(), _STATEMENT_KEYWORDS, n=1, cutoff=0.75)
    if not close:
        return None
    start = match.start(1)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return QuerySyntaxError(f"unexpected {match.group(1)!r}; did you mean {close[0]}?", text, line, column)


# SQL docdb does not take, recognised where a parse fails: (pattern, what to call it)
_UNSUPPORTED = [(re.compile(pattern, re.I), what) for pattern, what in [
    (r"\b(ATTACH|DETACH)\b", "{0}"),
    (r"^\s*(REINDEX|ANALYZE)\b", "{0}"),
    (r"\bCREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b", "CREATE TRIGGER (triggers)"),
    (r"\bCREATE\s+VIRTUAL\s+TABLE\b", "CREATE VIRTUAL TABLE"),
    (r"\bGENERATED\s+ALWAYS\b", "generated columns"),
    (r"\bWITHOUT\s+ROWID\b", "WITHOUT ROWID"),
    (r"\bSTRICT\s*;?\s*$", "STRICT tables (docdb's tables are always strictly typed)"),
]]


def _unsupported(text: str, error: lark.exceptions.UnexpectedInput) -> QuerySyntaxError | None:
    """A plain "... is not supported" for SQL docdb does not take, in the failing statement."""
    position = getattr(error, "pos_in_stream", None)
    token = getattr(error, "token", None)
    if position is None and token is not None:
        position = getattr(token, "start_pos", None)
    end = len(text) if position is None else text.find(";", position)
    start = 0 if position is None else text.rfind(";", 0, position) + 1
    statement = text[start:len(text) if end == -1 else end]
    for pattern, what in _UNSUPPORTED:
        found = pattern.search(statement)
        if found:
            offset = start + found.start()
            line = text.count("\n", 0, offset) + 1
            column = offset - (text.rfind("\n", 0, offset) + 1) + 1
            name = what.format(" ".join(found.group(0).split()).upper())
            return UnsupportedSyntax(f"{name} is not supported", text, line, column)
    return None


def _syntax_error(text: str, error: lark.exceptions.UnexpectedInput) -> QuerySyntaxError:
    unsupported = _unsupported(text, error)
    if unsupported is not None:
        return unsupported
    misspelt = _misspelt_start(text)
    if misspelt is not None:
        return misspelt
    line, column = getattr(error, "line", 1) or 1, getattr(error, "column", 1) or 1
    if isinstance(error, lark.exceptions.UnexpectedToken):
        token = error.token
        if token.type == _EOF:
            return QuerySyntaxError("statement ends too early", text, line, column)
        expected = sorted(error.expected)
        message = f"unexpected {str(token)!r}"
        hint = _suggest(str(token), expected)
        if hint:
            message += f"; did you mean {hint}?"
        return QuerySyntaxError(message, text, token.line or line, token.column or column)
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        char = text[error.pos_in_stream] if error.pos_in_stream < len(text) else ""
        what = "an unterminated string or name" if char in "'\"`" else f"{char!r}"
        return QuerySyntaxError(f"unexpected {what}", text, line, column)
    return QuerySyntaxError("statement ends too early", text, line, column)


def _suggest(word: str, expected: list[str]) -> str | None:
    """A keyword the parser wanted that ``word`` is a near miss of (SELCT -> SELECT)."""
    keywords = [t for t in expected if t.isalpha() and t.isupper()]
    close = difflib.get_close_matches(word.upper(), keywords, n=1, cutoff=0.75)
    return close[0] if close else None


def _unquote(token: Token) -> str:
    text = str(token)
    quote = text[0]
    return text[1:-1].replace(quote * 2, quote)


def _pos(meta: Any) -> ast.Pos:
    return (getattr(meta, "line", 0) or 0, getattr(meta, "column", 0) or 0)


def _tokens(children: list, kind: str) -> bool:
    return any(isinstance(c, Token) and c.type == kind for c in children)


def _part(children: list, kind: str) -> Any:
    """The value of a ``(kind, value)`` clause among ``children``, or None."""
    return next((c[1] for c in children if isinstance(c, tuple) and c[:1] == (kind,)), None)


def _nodes(children: list) -> list:
    """The children that are not keyword tokens."""
    return [c for c in children if not (isinstance(c, Token) and c.type.isupper() and c.type.isalpha()
                                        and c.type not in ("NUMBER", "STRING", "BLOB"))]


@v_args(meta=True)
class _ToAst(Transformer):  # noqa: PLR0904 - one method per grammar rule is the point
    """Parse tree -> ``query.ast``. Keyword tokens are dropped with ``_nodes``; their
    presence (NOT, DISTINCT, ALL...) is read with ``_tokens``."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text
        self._qmarks = 0

    # ----- statements

    def start(self, meta, children):
        return lark.Tree("statements", [c for c in children if not isinstance(c, Token)])

    def explain(self, meta, children):
        analyze = any(isinstance(c, Token) and c.type == "ANALYZE" for c in children)
        return ast.Explain(_nodes(children)[0], analyze, pos=_pos(meta))

    def begin(self, meta, children):
        kinds = {str(c).upper() for c in children if isinstance(c, Token)}
        return ast.Begin(bool(kinds & {"IMMEDIATE", "EXCLUSIVE"}), pos=_pos(meta))

    def vacuum(self, meta, children):
        return ast.Vacuum(pos=_pos(meta))

    def current_time(self, meta, children):
        return ast.CurrentTime(str(children[0]).upper(), pos=_pos(meta))

    def commit(self, meta, children):
        return ast.Commit(pos=_pos(meta))

    def rollback(self, meta, children):
        names = _nodes(children)
        return ast.Rollback(str(names[0]) if names else None, pos=_pos(meta))

    def savepoint(self, meta, children):
        return ast.Savepoint(str(_nodes(children)[0]), pos=_pos(meta))

    def release(self, meta, children):
        return ast.Release(str(_nodes(children)[0]), pos=_pos(meta))

    # ----- queries

    def query(self, meta, children):
        parts = _nodes(children)
        ctes: tuple = ()
        order: tuple = ()
        limit = offset = None
        body = None
        for part in parts:
            if isinstance(part, tuple) and part and part[0] == "WITH":
                ctes = part[1]
            elif isinstance(part, tuple) and part and part[0] == "ORDER":
                order = part[1]
            elif isinstance(part, tuple) and part and part[0] == "LIMIT":
                limit, offset = part[1], part[2]
            else:
                body = part
        recursive = any(isinstance(part, tuple) and part[:1] == ("WITH",) and part[2] for part in parts)
        return ast.Query(body, order, limit, offset, ctes, recursive, pos=_pos(meta))

    def with_clause(self, meta, children):
        return ("WITH", tuple(_nodes(children)), _tokens(children, "RECURSIVE"))

    def cte(self, meta, children):
        parts = _nodes(children)
        columns = parts[1] if len(parts) == 3 else ()
        return ast.Cte(parts[0], tuple(columns), parts[-1], pos=_pos(meta))

    def paren_query(self, meta, children):  # an operand of a set operation, in parentheses
        return _nodes(children)[0]

    def set_operation(self, meta, children):
        left, op, right = children
        return ast.SetOperation(op, left, right, pos=_pos(meta))

    def union(self, meta, children):
        return "UNION ALL" if _tokens(children, "ALL") else "UNION"

    def intersect(self, meta, children):
        return "INTERSECT"

    def except_(self, meta, children):
        return "EXCEPT"

    def select(self, meta, children):
        distinct = any(isinstance(c, tuple) and c[:1] == ("DISTINCT",) for c in children)
        fields: dict[str, Any] = {}
        columns: tuple = ()
        value = None
        for c in _nodes(children):
            if isinstance(c, tuple) and c and c[0] in ("FROM", "WHERE", "GROUP", "HAVING", "WINDOW"):
                fields[c[0]] = c[1:] if c[0] == "GROUP" else c[1]
            elif isinstance(c, tuple) and c and c[0] == "COLUMNS":
                columns = c[1]
            elif isinstance(c, tuple) and c and c[0] == "VALUE":
                value = c[1]
        keys, names, group_as = fields.get("GROUP", ((), (), None))
        return ast.Select(columns, value, distinct, fields.get("FROM", ()), fields.get("WHERE"),
                          keys, fields.get("HAVING"), fields.get("WINDOW", ()),
                          names if any(names) else (), group_as, pos=_pos(meta))

    def pivot(self, meta, children):  # PIVOT v AT k FROM ...: SELECT VALUE [k, v] ..., folded
        parts = _nodes(children)
        value, key = parts[0], parts[1]
        fields = {c[0]: (c[1:] if c[0] == "GROUP" else c[1]) for c in parts[2:] if isinstance(c, tuple)}
        keys, names, group_as = fields.get("GROUP", ((), (), None))
        return ast.Select((), ast.ArrayCtor((key, value), pos=_pos(meta)), False, fields.get("FROM", ()),
                          fields.get("WHERE"), keys, fields.get("HAVING"), (), names if any(names) else (),
                          group_as, pivot=True, pos=_pos(meta))

    def window_clause(self, meta, children):
        return ("WINDOW", tuple(_nodes(children)))

    def named_window(self, meta, children):
        name, window = _nodes(children)
        return (name, window)

    def window_def(self, meta, children):
        base, partition, order, frame = None, (), (), None
        for part in _nodes(children):
            if isinstance(part, ast.Frame):
                frame = part
            elif isinstance(part, tuple) and part[:1] == ("PARTITION",):
                partition = part[1]
            elif isinstance(part, tuple) and part[:1] == ("ORDER",):
                order = part[1]
            else:
                base = part
        return ast.Window(base, partition, order, frame, pos=_pos(meta))

    def partition_by(self, meta, children):
        return ("PARTITION", tuple(_nodes(children)[0]))

    def frame(self, meta, children):
        parts = _nodes(children)
        unit = parts[0]
        exclude = parts[-1] if isinstance(parts[-1], str) else "NO OTHERS"
        bounds = [p for p in parts[1:] if isinstance(p, tuple)]
        end = bounds[1] if len(bounds) > 1 else ("CURRENT ROW", None)
        return ast.Frame(unit, bounds[0], end, exclude, pos=_pos(meta))

    def frame_unit(self, meta, children):
        return str(children[0]).upper()

    def unbounded_preceding(self, meta, children):
        return ("UNBOUNDED PRECEDING", None)

    def unbounded_following(self, meta, children):
        return ("UNBOUNDED FOLLOWING", None)

    def current_row(self, meta, children):
        return ("CURRENT ROW", None)

    def preceding(self, meta, children):
        return ("PRECEDING", _nodes(children)[0])

    def following(self, meta, children):
        return ("FOLLOWING", _nodes(children)[0])

    def exclude_no_others(self, meta, children):
        return "NO OTHERS"

    def exclude_current_row(self, meta, children):
        return "CURRENT ROW"

    def exclude_group(self, meta, children):
        return "GROUP"

    def exclude_ties(self, meta, children):
        return "TIES"

    def distinct(self, meta, children):
        return ("DISTINCT",) if _tokens(children, "DISTINCT") else ("ALL",)

    def columns(self, meta, children):
        return ("COLUMNS", tuple(children))

    def select_value(self, meta, children):
        return ("VALUE", _nodes(children)[0])

    def star(self, meta, children):
        return ast.Star(pos=_pos(meta))

    def result_expr(self, meta, children):
        parts = _nodes(children)
        text = self._text[meta.start_pos:meta.end_pos] if hasattr(meta, "start_pos") else ""
        return ast.ResultColumn(parts[0], parts[1] if len(parts) > 1 else None, text, pos=_pos(meta))

    def alias(self, meta, children):
        return children[0]

    def values_query(self, meta, children):
        rows = _nodes(children)
        single = [isinstance(r, ast.Expr) for r in rows]
        if any(single) and not all(single):
            raise QuerySyntaxError("VALUES mixes (tuples) and single values", self._text, *_pos(meta))
        return ast.Values(tuple((r,) if isinstance(r, ast.Expr) else r for r in rows), all(single),
                          pos=_pos(meta))

    def row_tuple(self, meta, children):
        return tuple(children[0])

    def row_value(self, meta, children):
        return children[0]

    def from_clause(self, meta, children):
        return ("FROM", tuple(_nodes(children)))

    def join(self, meta, children):
        parts = _nodes(children)
        left, kind, right = parts[0], parts[1], parts[2]
        on, using = None, ()
        if len(parts) > 3:
            cond = parts[3]
            if cond[0] == "ON":
                on = cond[1]
            else:
                using = cond[1]
        return ast.Join(kind, left, right, on, using, pos=_pos(meta))

    def inner_join(self, meta, children):
        return "INNER"

    def left_join(self, meta, children):
        return "LEFT"

    def cross_join(self, meta, children):
        return "CROSS"

    def on(self, meta, children):
        return ("ON", _nodes(children)[0])

    def using_columns(self, meta, children):
        return ("USING", tuple(_nodes(children)[0]))

    def named_source(self, meta, children):
        hint = next((c for c in children if isinstance(c, tuple) and c[:1] == ("HINT",)), None)
        children = [c for c in children if c is not hint]
        alias, at = self._alias_at(children)
        path = _nodes(children)[0]
        if any(isinstance(part, _Star) or not isinstance(part, str) for part in path):
            # a path with index or wildcard steps: range over its value
            return ast.UnnestSource(_path_expr(path, meta), alias, at, pos=_pos(meta))
        return ast.NamedSource(path, alias, at, hint == ("HINT", "NOT INDEXED"), pos=_pos(meta))

    def variable_source(self, meta, children):  # FROM @v.path: the variable v, never a table
        name = str(children[0])
        if not name.startswith("@"):
            raise QuerySyntaxError("a parameter cannot be ranged over", self._text, *_pos(meta))
        steps = next((c for c in children if isinstance(c, list)), [])
        alias, at = self._alias_at([c for c in children if not isinstance(c, list)])
        return ast.UnnestSource(_path_expr((name[1:], *steps), meta), alias, at, pos=_pos(meta))

    def var_steps(self, meta, children):
        return list(children)

    def unpivot_source(self, meta, children):
        alias, at = self._alias_at(children[1:])
        value = children[1]
        if isinstance(value, tuple):
            value = _path_expr(value, meta)
        elif isinstance(value, Token):
            value = ast.Name(str(value)[1:], pos=_pos(meta))
        return ast.UnnestSource(value, alias, at, unpivot=True, pos=_pos(meta))

    def indexed_by(self, meta, children):
        return ("HINT", "INDEXED BY")  # a hint: the planner chooses the index itself

    def not_indexed(self, meta, children):
        return ("HINT", "NOT INDEXED")

    def _alias_at(self, children: list) -> tuple[str | None, str | None]:
        alias = at = None
        after_at = False
        for c in children[1:]:
            if isinstance(c, Token) and c.type == "AT":
                after_at = True
            elif isinstance(c, str) and not isinstance(c, Token):
                if after_at:
                    at = c
                else:
                    alias = c
        return alias, at

    def subquery_source(self, meta, children):
        alias, at = self._alias_at(children)
        query = _nodes(children)[0]
        if at is not None:  # (SELECT ...) AS v AT i: range over its bag (PartiQL)
            return ast.UnnestSource(ast.Subquery(query, bag=True, pos=_pos(meta)), alias, at, pos=_pos(meta))
        return ast.SubquerySource(query, alias, pos=_pos(meta))

    def lateral_source(self, meta, children):  # LATERAL: every FROM item may read those before it
        return _nodes(children)[-1]

    def variable_path(self, meta, children):  # UNPIVOT @v.a.b: the variable v's path, never a table
        steps = next((c for c in children if isinstance(c, list)), [])
        return _path_expr((str(children[0])[1:], *steps), meta)

    def function_source(self, meta, children):
        parts = _nodes(children)
        args = next((c for c in parts[1:] if isinstance(c, list)), [])
        names = [c for c in parts[1:] if isinstance(c, str)]
        return ast.FunctionSource(str(parts[0]).lower(), tuple(args), names[0] if names else None,
                                  pos=_pos(meta))

    def unnest_source(self, meta, children):
        alias, at = self._alias_at(children[1:])
        return ast.UnnestSource(_nodes(children)[0], alias, at, pos=_pos(meta))

    def value_source(self, meta, children):  # FROM <<...>>, [...], {...}, 1: range over the value
        value = children[0]
        for step in children[1:]:  # wildcard steps: <<...>>.*, [...][*]
            if step in ("STAR_FIELD", "STAR_INDEX"):
                value = (ast.FieldStar if step == "STAR_FIELD" else ast.IndexStar)(value, pos=_pos(meta))
        alias, at = self._alias_at([c for c in children if c not in ("STAR_FIELD", "STAR_INDEX")])
        return ast.UnnestSource(value, alias, at, pos=_pos(meta))

    def star_field(self, meta, children):
        return "STAR_FIELD"

    def star_index(self, meta, children):
        return "STAR_INDEX"

    def grouped_source(self, meta, children):
        return children[0]

    def path_source(self, meta, children):
        parts: list = []
        for child in children:
            if isinstance(child, Token) and child.type == "STAR":
                # "[*]" leaves "[" and "]" out of the tree, ".*" the "."; tell them by the text
                text = self._text[child.start_pos - 1:child.start_pos]
                parts.append(_Star(_INDEX_STAR if text == "[" else _FIELD_STAR))
            else:
                parts.append(child)
        return tuple(parts)

    def where(self, meta, children):
        return ("WHERE", _nodes(children)[0])

    def group_by(self, meta, children):
        keys = [c for c in _nodes(children) if isinstance(c, tuple) and c[:1] == ("KEY",)]
        group_as = next((c[1] for c in _nodes(children) if isinstance(c, tuple) and c[:1] == ("AS",)), None)
        return ("GROUP", tuple(k[1] for k in keys), tuple(k[2] for k in keys), group_as)

    def group_all(self, meta, children):
        return ("GROUP", (), (), _nodes(children)[-1])

    def group_key(self, meta, children):
        parts = _nodes(children)
        return ("KEY", parts[0], parts[1] if len(parts) > 1 else None)

    def group_as(self, meta, children):
        return ("AS", _nodes(children)[-1])

    def having(self, meta, children):
        return ("HAVING", _nodes(children)[0])

    def order_by(self, meta, children):
        return ("ORDER", tuple(_nodes(children)))

    def ordering(self, meta, children):
        parts = _nodes(children)
        descending = "DESC" in parts
        nulls = next((p for p in parts if p in ("NULLS FIRST", "NULLS LAST")), None)
        return ast.Ordering(parts[0], descending, None if nulls is None else nulls == "NULLS FIRST",
                            pos=_pos(meta))

    def direction(self, meta, children):
        return str(children[0]).upper()

    def nulls_first(self, meta, children):
        return "NULLS FIRST"

    def nulls_last(self, meta, children):
        return "NULLS LAST"

    def limit_offset(self, meta, children):
        parts = _nodes(children)
        return ("LIMIT", parts[0], parts[1] if len(parts) > 1 else None)

    def offset_only(self, meta, children):
        return ("LIMIT", None, _nodes(children)[0])

    def limit_comma(self, meta, children):
        offset, limit = _nodes(children)
        return ("LIMIT", limit, offset)

    # ----- data changes

    def insert(self, meta, children):
        parts = _nodes(children)
        action = next((p for p in parts if isinstance(p, tuple) and p[:1] == ("OR",)), None)
        parts = [p for p in parts if p is not action]
        target = parts[0]
        columns: tuple = ()
        rest = parts[1:]
        if rest and isinstance(rest[0], list):
            columns, rest = tuple(rest[0]), rest[1:]
        source = rest[0]
        conflict = next((p for p in rest[1:] if isinstance(p, ast.OnConflict)), None)
        returning = next((p[1] for p in rest[1:] if isinstance(p, tuple) and p[:1] == ("RETURNING",)), ())
        return ast.Insert(target, columns, source, conflict, returning, action[1] if action else None,
                          pos=_pos(meta))

    def replace(self, meta, children):
        insert = self.insert(meta, children)
        return ast.Insert(insert.target, insert.columns, insert.source, None, insert.returning, "REPLACE",
                          pos=insert.pos)

    def or_action(self, meta, children):
        return ("OR", str(children[-1]).upper())

    def insert_value(self, meta, children):
        return ("VALUE", _nodes(children)[0])

    def insert_query(self, meta, children):
        return children[0]

    def insert_defaults(self, meta, children):
        return "DEFAULT"

    def do_nothing(self, meta, children):
        names = [c for c in children if isinstance(c, list)]
        return ast.OnConflict(tuple(names[0]) if names else (), pos=_pos(meta))

    def do_update(self, meta, children):
        parts = _nodes(children)
        names = tuple(parts[0]) if parts and isinstance(parts[0], list) else ()
        changes = tuple(p for p in parts if isinstance(p, ast.Assign))
        where = next((p[1] for p in parts if isinstance(p, tuple) and p[:1] == ("WHERE",)), None)
        return ast.OnConflict(names, changes, where, pos=_pos(meta))

    def returning(self, meta, children):
        return ("RETURNING", _nodes(children)[0][1])

    def update(self, meta, children):
        parts = _nodes(children)
        target = parts[0]
        alias = parts[1] if len(parts) > 1 and isinstance(parts[1], str) else None
        changes = tuple(p for p in parts if isinstance(p, (ast.Assign, ast.Unset)))
        where = next((p[1] for p in parts if isinstance(p, tuple) and p[:1] == ("WHERE",)), None)
        returning = next((p[1] for p in parts if isinstance(p, tuple) and p[:1] == ("RETURNING",)), ())
        return ast.Update(target, alias, changes, where, returning, pos=_pos(meta))

    def assignment(self, meta, children):
        target, _eq, value = children
        return ast.Assign(target, value, pos=_pos(meta))

    def unset(self, meta, children):
        return ast.Unset(_nodes(children)[0], pos=_pos(meta))

    def target(self, meta, children):
        return tuple(children)

    def delete(self, meta, children):
        parts = _nodes(children)
        alias = parts[1] if len(parts) > 1 and isinstance(parts[1], str) else None
        where = next((p[1] for p in parts if isinstance(p, tuple) and p[:1] == ("WHERE",)), None)
        returning = next((p[1] for p in parts if isinstance(p, tuple) and p[:1] == ("RETURNING",)), ())
        return ast.Delete(parts[0], alias, where, returning, pos=_pos(meta))

    # ----- definitions

    def create_table(self, meta, children):
        parts = _nodes(children)
        name = next(p for p in parts if isinstance(p, str))
        columns = tuple(p for p in parts if isinstance(p, ast.ColumnDef))
        keys = [p[1] for p in parts if isinstance(p, tuple) and p[:1] == ("PRIMARY",)]
        unique = tuple(p[1] for p in parts if isinstance(p, tuple) and p[:1] == ("UNIQUE",))
        engine = next((p[1] for p in parts if isinstance(p, tuple) and p[:1] == ("USING",)), None)
        checks = tuple(p for p in parts if isinstance(p, ast.Check))
        foreign_keys = tuple(p for p in parts if isinstance(p, ast.ForeignKey))
        return ast.CreateTable(name, columns, keys[0] if keys else (), unique, engine, ("IF",) in parts,
                               ("TEMP",) in parts, checks, foreign_keys, pos=_pos(meta))

    def named_constraint(self, meta, children):
        name, constraint = _nodes(children)
        named = isinstance(constraint, (ast.Check, ast.ForeignKey))
        return dataclasses.replace(constraint, name=name) if named else constraint

    def create_table_as(self, meta, children):
        parts = _nodes(children)
        name = next(p for p in parts if isinstance(p, str))
        engine = next((p[1] for p in parts if isinstance(p, tuple) and p[:1] == ("USING",)), None)
        return ast.CreateTableAs(name, parts[-1], engine, ("IF",) in parts, ("TEMP",) in parts,
                                 pos=_pos(meta))

    def pragma(self, meta, children):
        parts = _nodes(children)
        value = parts[1] if len(parts) > 1 else None
        return ast.Pragma(parts[0], value, pos=_pos(meta))

    def keyword_value(self, meta, children):
        return str(children[0]).lower()  # PRAGMA x = ON

    def pragma_name(self, meta, children):
        return str(children[-1])  # "main.table_info": the schema name is docdb's one database

    def pragma_arg(self, meta, children):
        value = _nodes(children)[0]
        if isinstance(value, tuple):  # ("NUMBER", "-3")
            return _number(value[1].lstrip("+"))
        return value.value if isinstance(value, ast.Literal) else str(value)

    def column_def(self, meta, children):
        name, *rest = children
        type_name = next((r for r in rest if isinstance(r, tuple) and r[:1] == ("TYPE",)), None)
        flags = {r[0] for r in rest if isinstance(r, tuple)}
        default = next((r[1] for r in rest if isinstance(r, tuple) and r[:1] == ("DEFAULT",)), None)
        checks, references, label = [], None, None
        for r in rest:  # CONSTRAINT name names the constraint after it
            if isinstance(r, tuple) and r[:1] == ("CONSTRAINT",):
                label = r[1]
            elif isinstance(r, ast.Check):
                checks.append(dataclasses.replace(r, name=label))
            elif isinstance(r, ast.ForeignKey):
                references = dataclasses.replace(r, columns=(name,), name=label)
        return ast.ColumnDef(name, type_name[1] if type_name else None, "PRIMARY KEY" in flags,
                             "NOT NULL" in flags, "UNIQUE" in flags, default,
                             ("PRIMARY KEY", "AUTOINCREMENT") in rest, tuple(checks), references,
                             pos=_pos(meta))

    def check_constraint(self, meta, children):
        written = self._text[meta.start_pos:meta.end_pos]  # CHECK ( expr ): keep the expression's text
        text = written[written.index("(") + 1:written.rindex(")")].strip()
        return ast.Check(_nodes(children)[-1], text, pos=_pos(meta))

    check_table = check_constraint

    def references_constraint(self, meta, children):
        return children[0]

    def collate_constraint(self, meta, children):
        return ("COLLATE", _nodes(children)[-1])

    def constraint_name(self, meta, children):
        return ("CONSTRAINT", _nodes(children)[-1])

    def references(self, meta, children):
        parts = _nodes(children)
        actions = dict(p for p in parts if isinstance(p, tuple) and p[:1] in (("DELETE",), ("UPDATE",)))
        columns = next((tuple(p) for p in parts[1:] if isinstance(p, list)), ())
        return ast.ForeignKey((), parts[0], columns, actions.get("DELETE", "NO ACTION"),
                              actions.get("UPDATE", "NO ACTION"), pos=_pos(meta))

    def fk_on(self, meta, children):
        return (str(children[1]).upper(), children[2])

    def fk_deferrable(self, meta, children):
        return ("DEFERRABLE",)

    def fk_match(self, meta, children):
        return ("MATCH",)

    def set_null(self, meta, children):
        return "SET NULL"

    def set_default(self, meta, children):
        return "SET DEFAULT"

    def cascade(self, meta, children):
        return "CASCADE"

    def restrict(self, meta, children):
        return "RESTRICT"

    def no_action(self, meta, children):
        return "NO ACTION"

    def foreign_key(self, meta, children):
        parts = _nodes(children)
        return dataclasses.replace(parts[-1], columns=tuple(parts[0]))

    def type_name(self, meta, children):
        words = [c for c in children if isinstance(c, str) and not isinstance(c, Token)]
        sizes = [c[1] for c in children if isinstance(c, tuple) and c[:1] == ("NUMBER",)]
        text = " ".join(words).upper()
        return ("TYPE", f"{text}({', '.join(sizes)})" if sizes else text)

    def signed_number(self, meta, children):
        return ("NUMBER", "".join(str(c) for c in children))

    def primary_key_constraint(self, meta, children):
        autoincrement = any(isinstance(c, Token) and c.type == "AUTOINCREMENT" for c in children)
        return ("PRIMARY KEY", "AUTOINCREMENT") if autoincrement else ("PRIMARY KEY",)

    def not_null_constraint(self, meta, children):
        return ("NOT NULL",)

    def null_constraint(self, meta, children):
        return ("NULL",)

    def unique_constraint(self, meta, children):
        return ("UNIQUE",)

    def default_constraint(self, meta, children):
        return ("DEFAULT", _nodes(children)[0])

    def default_value(self, meta, children):
        return children[0]

    def signed_default(self, meta, children):
        sign, number = children
        value = _number(str(number))
        return ast.Literal(-value if str(sign) == "-" else value, pos=_pos(meta))

    def primary_key_columns(self, meta, children):
        return ("PRIMARY", tuple(_nodes(children)[0]))

    def unique_columns(self, meta, children):
        return ("UNIQUE", tuple(_nodes(children)[0]))

    def using(self, meta, children):
        return ("USING", str(_nodes(children)[0]).lower())

    def create_collection(self, meta, children):
        parts = _nodes(children)
        name = next(p for p in parts if isinstance(p, str))
        engine = next((p[1] for p in parts if isinstance(p, tuple) and p[:1] == ("USING",)), None)
        return ast.CreateCollection(name, engine, ("IF",) in parts, pos=_pos(meta))

    def create_index(self, meta, children):
        parts = _nodes(children)
        names = [p for p in parts if isinstance(p, str)]
        index_parts = tuple(p for p in parts if isinstance(p, tuple) and p[:1] == ("PART",))
        return ast.CreateIndex(names[0], names[1], tuple(p[1] for p in index_parts),
                               _tokens(children, "UNIQUE"), ("IF",) in parts, pos=_pos(meta))

    def index_part(self, meta, children):
        path = children[0]
        if not all(isinstance(p, str) for p in path):
            raise QuerySyntaxError("an index is on column names or field paths", self._text, *_pos(meta))
        return ("PART", path)

    def create_view(self, meta, children):
        parts = _nodes(children)
        name = next(p for p in parts if isinstance(p, str))
        columns = next((tuple(p) for p in parts if isinstance(p, list)), ())
        as_token = [c for c in children if isinstance(c, Token) and c.type == "AS"][-1]
        text = self._text[as_token.end_pos:meta.end_pos].strip()  # stored, and parsed again on use
        return ast.CreateView(name, columns, parts[-1], text, ("IF",) in parts, ("TEMP",) in parts,
                              pos=_pos(meta))

    def temporary(self, meta, children):
        return ("TEMP",)

    def if_not_exists(self, meta, children):
        return ("IF",)

    def if_exists(self, meta, children):
        return ("IF",)

    def drop(self, meta, children):
        parts = _nodes(children)
        kind = next(p for p in parts if isinstance(p, tuple) and p[:1] == ("KIND",))[1]
        name = next(p for p in parts if isinstance(p, str))
        return ast.Drop(kind, name, ("IF",) in parts, pos=_pos(meta))

    def object_kind(self, meta, children):
        return ("KIND", str(children[0]).upper())

    def add_column(self, meta, children):
        parts = _nodes(children)
        return ast.AddColumn(parts[0], parts[-1], pos=_pos(meta))

    def rename_table(self, meta, children):
        parts = _nodes(children)
        return ast.RenameTable(parts[0], parts[1], pos=_pos(meta))

    def rename_column(self, meta, children):
        parts = _nodes(children)
        return ast.RenameColumn(parts[0], parts[1], parts[2], pos=_pos(meta))

    def drop_column(self, meta, children):
        parts = _nodes(children)
        return ast.DropColumn(parts[0], parts[1], pos=_pos(meta))

    # ----- expressions

    def or_(self, meta, children):
        return _balanced("OR", _nodes(children), _pos(meta))

    def and_(self, meta, children):
        return _balanced("AND", _nodes(children), _pos(meta))

    def not_(self, meta, children):
        return ast.Unary("NOT", children[-1], pos=_pos(meta))

    def binary(self, meta, children):
        left, op, right = children
        text = str(op)
        return ast.Binary({"==": "=", "<>": "!="}.get(text, text), left, right, pos=_pos(meta))

    def is_(self, meta, children):
        return ast.Is(children[0], children[-1], _tokens(children, "NOT"), pos=_pos(meta))

    def in_query(self, meta, children):
        return ast.InQuery(children[0], children[-1], _tokens(children, "NOT"), pos=_pos(meta))

    def in_list(self, meta, children):
        items = children[-1] if isinstance(children[-1], list) else []
        return ast.InList(children[0], tuple(items), _tokens(children, "NOT"), pos=_pos(meta))

    def in_value(self, meta, children):
        container = children[-1]
        if isinstance(container, tuple):  # a path_source: names and index expressions
            container = _path_expr(container, meta)
        return ast.InValue(children[0], container, _tokens(children, "NOT"), pos=_pos(meta))

    def like(self, meta, children):
        parts = _nodes(children)
        escape = parts[2] if len(parts) > 2 else None
        return ast.Like(parts[0], parts[1], escape, _tokens(children, "NOT"), pos=_pos(meta))

    def glob(self, meta, children):
        parts = _nodes(children)
        return ast.Like(parts[0], parts[1], None, _tokens(children, "NOT"), glob=True, pos=_pos(meta))

    def between(self, meta, children):
        parts = _nodes(children)
        return ast.Between(parts[0], parts[1], parts[2], _tokens(children, "NOT"), pos=_pos(meta))

    def null_test(self, meta, children):
        negated = _tokens(children, "NOTNULL") or _tokens(children, "NOT")
        return ast.NullTest(children[0], negated, pos=_pos(meta))

    def unary(self, meta, children):
        op, operand = children
        return ast.Unary(str(op), operand, pos=_pos(meta))

    def bit_not(self, meta, children):
        return ast.Unary("~", children[-1], pos=_pos(meta))

    def field(self, meta, children):
        return ast.Field(children[0], children[1], pos=_pos(meta))

    def field_string(self, meta, children):  # PartiQL's {...}.'a': a field named by a string literal
        return ast.Field(children[0], ast.Quoted(_unquote(children[1])), pos=_pos(meta))

    def index_star(self, meta, children):
        return ast.IndexStar(children[0], pos=_pos(meta))

    def field_star(self, meta, children):
        return ast.FieldStar(children[0], pos=_pos(meta))

    def index(self, meta, children):
        return ast.Index(children[0], children[1], pos=_pos(meta))

    def collate(self, meta, children):
        return ast.Collate(children[0], children[-1].upper(), pos=_pos(meta))

    def identifier(self, meta, children):
        return ast.Name(children[0], pos=_pos(meta))

    def scalar_subquery(self, meta, children):
        return ast.Subquery(children[0], pos=_pos(meta))

    def exists(self, meta, children):
        return ast.Exists(_nodes(children)[0], pos=_pos(meta))

    def case(self, meta, children):
        parts = _nodes(children)
        operand = None
        if parts and not isinstance(parts[0], tuple):
            operand, parts = parts[0], parts[1:]
        whens = tuple(p[1:] for p in parts if isinstance(p, tuple) and p[:1] == ("WHEN",))
        rest = [p for p in parts if not (isinstance(p, tuple) and p[:1] == ("WHEN",))]
        return ast.Case(operand, whens, rest[0] if rest else None, pos=_pos(meta))

    def when(self, meta, children):
        condition, result = _nodes(children)
        return ("WHEN", condition, result)

    def cast(self, meta, children):
        parts = _nodes(children)
        return ast.Cast(parts[0], parts[1][1], pos=_pos(meta))

    def call(self, meta, children):
        name = children[0].lower()
        args = next((c for c in children[1:] if isinstance(c, list)), [])
        return ast.Call(name, tuple(args), _tokens(children, "DISTINCT"), filter=_part(children, "FILTER"),
                        over=_part(children, "OVER"), pos=_pos(meta))

    def call_star(self, meta, children):
        return ast.Call(children[0].lower(), (), star=True, filter=_part(children, "FILTER"),
                        over=_part(children, "OVER"), pos=_pos(meta))

    def call_query(self, meta, children):  # PartiQL's COLL_COUNT(SELECT ...): the query's bag
        name, query = _nodes(children)
        return ast.Call(name.lower(), (ast.Subquery(query, bag=True, pos=_pos(meta)),), pos=_pos(meta))

    def row_constructor(self, meta, children):  # (a, b, ...): a row value, as an array of its values
        first, rest = _nodes(children)
        return ast.ArrayCtor((first, *rest), pos=_pos(meta))

    def like_call(self, meta, children):  # like(pattern, value[, escape]): SQLite's function form
        return ast.Call("like", tuple(_nodes(children)[0]), pos=_pos(meta))

    def filter_clause(self, meta, children):
        return ("FILTER", _nodes(children)[-1])

    def over_name(self, meta, children):
        return ("OVER", ast.Window(_nodes(children)[0], pos=_pos(meta)))

    def over_window(self, meta, children):
        return ("OVER", _nodes(children)[0])

    def object(self, meta, children):
        return ast.ObjectCtor(tuple(children), pos=_pos(meta))

    def pair(self, meta, children):
        return (children[0], children[1])

    def bag(self, meta, children):
        items = next((c for c in children if isinstance(c, list)), [])
        return ast.ArrayCtor(tuple(items), bag=True, pos=_pos(meta))

    def expression_statement(self, meta, children):
        expr = children[0]
        if isinstance(expr, ast.Name) and not isinstance(expr.name, ast.Quoted) \
                and expr.name.upper() in ("ANALYZE", "REINDEX"):  # a bare word: SQLite's statement
            raise UnsupportedSyntax(f"{expr.name.upper()} is not supported", self._text, *_pos(meta))
        select = ast.Select((), expr, pos=_pos(meta))
        return ast.Query(select, bare=True, pos=_pos(meta))

    def array(self, meta, children):
        return ast.ArrayCtor(tuple(children[0]) if children else (), pos=_pos(meta))

    def parameter(self, meta, children):
        token = children[0]
        text = str(token)
        if token.type == "QMARK":
            if len(text) > 1:  # ?NNN: 1-based, as in SQLite
                return ast.Param(int(text[1:]) - 1, None, pos=_pos(meta))
            self._qmarks += 1
            return ast.Param(self._qmarks - 1, None, pos=_pos(meta))
        return ast.Param(None, text[1:], pos=_pos(meta))

    def expr_list(self, meta, children):
        return list(children)

    def name_list(self, meta, children):
        return list(children)

    # ----- literals and names

    def number(self, meta, children):
        return ast.Literal(_number(str(children[0])), pos=_pos(meta))

    def string(self, meta, children):
        return ast.Literal(_unquote(children[0]), pos=_pos(meta))

    def blob(self, meta, children):
        return ast.Literal(bytes.fromhex(str(children[0])[2:-1]), pos=_pos(meta))

    def null(self, meta, children):
        return ast.Literal(None, pos=_pos(meta))

    def missing(self, meta, children):
        return ast.Literal(MISSING, pos=_pos(meta))

    def true(self, meta, children):
        return ast.Literal(True, pos=_pos(meta))

    def false(self, meta, children):
        return ast.Literal(False, pos=_pos(meta))

    def plain_name(self, meta, children):
        token = children[0]
        if token.upper() in _NEVER_NAMES:  # "SELECT a, FROM t": FROM read as a name would mislead
            message = (f"{token.upper()} is a keyword and cannot stand here as a name "
                       f'(write "{token}" to use it as one)')
            raise QuerySyntaxError(message, self._text, token.line, token.column)
        return str(token)

    def quoted_name(self, meta, children):
        return ast.Quoted(_unquote(children[0]))


# Keywords never read as names, even where the contextual lexer could take them for one:
# what SQLite reserves that would otherwise turn a slip into a misleading error.
_NEVER_NAME_WORDS = """
    SELECT FROM WHERE GROUP ORDER HAVING LIMIT UNION INTERSECT EXCEPT JOIN ON AND OR NOT AS INTO
    VALUES SET BY CASE WHEN THEN ELSE DISTINCT CREATE DROP INSERT UPDATE DELETE WITH IS IN
    BETWEEN LIKE EXISTS
"""
_NEVER_NAMES = frozenset(_NEVER_NAME_WORDS.split())


def _balanced(op: str, operands: list, pos: Any) -> Any:
    """``a OP b OP c ...`` as a balanced tree of ``Logical`` nodes: AND and OR are associative
    (in three-valued logic too) and it is still evaluated left to right, but its depth is
    the logarithm of its length, not the length."""
    if len(operands) == 1:
        return operands[0]
    middle = len(operands) // 2
    left, right = _balanced(op, operands[:middle], pos), _balanced(op, operands[middle:], pos)
    return ast.Logical(op, left, right, pos=pos)


def _number(text: str) -> int | float:
    if text[:2] in ("0x", "0X"):
        value = int(text, 16)
        return value - (1 << 64) if value >= 1 << 63 else value  # SQLite: 64-bit two's complement
    if any(c in text for c in ".eE"):
        return float(text)
    if len(text.lstrip("0")) > 19:  # too big for INTEGER: a REAL, as SQLite (and never a
        return float(text)  # conversion of thousands of digits to int)
    value = int(text)
    return value if value < 1 << 63 else float(value)


_INDEX_STAR, _FIELD_STAR = "[*]", ".*"


def _path_expr(path: tuple, meta: Any) -> ast.Expr:
    """A path_source (names, index expressions, wildcard steps) as an expression."""
    expr: ast.Expr = ast.Name(path[0], pos=_pos(meta))
    for part in path[1:]:
        if isinstance(part, _Star):
            expr = ast.IndexStar(expr, pos=_pos(meta)) if part == _INDEX_STAR else \
                ast.FieldStar(expr, pos=_pos(meta))
        elif isinstance(part, str):
            expr = ast.Field(expr, part, pos=_pos(meta))
        else:
            expr = ast.Index(expr, part, pos=_pos(meta))
    return expr


class _Star(str):
    """A wildcard step in a path_source."""

    __slots__ = ()
