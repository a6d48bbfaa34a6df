"""docdb's tests (a package, so tests/storage/ does not shadow the real storage package)."""
