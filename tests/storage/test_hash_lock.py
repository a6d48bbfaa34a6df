"""Directory ownership of the hash engine: one opener at a time, across and within processes.

A second opener gets ``LockedError`` naming the holder's pid and changes nothing;
the lock goes with the holder's ``close()`` or death (no stale lock after a
crash); a failed second open does not weaken the first one's lock.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import storage
from storage import LockedError, StorageError

REPO_ROOT = Path(__file__).resolve().parents[2]
OPTIONS = {"engine": "hash", "sync": "full", "segment_bytes": 4096}

HOLDER = """
import os, sys, storage
db = storage.open(sys.argv[1], engine="hash", sync="full", segment_bytes=4096)
db.put(b"holder-%d" % os.getpid(), b"here")
print("READY", flush=True)
for line in sys.stdin:
    if line.strip() == "close":
        db.close()
        print("CLOSED", flush=True)
"""

OPENER = """
import sys, storage
try:
    db = storage.open(sys.argv[1], engine="hash", sync="full", segment_bytes=4096)
except storage.LockedError as e:
    print("LOCKED", e)
else:
    db.close()
    print("OPENED")
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


class Holder:
    """A child process that opens the directory and keeps it open until told or killed."""

    def __init__(self, path: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=_env(),
        )
        self.pid = self.proc.pid
        self._expect("READY")

    def _expect(self, word: str) -> None:
        line = self.proc.stdout.readline().strip()
        if line != word:
            self.proc.kill()
            raise AssertionError(f"holder said {line!r}, not {word}: {self.proc.stderr.read()}")

    def close_engine(self) -> None:
        self.proc.stdin.write("close\n")
        self.proc.stdin.flush()
        self._expect("CLOSED")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def finish(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()


@pytest.fixture
def holders():
    started: list[Holder] = []

    def start(path: Path) -> Holder:
        holder = Holder(path)
        started.append(holder)
        return holder

    yield start
    for holder in started:
        holder.finish()


def open_in_child(path: Path) -> str:
    result = subprocess.run([sys.executable, "-c", OPENER, str(path)], check=False,
                            capture_output=True, text=True, cwd=REPO_ROOT, env=_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def names_pid(message: str, pid: int) -> bool:
    return re.search(rf"(?<!\d){pid}(?!\d)", message) is not None


def snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_second_process_gets_locked_error_naming_holder(tmp_path, holders):
    db_path = tmp_path / "db"
    holder = holders(db_path)
    before = snapshot(db_path)

    with pytest.raises(LockedError) as excinfo:
        storage.open(db_path, **OPTIONS)
    assert isinstance(excinfo.value, StorageError)
    assert names_pid(str(excinfo.value), holder.pid), str(excinfo.value)
    assert snapshot(db_path) == before, "the refused opener changed the directory"


def test_child_process_is_told_the_parent_holds_it(tmp_path):
    db_path = tmp_path / "db"
    with storage.open(db_path, **OPTIONS):
        answer = open_in_child(db_path)
        assert answer.startswith("LOCKED"), answer
        assert names_pid(answer, os.getpid()), answer
    assert open_in_child(db_path) == "OPENED"


@pytest.mark.parametrize("release", ["close_engine", "kill"])
def test_directory_opens_after_holder_lets_go(tmp_path, holders, release):
    """Closing the engine (the process lives on) or killing the process frees the directory."""
    db_path = tmp_path / "db"
    holder = holders(db_path)
    getattr(holder, release)()
    with storage.open(db_path, **OPTIONS) as db:
        assert db.get(b"holder-%d" % holder.pid) == b"here"


def test_error_names_the_current_holder_not_a_dead_one(tmp_path, holders):
    db_path = tmp_path / "db"
    first = holders(db_path)
    first.kill()
    second = holders(db_path)
    with pytest.raises(LockedError) as excinfo:
        storage.open(db_path, **OPTIONS)
    assert names_pid(str(excinfo.value), second.pid)
    assert not names_pid(str(excinfo.value), first.pid)


def test_second_open_in_the_same_process(tmp_path):
    db_path = tmp_path / "db"
    first = storage.open(db_path, **OPTIONS)
    try:
        first.put(b"k", b"v")
        with pytest.raises(LockedError) as excinfo:
            storage.open(db_path, **OPTIONS)
        assert names_pid(str(excinfo.value), os.getpid())
        with pytest.raises(LockedError):
            storage.open(str(db_path) + "/", **OPTIONS)  # another spelling of the same path

        # The refused open must not have weakened the first one's lock or its engine.
        assert open_in_child(db_path).startswith("LOCKED")
        first.put(b"k2", b"v2")
        assert first.get(b"k") == b"v" and first.get(b"k2") == b"v2"
    finally:
        first.close()
    with storage.open(db_path, **OPTIONS) as again:
        assert dict(again.scan()) == {b"k": b"v", b"k2": b"v2"}


def test_failed_open_releases_the_lock(tmp_path):
    """An open that takes the lock and then fails (here: a bad segment) must let it go."""
    db_path = tmp_path / "db"
    with storage.open(db_path, **OPTIONS) as db:
        db.put(b"k", b"v")
    bad = db_path / "0000000099-0000.seg"
    bad.write_bytes(b"garbage, not a segment header")
    with pytest.raises((storage.FormatError, storage.CorruptionError)):
        storage.open(db_path, **OPTIONS)
    bad.unlink()
    assert open_in_child(db_path) == "OPENED"
    with storage.open(db_path, **OPTIONS) as db:
        assert db.get(b"k") == b"v"
