"""MongoDB's positional update paths: ``items.$.qty`` and ``items.$[].qty``.

``$`` stands for the position of the first element of the array that the update's
filter matched (``update_one({"items.sku": "pear"}, {"$set": {"items.$.qty": 0}})``);
``$[]`` for every element. ``concrete_paths`` turns a path holding them into the plain
dotted paths to change in one document, before the update operators run.
May import: the standard library and ``docdb.models``.
"""

from __future__ import annotations

from typing import Any

from docdb.errors import DataError
from docdb.models.filters import compile_filter

__all__ = ["concrete_paths", "is_positional"]


def is_positional(path: str) -> bool:
    return any(part in ("$", "$[]") for part in path.split("."))


def _node(document: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(document, dict):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


def matched_position(document: dict, filter: dict | None, array_path: str) -> int | None:
    """The index of the first element of the array at ``array_path`` that the filter's
    conditions on that array (on the array itself, or on paths inside its elements) hold for."""
    array = _node(document, array_path.split("."))
    if not isinstance(array, list):
        return None
    prefix = array_path + "."
    inside = {k[len(prefix):]: v for k, v in (filter or {}).items() if k.startswith(prefix)}
    whole = [v for k, v in (filter or {}).items() if k == array_path]
    inner = compile_filter(inside) if inside else None
    on_element = [compile_filter({"v": v}) for v in whole]
    if inner is None and not on_element:
        return None
    for i, element in enumerate(array):
        if inner is not None and not (isinstance(element, dict) and inner(element)):
            continue
        if all(test({"v": element}) or test({"v": [element]}) for test in on_element):
            return i
    return None


def concrete_paths(document: dict, path: str, filter: dict | None) -> list[str]:
    """The plain paths ``path`` stands for in ``document`` (itself, if it is plain)."""
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part == "$":
            position = matched_position(document, filter, ".".join(parts[:i]))
            if position is None:
                raise DataError(f"the positional operator in {path!r} did not find the match it needs "
                                "in the filter (a condition on the array)")
            return concrete_paths(document, ".".join([*parts[:i], str(position), *parts[i + 1:]]), filter)
        if part == "$[]":
            array = _node(document, parts[:i])
            if not isinstance(array, list):
                raise DataError(f"{'.'.join(parts[:i])} is not an array: {path!r} cannot apply $[] to it")
            return [p for n in range(len(array))
                    for p in concrete_paths(document, ".".join([*parts[:i], str(n), *parts[i + 1:]]), filter)]
    return [path]
