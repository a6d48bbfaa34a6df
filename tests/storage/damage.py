"""Helpers the corruption tests of both engines share: damage a file, prove nothing changed,
read a store back checking that every way of reading it agrees."""

from __future__ import annotations

from pathlib import Path


def files(path: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes | None]:
    """Every file (None for a directory) under ``path`` and its bytes: to prove nothing changed."""
    out: dict[str, bytes | None] = {}
    for p in sorted(path.rglob("*")):
        if p.name not in skip:
            out[str(p.relative_to(path))] = None if p.is_dir() else p.read_bytes()
    return out


def flip(path: Path, offset: int, bit: int = 0) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ (1 << bit)]))


def read_back(db) -> dict[bytes, bytes]:
    """Everything in an open engine, checking that get, both scans and len agree."""
    found = dict(db.scan())
    assert list(found) == sorted(found)
    assert [k for k, _ in db.scan(reverse=True)] == sorted(found, reverse=True)
    assert len(db) == len(found)
    for k, v in found.items():
        assert db.get(k) == v
    return found
