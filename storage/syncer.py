"""A background thread that fsyncs at least once a second, for ``sync="normal"``.

Engines call ``mark_dirty()`` after each write (cheap: one attribute store); the
thread wakes every ``interval`` seconds and, if anything was written, calls the
engine's ``sync_now`` callback. ``stop()`` joins the thread; the engine then does
its own final fsync on close.
May import: the standard library only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class PeriodicSync:
    def __init__(self, sync_now: Callable[[], None], interval: float = 1.0, name: str = "docdb-sync"):
        self._sync_now = sync_now
        self._interval = interval
        self._stop = threading.Event()
        self.dirty = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def mark_dirty(self) -> None:
        self.dirty = True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            if self.dirty:
                self.dirty = False
                try:
                    self._sync_now()
                except OSError as e:  # reported by the next flush/close, never lost silently
                    self.error = e

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
