"""docdb's storage layer: bytes-in, bytes-out engines behind one interface.

``storage.open(path, engine="hash" | "lsm", sync="normal", **options)`` opens (or
creates) an engine in the directory ``path``, like ``dbm.open``; ``engine="memory"``
opens an empty engine that keeps everything in memory (``path`` is then a label). The interface
and its guarantees are in ``storage.engine``; this package knows nothing of
tables or documents.
May import: the standard library and its own modules (and ``sortedcontainers``).
"""

from __future__ import annotations

import os

from storage.engine import Batch, Engine
from storage.errors import (
    ClosedError,
    CorruptionError,
    DocDBError,
    FormatError,
    LockedError,
    StorageError,
)

ENGINES = ("hash", "lsm")  # the engines that keep their data in files
MEMORY = "memory"

__all__ = [
    "open",
    "Engine",
    "Batch",
    "ENGINES",
    "MEMORY",
    "DocDBError",
    "StorageError",
    "CorruptionError",
    "LockedError",
    "FormatError",
    "ClosedError",
]


def open(path: str | os.PathLike, engine: str = "hash", sync: str = "normal", **options) -> Engine:  # noqa: A001
    """Open the engine stored in directory ``path``, creating it if needed."""
    if engine == "hash":
        from storage.hash import HashEngine

        return HashEngine(os.fspath(path), sync, **options)
    if engine == "lsm":
        from storage.lsm import LSMEngine

        return LSMEngine(os.fspath(path), sync, **options)
    if engine == MEMORY:
        from storage.memory import MemoryEngine

        return MemoryEngine(os.fspath(path), sync, **options)
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
