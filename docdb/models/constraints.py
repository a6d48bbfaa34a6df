"""CHECK and FOREIGN KEY constraints of tables: their catalog form, and the rules a row write obeys.

A table's catalog entry may hold ``"checks"``: ``[{"name": str | None, "sql": "a > 0"}]``
and ``"foreign_keys"``: ``[{"name", "columns": [...], "parent": "p", "parent_columns":
[...] (empty: the parent's primary key), "on_delete", "on_update"}]`` with actions
``NO ACTION``, ``RESTRICT``, ``CASCADE``, ``SET NULL``, ``SET DEFAULT``.

Every row write of a table passes ``Table._write``, which asks this module:

- ``check_row``: each CHECK must not be false (NULL passes, as in SQL). A CHECK is SQL;
  the models cannot compile it, so the query layer installs the compiler
  (``install_check_compiler``) when it is imported -- which ``docdb.connect`` does.
- ``check_parent``: a child row's foreign key, unless a part of it is NULL, must name a row
  of the parent table (by its primary key, or a UNIQUE index on the parent columns).
- what a change of a parent row does to the rows referencing it (``referencing``): refused
  (NO ACTION, RESTRICT), passed on (CASCADE), or the children's keys set NULL or to their
  defaults. ``Table`` carries the actions out through its own writes, so they are part of
  the statement and undone with it; a cascade that reaches a row already gone stops there.

Unlike SQLite, foreign keys are enforced without ``PRAGMA foreign_keys = ON``, and each row
is checked as it is written (SQLite checks immediate constraints at the statement's end).
May import: the standard library, ``docdb.errors`` and ``docdb.models``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from docdb.errors import IntegrityError, ProgrammingError

__all__ = ["ACTIONS", "Rules", "check_items", "install_check_compiler", "install_check_loader",
           "normalized_checks", "normalized_foreign_keys", "rules_for"]

ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")

# (table, column names, CHECK's SQL) -> predicate(row) -> True, False or None; see query.checks
CheckCompiler = Callable[[str, list[str], str], Callable[[tuple], Any]]
_compiler: list[CheckCompiler] = []


_loader: list[Callable[[], None]] = []


def install_check_compiler(compiler: CheckCompiler) -> None:
    """How CHECK expressions are compiled: the query layer's, installed on its import."""
    _compiler[:] = [compiler]


def install_check_loader(loader: Callable[[], None]) -> None:
    """What installs the compiler when a CHECK is met before the query layer was loaded
    (``docdb.connection`` gives it: it loads the query layer on first use)."""
    _loader[:] = [loader]


def check_items(checks: Any) -> list[dict]:
    """CHECKs as the API takes them -- SQL expressions, ``{"name", "sql"}`` dicts, or a dict
    of name -> expression -- as a list of ``{"name", "sql"}``."""
    if checks is None:
        return []
    if isinstance(checks, dict):
        return [{"name": name, "sql": sql} for name, sql in checks.items()]
    return [c if isinstance(c, dict) else {"name": None, "sql": c} for c in checks]


def normalized_checks(table: str, columns: list[str], checks: Any) -> list[dict]:
    """``checks`` (any form ``check_items`` takes) in catalog form, each compiled once to
    refuse a bad one now rather than at the first write."""
    out = []
    for item in check_items(checks):
        name, sql = item.get("name"), item.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise ProgrammingError(f"table {table}: a CHECK is an SQL expression, not {sql!r}")
        _compile(table, columns, sql)
        out.append({"name": name, "sql": sql.strip()})
    return out


def normalized_foreign_keys(table: str, columns: list[str], keys: Any) -> list[dict]:
    """``keys`` -- dicts of columns, parent, parent_columns, on_delete, on_update, name -- in
    catalog form, with their columns checked against the table's."""
    out = []
    for key in keys or ():
        if not isinstance(key, dict) or "parent" not in key or not key.get("columns"):
            raise ProgrammingError(f"table {table}: a foreign key is a dict with 'columns' and 'parent', "
                                   f"not {key!r}")
        unknown = set(key) - {"columns", "parent", "parent_columns", "on_delete", "on_update", "name"}
        if unknown:
            raise ProgrammingError(f"table {table}: a foreign key has no {sorted(unknown)[0]!r}")
        own = [key["columns"]] if isinstance(key["columns"], str) else list(key["columns"])
        folded = {c.lower(): c for c in columns}
        for column in own:
            if column.lower() not in folded:
                raise ProgrammingError(f"unknown column \"{column}\" in foreign key definition of {table}")
        parent_columns = list(key.get("parent_columns") or ())
        if parent_columns and len(parent_columns) != len(own):
            raise ProgrammingError(f"table {table}: foreign key on {', '.join(own)} names "
                                   f"{len(parent_columns)} columns of {key['parent']}")
        actions = {}
        for which in ("on_delete", "on_update"):
            action = str(key.get(which) or "NO ACTION").upper()
            if action not in ACTIONS:
                raise ProgrammingError(f"table {table}: {which} is one of {', '.join(ACTIONS)}, "
                                       f"not {action!r}")
            actions[which] = action
        out.append({"name": key.get("name"), "columns": [folded[c.lower()] for c in own],
                    "parent": str(key["parent"]), "parent_columns": parent_columns, **actions})
    return out


def _compile(table: str, columns: list[str], sql: str) -> Callable[[tuple], Any]:
    if not _compiler and _loader:
        _loader[0]()
    if not _compiler:
        raise ProgrammingError("CHECK constraints need the query layer: use docdb.connect")
    return _compiler[0](table, columns, sql)


@dataclass
class Check:
    label: str  # its name, or its SQL
    sql: str
    holds: Callable[[tuple], Any]


@dataclass
class Rules:
    """What one version of a table's catalog entry asks of each row written."""
    checks: list[Check]
    foreign_keys: list[dict]

    def check_row(self, table: str, columns: list[str], row: tuple) -> None:
        for check in self.checks:
            if check.holds(row) is False:
                shown = ", ".join(f"{c} = {v!r:.60}" for c, v in zip(columns, row)
                                  if c.lower() in check.sql.lower())
                raise IntegrityError(f"CHECK constraint failed: {check.label} (table {table}"
                                     + (f": {shown})" if shown else ")"))


def rules_for(table: str, columns: list[str], entry: dict) -> Rules:
    checks = [Check(c["name"] or c["sql"], c["sql"], _compile(table, columns, c["sql"]))
              for c in entry.get("checks", ())]
    return Rules(checks, list(entry.get("foreign_keys", ())))
