"""Every document-API peer of ``python -m bench documents``, with the module it needs.

The sqlite3 peer is in ``bench.docpeers``; the pure-Python stores' peers are in
``bench.docpypeers``, imported only when one is opened (their packages are dev
dependencies that may be missing).
May import: the standard library and bench modules.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.docpeers import DocPeer, SqlitePeer

__all__ = ["SYSTEMS"]


def _pypeer(name: str) -> Callable[[str, str], DocPeer]:
    def open_peer(path: str, sync: str) -> DocPeer:
        from bench import docpypeers

        return getattr(docpypeers, name)(path, sync)

    return open_peer


# label -> (module that must import, opener(path, sync)); in column order.
SYSTEMS: dict[str, tuple[str, Callable[[str, str], DocPeer]]] = {
    "sqlite3": ("sqlite3", SqlitePeer),
    "tinydb": ("tinydb", _pypeer("TinyDBPeer")),
    "tinydb-caching": ("tinydb", _pypeer("TinyDBCachingPeer")),
    "montydb": ("montydb", _pypeer("MontyPeer")),
    "mongita": ("mongita", _pypeer("MongitaPeer")),
}
