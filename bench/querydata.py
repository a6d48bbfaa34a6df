"""The query suite's data: a seeded table, the same rows as documents, query values and answers.

Every system must load the same rows and answer the same questions, and the
answers must be known in advance so a system that returns too few rows cannot
post a fast figure; so the data is generated once per run from a seed and each
answer (counts, sums of keys, aggregates, the top ten) is computed here in plain
Python. The big relation exists twice, as a table ``items`` and as a collection
``docs`` whose documents hold the same values, with the range and order columns
nested under ``m`` so the collection questions go through dotted paths:

- ``id`` / ``key``: 0..N-1, unique (the table's primary key; an indexed field).
- ``sid``: a shop id, uniform over the ``shops`` table (N/10 rows, 10k at
  N=100k), the join column.
- ``a`` / ``m.a``: an indexed integer uniform over ``[0, 10N)``, so a range of
  ``RANGE_WIDTH`` values holds about 100 rows whatever N is.
- ``b`` / ``m.b``: an unindexed real, all distinct (``(p + u) / N`` over a
  permutation ``p``), so a band of width 0.01 holds about 1% of the rows and
  ORDER BY b has exactly one answer.
- ``cat``: one of ``CATEGORIES`` names, the GROUP BY column; ``note``: padding
  text so a row is not just numbers.
May import: the standard library only.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

__all__ = ["CATEGORIES", "RANGE_WIDTH", "REGIONS", "SCAN_WIDTH", "TOP", "QueryDataset", "Row", "as_doc",
           "make_data"]

CATEGORIES = [f"cat{i:02d}" for i in range(20)]
REGIONS = ["north", "south", "east", "west", "centre", "coast", "hills", "islands"]
RANGE_WIDTH = 1_000  # a BETWEEN lo AND lo + RANGE_WIDTH - 1 on a holds ~100 rows (a spans 10N)
SCAN_WIDTH = 0.01  # a BETWEEN band on b holds ~1% of the rows
TOP = 10  # ORDER BY b LIMIT TOP
_WORDS = ["amber", "birch", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "jade"]

Row = tuple[int, int, int, float, str, str]  # (id, sid, a, b, cat, note)


@dataclass(frozen=True)
class Answers:
    """Plain-Python answers: per-column sorted values with prefix sums of ids, the aggregates."""

    a_sorted: list[int]
    a_id_sums: list[int]  # prefix sums of ids in a order: the ids a range returns, summed
    b_sorted: list[float]
    b_id_sums: list[int]
    groups: dict[str, tuple[int, float, float]]  # cat -> (count, sum b, avg a)
    joined: dict[str, tuple[int, float]]  # region -> (count, sum b) over shops JOIN items
    top: list[tuple[int, float]]  # (id, b) of ORDER BY b LIMIT TOP


@dataclass(frozen=True)
class QueryDataset:
    count: int
    seed: int
    shops: list[tuple[int, str]]  # (id, region)
    rows: list[Row]
    answers: Answers = field(repr=False)

    def docs(self) -> list[dict]:
        """The rows as new documents, for one system (never shared, in case one is mutated)."""
        return [as_doc(r) for r in self.rows]

    def _rng(self, trial: int, salt: int) -> random.Random:
        return random.Random(self.seed * 1_000 + trial * 10 + salt)

    def point_keys(self, trial: int, n: int) -> list[int]:
        """``n`` random keys, another draw every trial."""
        rng = self._rng(trial, 1)
        return [rng.randrange(self.count) for _ in range(n)]

    def a_ranges(self, trial: int, n: int) -> list[tuple[int, int]]:
        """``n`` inclusive ranges on ``a`` of RANGE_WIDTH values (~100 rows each)."""
        rng = self._rng(trial, 2)
        span = 10 * self.count
        return [(lo, lo + RANGE_WIDTH - 1)
                for lo in (rng.randrange(max(1, span - RANGE_WIDTH)) for _ in range(n))]

    def b_bands(self, trial: int, n: int) -> list[tuple[float, float]]:
        """``n`` inclusive bands on ``b`` of width SCAN_WIDTH (~1% of the rows each)."""
        rng = self._rng(trial, 3)
        return [(lo, lo + SCAN_WIDTH) for lo in (rng.uniform(0, 1 - SCAN_WIDTH) for _ in range(n))]

    def in_a(self, lo: int, hi: int) -> tuple[int, int]:
        """(rows, sum of their ids) with lo <= a <= hi."""
        ans = self.answers
        i, j = bisect_left(ans.a_sorted, lo), bisect_right(ans.a_sorted, hi)
        return j - i, ans.a_id_sums[j] - ans.a_id_sums[i]

    def in_b(self, lo: float, hi: float) -> tuple[int, int]:
        """(rows, sum of their ids) with lo <= b <= hi."""
        ans = self.answers
        i, j = bisect_left(ans.b_sorted, lo), bisect_right(ans.b_sorted, hi)
        return j - i, ans.b_id_sums[j] - ans.b_id_sums[i]


def as_doc(row: Row) -> dict:
    """A table row as the collection's document: the same values, a and b nested under ``m``."""
    i, sid, a, b, cat, note = row
    return {"key": i, "sid": sid, "cat": cat, "m": {"a": a, "b": b}, "note": note}


def _answers(rows: list[Row], shops: list[tuple[int, str]]) -> Answers:
    by_a = sorted(rows, key=lambda r: (r[2], r[0]))
    by_b = sorted(rows, key=lambda r: r[3])
    groups: dict[str, list] = {}
    for _, _, a, b, cat, _ in rows:
        g = groups.setdefault(cat, [0, 0.0, 0])
        g[0] += 1
        g[1] += b
        g[2] += a
    region = dict(shops)
    joined: dict[str, list] = {}
    for _, sid, _, b, _, _ in rows:
        j = joined.setdefault(region[sid], [0, 0.0])
        j[0] += 1
        j[1] += b
    return Answers(
        a_sorted=[r[2] for r in by_a], a_id_sums=[0, *accumulate(r[0] for r in by_a)],
        b_sorted=[r[3] for r in by_b], b_id_sums=[0, *accumulate(r[0] for r in by_b)],
        groups={c: (n, sb, sa / n) for c, (n, sb, sa) in groups.items()},
        joined={r: (n, sb) for r, (n, sb) in joined.items()},
        top=[(r[0], r[3]) for r in by_b[:TOP]])


def make_data(n: int, seed: int) -> QueryDataset:
    """Seeded rows and shops, so every run (and every system) loads the same ones."""
    rng = random.Random(seed)
    n_shops = max(1, n // 10)
    shops = [(i, rng.choice(REGIONS)) for i in range(n_shops)]
    perm = list(range(n))
    rng.shuffle(perm)
    rows: list[Row] = [
        (i, rng.randrange(n_shops), rng.randrange(10 * n), (perm[i] + rng.random()) / n,
         rng.choice(CATEGORIES), f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.randrange(10**6):06d}")
        for i in range(n)]
    return QueryDataset(count=n, seed=seed, shops=shops, rows=rows, answers=_answers(rows, shops))
