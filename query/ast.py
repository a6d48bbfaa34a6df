"""The query language's syntax tree: frozen dataclasses, built by ``query.parser`` only.

Nothing here knows Lark, tables or values: later stages (``query.planner``,
``query.expressions``) read these nodes and never the parse tree, so the grammar
can change without touching them. Every node that an error can point at carries
``pos`` (line, column), which error messages quote.
May import: the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Pos = tuple[int, int]  # (line, column), 1-based


class Quoted(str):
    """A name written in double quotes: matched exactly, where a bare name ignores case."""

    __slots__ = ()


@dataclass(frozen=True)
class Node:
    pos: Pos = field(default=(0, 0), compare=False, kw_only=True)


# ----- expressions ----------------------------------------------------------------------

class Expr(Node):
    """Marker base of expressions."""


@dataclass(frozen=True)
class Literal(Expr):
    value: Any  # None, int, float, str, bytes, bool, or query.values.MISSING


@dataclass(frozen=True)
class CurrentTime(Expr):
    """CURRENT_TIMESTAMP, CURRENT_DATE or CURRENT_TIME: the UTC time now, as SQLite's text."""

    kind: str  # the keyword, upper case


@dataclass(frozen=True)
class Param(Expr):
    index: int | None  # 0-based position of a ``?``
    name: str | None  # a ``:name`` parameter


@dataclass(frozen=True)
class Name(Expr):
    name: str


@dataclass(frozen=True)
class Field(Expr):
    base: Expr
    name: str


@dataclass(frozen=True)
class FieldStar(Expr):
    base: Expr  # ``t.*``


@dataclass(frozen=True)
class StarStruct(Expr):
    """PartiQL's ``*`` (or ``t.*``): one struct merging the named sources' fields."""
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Index(Expr):
    base: Expr
    index: Expr


@dataclass(frozen=True)
class IndexStar(Expr):
    """``base[*]``: every element of an array (PartiQL's wildcard step)."""
    base: Expr


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # "-", "+", "~", "NOT"
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "||", "&", "|", "<<", ">>"
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Logical(Expr):
    op: str  # "AND", "OR"
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Is(Expr):
    left: Expr
    right: Expr
    negated: bool


@dataclass(frozen=True)
class InList(Expr):
    left: Expr
    items: tuple[Expr, ...]
    negated: bool


@dataclass(frozen=True)
class InQuery(Expr):
    left: Expr
    query: Query
    negated: bool


@dataclass(frozen=True)
class InValue(Expr):
    """``x IN c.tags``: membership in an array value."""
    left: Expr
    container: Expr
    negated: bool


@dataclass(frozen=True)
class Like(Expr):
    left: Expr
    pattern: Expr
    escape: Expr | None
    negated: bool
    glob: bool = False


@dataclass(frozen=True)
class Between(Expr):
    value: Expr
    low: Expr
    high: Expr
    negated: bool


@dataclass(frozen=True)
class NullTest(Expr):
    value: Expr
    negated: bool  # NOTNULL / NOT NULL


@dataclass(frozen=True)
class Case(Expr):
    operand: Expr | None
    whens: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr | None


@dataclass(frozen=True)
class Cast(Expr):
    value: Expr
    type_name: str


@dataclass(frozen=True)
class Call(Expr):
    name: str  # lower case
    args: tuple[Expr, ...]
    distinct: bool = False
    star: bool = False  # count(*)
    filter: Expr | None = None  # an aggregate's FILTER (WHERE ...): only rows it holds for count
    over: Window | None = None  # a window function call: f(...) OVER (...)


@dataclass(frozen=True)
class Frame(Node):
    """A window's frame: ``unit`` ROWS, RANGE or GROUPS; each bound a kind -- UNBOUNDED
    PRECEDING, PRECEDING, CURRENT ROW, FOLLOWING, UNBOUNDED FOLLOWING -- and its offset
    expression (for PRECEDING and FOLLOWING); ``exclude`` NO OTHERS, CURRENT ROW, GROUP or TIES."""
    unit: str
    start: tuple[str, Expr | None]
    end: tuple[str, Expr | None] = ("CURRENT ROW", None)
    exclude: str = "NO OTHERS"


@dataclass(frozen=True)
class Window(Node):
    """``OVER (base PARTITION BY ... ORDER BY ... frame)``; ``OVER w`` is ``Window(base="w")``."""
    base: str | None = None
    partition: tuple[Expr, ...] = ()
    order: tuple[Ordering, ...] = ()
    frame: Frame | None = None


@dataclass(frozen=True)
class Exists(Expr):
    query: Query


@dataclass(frozen=True)
class Subquery(Expr):
    query: Query
    bag: bool = False  # PartiQL: the subquery's whole answer, a bag -- not its one value


@dataclass(frozen=True)
class ObjectCtor(Expr):
    pairs: tuple[tuple[Expr, Expr], ...]


@dataclass(frozen=True)
class ArrayCtor(Expr):
    items: tuple[Expr, ...]
    bag: bool = False  # <<...>>: unordered, and not indexable


@dataclass(frozen=True)
class Collate(Expr):
    value: Expr
    collation: str


# ----- queries --------------------------------------------------------------------------

@dataclass(frozen=True)
class Star(Node):
    """``*`` in a select list."""


@dataclass(frozen=True)
class ResultColumn(Node):
    expr: Expr
    alias: str | None
    text: str = field(default="", compare=False)  # as written: the column's name without an alias


@dataclass(frozen=True)
class NamedSource(Node):
    """A table, collection, view or CTE by name -- or a path into an earlier source
    (``o.items``), which unnests it."""
    path: tuple[Any, ...]  # names (str) and index expressions
    alias: str | None
    at: str | None = None
    not_indexed: bool = False  # SQLite's NOT INDEXED: read the table, use no index


@dataclass(frozen=True)
class SubquerySource(Node):
    query: Query
    alias: str | None  # None: named by its position, _1, _2 ...


@dataclass(frozen=True)
class UnnestSource(Node):
    """FROM over a value: its elements (an array or bag), or the value itself; with
    ``unpivot``, a struct's values, ``at`` naming their keys (for an array: positions)."""
    value: Expr
    alias: str | None
    at: str | None = None
    unpivot: bool = False


@dataclass(frozen=True)
class FunctionSource(Node):
    """A table-valued function in FROM: ``json_each(doc, '$.a') AS j``."""
    name: str  # lower case
    args: tuple[Expr, ...]
    alias: str | None = None


@dataclass(frozen=True)
class Join(Node):
    kind: str  # "INNER", "LEFT", "CROSS"
    left: Any
    right: Any
    on: Expr | None = None
    using: tuple[str, ...] = ()


@dataclass(frozen=True)
class Select(Node):
    columns: tuple[Star | ResultColumn, ...]
    value: Expr | None = None  # SELECT VALUE expr
    distinct: bool = False
    sources: tuple[Any, ...] = ()
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    having: Expr | None = None
    windows: tuple[tuple[str, Window], ...] = ()  # WINDOW name AS (...), ...
    group_names: tuple[str | None, ...] = ()  # PartiQL's GROUP BY expr AS name, one per key
    group_as: str | None = None  # PartiQL's GROUP AS g: each group's rows, as a bag of structs
    pivot: bool = False  # PartiQL's PIVOT v AT k: ``value`` is [k, v]; the rows fold into one struct


@dataclass(frozen=True)
class Values(Node):
    rows: tuple[tuple[Expr, ...], ...]
    single: bool = False  # rows of one value each (objects, parameters), not tuples


@dataclass(frozen=True)
class SetOperation(Node):
    op: str  # "UNION", "UNION ALL", "INTERSECT", "EXCEPT"
    left: Any
    right: Any


@dataclass(frozen=True)
class Ordering(Node):
    expr: Expr
    descending: bool = False
    nulls_first: bool | None = None  # None: NULLs sort as the smallest values (SQLite)


@dataclass(frozen=True)
class Cte(Node):
    name: str
    columns: tuple[str, ...]
    query: Query


@dataclass(frozen=True)
class Query(Node):
    body: Any  # Select | Values | SetOperation
    order_by: tuple[Ordering, ...] = ()
    limit: Expr | None = None
    offset: Expr | None = None
    ctes: tuple[Cte, ...] = ()
    recursive: bool = False  # WITH RECURSIVE: a CTE may read itself
    bare: bool = False  # a statement that is just an expression: its value, not a bag of rows


# ----- data changes ---------------------------------------------------------------------

@dataclass(frozen=True)
class Assign(Node):
    target: tuple[Any, ...]  # path: names and index expressions
    value: Expr


@dataclass(frozen=True)
class Unset(Node):
    target: tuple[Any, ...]


@dataclass(frozen=True)
class OnConflict(Node):
    columns: tuple[str, ...]
    changes: tuple[Assign, ...] = ()  # empty: DO NOTHING
    where: Expr | None = None


@dataclass(frozen=True)
class Insert(Node):
    target: str
    columns: tuple[str, ...]
    source: Any  # Query, or ("VALUE", expr), or "DEFAULT"
    on_conflict: OnConflict | None = None
    returning: tuple[Star | ResultColumn, ...] = ()
    or_action: str | None = None  # IGNORE, REPLACE, ABORT, FAIL, ROLLBACK


@dataclass(frozen=True)
class Update(Node):
    target: str
    alias: str | None
    changes: tuple[Assign | Unset, ...]
    where: Expr | None = None
    returning: tuple[Star | ResultColumn, ...] = ()


@dataclass(frozen=True)
class Delete(Node):
    target: str
    alias: str | None
    where: Expr | None = None
    returning: tuple[Star | ResultColumn, ...] = ()


# ----- definitions and control ----------------------------------------------------------

@dataclass(frozen=True)
class Check(Node):
    """CHECK (expr): ``text`` is the expression as written, which the catalog keeps."""
    expr: Expr
    text: str
    name: str | None = None  # CONSTRAINT name


@dataclass(frozen=True)
class ForeignKey(Node):
    """FOREIGN KEY (columns) REFERENCES parent (parent_columns) ON DELETE ... ON UPDATE ..."""
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...] = ()  # empty: the parent's primary key
    on_delete: str = "NO ACTION"  # CASCADE, SET NULL, SET DEFAULT, RESTRICT, NO ACTION
    on_update: str = "NO ACTION"
    name: str | None = None


@dataclass(frozen=True)
class ColumnDef(Node):
    name: str
    type_name: str | None
    primary_key: bool = False
    not_null: bool = False
    unique: bool = False
    default: Expr | None = None
    autoincrement: bool = False
    checks: tuple[Check, ...] = ()
    references: ForeignKey | None = None


@dataclass(frozen=True)
class CreateTable(Node):
    name: str
    columns: tuple[ColumnDef, ...]
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    engine: str | None = None
    if_not_exists: bool = False
    temporary: bool = False  # CREATE TEMP TABLE: this connection's alone, gone when it closes
    checks: tuple[Check, ...] = ()  # table CHECKs (a column's are on its ColumnDef)
    foreign_keys: tuple[ForeignKey, ...] = ()  # table FOREIGN KEYs (a column's REFERENCES too)


@dataclass(frozen=True)
class CreateTableAs(Node):
    """CREATE TABLE t AS SELECT ...: columns named and typed by the query's result"""

    name: str
    query: Query
    engine: str | None = None
    if_not_exists: bool = False
    temporary: bool = False


@dataclass(frozen=True)
class Pragma(Node):
    """PRAGMA name [(value) | = value]"""

    name: str
    value: Any = None  # a name, a number or text; None when not given


@dataclass(frozen=True)
class CreateCollection(Node):
    name: str
    engine: str | None = None
    if_not_exists: bool = False


@dataclass(frozen=True)
class CreateIndex(Node):
    name: str
    target: str
    parts: tuple[tuple[str, ...], ...]  # each a path of names
    unique: bool = False
    if_not_exists: bool = False


@dataclass(frozen=True)
class CreateView(Node):
    name: str
    columns: tuple[str, ...]
    query: Query
    text: str  # the view's SQL, as stored in the catalog
    if_not_exists: bool = False
    temporary: bool = False  # lives as long as the connection, seen by it alone


@dataclass(frozen=True)
class Drop(Node):
    kind: str  # TABLE, COLLECTION, INDEX, VIEW
    name: str
    if_exists: bool = False


@dataclass(frozen=True)
class AddColumn(Node):
    table: str
    column: ColumnDef


@dataclass(frozen=True)
class RenameTable(Node):
    table: str
    new_name: str


@dataclass(frozen=True)
class RenameColumn(Node):
    table: str
    column: str
    new_name: str


@dataclass(frozen=True)
class DropColumn(Node):
    table: str
    column: str


@dataclass(frozen=True)
class Begin(Node):
    """BEGIN [DEFERRED | IMMEDIATE | EXCLUSIVE] [TRANSACTION]"""

    immediate: bool = False  # IMMEDIATE or EXCLUSIVE: take the writer lock now


@dataclass(frozen=True)
class Savepoint(Node):
    """SAVEPOINT name"""

    name: str


@dataclass(frozen=True)
class Release(Node):
    """RELEASE [SAVEPOINT] name"""

    name: str


@dataclass(frozen=True)
class Vacuum(Node):
    """VACUUM [schema]: compacts every store (docdb's way of giving back dead space)"""


@dataclass(frozen=True)
class Commit(Node):
    """COMMIT or END"""


@dataclass(frozen=True)
class Rollback(Node):
    """ROLLBACK [TRANSACTION] [TO [SAVEPOINT] name]"""

    to: str | None = None


@dataclass(frozen=True)
class Explain(Node):
    statement: Any
    analyze: bool = False  # EXPLAIN ANALYZE: run it, and say rows and time per plan node
