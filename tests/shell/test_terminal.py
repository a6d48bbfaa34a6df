"""The interactive shell in a real pseudo-terminal (pexpect): multi-line input, history kept
across sessions, completion, Ctrl-C on the prompt and during a long query, Ctrl-D to leave."""

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

PROMPT = r"docdb\*?>"


def _docdb() -> str:
    beside = Path(sys.executable).parent / "docdb"
    return str(beside) if beside.exists() else (shutil.which("docdb") or "docdb")


def _spawn(tmp_path, *args):
    env = dict(os.environ, DOCDB_HISTORY=str(tmp_path / "history"), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(
        _docdb(), ["shell", *args], env=env, encoding="utf-8", timeout=30, dimensions=(50, 200)
    )
    child.expect(PROMPT)
    time.sleep(0.3)  # let prompt_toolkit start reading
    return child


def _ready(child):
    child.expect(PROMPT)
    time.sleep(0.3)


def _leave(child):
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_multiline_history_completion_interrupt_and_leave(tmp_path):
    db = str(tmp_path / "db")
    child = _spawn(tmp_path, "--demo", db)
    # a statement over two lines runs when the second ends with ';'
    child.send("SELECT name FROM customers\r")
    child.expect(r"\.\.\.>")
    child.send("WHERE id = 3;\r")
    child.expect("Alan Turing")
    child.expect("1 row")
    _ready(child)
    # Ctrl-C on the prompt drops the input and keeps the shell
    child.send("SELECT 'dropped'")
    child.sendintr()
    _ready(child)
    # completion of an object name
    child.send("SELECT count(*) AS n FROM produ\t")
    time.sleep(0.5)
    child.send(";\r")
    child.expect(r"\| 8 \|")
    _ready(child)
    # Ctrl-C during a long query stops it; the shell goes on
    child.send(
        "SELECT count(*) FROM customers a, customers b, customers c, customers d, customers e, "
        "customers f, customers g, customers h, customers i;\r"
    )
    child.expect_exact("\x1b[?2004l")  # prompt_toolkit has left the prompt: the query runs
    time.sleep(1)
    child.sendintr()
    child.expect("Interrupted")
    _ready(child)
    child.send("SELECT 40 + 2 AS answer;\r")
    child.expect(r"\|\s+42 \|")
    _ready(child)
    assert _leave(child) == 0

    # the history survives: Up brings back the last statement in a new session
    child = _spawn(tmp_path, db)
    child.send("\x1b[A")
    time.sleep(0.5)
    child.send("\r")
    child.expect(r"\|\s+42 \|")
    _ready(child)
    assert _leave(child) == 0
    assert "SELECT 40 + 2 AS answer;" in (tmp_path / "history").read_text()


def test_leaving_with_an_open_transaction_rolls_it_back(tmp_path):
    db = str(tmp_path / "db")
    child = _spawn(tmp_path, db)
    child.send("CREATE TABLE t (a INTEGER);\r")
    _ready(child)
    child.send("BEGIN;\r")
    child.expect(r"docdb\*>")
    time.sleep(0.3)
    child.send("INSERT INTO t VALUES (1);\r")
    child.expect("1 row changed")
    _ready(child)
    child.send(".quit\r")
    child.expect("rolled back")
    child.expect(pexpect.EOF)
    import docdb

    conn = docdb.connect(db)
    assert conn.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    conn.close()
