"""Helpers for the shell tests: run a ``docdb`` command in-process with click's CliRunner."""

import pytest
from click.testing import CliRunner

import shell


@pytest.fixture
def docdb_cli():
    """``docdb_cli(args, input=None)`` -> click Result (stdout and stderr kept apart)."""

    def invoke(args, input=None):
        return CliRunner().invoke(shell.main, [str(a) for a in args], input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "db")
