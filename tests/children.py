"""Child processes for the tests that run several at once: their output lines collected as
they come, and a SIGKILL that waits for the end."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Child:
    """A child process whose output lines are collected as they come."""

    def __init__(self, args: list[str]):
        self.proc = subprocess.Popen(
            [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            if line.endswith("\n"):  # a line a kill cut short was never said
                self.lines.append(line[:-1])

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.lines:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"no {text!r} from the child: {self.lines} {self.proc.stderr.read()}")
            time.sleep(0.01)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)


def check_forever(conn, problems) -> int:
    """A reader process's loop: ``problems(conn)`` on one snapshot after another (BEGIN ...
    ROLLBACK), printing ``OK <n>`` now and then; on the first problem prints ``BAD ...`` and
    returns 1, the process's exit status."""
    checks = 0
    while True:
        conn.execute("BEGIN")
        problem = problems(conn)
        conn.rollback()
        if problem is not None:
            print("BAD", problem, flush=True)
            return 1
        checks += 1
        if checks % 5 == 0:
            print("OK", checks, flush=True)
