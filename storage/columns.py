"""Little-endian column helpers for the binary formats that store many entries.

Hint files and SSTable blocks lay entries out as columns (all key lengths,
then all offsets, ..., then the keys concatenated) so that reading them is a
few ``array.frombytes`` calls and one list comprehension, not a Python loop
of ``struct.unpack`` per entry.
May import: the standard library only.
"""

from __future__ import annotations

import sys
from array import array
from itertools import accumulate


def to_le(column: array) -> bytes:
    """The bytes of an array, little-endian whatever the machine."""
    if sys.byteorder != "little":
        column = array(column.typecode, column)
        column.byteswap()
    return column.tobytes()


def from_le(typecode: str, raw: bytes | memoryview) -> array:
    column = array(typecode)
    column.frombytes(raw)
    if sys.byteorder != "little":
        column.byteswap()
    return column


def split(blob: bytes, lengths, start: int = 0) -> tuple[list[bytes], int]:
    """Cut ``blob[start:]`` into pieces of ``lengths``; return them and where they end."""
    ends = list(accumulate(lengths, initial=start))
    return [blob[a:b] for a, b in zip(ends, ends[1:])], ends[-1]
