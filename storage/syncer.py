"""A background thread that fsyncs at least once a second, for ``sync="normal"``.

The thread wakes every ``interval`` seconds and calls the engine's ``sync_now``,
which fsyncs if anything was written since its last fsync (the engine knows
that from file sizes, so writers pay nothing per write). ``stop()`` joins the
thread; the engine then does its own final fsync on close. An fsync error is
kept in ``error`` for the engine to raise from its next ``flush``.
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
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._sync_now()
            except OSError as e:  # reported by the next flush, never lost silently
                self.error = e

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
