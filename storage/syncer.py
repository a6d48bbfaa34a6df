"""A background thread that fsyncs at least once a second, for ``sync="normal"``.

Every ``interval`` seconds it asks the engine (under the engine's lock) for the
file being appended to -- anything with ``fd``, ``size`` and ``synced`` -- and
fsyncs it if it grew since its last fsync, so writers pay nothing per write.
The fsync itself runs on a duplicate descriptor outside the lock, so writers
are not held up and a rollover meanwhile cannot close it under us. ``stop()``
joins the thread; the engine does its own final fsync on close. An fsync
error is kept in ``error`` for the engine to raise from its next ``flush``.
May import: the standard library and ``storage.errors``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from storage.errors import StorageError


class PeriodicSync:
    def __init__(self, lock: Any, current: Callable[[], Any], interval: float = 1.0,
                 name: str = "docdb-sync"):
        self._lock = lock
        self._current = current
        self._interval = interval
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sync_now()
            except OSError as e:  # reported by the next flush, never lost silently
                self.error = e

    def sync_now(self) -> None:
        with self._lock:
            target = self._current()
            if target is None or target.synced == target.size:
                return
            size, fd = target.size, os.dup(target.fd)
        try:
            os.fdatasync(fd)
            with self._lock:
                target.synced = max(target.synced, size)
        finally:
            os.close(fd)

    def raise_error(self, path: str) -> None:
        """Raise (once) the error of a failed background fsync."""
        error, self.error = self.error, None
        if error is not None:
            raise StorageError(f"a background fsync in {path!r} failed: {error}") from error

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
