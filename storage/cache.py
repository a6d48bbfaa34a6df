"""The block cache: parsed data blocks shared by the LSM engines of one database.

Public because a database shares one cache between all its stores (``docdb.models.db``
passes it to every engine it opens) so that memory is bounded once, not per store.
May import: the standard library only.
"""

from __future__ import annotations

from collections import deque


class BlockCache:
    """Parsed data blocks, shared by the tables of one engine, evicted first in first out.

    FIFO rather than LRU: a hit is then one ``dict.get`` (atomic under the GIL,
    so no lock), where LRU bookkeeping cost as much as the lookup it saved.
    """

    def __init__(self, capacity: int):
        self.capacity = max(capacity, 1)
        self._blocks: dict = {}
        self._order: deque = deque()  # keys in the order they came: the next to evict first
        self.get = self._blocks.get

    def __len__(self) -> int:
        return len(self._blocks)

    def put(self, key, block) -> None:
        """Keep ``block``; evict the oldest beyond capacity. The order is a deque, not the
        dict's own: ``next(iter(dict))`` walks over every slot deleted before it, so FIFO
        eviction by it costs O(evicted so far), 7 us a get on a big table."""
        blocks = self._blocks
        blocks[key] = block
        self._order.append(key)
        while len(blocks) > self.capacity:
            try:
                del blocks[self._order.popleft()]
            except (KeyError, IndexError):  # a key put twice, or another thread evicted it first
                pass
