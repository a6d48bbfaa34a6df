"""``docdb.Row``: a result row reachable by position and by column name, as ``sqlite3.Row``.

Set ``conn.row_factory = docdb.Row`` (or on one cursor) and each row comes back as a
``Row``: ``row[0]``, ``row["name"]`` (any case), ``row.keys()``, ``len(row)``,
iteration over the values, ``dict(zip(row.keys(), row))``; two rows are equal when
their columns and values are. Any callable ``factory(cursor, row_tuple)`` works as a
row factory, as in sqlite3.
May import: the standard library.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["Row"]


class Row:
    __slots__ = ("_names", "_values")

    def __init__(self, cursor: Any, values: tuple):
        self._names = tuple(d[0] for d in cursor.description or ())
        self._values = tuple(values)

    def keys(self) -> list[str]:
        return list(self._names)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            folded = key.lower()
            for name, value in zip(self._names, self._values):
                if name.lower() == folded:
                    return value
            raise IndexError(f"no column named {key!r}")
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Row):
            return NotImplemented
        return self._names == other._names and self._values == other._values

    def __hash__(self) -> int:
        return hash((self._names, self._values))

    def __repr__(self) -> str:
        return "<docdb.Row " + ", ".join(f"{n}={v!r}" for n, v in zip(self._names, self._values)) + ">"
