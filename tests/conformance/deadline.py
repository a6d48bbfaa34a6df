"""Per-record time limits for the conformance runners.

A conformance run feeds an engine thousands of statements; one that loops forever must
become a ``timeout`` failure of that one record, not a hung CI job. Two mechanisms work
together, both optional:

* ``SIGALRM`` (armed with ``signal.setitimer``, so fractions of a second work) stops
  pure-Python engines such as docdb: the handler raises :class:`RecordTimeout` in the main
  thread, wherever the engine happens to be. Signals only reach the main thread, so the
  guard is off elsewhere; it also stays off when someone else (pytest-timeout, say) already
  owns ``SIGALRM``.
* An engine written in C (stdlib ``sqlite3``) runs no Python signal handler until its C call
  returns. When an ``interrupt`` callable is given (``sqlite3.Connection.interrupt``), one
  watchdog thread calls it at the deadline; the engine then fails the statement with its own
  error, and :attr:`Deadline.expired` tells the runner that this error was the timeout.

Only the standard library is used: the runners import this module, never docdb.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType, TracebackType

__all__ = ["Deadline", "RecordTimeout"]


class RecordTimeout(BaseException):
    """Raised inside the guarded code when its time is up.

    A ``BaseException``, so that an engine's ``except Exception`` cannot swallow it.
    """


class _Watchdog:
    """One daemon thread that calls ``interrupt`` when an armed deadline passes."""

    def __init__(self, interrupt: Callable[[], object]) -> None:
        self._interrupt = interrupt
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._stopped = False
        self.fired = False
        self._thread = threading.Thread(target=self._loop, name="conformance-watchdog", daemon=True)
        self._thread.start()

    def arm(self, seconds: float) -> None:
        with self._cond:
            self.fired = False
            self._deadline = time.monotonic() + seconds
            self._cond.notify()

    def disarm(self) -> bool:
        """Stop waiting; return whether the deadline passed (and ``interrupt`` was called)."""
        with self._cond:
            self._deadline = None
            return self.fired

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()

    def _loop(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                self._deadline = None
                self.fired = True
                with suppress(Exception):  # a failing interrupt must not kill the watchdog thread
                    self._interrupt()


class Deadline:
    """A reusable time limit for one record at a time.

    Use as a context manager around a whole run (it installs and later restores the
    ``SIGALRM`` handler, and owns the watchdog thread), and :meth:`record` around each
    record::

        with Deadline(10.0, getattr(conn, "interrupt", None)) as deadline:
            for record in records:
                try:
                    with deadline.record():
                        execute(record)
                except RecordTimeout:
                    ...  # a pure-Python engine was stopped
                if deadline.expired:
                    ...  # the engine's error (if any) came from the watchdog's interrupt

    ``seconds=None`` (or ``<= 0``) disables both mechanisms.
    """

    def __init__(self, seconds: float | None, interrupt: Callable[[], object] | None = None) -> None:
        self.seconds = seconds if seconds is not None and seconds > 0 else None
        self._interrupt = interrupt
        self._use_signal = False
        self._previous_handler: object = None
        self._armed = False
        self._watchdog: _Watchdog | None = None
        self.expired = False

    def __enter__(self) -> Deadline:
        if self.seconds is None:
            return self
        if (
            hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
        ):
            self._previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            self._use_signal = True
        if self._interrupt is not None:
            self._watchdog = _Watchdog(self._interrupt)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._use_signal:
            self._armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous_handler)  # type: ignore[arg-type]
            self._use_signal = False
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None

    @property
    def active(self) -> bool:
        """Whether any mechanism guards the records (false off the main thread without interrupt)."""
        return self._use_signal or self._watchdog is not None

    @contextmanager
    def record(self) -> Iterator[None]:
        """Guard one record; :attr:`expired` says afterwards whether its time ran out."""
        self.expired = False
        if self.seconds is None:
            yield
            return
        if self._watchdog is not None:
            self._watchdog.arm(self.seconds)
        if self._use_signal:
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            yield
        finally:
            if self._use_signal:
                self._armed = False
                signal.setitimer(signal.ITIMER_REAL, 0)
            if self._watchdog is not None and self._watchdog.disarm():
                self.expired = True

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self._armed:
            self._armed = False
            self.expired = True
            raise RecordTimeout(f"record took longer than {self.seconds:g} s")
