"""Which value a name in a query means: the sources of a FROM clause and their slots.

A row flowing through a plan is one flat tuple. A table contributes one slot per
column; a collection, an unnested array element or a subquery of one ``VALUE``
contributes one slot holding the whole value (a document). ``Scope.resolve``
turns a name path (``a``, ``t.a``, ``c.address.city``) into the slot it starts
from plus the field path still to walk, looking outward through enclosing
queries for correlated subqueries (``depth`` > 0). Resolution follows SQL first
(columns of tables, then source aliases), then PartiQL (a name no table column
claims is a field of the one document source, MISSING when absent).
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from docdb.errors import ProgrammingError

__all__ = ["Ref", "Scope", "Source"]


@dataclass
class Source:
    alias: str
    columns: tuple[str, ...] | None  # None: one slot holding a whole value
    offset: int = 0
    origin: str = ""  # what it reads, for EXPLAIN and errors
    rowid: str | None = None  # a table's INTEGER PRIMARY KEY, which rowid, oid and _rowid_ name
    hidden: int = 0  # trailing columns * and a whole-row object leave out (a hidden row id)

    @property
    def shown(self) -> tuple[str, ...]:
        """The columns ``*`` expands to."""
        assert self.columns is not None
        return self.columns[:len(self.columns) - self.hidden]

    @property
    def width(self) -> int:
        return 1 if self.columns is None else len(self.columns)


ROWID_NAMES = ("rowid", "oid", "_rowid_")


@dataclass(frozen=True)
class Ref:
    depth: int  # 0: this query's row; n: the n-th enclosing query's row
    slot: int | None  # None: the whole table row, as an object
    rest: tuple  # field names (str) still to walk from the slot
    source: Source | None = None


@dataclass
class Scope:
    sources: list[Source] = field(default_factory=list)
    parent: Scope | None = None
    outer_hits: int = 0  # names of deeper (sub)queries resolved here: correlation, counted
    implicit_fields: bool = True  # a FROM scope: unclaimed names are fields of its one document
    merged: set[str] = field(default_factory=set)  # JOIN ... USING columns (lower case): one column
    first_wins: bool = False  # a name several sources hold is the first's (an upsert's stored row)

    def __post_init__(self) -> None:
        given, self.sources = self.sources, []
        for source in given:  # offsets follow the order given
            self.add(source)

    @property
    def width(self) -> int:
        return sum(s.width for s in self.sources)

    def add(self, source: Source) -> Source:
        if any(s.alias == source.alias for s in self.sources):  # "a" and "A" may differ (quoted)
            raise ProgrammingError(f"source name {source.alias!r} is used twice in one FROM clause")
        source.offset = self.width
        self.sources.append(source)
        return source

    def source(self, alias: str) -> Source | None:
        """The source called ``alias``: the one of that exact spelling, else any case."""
        exact = next((s for s in self.sources if s.alias == alias), None)
        if exact is not None:
            return exact
        alias = alias.lower()
        return next((s for s in self.sources if s.alias.lower() == alias), None)

    def resolve(self, path: tuple[str, ...]) -> Ref:
        """Names first (columns, sources, variables) out to the outermost scope; only then
        a field of a document source -- so a variable is never hidden by a missing field."""
        for implicit in (False, True):
            scope: Scope | None = self
            depth = 0
            while scope is not None:
                ref = scope._resolve_here(path, implicit)
                if ref is not None:
                    if depth:
                        scope.outer_hits += 1
                    return Ref(depth, ref.slot, ref.rest, ref.source)
                scope, depth = scope.parent, depth + 1
        raise ProgrammingError(f"no such column: {'.'.join(path)}")

    def chain_hits(self) -> int:
        """Correlated references into this scope or any enclosing one, so far."""
        scope: Scope | None = self
        total = 0
        while scope is not None:
            total += scope.outer_hits
            scope = scope.parent
        return total

    def resolve_here(self, path: tuple[str, ...]) -> Ref | None:
        """``resolve`` in this scope alone: None where an enclosing query would be asked."""
        return self._resolve_here(path, False) or self._resolve_here(path, True)

    def _resolve_here(self, path: tuple[str, ...], implicit: bool) -> Ref | None:
        first = path[0]
        lowered = first.lower()
        if len(path) > 1:  # t.column, or alias.field...
            src = self.source(first)
            if src is not None:
                return self._within(src, path[1:])
        owners = [s for s in self.sources if s.columns is not None
                  and any(c.lower() == lowered for c in s.columns)]
        if len(owners) > 1 and lowered not in self.merged and not self.first_wins:
            raise ProgrammingError(f"ambiguous column name: {first}")
        if owners:
            return self._within(owners[0], path)
        if lowered in ROWID_NAMES:  # SQLite's names for an INTEGER PRIMARY KEY
            keyed = [s for s in self.sources if s.rowid is not None]
            if len(keyed) > 1:
                raise ProgrammingError(f"ambiguous column name: {first}")
            if keyed:
                return self._within(keyed[0], (keyed[0].rowid, *path[1:]))
        src = self.source(first)
        if src is not None:
            return self._within(src, path[1:]) if src.columns is not None or len(path) > 1 \
                else Ref(0, src.offset, (), src)
        documents = [s for s in self.sources if s.columns is None]
        if implicit and len(documents) == 1 and self.implicit_fields:
            return Ref(0, documents[0].offset, path, documents[0])
        return None

    @staticmethod
    def _within(src: Source, path: tuple[str, ...]) -> Ref:
        if src.columns is None:
            return Ref(0, src.offset, path, src)
        if not path:
            return Ref(0, None, (), src)  # the whole row
        lowered = path[0].lower()
        for i, column in enumerate(src.columns):
            if column.lower() == lowered:
                return Ref(0, src.offset + i, path[1:], src)
        if lowered in ROWID_NAMES and src.rowid is not None and src.rowid.lower() != lowered:
            return Scope._within(src, (src.rowid, *path[1:]))
        raise ProgrammingError(f"no such column: {src.alias}.{path[0]}")
