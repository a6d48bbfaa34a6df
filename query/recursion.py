"""WITH RECURSIVE: a CTE that reads itself, run as SQLite runs it.

``Recursive`` yields the initial SELECT's rows and queues them; then it runs
the recursive SELECT with the CTE's name standing for queued rows
(``WorkingRow``), yields what comes out and queues it too, until the queue is
empty. SQLite takes one queued row at a time; as the recursive SELECT reads the
CTE once and cannot aggregate, running it over all the rows queued so far (a
level of the recursion) makes the same rows -- so that is what is done, unless
the SELECT is DISTINCT or has window functions, which see the rows together.
A hash join in the recursive SELECT whose build side does not read the CTE
builds its table once per run, not once per level (``HashJoin.reuse``).
``UNION`` drops rows already produced (which is what makes a walk over a cyclic
graph end); ``UNION ALL`` keeps them. The rows are yielded
as they are made, so a recursion that does not end by itself can still be read
under a LIMIT; past ``MAX_ROWS`` rows it is stopped with an error rather than
left to run out of memory.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from docdb.errors import OperationalError
from query.expressions import Env
from query.plan import HashJoin, Plan, row_key

__all__ = ["MAX_ROWS", "Recursive", "WorkingRow"]

MAX_ROWS = 10_000_000  # rows a recursive CTE may produce before it is taken for a runaway


@dataclass(eq=False)
class WorkingRow(Plan):
    """The rows of a recursive CTE the recursive SELECT is working from."""
    name: str

    def rows(self, env: Env) -> Iterator[tuple]:
        return iter(env.cache.get(id(self), ()))

    def label(self) -> str:
        return f"RECURSIVE ROW OF {self.name}"


@dataclass(eq=False)
class Recursive(Plan):
    initial: Plan
    step: Plan  # reads ``working``
    working: WorkingRow
    union: bool  # UNION (each row once) rather than UNION ALL
    name: str
    by_level: bool = True  # run the recursive SELECT over every queued row at once
    reused: list = field(init=False)  # hash joins in ``step`` that build once per run

    def __post_init__(self) -> None:
        self.reused = [node for _, node in self.step.walk() if isinstance(node, HashJoin)
                       and not any(isinstance(n, WorkingRow) for _, n in node.right.walk())]
        for node in self.reused:
            node.reuse = True

    def rows(self, env: Env) -> Iterator[tuple]:
        for node in self.reused:  # a run starts afresh (a correlated subquery runs it per outer row)
            env.cache.pop((id(node), "built"), None)
        queue: deque[tuple] = deque()
        seen: set | None = set() if self.union else None
        produced = 0
        rows = self.initial.rows(env)
        while True:
            for row in rows:
                if seen is not None:
                    key = row_key(row)
                    if key in seen:
                        continue
                    seen.add(key)
                produced += 1
                if produced > MAX_ROWS:
                    raise OperationalError(
                        f"recursive CTE {self.name} has made {MAX_ROWS:,} rows and goes on: its recursive "
                        "SELECT needs a WHERE that ends it (or read it under a LIMIT)")
                queue.append(row)
                yield row
            if not queue:
                return
            if self.by_level:
                env.cache[id(self.working)], queue = tuple(queue), deque()
            else:
                env.cache[id(self.working)] = (queue.popleft(),)
            rows = list(self.step.rows(env))

    def children(self) -> tuple[Plan, ...]:
        return (self.initial, self.step)

    def label(self) -> str:
        return f"RECURSIVE {self.name} ({'UNION' if self.union else 'UNION ALL'})"

