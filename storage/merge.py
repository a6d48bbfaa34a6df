"""The newest-wins merge of sorted sources: the LSM engine's scans with ``contains``, and
docdb's snapshots, which lay logged writes over an engine's scan.

Written once, as LevelDB's merger.cc is: each source yields ``(key, value)``
in order (value ``None`` for a tombstone), sources are ranked newest first, and
for a key present in several sources only the newest entry survives. Streams:
memory is one entry per source, never a whole table.
May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

Entry = tuple[bytes, "bytes | None"]  # a key and its value, None for a tombstone



def _ranked(source: Iterable[Entry], rank: int) -> Iterator[tuple[bytes, int, bytes | None]]:
    for key, value in source:
        yield key, rank, value


def merge(sources: list[Iterable[Entry]], reverse: bool = False,
          keep_tombstones: bool = False) -> Iterator[Entry]:
    """Entries of all ``sources`` (newest first) in key order, newest wins per key.

    Ties on a key sort by rank so the newest comes first, in both directions
    (forward ranks ascend, reverse ranks are negated before sorting descending).
    """
    if len(sources) == 1:  # nothing to merge (a compacted table, no recent writes)
        yield from (sources[0] if keep_tombstones else (e for e in sources[0] if e[1] is not None))
        return
    ranked = [_ranked(src, -r if reverse else r) for r, src in enumerate(sources)]
    previous = None
    for key, _rank, value in heapq.merge(*ranked, reverse=reverse):
        if key == previous:
            continue
        previous = key
        if value is not None or keep_tombstones:
            yield key, value
