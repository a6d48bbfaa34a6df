"""Locks between the processes that open one database: ``flock`` on small files.

The kernel releases an ``flock`` when its process dies, however it dies, so a
SIGKILLed writer never leaves a stale lock behind and nobody recovers anything
by hand. ``flock`` locks belong to an open file: two ``FileLock`` objects on one
file conflict even inside one process, and threads of a process share one object
(the database puts a thread lock in front of the writer's).

A database directory has three (``docdb.models.db``):

* ``LOCK`` -- held shared by every process that has the database open; exclusive
  only while a new directory is stamped, and tried (without waiting) on close by a
  process that wants to know it is the last one.
* ``WRITER`` -- one writer at a time across processes: held exclusive from a
  transaction's first write to its commit or rollback. The holder writes its pid
  into it, so a process that gives up waiting can name it.
* ``CHECKPOINT`` -- held exclusive while a checkpoint writes the stores' engines,
  shared while a process opens them to read, so nobody reads an engine mid-change.
May import: the standard library, ``storage.files`` and ``docdb.errors``.
"""

from __future__ import annotations

import fcntl
import os
import time

from storage.files import write_pid

__all__ = ["FileLock"]

_FIRST_WAIT = 0.0005  # seconds; doubled up to _LONGEST_WAIT while a lock is busy
_LONGEST_WAIT = 0.02


class FileLock:
    def __init__(self, path: str, create: bool = True):
        """The lock on ``path``, made if ``create``; without it (a read-only opener) a missing
        or unreadable file gives a lock that is always free -- nobody can write there."""
        self.path = path
        self.held: str | None = None  # "shared" or "exclusive" while held
        try:
            flags = os.O_RDWR | os.O_CREAT if create else os.O_RDONLY
            self._fd: int | None = os.open(path, flags, 0o644)
        except OSError:
            if create:
                raise
            self._fd = None

    def acquire(self, exclusive: bool = True, timeout: float | None = None) -> bool:
        """Take the lock, waiting up to ``timeout`` seconds (None: as long as it takes; 0:
        not at all). False if it stayed busy."""
        if self._fd is None:
            self.held = "exclusive" if exclusive else "shared"
            return True
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        if timeout is None:
            fcntl.flock(self._fd, mode)
        else:
            deadline = time.monotonic() + timeout
            wait = _FIRST_WAIT
            while True:
                try:
                    fcntl.flock(self._fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    time.sleep(min(wait, left))
                    wait = min(wait * 2, _LONGEST_WAIT)
        self.held = "exclusive" if exclusive else "shared"
        return True

    def release(self) -> None:
        if self._fd is not None and self.held is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.held = None

    def write_holder(self) -> None:
        """Write this process's pid into the file (holding it exclusive), for ``holder``: a
        fixed width, so it overwrites the last holder's without truncating the file."""
        if self._fd is not None:
            write_pid(self._fd)

    def holder(self) -> str:
        """The pid the last exclusive holder wrote, or "unknown"."""
        if self._fd is None:
            return "unknown"
        try:
            return os.pread(self._fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        except OSError:
            return "unknown"

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor also lets go of the lock
            self._fd = None
        self.held = None
