"""The ``docdb`` command: the interactive shell, the script runner, import, export and upkeep.

    docdb shell [PATH] [--demo]          the interactive shell (no PATH: in memory)
    docdb run PATH SCRIPT… [--continue] [--echo]
    docdb query PATH "STATEMENT" [--json|--jsonl|--csv|--table] [-p NAME VALUE]…
    docdb import PATH FILE --into NAME   JSON Lines, JSON arrays, CSV
    docdb export PATH NAME [-o FILE] [--format jsonl|json|csv]
    docdb dump PATH [NAME…]              a script that ``docdb run`` loads back
    docdb stats PATH / docdb compact PATH

Every command works in autocommit mode, as the sqlite3 shell does; the parts live
in ``docdb_shell``. It may import only docdb's public API and ``docdb_shell``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import click
import orjson

import docdb
from docdb_shell import transfer
from docdb_shell.demo import EXAMPLES, load_demo
from docdb_shell.dotcommands import dispatch
from docdb_shell.render import MODES
from docdb_shell.runner import Quit, run_lines
from docdb_shell.session import INTERACTIVE_MAXROWS, Session, Settings

__all__ = ["main"]

ENGINES = click.Choice(["lsm", "hash"])
EXISTING = click.Path(exists=True, file_okay=False)


@click.group(help="docdb: an embedded database for JSON documents and relational tables.")
@click.version_option(version=docdb.__version__, prog_name="docdb")
def main() -> None:
    """The command group; each verb below is one subcommand."""


@contextlib.contextmanager
def _session(path: str | None, engine: str = "lsm", **settings: Any) -> Iterator[Session]:
    """A session on ``path``; a database that cannot be opened is a clean error, not a traceback."""
    try:
        session = Session(path, settings=Settings(**settings), engine=engine)
    except docdb.Error as error:
        raise click.ClickException(str(error)) from None
    try:
        yield session
    finally:
        session.close()


def _stdin_lines() -> Iterator[str]:
    return iter(sys.stdin.readline, "")


# ----- the shell and scripts -----------------------------------------------------------------

@main.command()
@click.argument("path", required=False)
@click.option("--demo", is_flag=True, help="Load the demo shop (customers, products, orders) first.")
@click.option("--engine", type=ENGINES, default="lsm", show_default=True,
              help="Engine of new tables and collections.")
def shell(path: str | None, demo: bool, engine: str) -> None:
    """The interactive shell on the database at PATH (no PATH: a new in-memory one).

    With standard input not a terminal it runs what it reads, as sqlite3 does:
    no prompts, results to stdout, errors to stderr, exit status 1 after an error.
    """
    interactive = sys.stdin.isatty()
    with _session(path, engine, maxrows=INTERACTIVE_MAXROWS if interactive else 0) as session:
        if demo:
            loaded = load_demo(session.conn)
            if interactive:
                _demo_banner(loaded)
        if not interactive:
            try:
                errors = run_lines(session, _stdin_lines(), dispatch, None, stop_on_error=False)
            except Quit:
                errors = 0
            sys.exit(1 if errors else 0)
        from docdb_shell.repl import interact  # prompt_toolkit loads only for a terminal

        click.echo(f"docdb {docdb.__version__} on {path or 'an in-memory database'}. "
                   "Statements end with ';'; .help lists the commands; Ctrl-D leaves.")
        interact(session)


def _demo_banner(loaded: bool) -> None:
    if not loaded:
        click.echo("The demo objects already exist here; nothing was loaded.")
        return
    click.echo("Loaded the demo: tables customers and products, collection orders. Try:\n")
    for title, query in EXAMPLES:
        click.echo(f"  -- {title}\n  {query}\n")


@main.command()
@click.argument("path")
@click.argument("scripts", nargs=-1, required=True)
@click.option("--continue", "keep_going", is_flag=True, help="Go on after a failing statement.")
@click.option("--echo", is_flag=True, help="Print each statement before running it.")
@click.option("--engine", type=ENGINES, default="lsm", show_default=True)
def run(path: str, scripts: tuple[str, ...], keep_going: bool, echo: bool, engine: str) -> None:
    """Run the query-language SCRIPTS (- for standard input) on the database at PATH.

    The first failing statement stops the run with FILE:LINE:COLUMN and the message,
    and the exit status is 1 (with --continue, the run goes on and still exits 1).
    """
    errors = 0
    with _session(path, engine, echo=echo) as session:
        for script in scripts:
            try:
                if script == "-":
                    errors += run_lines(session, _stdin_lines(), dispatch, "<stdin>", not keep_going)
                else:
                    with open(script, encoding="utf-8") as f:
                        errors += run_lines(session, f, dispatch, script, not keep_going)
            except OSError as error:
                raise click.ClickException(f"cannot read {script}: {error.strerror}") from None
            except Quit:
                break
            if errors and not keep_going:
                break
    if errors:
        sys.exit(1)


def _parameter(text: str) -> Any:
    """A -p value: JSON if it reads as JSON (numbers, true, null, objects…), else the text."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


@main.command()
@click.argument("path")
@click.argument("statement")
@click.option("--json", "fmt", flag_value="json", default=True, help="A JSON array of objects (the default).")
@click.option("--jsonl", "fmt", flag_value="jsonl", help="One JSON object per line.")
@click.option("--csv", "fmt", flag_value="csv", help="CSV with a header row.")
@click.option("--table", "fmt", flag_value="table", help="An aligned table, for people.")
@click.option("-p", "--param", "params", type=(str, str), multiple=True, metavar="NAME VALUE",
              help="Bind :NAME to VALUE (read as JSON when it can be: 1 is a number, '\"1\"' text).")
def query(path: str, statement: str, fmt: str, params: tuple[tuple[str, str], ...]) -> None:
    """Run one STATEMENT on the database at PATH and print its result for other programs."""
    bound = {name.lstrip(":$@"): _parameter(value) for name, value in params}
    with _session(path) as session:
        try:
            cursor = session.conn.execute(statement, bound)
            if cursor.description is None:
                columns, rows = ["rows_affected"], [(cursor.rowcount,)]
            else:
                columns, rows = [d[0] for d in cursor.description], cursor
            MODES[fmt](columns, rows, sys.stdout)
        except docdb.Error as error:
            raise click.ClickException(str(error)) from None


# ----- import, export, dump -------------------------------------------------------------------

@main.command("import")
@click.argument("path")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--into", "name", required=True, help="The table or collection (made if missing).")
@click.option("--format", "fmt", type=click.Choice(transfer.FORMATS), help="Default: from FILE's extension.")
@click.option("--as", "create", type=click.Choice(["table", "collection"]),
              help="What to make if NAME is missing (default: a table from CSV, a collection from JSON).")
@click.option("--batch-size", default=1000, show_default=True, help="Records per transaction.")
@click.option("--skip-errors", is_flag=True, help="Report a bad record and go on without it.")
def import_(path: str, file: str, name: str, fmt: str | None, create: str | None, batch_size: int,
            skip_errors: bool) -> None:
    """Insert the records of FILE (JSON Lines, a JSON array or CSV) into NAME."""
    size = os.path.getsize(file)
    with _session(path) as session, _progress(size) as progress:
        try:
            report = transfer.import_file(session.conn, file, name, fmt, batch_size=batch_size,
                                          skip_errors=skip_errors, create=create, progress=progress)
        except (transfer.TransferError, docdb.Error) as error:
            raise click.ClickException(str(error)) from None
    for problem in report.errors:
        click.echo(problem, err=True)
    made = f" (created {report.created} {name})" if report.created else ""
    click.echo(f"{report.inserted:,} records imported into {name}{made}", err=True)
    if report.stopped:
        click.echo("Stopped at the first bad record; its batch was not committed "
                   "(--skip-errors goes on without it).", err=True)
    if report.errors:
        sys.exit(1)


@contextlib.contextmanager
def _progress(size: int) -> Iterator[Any]:
    """A progress bar on stderr for a file over 1 MB (click shows none when stderr is no terminal)."""
    if size < 1 << 20:
        yield None
        return
    with click.progressbar(length=size, label="importing", file=sys.stderr) as bar:
        done = 0

        def advance(position: int) -> None:
            nonlocal done
            bar.update(position - done)
            done = position

        yield advance


@main.command()
@click.argument("path", type=EXISTING)
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file, not stdout.")
@click.option("--format", "fmt", type=click.Choice(transfer.FORMATS),
              help="Default: from the output file's extension, else jsonl.")
def export(path: str, name: str, output: str | None, fmt: str | None) -> None:
    """Write the table, collection or view NAME as JSON Lines, a JSON array or CSV."""
    if fmt is None:
        fmt = transfer.guess_format(output, default="jsonl") if output else "jsonl"
    with _session(path) as session:
        try:
            if output is None:
                transfer.export(session.conn, name, sys.stdout, fmt)
            else:
                with open(output, "w", encoding="utf-8", newline="") as out:
                    count = transfer.export(session.conn, name, out, fmt)
                click.echo(f"{count:,} records exported to {output}", err=True)
        except docdb.Error as error:
            raise click.ClickException(str(error)) from None


@main.command()
@click.argument("path", type=EXISTING)
@click.argument("names", nargs=-1)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file, not stdout.")
def dump(path: str, names: tuple[str, ...], output: str | None) -> None:
    """Print a script that recreates the database (or the objects NAMES): definitions, data,
    indexes and views. `docdb run NEWPATH dump.sql` loads it back."""
    from docdb.dump import iterdump

    with _session(path) as session:
        try:
            with open(output, "w", encoding="utf-8") if output else contextlib.nullcontext(sys.stdout) as out:
                for statement in iterdump(session.conn, list(names) or None):
                    out.write(statement + "\n")
        except docdb.Error as error:
            raise click.ClickException(str(error)) from None


# ----- upkeep ---------------------------------------------------------------------------------

@main.command()
@click.argument("path", type=EXISTING)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def stats(path: str, as_json: bool) -> None:
    """What the database at PATH holds: each table and collection with its engine, rows or
    documents, indexes, bytes on disk and dead bytes (what `docdb compact` gives back)."""
    with _session(path) as session:
        figures = session.conn.stats()
    if as_json:
        click.echo(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
        return
    rows = [(o["name"], o["kind"], o["engine"], o["entries"], o["indexes"], _size(o["disk_bytes"]),
             _size(o["dead_bytes"])) for o in figures["objects"]]
    columns = ["name", "kind", "engine", "rows/documents", "indexes", "on disk", "dead"]
    MODES["table"](columns, rows, sys.stdout)
    click.echo(f"log {_size(figures['log_bytes'])}; the whole database {_size(figures['disk_bytes'])}")


def _size(n: float) -> str:
    """Bytes for people: ``512 B``, ``1.5 KiB``, ``2.0 MiB``..."""
    unit = "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if n < 1024:
            break
        n, unit = n / 1024, bigger
    return f"{n:,} B" if unit == "B" else f"{n:,.1f} {unit}"


@main.command()
@click.argument("path", type=EXISTING)
@click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON array.")
def check(path: str, as_json: bool) -> None:
    """Verify the database at PATH: every checksum of every record, block and log batch, that
    every row and document decodes, and that every index agrees with its data. Prints "ok"
    (exit status 0) or each problem and where it is (exit status 1). It never writes."""
    try:
        conn = docdb.connect(path, readonly=True)
    except docdb.Error as error:
        raise click.ClickException(str(error)) from None
    try:
        problems = conn.check()
    finally:
        conn.close()
    if as_json:
        click.echo(orjson.dumps(problems, option=orjson.OPT_INDENT_2).decode())
    elif not problems:
        click.echo("ok")
    for problem in problems if not as_json else ():
        where = f" ({problem['where']})" if problem["where"] else ""
        click.echo(f"{problem['object']}: {problem['problem']}{where}")
    if problems:
        sys.exit(1)


@main.command()
@click.argument("path", type=EXISTING)
@click.argument("newpath", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def repair(path: str, newpath: str, as_json: bool) -> None:
    """Copy everything that can still be read of the database at PATH into a new database at
    NEWPATH, rebuilding its indexes; PATH is never changed. Reports what could not be saved
    (exit status 1 if anything was lost)."""
    from docdb.repair import repair as repair_database

    try:
        report = repair_database(path, newpath)
    except docdb.Error as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        for item in report["objects"]:
            lost = item["lost"]
            line = f"{item['kind']} {item['name']}: {item['saved']} saved"
            if lost is not None:
                line += f"; lost: {lost}"
            for refused in item["indexes_not_built"]:
                line += f"; index not built ({refused})"
            click.echo(line)
        for view in report["views_not_copied"]:
            click.echo(f"view not copied: {view}")
        click.echo(f"repaired into {newpath}" + ("" if report["complete"] else " (with losses)"))
    if not report["complete"]:
        sys.exit(1)


@main.command()
@click.argument("path", type=EXISTING)
def compact(path: str) -> None:
    """Give back the room of overwritten and deleted data in the database at PATH."""
    with _session(path) as session:
        before = session.conn.stats()["disk_bytes"]
        session.conn.compact()
        after = session.conn.stats()["disk_bytes"]
    click.echo(f"compacted {path}: {_size(before)} -> {_size(after)}")


if __name__ == "__main__":
    main(prog_name="docdb")
