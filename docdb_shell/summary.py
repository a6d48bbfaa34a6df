"""A collection's fields at a glance, for ``.schema`` and completion: a sample, not a scan.

Documents have no declared schema, so the shell reads the first ``SAMPLE`` of them
and reports each path it saw (``address.city``; ``items[].sku`` for fields of
array elements), the JSON types found there and how many sampled documents have it.
May import: the standard library.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

__all__ = ["SAMPLE", "field_paths", "field_summary"]

SAMPLE = 100
MAX_DEPTH = 4


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "real"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else type(value).__name__


def _walk(value: Any, prefix: str, depth: int, found: dict[str, set[str]]) -> None:
    if isinstance(value, dict) and depth < MAX_DEPTH:
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            found[path].add(_type(item))
            _walk(item, path, depth + 1, found)
    elif isinstance(value, list) and depth < MAX_DEPTH:
        for item in value:
            if isinstance(item, (dict, list)):
                _walk(item, prefix + "[]", depth + 1, found)


def _sample(collection: Any) -> tuple[list[dict[str, set[str]]], int]:
    per_document = []
    for document in collection.find(limit=SAMPLE):
        found: dict[str, set[str]] = defaultdict(set)
        _walk(document, "", 0, found)
        per_document.append(found)
    return per_document, collection.estimated_document_count()


def field_paths(collection: Any) -> list[str]:
    """The paths seen in a sample of the collection, in the order first seen."""
    seen: dict[str, None] = {}
    for found in _sample(collection)[0]:
        seen.update(dict.fromkeys(found))
    return list(seen)


def field_summary(collection: Any) -> list[str]:
    """Comment lines: ``--   path  types  share of sampled documents``."""
    per_document, total = _sample(collection)
    if not per_document:
        return ["-- no documents yet"]
    present: Counter = Counter()
    types: dict[str, set[str]] = defaultdict(set)
    for found in per_document:
        for path, kinds in found.items():
            present[path] += 1
            types[path] |= kinds
    width = max(len(p) for p in present)
    lines = [f"-- fields, from {len(per_document):,} of {total:,} documents:"]
    for path in present:  # first-seen order
        share = 100 * present[path] / len(per_document)
        lines.append(f"--   {path.ljust(width)}  {'|'.join(sorted(types[path])):<16} {share:5.1f}%")
    return lines
