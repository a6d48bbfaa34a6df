"""Plans kept per connection, so a repeated statement is neither parsed nor planned again.

Parsing is cached by text (``query.parser.parse``), which hands back the same AST
object for the same text; a plan is cached under that object, for the catalog
it was made against (and that of the connection's temporary tables): any
CREATE, DROP or index change makes a new catalog object, so a stale plan is
never used. Plans hold no per-execution state
(parameters and subquery results live in the execution's ``Env``), so one plan
serves every execution, and every cursor, of its connection.
May import: the standard library and ``query``'s own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["MAX_PLANS", "prepared"]

MAX_PLANS = 256
T = TypeVar("T")


def prepared(conn: Any, node: Any, build: Callable[[], T]) -> T:
    """``build()``'s result for ``node``, made once per catalog version."""
    cache: dict[int, tuple[Any, Any, Any, Any]] = conn.query_cache
    catalog, temp_catalog = conn.catalogs()
    hit = cache.get(id(node))
    if hit is not None and hit[0] is node and hit[1] is catalog and hit[2] is temp_catalog:
        return hit[3]
    made = build()
    if len(cache) >= MAX_PLANS:
        cache.pop(next(iter(cache)))  # the oldest: statements a program repeats are re-added
    cache[id(node)] = (node, catalog, temp_catalog, made)  # holding the node keeps its id from being reused
    return made
