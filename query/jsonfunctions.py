"""SQLite's JSON functions, first part: json, json_valid, json_type, json_extract,
json_array_length, json_quote, json_array and json_object, over JSON text and docdb's
own JSON values alike.

JSON text is parsed (malformed text is an error, as in SQLite; ``json_valid`` says 0);
a docdb value (a JSON column's object or array, a document) is read as it is. A path
is SQLite's: ``$``, then ``.name``, ``."quoted name"``, ``[N]`` or ``[#-N]`` steps.
What ``json_extract`` finds comes back as SQLite gives it for text input -- an object
or array as minified JSON text, true/false as 1/0, null as NULL -- and, for a docdb
value, an object or array as the value itself.
Not yet SQLite's JSON subtype: text one JSON function makes is a string to another
(``json_array(json_array(1))`` is ``'["[1]"]'``, where SQLite nests the array).
May import: the standard library, ``orjson`` and ``query.numbers``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from query.numbers import real_to_text

__all__ = ["SPECS"]

_ABSENT = object()
_STEP = re.compile(r'\.(?:"((?:[^"\\]|\\.)*)"|([^.\[]+))|\[(#-\d+|#|\d+)\]')


class JsonError(ValueError):
    """Malformed JSON or a bad path: the caller reports it as SQLite does."""


def _document(value: object) -> tuple[Any, bool]:
    """(the JSON value, whether it came as text)."""
    if isinstance(value, (dict, list)):
        return value, False
    if isinstance(value, str):
        try:
            return orjson.loads(value), True
        except orjson.JSONDecodeError:
            raise JsonError("malformed JSON") from None
    if isinstance(value, bool):
        return int(value), True
    if isinstance(value, (int, float)) or value is None:
        return value, True
    raise JsonError("malformed JSON")


def _steps(path: object) -> list[Any]:
    if not isinstance(path, str) or not path.startswith("$"):
        raise JsonError(f"bad JSON path: {path!r}")
    steps, position = [], 1
    while position < len(path):
        found = _STEP.match(path, position)
        if found is None:
            raise JsonError(f"bad JSON path: {path!r}")
        quoted, name, index = found.groups()
        if index is not None:
            steps.append(("end", int(index[2:])) if index.startswith("#-") else
                         ("end", 0) if index == "#" else int(index))
        else:
            steps.append(quoted if quoted is not None else name)
        position = found.end()
    return steps


def _follow(value: Any, steps: list[Any]) -> Any:
    for step in steps:
        if isinstance(step, str):
            value = value.get(step, _ABSENT) if isinstance(value, dict) else _ABSENT
        elif isinstance(value, list):
            index = len(value) - step[1] if isinstance(step, tuple) else step
            value = value[index] if 0 <= index < len(value) else _ABSENT
        else:
            value = _ABSENT
        if value is _ABSENT:
            return _ABSENT
    return value


def _as_sql(value: Any, text: bool) -> Any:
    if value is _ABSENT or value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode() if text else value
    return value


def _extract(json: object, *paths: object) -> Any:
    if json is None:
        return None
    value, text = _document(json)
    if len(paths) == 1:
        return _as_sql(_follow(value, _steps(paths[0])), text)
    found = [_follow(value, _steps(p)) for p in paths]
    return orjson.dumps([None if f is _ABSENT else f for f in found]).decode()


def _at(json: object, path: tuple) -> Any:
    """The value at the optional path of a JSON argument; _ABSENT for NULL or nothing there."""
    if json is None:
        return _ABSENT
    value, _ = _document(json)
    return _follow(value, _steps(path[0])) if path else value


def _type(json: object, *path: object) -> str | None:
    value = _at(json, path)
    if value is _ABSENT:
        return None
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {int: "integer", float: "real", str: "text", list: "array", dict: "object"}[type(value)]


def _valid(json: object) -> int:
    if not isinstance(json, str):
        return 0 if json is None or isinstance(json, bytes) else 1
    try:
        orjson.loads(json)
        return 1
    except orjson.JSONDecodeError:
        return 0


def _array_length(json: object, *path: object) -> int | None:
    value = _at(json, path)
    if value is _ABSENT:
        return None
    return len(value) if isinstance(value, list) else 0


def _element(value: object) -> str:
    """One SQL value as JSON text inside an array or object (SQLite's jsonAppendValue)."""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return real_to_text(value) if value == value and abs(value) != float("inf") else "null"
    if isinstance(value, bytes):
        raise JsonError("JSON cannot hold BLOB values")
    return orjson.dumps(value).decode()


def _quote(value: object) -> str:
    return _element(value)


def _array(*values: object) -> str:
    return "[" + ",".join(_element(v) for v in values) + "]"


def _object(*pairs: object) -> str:
    if len(pairs) % 2:
        raise JsonError("json_object() requires an even number of arguments")
    items = []
    for label, value in zip(pairs[::2], pairs[1::2]):
        if not isinstance(label, str):
            raise JsonError("json_object() labels must be TEXT")
        items.append(orjson.dumps(str(label)).decode() + ":" + _element(value))
    return "{" + ",".join(items) + "}"


def _minified(json: object) -> str | None:
    if json is None:
        return None
    value, _ = _document(json)
    return _element(value) if not isinstance(value, (dict, list)) else orjson.dumps(value).decode()


def _reported(function: Callable[..., Any]) -> Callable[..., Any]:
    """JSON errors as the ValueError ``query.expressions`` reports as a DataError."""
    def call(*args: object) -> Any:
        try:
            return function(*args)
        except JsonError as error:
            raise ValueError(str(error)) from None
    return call


SPECS: list[tuple[str, Callable[..., object], int, int | None]] = [
    ("json_extract", _reported(_extract), 2, None),
    ("json_type", _reported(_type), 1, 2),
    ("json_valid", _valid, 1, 1),
    ("json_array_length", _reported(_array_length), 1, 2),
    ("json_quote", _reported(_quote), 1, 1),
    ("json_array", _reported(_array), 0, None),
    ("json_object", _reported(_object), 0, None),
    ("json", _reported(_minified), 1, 1),
]
