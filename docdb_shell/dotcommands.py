"""The shell's dot-commands (``.tables``, ``.mode json``, ``.read FILE`` …), as sqlite3 has them.

``dispatch(session, line, source)`` runs one; ``COMMANDS`` maps each name to its
function, usage and one line of help (``.help`` prints them). Arguments are split
as a shell splits them, so a file name may be quoted. An unknown command is an
error that suggests the nearest known one.
May import: the standard library, ``docdb`` and ``docdb_shell``'s lower modules.
"""

from __future__ import annotations

import difflib
import fnmatch
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import docdb
from docdb.dump import index_statements, iterdump, object_ddl
from docdb_shell import transfer
from docdb_shell.render import MODES
from docdb_shell.runner import Quit, run_lines
from docdb_shell.session import Session
from docdb_shell.summary import field_summary

__all__ = ["COMMANDS", "dispatch", "help_rows", "schema_text"]


class Usage(Exception):
    """A dot-command given the wrong arguments."""


@dataclass(frozen=True)
class Command:
    run: Callable[[Session, list[str]], Any]
    usage: str
    help: str


COMMANDS: dict[str, Command] = {}


def command(usage: str, help: str) -> Callable:
    def register(function: Callable) -> Callable:
        COMMANDS[usage.split()[0]] = Command(function, usage, help)
        return function
    return register


def dispatch(session: Session, line: str, source: str | None = None) -> bool:
    """Run the dot-command ``line``; report a problem to the session and return False."""
    try:
        words = shlex.split(line)
    except ValueError as error:
        return _fail(session, source, f"cannot read {line!r}: {error}")
    name, args = words[0], words[1:]
    found = COMMANDS.get(name)
    if found is None:
        close = difflib.get_close_matches(name, COMMANDS, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]}?" if close else "; .help lists the commands"
        return _fail(session, source, f"unknown command {name}{hint}")
    try:
        result = found.run(session, args)
    except Usage as error:
        return _fail(session, source, f"{error or 'usage'}: {found.usage}")
    except (docdb.Error, transfer.TransferError, OSError) as error:
        return _fail(session, source, f"{name}: {error}")
    return result is not False


def _fail(session: Session, source: str | None, message: str) -> bool:
    session.err.write((f"{source}: " if source else "") + f"Error: {message}\n")
    return False


def _switch(args: list[str]) -> bool:
    if len(args) != 1 or args[0].lower() not in ("on", "off"):
        raise Usage("expected on or off")
    return args[0].lower() == "on"


def _lines(session: Session, text: str) -> None:
    session.out.write(text + ("\n" if text and not text.endswith("\n") else ""))


# ----- settings ---------------------------------------------------------------------------

@command(".mode [MODE]", f"show or set the output mode: {', '.join(MODES)}")
def _mode(session: Session, args: list[str]) -> None:
    if not args:
        _lines(session, f"current output mode: {session.settings.mode}")
    elif len(args) == 1 and args[0].lower() in MODES:
        session.settings.mode = args[0].lower()
    else:
        raise Usage(f"unknown mode {' '.join(args)!r}; choose one of {', '.join(MODES)}")


@command(".headers on|off", "show column names in table, box and csv output")
def _headers(session: Session, args: list[str]) -> None:
    session.settings.headers = _switch(args)


@command(".timer on|off", "print the time each statement takes")
def _timer(session: Session, args: list[str]) -> None:
    session.settings.timer = _switch(args)


@command(".explain on|off", "print each statement's plan before its result")
def _explain(session: Session, args: list[str]) -> None:
    session.settings.explain = _switch(args)


@command(".maxrows N", "print at most N rows of a result (0: all of them)")
def _maxrows(session: Session, args: list[str]) -> None:
    if len(args) != 1 or not args[0].isdigit():
        raise Usage("expected a number")
    session.settings.maxrows = int(args[0])


@command(".output [FILE]", "send results to FILE (no FILE: back to the screen)")
def _output(session: Session, args: list[str]) -> None:
    if len(args) > 1:
        raise Usage("expected at most one file")
    session.set_output(open(args[0], "w", encoding="utf-8") if args else None)  # noqa: SIM115


# ----- the database -----------------------------------------------------------------------

@command(".tables [PATTERN]", "list the tables and views (names matching a LIKE pattern)")
def _tables(session: Session, args: list[str]) -> None:
    names = sorted(session.conn.tables() + session.conn.views())
    _lines(session, "  ".join(_matching(names, args)))


@command(".collections [PATTERN]", "list the collections")
def _collections(session: Session, args: list[str]) -> None:
    _lines(session, "  ".join(_matching(session.conn.collections(), args)))


def _matching(names: list[str], args: list[str]) -> list[str]:
    if not args:
        return names
    pattern = args[0].replace("%", "*").replace("_", "?").lower()
    return [n for n in names if fnmatch.fnmatchcase(n.lower(), pattern)]


def _objects(session: Session, args: list[str]) -> list[str]:
    conn = session.conn
    every = sorted(conn.tables() + conn.collections() + conn.views())
    if not args:
        return every
    missing = [a for a in args if a not in every]
    if missing:
        raise docdb.ProgrammingError(f"no table, collection or view named {missing[0]!r}")
    return args


def schema_text(conn: Any, name: str) -> str:
    """The DDL of ``name`` and its indexes; for a collection, a summary of its fields too."""
    description = conn.describe(name)
    lines = [object_ddl(description)] + index_statements(description)
    if description["kind"] == "collection":
        lines += field_summary(conn.collection(name))
    return "\n".join(lines)


@command(".schema [NAME…]", "the statements that define tables, collections (with a field summary) and views")
def _schema(session: Session, args: list[str]) -> None:
    for name in _objects(session, args):
        _lines(session, schema_text(session.conn, name))


@command(".indexes [NAME]", "list the indexes (of one table or collection)")
def _indexes(session: Session, args: list[str]) -> None:
    rows = []
    for name in _objects(session, args):
        for index, spec in session.conn.describe(name).get("indexes", {}).items():
            rows.append((index, name, ", ".join(spec["fields"]), spec["unique"]))
    MODES[session.settings.mode](["index", "on", "fields", "unique"], rows, session.out,
                                 session.settings.headers)


@command(".dump [NAME…]", "a script that recreates the database (or the objects named)")
def _dump(session: Session, args: list[str]) -> None:
    names = _objects(session, args) if args else None
    for statement in iterdump(session.conn, names):
        session.out.write(statement + "\n")


@command(".open [PATH]", "close this database and open PATH (no PATH: a new in-memory one)")
def _open(session: Session, args: list[str]) -> None:
    if len(args) > 1:
        raise Usage("expected at most one path")
    session.open(args[0] if args else None)


@command(".read FILE", "run the statements and dot-commands of FILE")
def _read(session: Session, args: list[str]) -> bool:
    if len(args) != 1:
        raise Usage("expected one file")
    with open(args[0], encoding="utf-8") as f:
        return run_lines(session, f, dispatch, args[0], stop_on_error=True) == 0


@command(".import FILE NAME", "insert the records of a .jsonl, .json or .csv file into NAME")
def _import(session: Session, args: list[str]) -> bool:
    if len(args) != 2:
        raise Usage("expected a file and a name")
    report = transfer.import_file(session.conn, args[0], args[1])
    for problem in report.errors:
        session.err.write(problem + "\n")
    what = f" into the new {report.created}" if report.created else ""
    session.console.write(f"{report.inserted:,} records imported{what} {args[1]}"
                          + (" (stopped at the error; its batch was not committed)" if report.stopped else "")
                          + "\n")
    return not report.errors


@command(".export NAME FILE", "write NAME to FILE as JSON Lines, JSON or CSV (by its extension)")
def _export(session: Session, args: list[str]) -> None:
    if len(args) != 2:
        raise Usage("expected a name and a file")
    fmt = transfer.guess_format(args[1])
    with open(args[1], "w", encoding="utf-8", newline="") as out:
        count = transfer.export(session.conn, args[0], out, fmt)
    session.console.write(f"{count:,} records exported to {args[1]}\n")


def help_rows() -> list[tuple[str, str]]:
    """(usage, help) of each command, in order (``.exit`` and ``.quit`` are one)."""
    return sorted({c.usage: c.help for c in COMMANDS.values()}.items())


@command(".help", "this list")
def _help(session: Session, args: list[str]) -> None:
    rows = help_rows()
    width = max(len(usage) for usage, _help in rows)
    _lines(session, "\n".join(f"{usage.ljust(width)}  {text}" for usage, text in rows))


@command(".quit", "leave the shell (.exit too); an open transaction is rolled back")
def _quit(session: Session, args: list[str]) -> None:
    raise Quit()


COMMANDS[".exit"] = COMMANDS[".quit"]
