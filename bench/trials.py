"""What every suite does around one trial of one system: a fresh directory, opening the
system, running, closing -- with failures recorded, never fatal.

Why shared: the documents and query suites run their trials the same way, and a
system that will not open, or fails to close, must be reported the same way.
May import: the standard library.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

__all__ = ["Runnable", "WrongAnswer", "add_system_options", "apply_defaults", "fresh_dir",
           "interleaved", "run_in_fresh_dir", "timed_checked"]


class WrongAnswer(RuntimeError):
    """A system returned a wrong answer: its timing would be meaningless."""


class Runnable(Protocol):
    errors: dict[str, str]

    def run(self) -> None: ...


T = TypeVar("T", bound=Runnable)


@contextmanager
def fresh_dir(root: str | None) -> Iterator[str]:
    """A new empty directory per store, removed afterwards: no system sees another's files."""
    with tempfile.TemporaryDirectory(prefix="docdb-bench-", dir=root,
                                     ignore_cleanup_errors=True) as path:
        yield path


def run_in_fresh_dir(opener: Callable[[str, str], Any], root: str | None, sync: str, label: str,
                     results: dict[str, Any], start: Callable[[Any], T]) -> T | None:
    """Open the system in a fresh directory, run ``start(system)``'s trial, close it;
    None (with the error recorded under ``label``) if the system would not open."""
    with fresh_dir(root) as d:
        try:
            system = opener(d, sync)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            results["errors"].setdefault(label, {})["open"] = f"{type(e).__name__}: {e}"
            return None
        trial = start(system)
        try:
            trial.run()
        finally:
            try:
                system.close()
            except Exception as e:
                trial.errors.setdefault("close", f"{type(e).__name__}: {e}")
    return trial


def add_system_options(p: argparse.ArgumentParser, engines: tuple[str, ...]) -> None:
    """The options every docdb-vs-peers suite takes: engines, sync level, seed, temp dir."""
    p.add_argument("--engine", action="append", choices=engines,
                   help="docdb engine(s); repeatable (default: every one storage.ENGINES has)")
    p.add_argument("--sync", choices=("off", "normal"), default="normal",
                   help="docdb's sync level, mirrored in sqlite3 (default normal)")
    p.add_argument("--seed", type=int, default=1234, help="data seed (default 1234)")
    p.add_argument("--dir", default=None, help="parent of the temp dirs (default: system temp)")


def apply_defaults(args: argparse.Namespace, quick: dict[str, Any], full: dict[str, Any]) -> None:
    """Fill the options left unset from the --quick or the full sizes."""
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def interleaved(labels: list[str], repeat: int, errors: dict[str, dict[str, str]],
                run_one: Callable[[str, int], Any]) -> Iterator[tuple[str, Any]]:
    """``(label, trial)`` for every trial that ran: trials interleaved across systems (so a
    slow spell of the machine hits all of them), a system that would not open skipped, and
    each trial's errors recorded once under its system."""
    for r in range(repeat):
        for label in labels:
            if "open" in errors.get(label, {}):
                continue
            print(f"  trial {r + 1}/{repeat}: {label}", file=sys.stderr, flush=True)
            trial = run_one(label, r)
            if trial is None:
                continue
            for op, msg in trial.errors.items():
                errors.setdefault(label, {}).setdefault(op, msg)
            yield label, trial


def timed_checked(errors: dict[str, str], op: str, fn: Callable[..., Any], *fn_args: Any,
                  check: Callable[[Any], None] | None = None) -> tuple[float, Any] | None:
    """``(seconds, result)`` of ``fn(*fn_args)`` once ``check(result)`` accepts it; None (the
    failure recorded in ``errors[op]``) if either raised: a failure is reported, never fatal."""
    from bench.report import timed  # report imports nothing of this module; keep it that way
    try:
        elapsed, result = timed(fn, *fn_args)
        if check:
            check(result)
    except Exception as e:
        errors[op] = f"{type(e).__name__}: {e}"
        if not isinstance(e, WrongAnswer):
            traceback.print_exc(file=sys.stderr)
        return None
    return elapsed, result
