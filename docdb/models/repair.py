"""``docdb repair``: copy what can still be read of a damaged database into a new one.

The source is opened read-only and never changed. Each table and collection is read in
key order until the first record or block that cannot be read, then from the other end
in reverse order up to the same damage, so what is lost is only the key range between
the last good key from each side (reported as such). Rows and documents go into the
new database by the public API -- so every value is checked again -- and its indexes
are built afresh from the data (a unique index the saved data breaks is reported, not
built). Views and ``user_version`` are copied.
May import: the standard library, ``storage`` and ``docdb.models``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from storage.errors import CorruptionError, StorageError

__all__ = ["salvage"]

_READ_ERRORS = (CorruptionError, StorageError, OSError, ValueError)


def salvage(scan: Callable[[bool], Iterator[tuple[bytes, bytes]]], decode: Callable[[bytes], Any]
            ) -> tuple[list[Any], dict[str, Any] | None]:
    """(the records that could be read, in key order; what was lost or None). ``scan(reverse)``
    reads the store; ``decode`` turns a stored value into a record (a failure loses that record)."""
    forward: list[tuple[bytes, Any]] = []
    undecodable: list[bytes] = []
    error = _read(scan(False), decode, forward, undecodable)
    if error is None:
        lost = {"records": len(undecodable), "keys": undecodable[:3]} if undecodable else None
        return [record for _key, record in forward], lost
    backward: list[tuple[bytes, Any]] = []
    last_good = forward[-1][0] if forward else None
    _read(_after(scan(True), last_good), decode, backward, undecodable)
    records = [record for _key, record in forward] + [record for _key, record in reversed(backward)]
    return records, {"error": str(error), "after_key": last_good,
                     "before_key": backward[-1][0] if backward else None,
                     "undecodable": len(undecodable)}


def _after(items: Iterator[tuple[bytes, bytes]], last_good: bytes | None) -> Iterator[tuple[bytes, bytes]]:
    """A reverse scan, stopped once it reaches what the forward pass already read."""
    for key, raw in items:
        if last_good is not None and key <= last_good:
            return
        yield key, raw


def _read(items: Iterator[tuple[bytes, bytes]], decode: Callable[[bytes], Any],
          into: list[tuple[bytes, Any]], undecodable: list[bytes]) -> BaseException | None:
    try:
        for key, raw in items:
            try:
                into.append((key, decode(raw)))
            except Exception:  # noqa: BLE001 - a record that does not decode is lost, and counted
                undecodable.append(key)
    except _READ_ERRORS as error:
        return error
    return None
