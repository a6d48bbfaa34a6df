"""The README's command examples run as written: each ``$`` line, its output as shown."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
ORDERS = (
    '{"_id": 1, "items": [{"sku": "apple", "qty": 3}]}\n{"_id": 2, "items": [{"sku": "pear", "qty": 1}]}\n'
)


def _block() -> str:
    text = README.read_text()
    marker = text.index("(`test_readme_commands` runs these)")
    return re.search(r"```\n(.*?)```", text[marker:], re.S).group(1)


def test_readme_commands(tmp_path):
    bindir = Path(sys.executable).parent
    if not (bindir / "docdb").exists() and shutil.which("docdb") is None:
        pytest.skip("the docdb entry point is not installed")
    (tmp_path / "orders.jsonl").write_text(ORDERS)
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
    steps = re.split(r"^\$ ", _block(), flags=re.M)[1:]
    assert len(steps) == 3
    for step in steps:
        command, _, expected = step.partition("\n")
        result = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout + result.stderr == expected, command
    copy = subprocess.run(
        [str(bindir / "docdb"), "query", "copy.db", "SELECT count(*) AS n FROM orders"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert copy.stdout == '[{"n":2}]\n'


def _tour() -> tuple[str, list[str], list[str]]:
    """The README's shell tour as (what was typed, stdout lines, error messages)."""
    text = README.read_text()
    start = text.index("## A tour of the shell")
    block = re.search(r"```\n(.*?)```", text[start:], re.S).group(1)
    typed, shown, errors, in_error = [], [], [], False
    for line in block.splitlines():
        prompt = re.match(r"^(?:docdb\*?> |  \.\.\.> )(.*)$", line)
        if prompt:
            typed.append(prompt.group(1))
            in_error = False
        elif re.match(r"^(line \d+, column \d+: |Error: )", line):
            errors.append(re.sub(r"^line \d+, column \d+: ", "", line))
            in_error = True
        elif re.fullmatch(r"[\d,]+ rows?( changed)?", line) or in_error:
            continue  # row counts are shown at a terminal only; a caret goes with its error
        else:
            shown.append(line)
    return "\n".join(typed) + "\n", shown, errors


def test_readme_shell_tour_is_what_the_shell_prints(docdb_cli):
    """Piped, the shell prints the tour's results exactly (without the terminal's row counts)."""
    typed, shown, errors = _tour()
    result = docdb_cli(["shell", "--demo"], input=typed)
    assert result.stdout.splitlines() == shown
    for message in errors:
        assert message in result.stderr
