"""Finding a value's bytes in stored data without cutting the data into records first.

``scan(contains=...)`` is how docdb looks for documents holding a string: the
engines search a whole buffer (an SSTable run, a segment's map) with one C loop
and only then look at the records the hits fall in, because a Python-level test
per record costs more than the search itself.
May import: the standard library only.
"""

from __future__ import annotations


def occurrences(data: bytes, needle: bytes, limit: int | None = None) -> list[int] | None:
    """Every position of ``needle`` in ``data`` (overlapping ones too), ascending;
    ``None`` once there are more than ``limit``, when a record-by-record test is cheaper."""
    found: list[int] = []
    at = data.find(needle)
    while at >= 0:
        found.append(at)
        if limit is not None and len(found) > limit:
            return None
        at = data.find(needle, at + 1)
    return found
