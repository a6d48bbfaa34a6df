"""The ``docdb`` command-line entry point.

For now it only answers ``--version`` and ``--help``; run without options it prints the help.
It may import only docdb's public API (see the engineering guide, shared/GUIDE.md).
"""

import click

import docdb

__all__ = ["main"]


@click.command(
    help=(
        "docdb: an embedded database for JSON documents and relational tables.\n\n"
        "This release has no shell yet: the interactive shell, the script runner and "
        "import/export arrive in a later release."
    )
)
@click.version_option(version=docdb.__version__, prog_name="docdb")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Print the help: there is nothing else to run in this release."""
    click.echo(ctx.get_help())


if __name__ == "__main__":
    main(prog_name="docdb")
