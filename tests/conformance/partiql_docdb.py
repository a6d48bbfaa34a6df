"""docdb as a PartiQL evaluator for ``tests.conformance.partiql``.

The cases share one in-memory database (they create nothing in it); a case's environment becomes named
bindings the statement reads (``query.executor.evaluate``), so ``FROM animals``
ranges over the ``animals`` list and ``a.b`` reads the ``a`` struct. Ion decimals
arrive as ``Decimal`` and become floats (docdb has no decimal type); a struct with
repeated names keeps the last of each; a bag becomes docdb's ``Bag``.
Run: ``python -m tests.conformance.partiql --evaluator tests.conformance.partiql_docdb:evaluate
--parser tests.conformance.partiql_docdb:parse --missing query.values:MISSING
--error-class docdb:Error``.
"""

from __future__ import annotations

import datetime
import functools
from decimal import Decimal
from typing import Any

import docdb
from query.executor import evaluate as run
from query.parser import parse as parse_text
from query.values import Bag
from tests.conformance.partiql import Bag as PartiqlBag
from tests.conformance.partiql import Struct


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, PartiqlBag):  # a bag stays a bag: its elements have no positions
        return Bag(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Struct):
        return {k: _plain(v) for k, v in value.pairs}
    if isinstance(value, datetime.time):
        return value.isoformat()
    return value


@functools.cache
def _connection() -> Any:
    return docdb.connect(autocommit=True)


def evaluate(statement: str, env: dict[str, Any]) -> Any:
    return run(_connection(), statement, _plain(env), permissive=True)  # the cases' EvalModeCoerce


def parse(statement: str) -> Any:
    return parse_text(statement)
