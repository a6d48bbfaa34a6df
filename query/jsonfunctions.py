"""SQLite's JSON functions over JSON text and docdb's own JSON values alike: json,
json_valid, json_type, json_extract, the ``->`` and ``->>`` operators, json_array_length,
json_quote, json_array, json_object, json_set, json_insert, json_replace, json_remove,
json_patch, the aggregates json_group_array and json_group_object, and the rows of the
table-valued json_each and json_tree.

JSON text is parsed (malformed text is an error, as in SQLite; ``json_valid`` says 0);
a docdb value (a JSON column's object or array, a document) is read as it is. A path
is SQLite's: ``$``, then ``.name``, ``."quoted name"``, ``[N]`` or ``[#-N]`` steps.
What ``json_extract`` finds comes back as SQLite gives it for text input -- an object
or array as minified JSON text, true/false as 1/0, null as NULL -- and, for a docdb
value, an object or array as the value itself; json_set and the other editing functions
likewise give text for text and a value for a value. SQLite's JSON subtype -- text a JSON
function made is embedded as JSON, not as a string, by the next (``json_array(json_array(1))``
is ``[[1]]``) -- is kept by ``query.expressions``, which hands such arguments over as the
values they stand for (``AS_VALUE``, ``EMBEDS``).
May import: the standard library, ``orjson`` and ``query.numbers``.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from query.numbers import real_to_text

__all__ = ["AGGREGATES", "AS_VALUE", "EACH_COLUMNS", "EMBEDS", "SPECS", "Embedded", "arrow", "arrow_value",
           "each", "embedded", "tree"]

_ABSENT = object()
_STEP = re.compile(r'\.(?:"((?:[^"\\]|\\.)*)"|([^.\[]+))|\[(#-\d+|#|\d+)\]')


class Embedded:
    """An argument that is JSON (SQLite's subtype): the value it stands for, which a JSON
    function embeds as JSON, and the SQL value it came as (what replacing the whole gives)."""

    __slots__ = ("sql", "value")

    def __init__(self, value: Any, sql: Any):
        self.value, self.sql = value, sql


def embedded(text: Any) -> Any:
    """The result of a function whose result is JSON text, as an argument to embed."""
    return Embedded(orjson.loads(text), text) if isinstance(text, str) else text


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


def _steps(path: object) -> tuple[Any, ...]:
    """A path's steps: names, positions and ("end", n) for [#-n]; each text parsed once."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise JsonError(f"bad JSON path: {path!r}")
    return _parsed_steps(path)


@functools.lru_cache(maxsize=1024)
def _parsed_steps(path: str) -> tuple[Any, ...]:
    steps: list[Any] = []
    position = 1
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
    return tuple(steps)


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
    if json is None or not paths:
        return None
    value, text = _document(json)  # malformed text is an error even where a path is NULL
    if not paths or None in paths:
        return None
    if len(paths) == 1:
        return _as_sql(_follow(value, _steps(paths[0])), text)
    found = [_follow(value, _steps(p)) for p in paths]
    return orjson.dumps([None if f is _ABSENT else f for f in found]).decode()


def _at(json: object, path: tuple) -> Any:
    """The value at the optional path of a JSON argument; _ABSENT for NULL or nothing there."""
    if json is None:
        return _ABSENT
    value, _ = _document(json)
    if path and path[0] is None:
        return _ABSENT
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
    if isinstance(value, Embedded):
        value = value.value
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


def _json_value(value: object) -> Any:
    """An SQL value as the JSON value it becomes inside an array or object."""
    if isinstance(value, Embedded):
        return value.value
    if isinstance(value, bytes):
        raise JsonError("JSON cannot hold BLOB values")
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):
        return None
    return value


def _out(value: Any, text: bool) -> Any:
    """An edited document as it came: JSON text for text, the value for a docdb value."""
    if not text:
        return value
    return _element(value) if not isinstance(value, (dict, list)) else orjson.dumps(value).decode()


def _editable(json: object) -> tuple[Any, bool]:
    value, text = _document(json)
    return (value, text) if text else (copy.deepcopy(value), text)  # a docdb value is never changed in place


def _edit(mode: str) -> Callable[..., Any]:
    """json_set (``mode`` "set": create or replace), json_insert (create only) or
    json_replace (replace only), for each (path, value) pair in turn."""
    def edit(json: object, *pairs: object) -> Any:
        if len(pairs) % 2:
            raise JsonError(f"json_{mode}() needs an odd number of arguments")
        if json is None:
            return None
        root, text = _editable(json)
        replaced: list[Any] = []  # SQLite hands back the SQL value that last replaced the whole
        for path, value in zip(pairs[::2], pairs[1::2]):
            steps = _steps(path)
            if not steps and mode != "insert":
                replaced = [value]
            elif not replaced:
                root = _put(root, steps, _json_value(value), mode)
        if replaced:
            value = replaced[0].sql if isinstance(replaced[0], Embedded) else replaced[0]
            return _out(value, text) if isinstance(value, (dict, list)) else value
        return _out(root, text)
    return edit


def _put(node: Any, steps: list[Any], value: Any, mode: str) -> Any:
    if not steps:
        return node if mode == "insert" else value
    step, rest = steps[0], steps[1:]
    if isinstance(step, str):
        if not isinstance(node, dict):
            return node
        if step in node:
            if rest:
                node[step] = _put(node[step], rest, value, mode)
            elif mode != "insert":
                node[step] = value
        elif mode != "replace":
            built = _build(rest, value)
            if built is not _ABSENT:
                node[step] = built
        return node
    if not isinstance(node, list):
        return node
    index = len(node) - step[1] if isinstance(step, tuple) else step
    if 0 <= index < len(node):
        if rest:
            node[index] = _put(node[index], rest, value, mode)
        elif mode != "insert":
            node[index] = value
    elif index == len(node) and mode != "replace":
        built = _build(rest, value)
        if built is not _ABSENT:
            node.append(built)
    return node


def _build(rest: list[Any], value: Any) -> Any:
    """The new branch a path still to walk makes (objects for names, an array for [0] or [#])."""
    if not rest:
        return value
    inner = _build(rest[1:], value)
    if inner is _ABSENT:
        return _ABSENT
    step = rest[0]
    if isinstance(step, str):
        return {step: inner}
    return [inner] if step in (0, ("end", 0)) else _ABSENT


def _remove(json: object, *paths: object) -> Any:
    if json is None:
        return None
    root, text = _editable(json)
    if None in paths:
        return None
    for path in paths:
        steps = _steps(path)
        if not steps:
            return None
        parent = _follow(root, steps[:-1])
        step = steps[-1]
        if isinstance(step, str) and isinstance(parent, dict):
            parent.pop(step, None)
        elif not isinstance(step, str) and isinstance(parent, list):
            index = len(parent) - step[1] if isinstance(step, tuple) else step
            if 0 <= index < len(parent):
                del parent[index]
    return _out(root, text)


def _merged(target: Any, patch: Any) -> Any:
    """RFC 7396 MergePatch, as json_patch applies it."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merged(result.get(key), value)
    return result


def _patch(json: object, patch: object) -> Any:
    if json is None:
        return None
    root, text = _editable(json)
    if patch is None:
        return None
    return _out(_merged(root, _document(patch)[0]), text)


def _arrow_steps(path: object) -> list[Any]:
    """The right side of -> and ->>: a path, or a bare name (an object's key) or integer
    (an array's position), as SQLite takes them."""
    if isinstance(path, int) and not isinstance(path, bool):
        return [path]  # a negative one finds nothing (SQLite 3.40)
    if isinstance(path, str):
        return _steps(path) if path.startswith("$") else [path]
    raise JsonError(f"bad JSON path: {path!r}")


def arrow(json: object, path: object) -> Any:
    """``json -> path``: what is there as JSON text (a string quoted), NULL if nothing."""
    if json is None or path is None:
        return None
    found = _follow(_document(json)[0], _arrow_steps(path))
    return None if found is _ABSENT else _element(found)


def arrow_value(json: object, path: object) -> Any:
    """``json ->> path``: what is there as an SQL value, as json_extract gives it."""
    if json is None or path is None:
        return None
    value, text = _document(json)
    return _as_sql(_follow(value, _arrow_steps(path)), text)


def _extract_value(json: object, *paths: object) -> Any:
    """json_extract's find as the JSON value itself (what embeds it as JSON, not text)."""
    if json is None or not paths:
        return None
    value, _ = _document(json)
    if len(paths) == 1:  # JSON only for an object or array; anything else is its SQL value
        found = _follow(value, _steps(paths[0]))
        return Embedded(found, _element(found)) if isinstance(found, (dict, list)) else _as_sql(found, True)
    found = [None if (f := _follow(value, _steps(p))) is _ABSENT else f for p in paths]
    return Embedded(found, _element(found))


class JsonGroupArray:
    """json_group_array(x): the values as a JSON array's text (NULLs as null)."""

    name, min_args, max_args = "json_group_array", 1, 1

    def __init__(self) -> None:
        self.values: list[Any] = []

    def step(self, value: object) -> None:
        self.values.append(_json_value(value))

    def final(self) -> str:
        return orjson.dumps(self.values).decode() if self.values else "[]"


class JsonGroupObject:
    """json_group_object(name, value): the pairs as a JSON object's text."""

    name, min_args, max_args = "json_group_object", 2, 2

    def __init__(self) -> None:
        self.pairs: list[str] = []  # as SQLite keeps them: a label given twice is there twice

    def step(self, label: object, value: object) -> None:
        if label is None:
            return
        if not isinstance(label, str):
            raise ValueError("json_group_object() labels must be TEXT")
        self.pairs.append(orjson.dumps(label).decode() + ":" + _element(_json_value(value)))

    def final(self) -> str:
        return "{" + ",".join(self.pairs) + "}"


EACH_COLUMNS = ("key", "value", "type", "atom", "id", "parent", "fullkey", "path")
_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def _nodes(value: Any) -> list[tuple[list[Any], Any, int, int | None, str]]:
    """Every node of a document, in document order: (steps, value, id, parent's id, full
    path). Ids count as SQLite 3.40's do: one per value, and one per object key before it."""
    found: list[tuple[list[Any], Any, int, int | None, str]] = []
    counter = [0]

    def visit(steps: list[Any], node: Any, parent: int | None, path: str) -> None:
        own = counter[0]
        counter[0] += 1
        found.append((steps, node, own, parent, path))
        if isinstance(node, dict):
            for key, child in node.items():
                counter[0] += 1  # the key's own node
                step = _key_step(key)
                visit([*steps, key], child, own, path + step)
        elif isinstance(node, list):
            for position, child in enumerate(node):
                visit([*steps, position], child, own, f"{path}[{position}]")
    visit([], value, None, "$")
    return found


def _key_step(key: str) -> str:
    """An object key as a step of a full path: ``.name``, quoted unless it is letters and digits."""
    return f".{key}" if _PLAIN_KEY.fullmatch(key) else f'."{key}"'


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {int: "integer", float: "real", str: "text", list: "array", dict: "object"}[type(value)]


def _row(steps: list[Any], value: Any, own: int, parent: int | None, full: str, parent_path: str) -> tuple:
    container = isinstance(value, (dict, list))
    sql = orjson.dumps(value).decode() if container else _as_sql(value, True)
    return (steps[-1] if steps else None, sql, _type_name(value), None if container else sql, own, parent,
            full, parent_path)


def _rows(json: object, path: tuple, whole_tree: bool) -> Iterator[tuple]:
    if json is None:
        return iter(())
    value, _ = _document(json)
    steps = _steps(path[0]) if path and path[0] is not None else []
    located = _locate(value, steps)
    if located is None:
        return iter(())
    node, own, where = located
    full = "$" + "".join(f"[{s}]" if isinstance(s, int) else _key_step(s) for s in where)
    container = isinstance(node, (dict, list))
    if whole_tree:
        # the starting element's key, as SQLite 3.40 shows it: an object member's name when it
        # holds an object or array, else none
        first = where if container and where and isinstance(where[-1], str) else []
        rows = [_row(first, node, own, None, full, _parent_path(full, where))]
        for steps_below, item, number, parent, text in _nodes(node)[1:]:
            at = full + text[1:]
            rows.append(_row(steps_below, item, own + number, own + (parent or 0), at,
                             _parent_path(at, steps_below)))
        return iter(rows)
    written = path[0] if path and path[0] is not None else "$"  # json_each prints the path as written
    if not container:
        return iter([_row([], node, own, None, written, written)])
    rows, number = [], own + 1
    if isinstance(node, dict):
        for key, child in node.items():
            number += 1  # the key's own node
            rows.append(_row([key], child, number, None, written + _key_step(key), written))
            number += _size(child)
    else:
        for position, child in enumerate(node):
            rows.append(_row([position], child, number, None, f"{written}[{position}]", written))
            number += _size(child)
    return iter(rows)


def _size(value: Any) -> int:
    """How many ids a value takes in SQLite 3.40's numbering (``_nodes``)."""
    if isinstance(value, dict):
        return 1 + sum(1 + _size(child) for child in value.values())
    if isinstance(value, list):
        return 1 + sum(_size(child) for child in value)
    return 1


def _locate(root: Any, steps: list[Any]) -> tuple[Any, int, list[Any]] | None:
    """(the element at ``steps``, its id, the steps to it with positions counted from the
    start), or None when nothing is there."""
    node, own, where = root, 0, []
    for step in steps:
        if isinstance(step, str):
            if not isinstance(node, dict) or step not in node:
                return None
            number = own + 1
            for key, child in node.items():
                number += 1
                if key == step:
                    break
                number += _size(child)
            node, own = node[step], number
            where.append(step)
            continue
        if not isinstance(node, list):
            return None
        index = len(node) - step[1] if isinstance(step, tuple) else step
        if not 0 <= index < len(node):
            return None
        own = own + 1 + sum(_size(child) for child in node[:index])
        node = node[index]
        where.append(index)
    return node, own, where


def _parent_path(full: str, steps: list[Any]) -> str:
    if not steps:
        return "$"
    last = steps[-1]
    tail = f"[{last}]" if isinstance(last, int) else _key_step(last)
    return full[:-len(tail)]


def each(json: object, *path: object) -> Iterator[tuple]:
    """json_each's rows: the children of the element at ``path`` (the element itself if
    it is no array or object), as (key, value, type, atom, id, parent, fullkey, path)."""
    return _rows(json, path, False)


def tree(json: object, *path: object) -> Iterator[tuple]:
    """json_tree's rows: the element at ``path`` and everything below it."""
    return _rows(json, path, True)


def _reported(function: Callable[..., Any]) -> Callable[..., Any]:
    """JSON errors as the ValueError ``query.expressions`` reports as a DataError."""
    def call(*args: object) -> Any:
        try:
            return function(*args)
        except JsonError as error:
            raise ValueError(str(error)) from None
    return call


SPECS: list[tuple[str, Callable[..., object], int, int | None]] = [
    ("json_extract", _reported(_extract), 1, None),
    ("json_type", _reported(_type), 1, 2),
    ("json_valid", _valid, 1, 1),
    ("json_array_length", _reported(_array_length), 1, 2),
    ("json_quote", _reported(_quote), 1, 1),
    ("json_array", _reported(_array), 0, None),
    ("json_object", _reported(_object), 0, None),
    ("json", _reported(_minified), 1, 1),
    ("json_set", _reported(_edit("set")), 1, None),
    ("json_insert", _reported(_edit("insert")), 1, None),
    ("json_replace", _reported(_edit("replace")), 1, None),
    ("json_remove", _reported(_remove), 1, None),
    ("json_patch", _reported(_patch), 2, 2),
]

AGGREGATES = [JsonGroupArray, JsonGroupObject]

# JSON functions whose result is JSON (SQLite's subtype): as an argument that embeds a
# value, each is handed over as the JSON value it stands for -- what it returns parsed,
# or for json_extract (whose text result is JSON only for an object or array) what it finds
AS_VALUE: dict[str, Callable[..., Any] | None] = {
    name: None for name in ("json", "json_array", "json_object", "json_set", "json_insert",
                            "json_replace", "json_remove", "json_patch", "json_quote", "json_group_array",
                            "json_group_object")}
AS_VALUE["json_extract"] = _reported(_extract_value)

# which arguments of a function embed a value in JSON (so an argument in AS_VALUE embeds as JSON)
EMBEDS: dict[str, Callable[[int], bool]] = {
    "json_array": lambda i: True, "json_object": lambda i: i % 2 == 1, "json_quote": lambda i: True,
    "json_set": lambda i: i > 0 and i % 2 == 0, "json_insert": lambda i: i > 0 and i % 2 == 0,
    "json_replace": lambda i: i > 0 and i % 2 == 0, "json_group_array": lambda i: True,
    "json_group_object": lambda i: i == 1}
