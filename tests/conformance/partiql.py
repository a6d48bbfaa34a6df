"""Runner for the PartiQL conformance cases in ``data/partiql/tests.jsonl``.

The cases come from the PartiQL project's conformance suite (partiql-tests, Apache-2.0; see
``data/partiql/LICENSE`` and ``NOTICE``), converted from Ion to one JSON object per line:
``name``, ``file`` and ``ns`` (where the case came from), ``statements`` (equivalent
statements that must all give the result), ``env`` (named values; a list is a collection to
query) and ``assert`` (the expected outcome per evaluation mode). They measure how closely
docdb's document side follows PartiQL; this module knows nothing of docdb: the caller passes
``evaluate(statement, env) -> value``, so the plumbing is tested with toy evaluators and the
docdb adapter can come later.

Ion values that JSON lacks are tagged objects, decoded by :func:`decode`:

* ``{"$missing": true}`` -> :data:`MISSING` (or the caller's sentinel);
* ``{"$bag": [...]}`` -> :class:`Bag`, a ``list`` compared as a multiset;
* ``{"$decimal": "1.30"}`` -> :class:`decimal.Decimal`;
* ``{"$symbol": "a"}`` -> ``str`` (docdb has no symbol type; SQL compares symbols as text);
* ``{"$ann": ["$time"], "value": "04:05:06"}`` -> :class:`datetime.time`;
* a struct with ``"$dupkeys": [[name, value], ...]`` (repeated field names) -> :class:`Struct`.

Comparison (:func:`compare`): the evaluation mode is permissive (``EvalModeCoerce``). Bags
equal any list or tuple holding the same multiset; lists are ordered; structs ignore field
order (a field whose value is MISSING does not exist); int, float and Decimal compare by
numeric value (a float against a Decimal within a relative 1e-12, since an engine may compute
decimals in binary floating point); bool is not a number; NULL (``None``) is not MISSING.
``SyntaxSuccess``/``SyntaxFail`` cases need a ``parse`` callable, and are skipped without one.

Usage::

    python -m tests.conformance.partiql --evaluator module:function [--error-class module:Name]
        [--parser module:function] [--missing module:name] [--by file|ns] [--failures]
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import math
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from tests.conformance.deadline import Deadline, RecordTimeout

__all__ = [
    "DATA_FILE",
    "MISSING",
    "Bag",
    "Case",
    "CaseResult",
    "Report",
    "Struct",
    "compare",
    "decode",
    "load_cases",
    "run_cases",
]

DATA_FILE = Path(__file__).resolve().parent / "data" / "partiql" / "tests.jsonl"
PERMISSIVE = "EvalModeCoerce"
FLOAT_DECIMAL_TOLERANCE = 1e-12


class _Missing:
    """PartiQL's MISSING: the absence of a value, distinct from NULL (``None``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class Bag(list):  # type: ignore[type-arg]
    """A PartiQL bag: an unordered collection. A ``list``, so evaluators may treat it as one."""

    def __repr__(self) -> str:
        return f"Bag({list.__repr__(self)})"


@dataclass(frozen=True)
class Struct:
    """A struct with repeated field names, which a ``dict`` cannot hold: its (name, value) pairs."""

    pairs: tuple[tuple[str, Any], ...]

    def __repr__(self) -> str:
        return "Struct({" + ", ".join(f"{name!r}: {value!r}" for name, value in self.pairs) + "})"


def decode(value: Any, missing: Any = MISSING) -> Any:
    """Turn the JSON encoding of an Ion value into Python values (see the module docstring)."""
    if isinstance(value, list):
        return [decode(item, missing) for item in value]
    if not isinstance(value, dict):
        return value
    tags = {key for key in value if key.startswith("$")}
    if not tags:
        return {key: decode(item, missing) for key, item in value.items()}
    if value == {"$missing": True}:
        return missing
    if tags == {"$bag"} and len(value) == 1:
        return Bag(decode(item, missing) for item in value["$bag"])
    if tags == {"$decimal"} and len(value) == 1:
        return Decimal(value["$decimal"])
    if tags == {"$symbol"} and len(value) == 1:
        return value["$symbol"]
    if tags == {"$ann"} and set(value) == {"$ann", "value"} and value["$ann"] == ["$time"]:
        return datetime.time.fromisoformat(value["value"])
    if tags == {"$dupkeys"}:
        pairs = [(key, decode(item, missing)) for key, item in value.items() if key != "$dupkeys"]
        pairs += [(key, decode(item, missing)) for key, item in value["$dupkeys"]]
        return Struct(tuple(pairs))
    raise ValueError(f"unknown tagged value in the PartiQL data: {value!r}")


@dataclass(frozen=True, eq=False)
class Case:
    """One conformance case, with the assertion of the permissive mode.

    ``kind``: ``success`` (``expected`` holds the output), ``fail`` (evaluation must fail),
    ``syntax-success``/``syntax-fail`` (parsing only), or ``none`` (no assertion for the mode).
    ``env_json`` and ``expected_json`` are the raw JSON; :meth:`env` and :attr:`expected` decode.
    """

    name: str
    file: str
    ns: tuple[str, ...]
    statements: tuple[str, ...]
    env_json: dict[str, Any]
    kind: str
    expected_json: Any = None
    line: int = 0

    def env(self, missing: Any = MISSING) -> dict[str, Any]:
        """A fresh decoded copy of the environment (evaluators may mutate it)."""
        return decode(self.env_json, missing)

    @property
    def expected(self) -> Any:
        return decode(self.expected_json)

    @property
    def group(self) -> str:
        return "/".join(self.ns) or "(none)"


def _case_kind(asserts: list[dict[str, Any]], mode: str) -> tuple[str, Any]:
    for assertion in asserts:
        result = assertion["result"]
        if result in ("SyntaxSuccess", "SyntaxFail"):
            return ("syntax-success" if result == "SyntaxSuccess" else "syntax-fail"), None
        if mode in assertion.get("evalMode", []):
            if result == "EvaluationSuccess":
                return "success", assertion.get("output")
            if result == "EvaluationFail":
                return "fail", None
            raise ValueError(f"unknown assertion result {result!r}")
    return "none", None


def load_cases(path: str | Path = DATA_FILE, mode: str = PERMISSIVE) -> list[Case]:
    """Read the JSON-lines cases, keeping for each the assertion of evaluation ``mode``.

    Every value is decoded once here, so malformed data fails at load time, not mid-run.
    """
    cases: list[Case] = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            raw = json.loads(line)
            kind, output = _case_kind(raw["assert"], mode)
            decode(raw["env"])
            decode(output)
            cases.append(Case(raw["name"], raw["file"], tuple(raw["ns"]), tuple(raw["statements"]),
                              raw["env"], kind, output, number))
    return cases


# --------------------------------------------------------------------------- comparison


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _numbers_equal(expected: int | float | Decimal, got: int | float | Decimal) -> bool:
    if isinstance(expected, float) or isinstance(got, float):
        left, right = float(expected), float(got)
        if isinstance(expected, Decimal) or isinstance(got, Decimal):
            return math.isclose(left, right, rel_tol=FLOAT_DECIMAL_TOLERANCE)
        return left == right
    return expected == got  # int and Decimal compare exactly


def _struct_pairs(value: Any, missing: Any) -> list[tuple[Any, Any]] | None:
    if isinstance(value, Struct):
        pairs = list(value.pairs)
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        return None
    return [(name, item) for name, item in pairs if item is not missing and item is not MISSING]


def _multiset_equal(expected: Sequence[Any], got: Sequence[Any], same: Callable[[Any, Any], bool]) -> bool:
    if len(expected) != len(got):
        return False
    remaining = list(got)
    for item in expected:
        for index, candidate in enumerate(remaining):
            if same(item, candidate):
                del remaining[index]
                break
        else:
            return False
    return True


def compare(expected: Any, got: Any, missing: Any = MISSING) -> bool:
    """Whether ``got`` (an evaluator's result) matches ``expected`` (a decoded output).

    ``missing`` is the evaluator's MISSING sentinel; see the module docstring for the rules.
    """
    if expected is MISSING:
        return got is missing or got is MISSING
    if expected is None:
        return got is None
    if got is missing or got is MISSING:
        return False
    if isinstance(expected, bool):
        return isinstance(got, bool) and got == expected
    if _is_number(expected):
        return _is_number(got) and _numbers_equal(expected, got)
    if isinstance(expected, str):
        return isinstance(got, str) and got == expected
    if isinstance(expected, datetime.time):
        return got == expected or got == expected.isoformat()
    if isinstance(expected, Bag):
        return isinstance(got, list | tuple) and _multiset_equal(
            expected, got, lambda left, right: compare(left, right, missing))
    if isinstance(expected, list):
        return (isinstance(got, list | tuple) and not isinstance(got, Bag) and len(got) == len(expected)
                and all(compare(left, right, missing) for left, right in zip(expected, got)))
    expected_pairs = _struct_pairs(expected, MISSING)
    got_pairs = _struct_pairs(got, missing)
    if expected_pairs is None or got_pairs is None:
        return expected == got
    return _multiset_equal(expected_pairs, got_pairs, lambda left, right: left[0] == right[0]
                           and compare(left[1], right[1], missing))


# --------------------------------------------------------------------------- running


@dataclass
class CaseResult:
    """The outcome of one case: ``passed``, ``failed``, ``crashed`` or ``skipped``."""

    case: Case
    outcome: str
    detail: str = ""


@dataclass
class Report:
    """Outcomes of a run, with totals and breakdowns by source file or namespace."""

    results: list[CaseResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(result.outcome == outcome for result in self.results)

    @property
    def passed(self) -> int:
        return self.count("passed")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def crashed(self) -> int:
        return self.count("crashed")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def failing(self) -> list[CaseResult]:
        return [result for result in self.results if result.outcome in ("failed", "crashed")]

    @property
    def failing_names(self) -> list[str]:
        return [result.case.name for result in self.failing]

    def breakdown(self, by: str = "file") -> dict[str, Counter[str]]:
        """Outcome counts per ``file`` (the suite's source file) or per ``ns`` (namespace)."""
        groups: dict[str, Counter[str]] = {}
        for result in self.results:
            key = result.case.file.removeprefix("partiql-tests-data/") if by == "file" else result.case.group
            groups.setdefault(key, Counter())[result.outcome] += 1
        return dict(sorted(groups.items()))

    def format(self, by: str = "file", failures: bool = False) -> str:
        """A table of the breakdown and the totals; with ``failures``, each failing case too."""
        groups = self.breakdown(by)
        width = max([len(key) for key in groups] + [len(by), 5])
        header = f"{by:<{width}}  {'passed':>7} {'failed':>7} {'crashed':>7} {'skipped':>7}"
        rows = [header, "-" * len(header)]
        for key, counts in [*groups.items(), ("total", Counter(r.outcome for r in self.results))]:
            if key == "total":
                rows.append("-" * len(header))
            rows.append(f"{key:<{width}}  {counts['passed']:>7} {counts['failed']:>7} "
                        f"{counts['crashed']:>7} {counts['skipped']:>7}")
        if failures:
            rows.append("")
            for result in self.failing:
                case = result.case
                rows.append(f"[{result.outcome}] {case.name} (line {case.line}): {result.detail}")
        return "\n".join(rows)


_Outcome = tuple[str, Any]  # ("ok", value) | ("error" | "crash" | "timeout", exception)


def _guarded(deadline: Deadline, error_class: type[BaseException], action: Callable[[], Any]) -> _Outcome:
    try:
        with deadline.record():
            try:
                return "ok", action()
            except error_class as exc:
                return "error", exc
            except Exception as exc:
                return "crash", exc
    except RecordTimeout as exc:
        return "timeout", exc


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
    return f"{type(exc).__qualname__}: {exc}{where}"


def _run_case(case: Case, evaluate: Callable[[str, dict[str, Any]], Any], missing: Any,
              error_class: type[BaseException], parse: Callable[[str], Any] | None,
              deadline: Deadline) -> CaseResult:
    if case.kind == "none" or (case.kind.startswith("syntax") and parse is None):
        return CaseResult(case, "skipped", f"no {case.kind} check for this run")
    expected = case.expected if case.kind == "success" else None
    for statement in case.statements:
        if case.kind.startswith("syntax"):
            assert parse is not None
            status, value = _guarded(deadline, error_class, partial(parse, statement))
        else:
            status, value = _guarded(deadline, error_class, partial(evaluate, statement, case.env(missing)))
        if status in ("crash", "timeout"):
            return CaseResult(case, "crashed" if status == "crash" else "failed",
                              f"{status}: {_describe(value)} in {statement!r}")
        wants_error = case.kind in ("fail", "syntax-fail")
        if wants_error and status == "ok":
            return CaseResult(case, "failed", f"expected an error, got {value!r} from {statement!r}")
        if not wants_error and status == "error":
            return CaseResult(case, "failed", f"{_describe(value)} in {statement!r}")
        if case.kind == "success" and not compare(expected, value, missing):
            return CaseResult(case, "failed", f"expected {expected!r}, got {value!r} from {statement!r}")
    return CaseResult(case, "passed")


def run_cases(
    cases: Iterable[Case],
    evaluate: Callable[[str, dict[str, Any]], Any],
    missing: Any = MISSING,
    *,
    error_class: type[BaseException] = Exception,
    parse: Callable[[str], Any] | None = None,
    timeout: float | None = 10.0,
) -> Report:
    """Run every case through ``evaluate(statement, env)`` and collect the outcomes.

    ``evaluate`` returns the result (a bag may be any list) or raises ``error_class`` when
    evaluation fails; any other exception is a ``crashed`` case, never an expected failure
    (so pass the engine's root error class; the default ``Exception`` counts no crashes).
    ``missing`` is the object the evaluator uses for MISSING, in results and in the env it
    receives. Every statement of a case must pass. ``parse(statement)`` checks the syntax
    cases. A case running longer than ``timeout`` seconds fails (main thread only).
    """
    report = Report()
    with Deadline(timeout) as deadline:
        for case in cases:
            report.results.append(_run_case(case, evaluate, missing, error_class, parse, deadline))
    return report


# --------------------------------------------------------------------------- command line


def _import(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise SystemExit(f"expected module:attribute, got {spec!r}")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.partiql",
                                     description="Run the PartiQL conformance cases through an evaluator.")
    parser.add_argument("--evaluator", required=True, help="module:function taking (statement, env)")
    parser.add_argument("--error-class", default="builtins:Exception",
                        help="module:Class of evaluation errors; other exceptions are crashes")
    parser.add_argument("--parser", default=None, help="module:function checking syntax (syntax cases)")
    parser.add_argument("--missing", default=None, help="module:name of the evaluator's MISSING value")
    parser.add_argument("--cases", default=str(DATA_FILE), help="the JSON-lines file of cases")
    parser.add_argument("--by", choices=("file", "ns"), default="file", help="breakdown of the table")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case (0: no limit)")
    parser.add_argument("--failures", action="store_true", help="list the failing cases")
    args = parser.parse_args(argv)
    report = run_cases(
        load_cases(args.cases),
        _import(args.evaluator),
        _import(args.missing) if args.missing else MISSING,
        error_class=_import(args.error_class),
        parse=_import(args.parser) if args.parser else None,
        timeout=args.timeout,
    )
    print(report.format(args.by, failures=args.failures))
    print(f"evaluator {args.evaluator}; evaluation errors are {args.error_class}, other exceptions crashes")
    return 0 if report.failed == 0 and report.crashed == 0 else 1


if __name__ == "__main__":
    # Run the importable module rather than __main__, so that its classes and sentinels exist
    # once (evaluators and worker processes use the imported module).
    from tests.conformance import partiql as _module

    sys.exit(_module.main())
