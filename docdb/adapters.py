"""Python values as statement parameters: which types bind as they are, how others are adapted.

``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes`` and JSON values (``dict``,
``list``, ``tuple`` of those) bind as they are. Dates and times are stored as text, by
the rule sqlite3's default adapters follow: ``date`` as ``YYYY-MM-DD``, ``datetime`` as
``YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]`` and ``time`` as ``HH:MM:SS[.ffffff]`` (ISO-8601,
which sorts in time order). Any other type -- ``Decimal``, ``uuid.UUID``, a set -- is a
``ProgrammingError`` naming the parameter, unless ``register_adapter(type, function)``
says how to store it, as in sqlite3 (``register_adapter(Decimal, str)`` keeps it exact
as text). Nothing is ever silently turned into something that matches nothing.
May import: the standard library, ``docdb.errors`` and ``docdb.models.documents``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from docdb.errors import ProgrammingError
from docdb.models.documents import MAX_NESTING  # a value containing itself stops here

__all__ = ["PLAIN_TYPES", "adapt", "register_adapter"]

_ADAPTERS: dict[type, Callable[[Any], Any]] = {}
PLAIN_TYPES = frozenset({type(None), bool, int, float, str, bytes})


def register_adapter(type_: type, adapter: Callable[[Any], Any]) -> None:
    """Store values of ``type_`` (exactly that type) as ``adapter(value)``, which must give a
    value docdb stores: None, a bool, number, text, bytes or a JSON value."""
    if not isinstance(type_, type) or not callable(adapter):
        raise ProgrammingError("register_adapter takes a type and a function")
    _ADAPTERS[type_] = adapter


def _date_time(value: Any) -> str | None:
    if isinstance(value, datetime.datetime):
        return value.isoformat(" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return None


def _plain_json(value: Any, depth: int) -> bool:
    """Whether ``value`` binds as it is: only plain types and text keys, nested no deeper
    than the limit (checked without copying, as a document parameter usually is)."""
    kind = type(value)
    if kind in PLAIN_TYPES:
        return True
    if depth >= MAX_NESTING:
        return False
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _plain_json(item, depth + 1):
                return False
        return True
    if kind is list:
        return all(_plain_json(item, depth + 1) for item in value)
    return False


def adapt(value: Any, where: str, depth: int = 0) -> Any:
    """``value`` as docdb stores it; ``where`` names the parameter in an error."""
    kind = type(value)
    if kind in PLAIN_TYPES:
        return value
    if (kind is dict or kind is list) and _plain_json(value, depth):
        return value
    adapter = _ADAPTERS.get(kind)
    if adapter is not None:
        try:
            adapted = adapter(value)
        except Exception as error:  # the user's function: say whose it was
            raise ProgrammingError(f"{where}: the adapter for {kind.__name__} failed: {error!r}") from error
        if type(adapted) is kind:
            raise ProgrammingError(f"{where}: the adapter for {kind.__name__} returned a {kind.__name__}")
        return adapt(adapted, where)
    text = _date_time(value)
    if text is not None:
        return text
    if kind in (bytearray, memoryview):
        return bytes(value)
    if isinstance(value, (dict, list, tuple)) and depth >= MAX_NESTING:
        shown = where if len(where) <= 50 else where[:50] + "..."
        raise ProgrammingError(f"{shown}: nests deeper than {MAX_NESTING} levels of objects and arrays "
                               "(or contains itself)")
    if isinstance(value, dict):
        return {_key(k, where): adapt(v, f"{where}[{k!r}]", depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [adapt(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    raise ProgrammingError(f"{where}: type {kind.__name__} is not supported "
                           f"(docdb.register_adapter({kind.__name__}, ...) says how to store it)")


def _key(key: Any, where: str) -> str:
    if not isinstance(key, str):
        raise ProgrammingError(f"{where}: object keys are text, not {type(key).__name__} ({key!r:.40})")
    return key
