"""The hash-index engine (Bitcask); see ``storage.hash.engine``."""

from storage.hash.engine import HashEngine

__all__ = ["HashEngine"]
