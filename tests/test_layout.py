"""Project layout checks: import order, layering contracts and the command-line entry point."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import docdb
import shell

REPO_ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = ["storage", "docdb", "query", "docdb_shell", "shell"]


def _find_script(name: str) -> str | None:
    """Find an installed console script: next to this interpreter first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


@pytest.mark.parametrize("module", TOP_LEVEL)
def test_top_level_imports_first_in_fresh_interpreter(module: str) -> None:
    # Importing each package first, alone, exposes import-order cycles that tests importing
    # `docdb` first would hide.
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        check=False,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_import_contracts_are_kept() -> None:
    lint_imports = _find_script("lint-imports")
    assert lint_imports is not None, "lint-imports not found: install the dev extra"
    result = subprocess.run(
        [lint_imports, "--no-cache"],
        check=False,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_version_option() -> None:
    result = CliRunner().invoke(shell.main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"docdb, version {docdb.__version__}\n"


def test_help_option() -> None:
    result = CliRunner().invoke(shell.main, ["--help"])
    assert result.exit_code == 0
    for verb in ("shell", "run", "query", "import", "export", "dump", "stats", "compact"):
        assert verb in result.output


def test_no_arguments_prints_help() -> None:
    result = CliRunner().invoke(shell.main, [])
    assert "Usage:" in result.output


def test_installed_entry_point_version() -> None:
    script = _find_script("docdb")
    if script is None:
        pytest.skip("the docdb entry point is not installed")
    result = subprocess.run(
        [script, "--version"], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"docdb, version {docdb.__version__}\n"
