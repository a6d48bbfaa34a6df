"""Every Python example in README.md and docs/ runs as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def examples():
    for doc in DOCS:
        for n, match in enumerate(BLOCK.finditer(doc.read_text())):
            yield pytest.param(match.group(1), id=f"{doc.name}-{n}")


@pytest.mark.parametrize("code", list(examples()))
def test_example_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "<example>", "exec"), {"__name__": "__example__"})


def test_there_are_examples():
    assert list(examples())
