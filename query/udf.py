"""The functions a statement may call: the built-ins, and those a connection adds.

``Functions`` answers the planner's three questions -- is this name an aggregate, which
scalar function, which aggregate -- from a connection's own functions first (so, as in
sqlite3, they may replace a built-in), then the built-ins. ``user_scalar`` and
``user_aggregate`` wrap what ``conn.create_function`` and ``conn.create_aggregate`` are
given: MISSING arrives as None, and an exception inside the user's code becomes an
``OperationalError`` naming the function (sqlite3's "user-defined function raised
exception"), never a traceback from deep in a plan.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from docdb.errors import OperationalError, ProgrammingError
from query import functions as builtin
from query.values import MISSING, CollatedText

__all__ = ["BUILTINS", "Functions", "user_aggregate", "user_collation", "user_scalar"]

_RETURNABLE = (type(None), bool, int, float, str, bytes, dict, list)


Fold = Callable[[str], str]  # text -> what it compares as, under a collation


class Functions:
    def __init__(self, scalars: dict[str, builtin.ScalarFunction] | None = None,
                 aggregates: dict[str, type] | None = None, collations: dict[str, Fold] | None = None):
        self.scalars = dict(scalars or {})
        self.aggregates = dict(aggregates or {})
        self.collations = dict(collations or {})  # upper-case name -> fold (``user_collation``)

    def with_scalar(self, function: builtin.ScalarFunction) -> Functions:
        aggregates = {k: v for k, v in self.aggregates.items() if k != function.name}
        return Functions({**self.scalars, function.name: function}, aggregates, self.collations)

    def without_scalar(self, name: str) -> Functions:
        folded = name.lower()
        return Functions({k: v for k, v in self.scalars.items() if k != folded}, self.aggregates,
                         self.collations)

    def with_aggregate(self, name: str, factory: type) -> Functions:
        scalars = {k: v for k, v in self.scalars.items() if k != name}
        return Functions(scalars, {**self.aggregates, name: factory}, self.collations)

    def with_collation(self, name: str, fold: Fold | None) -> Functions:
        """These functions with collation ``name`` made (``fold``) or removed (None)."""
        collations = {k: v for k, v in self.collations.items() if k != name.upper()}
        if fold is not None:
            collations[name.upper()] = fold
        return Functions(self.scalars, self.aggregates, collations)

    def is_aggregate(self, name: str) -> bool:
        folded = name.lower()
        if folded in self.aggregates:
            return True
        return folded not in self.scalars and builtin.is_aggregate(folded)

    def lookup_scalar(self, name: str) -> builtin.ScalarFunction:
        found = self.scalars.get(name.lower())
        return found if found is not None else builtin.lookup_scalar(name)

    def lookup_aggregate(self, name: str) -> type:
        found = self.aggregates.get(name.lower())
        return found if found is not None else builtin.lookup_aggregate(name)


BUILTINS = Functions()


def _arity(name: str, narg: int) -> tuple[int, int | None]:
    if isinstance(narg, bool) or not isinstance(narg, int) or narg < -1:
        raise ProgrammingError(f"function {name}: narg is the number of arguments, or -1 for any")
    return (0, None) if narg == -1 else (narg, narg)


def _checked_name(name: Any) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ProgrammingError(f"a function name is a plain name, not {name!r}")
    return name.lower()


def _plain(args: tuple) -> tuple:
    return tuple(None if a is MISSING else a for a in args)


def _guarded(name: str, call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)``, the user's code: an exception in it is reported as theirs."""
    try:
        return call(*args)
    except Exception as error:
        what = name if name.startswith("collation ") else f"user-defined function {name}()"
        raise OperationalError(f"{what} raised {type(error).__name__}: {error}") from error


def _value(name: str, result: Any) -> Any:
    if not isinstance(result, _RETURNABLE):
        raise OperationalError(f"user-defined function {name}() returned a {type(result).__name__}, "
                               "which docdb cannot hold")
    return result


def user_scalar(name: str, narg: int, func: Callable[..., Any]) -> builtin.ScalarFunction:
    folded = _checked_name(name)
    if not callable(func):
        raise ProgrammingError(f"function {name}: {func!r} is not callable")
    low, high = _arity(name, narg)
    return builtin.ScalarFunction(folded, lambda *args: _value(name, _guarded(name, func, *_plain(args))),
                                  low, high)


def user_aggregate(name: str, narg: int, aggregate_class: type) -> type:
    """An aggregate whose instances call ``step(*values)`` on a new ``aggregate_class()`` for
    each row of a group, and ``finalize()`` for the group's value, as sqlite3's do."""
    folded = _checked_name(name)
    if not callable(aggregate_class):
        raise ProgrammingError(f"aggregate {name}: {aggregate_class!r} is not a class")
    low, high = _arity(name, narg)

    class UserAggregate:
        def __init__(self) -> None:
            self.inner = _guarded(name, aggregate_class)

        def step(self, *args: Any) -> None:
            _guarded(name, self.inner.step, *_plain(args))

        def final(self) -> Any:
            return _value(name, _guarded(name, self.inner.finalize))

    UserAggregate.name, UserAggregate.min_args, UserAggregate.max_args = folded, low, high
    return UserAggregate


def user_collation(name: Any, compare: Callable[[str, str], int]) -> Fold:
    """The fold of ``conn.create_collation(name, compare)``: text becomes ``CollatedText``,
    which compares by ``compare(a, b)`` (an int: negative, zero or positive)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ProgrammingError(f"a collation name is a plain name, not {name!r}")
    if not callable(compare):
        raise ProgrammingError(f"collation {name}: {compare!r} is not callable")
    label = f"collation {name}"

    def checked(a: str, b: str) -> int:
        result = _guarded(label, compare, a, b)
        if isinstance(result, bool) or not isinstance(result, int):
            raise OperationalError(f"{label} returned {result!r}, not an integer")
        return result

    return lambda text: CollatedText(text, checked)
