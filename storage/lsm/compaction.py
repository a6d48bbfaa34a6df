"""Which tables to compact: size-tiered, over runs of tables adjacent in recency.

Why size-tiered rather than leveled: in pure Python the cost of a write is
mostly the bytes we rewrite, and size-tiered rewrites each byte about
log_T(data / memtable) times against leveled's ~T per level; reads stay cheap
because bloom filters skip almost every table that lacks the key, and a
scan merges one iterator per table. The price is space amplification between
compactions (up to about T/(T-1) of the data, plus dead versions) and more
tables per read; ``python -m bench storage`` measures both amplifications.

A table's *tier* is ``floor(log_T(size / base))`` (``base`` = the memtable
size, so fresh flushes are tier 0). The policy finds the newest run of at least
``T`` adjacent tables of one tier and merges it into one table that takes the
run's place in the recency order, so newest-wins stays a matter of position.
Tombstones are dropped only when the run reaches the oldest table: no older
file can then hold a value they must hide.
May import: the standard library only.
"""

from __future__ import annotations


def tier(size: int, base: int, fanout: int) -> int:
    """``floor(log_fanout(size / base))``, in integers (floats put exact powers a tier low)."""
    level, bound = 0, base * fanout
    while size >= bound:
        level, bound = level + 1, bound * fanout
    return level


def pick_run(sizes: list[int], base: int, fanout: int) -> tuple[int, int] | None:
    """``(lo, hi)``: tables ``sizes[lo:hi]`` (newest first) to merge, or None."""
    tiers = [tier(s, base, fanout) for s in sizes]
    lo = 0
    for i in range(1, len(tiers) + 1):
        if i == len(tiers) or tiers[i] != tiers[lo]:
            if i - lo >= fanout:
                return lo, i
            lo = i
    return None


def smallest_run(sizes: list[int], width: int) -> tuple[int, int]:
    """``(lo, lo + width)``: the ``width`` adjacent tables with the fewest bytes, for when
    the tree holds too many tables and no tier is due (tiers of ``fanout - 1`` tables each)."""
    width = min(width, len(sizes))
    totals = [sum(sizes[i:i + width]) for i in range(len(sizes) - width + 1)]
    lo = totals.index(min(totals))
    return lo, lo + width
