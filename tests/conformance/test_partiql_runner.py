"""Tests of the PartiQL conformance runner: decoding, comparison, loading and the plumbing.

The evaluators here are toys (one fails everything, one looks the answer up): they check
that the runner counts and compares correctly, not how docdb does.
"""

from __future__ import annotations

import datetime
import json
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conformance import partiql
from tests.conformance.partiql import MISSING, Bag, Struct, compare, decode, load_cases, run_cases

# --------------------------------------------------------------------------- decoding


def test_decode_tagged_values() -> None:
    encoded = {
        "m": {"$missing": True},
        "bag": {"$bag": [1, {"$bag": []}, {"x": {"$decimal": "1.30"}}]},
        "sym": {"$symbol": "a"},
        "t": {"$ann": ["$time"], "value": "04:05:06"},
        "list": [None, True, 1.5],
    }
    decoded = decode(encoded)
    assert decoded["m"] is MISSING
    assert isinstance(decoded["bag"], Bag) and isinstance(decoded["bag"][1], Bag)
    assert decoded["bag"] == [1, [], {"x": Decimal("1.30")}]
    assert decoded["sym"] == "a"
    assert decoded["t"] == datetime.time(4, 5, 6)
    assert decoded["list"] == [None, True, 1.5] and not isinstance(decoded["list"], Bag)
    sentinel = object()
    assert decode({"$missing": True}, missing=sentinel) is sentinel


def test_decode_duplicate_field_names() -> None:
    value = decode({"name": "Kumo", "$dupkeys": [["name", "Mochi"], ["n", {"$bag": [1]}]]})
    assert isinstance(value, Struct)
    assert value.pairs == (("name", "Kumo"), ("name", "Mochi"), ("n", [1]))


def test_decode_rejects_unknown_tags() -> None:
    with pytest.raises(ValueError, match="unknown tagged value"):
        decode({"$blob": "AAA="})


# --------------------------------------------------------------------------- comparison


def test_bags_are_multisets_against_any_list() -> None:
    expected = Bag([1, 2, 2, {"a": Bag([3, 4])}])
    assert compare(expected, [2, {"a": [4, 3]}, 1, 2])
    assert compare(expected, (2, 1, {"a": (3, 4)}, 2))
    assert compare(expected, Bag([{"a": [3, 4]}, 2, 2, 1]))
    assert not compare(expected, [1, 2, {"a": [3, 4]}, 1])  # multiplicity counts
    assert not compare(expected, [1, 2, 2])
    assert not compare(expected, {"a": 1})
    assert compare(Bag([]), [])


def test_lists_are_ordered_and_not_bags() -> None:
    assert compare([1, [2, 3]], [1, [2, 3]])
    assert compare([1, [2, 3]], (1, (2, 3)))
    assert not compare([1, [2, 3]], [1, [3, 2]])
    assert not compare([1, 2], Bag([1, 2]))  # the evaluator said "unordered"
    assert not compare([1, 2], [1, 2, 3])


def test_structs_ignore_order_and_missing_fields() -> None:
    assert compare({"a": 1, "b": [1]}, {"b": [1], "a": 1})
    assert not compare({"a": 1}, {"a": 1, "b": 2})
    assert not compare({"a": 1}, {"b": 1})
    assert compare({"a": 1}, {"a": 1, "b": MISSING})  # a MISSING field does not exist
    sentinel = object()
    assert compare({"a": 1}, {"a": 1, "b": sentinel}, missing=sentinel)
    assert compare({"a": None}, {"a": None}) and not compare({"a": None}, {})


def test_structs_with_duplicate_names() -> None:
    expected = Struct((("a", 1), ("a", 2), ("b", 3)))
    assert compare(expected, Struct((("b", 3), ("a", 2), ("a", 1))))
    assert not compare(expected, {"a": 1, "b": 3})  # a dict lost a field
    assert not compare(expected, Struct((("a", 1), ("b", 3))))
    assert compare({"a": 1}, Struct((("a", 1),)))


def test_missing_null_and_custom_sentinel() -> None:
    assert compare(MISSING, MISSING)
    assert not compare(MISSING, None) and not compare(None, MISSING)
    assert compare(None, None)
    sentinel = object()
    assert compare(MISSING, sentinel, missing=sentinel)
    assert not compare(1, sentinel, missing=sentinel)
    assert compare(Bag([MISSING, None]), [None, sentinel], missing=sentinel)


def test_numbers_compare_by_value_but_bool_is_not_a_number() -> None:
    assert compare(1, 1.0) and compare(1.0, 1) and compare(Decimal("1.30"), Decimal("1.3"))
    assert compare(Decimal("2"), 2) and compare(2, Decimal("2.0"))
    assert compare(Decimal("0.3666666666666666666666666667"), 11 / 30)  # float arithmetic
    assert not compare(Decimal("0.37"), 0.36)
    assert not compare(1, 2) and not compare(1, "1")
    assert not compare(True, 1) and not compare(1, True) and compare(False, False)


def test_other_scalars() -> None:
    assert compare("a", "a") and not compare("a", "b") and not compare("1", 1)
    assert compare(datetime.time(4, 5, 6), datetime.time(4, 5, 6))
    assert compare(datetime.time(4, 5, 6), "04:05:06")


# --------------------------------------------------------------------------- loading


def test_load_cases_from_the_suite() -> None:
    cases = load_cases()
    assert len(cases) == 424
    assert len({case.name for case in cases}) == 424
    kinds = Counter(case.kind for case in cases)
    assert kinds == {"success": 373, "syntax-success": 41, "syntax-fail": 6, "none": 3, "fail": 1}
    by_name = {case.name: case for case in cases}
    first = by_name["array navigation"]
    assert first.statements == ("[2, 4, 6][1 + 1]",) and first.expected == 6 and first.line == 1
    # EvalModeCoerce (permissive) is chosen over EvalModeError:
    assert by_name["path on string"].kind == "success" and by_name["path on string"].expected is MISSING
    equiv = by_name["equiv path expression with wildcard steps"]
    assert len(equiv.statements) == 3 and equiv.env() == {"e": {"a": 1, "b": 2}}
    assert isinstance(equiv.expected, Bag)
    assert load_cases(mode="EvalModeError")[2].kind == "fail"


def test_load_cases_kinds(tmp_path: Path) -> None:
    lines = [
        {"name": "ok", "assert": [{"result": "EvaluationSuccess", "evalMode": ["EvalModeCoerce"],
                                   "output": {"$bag": [{"$missing": True}]}}]},
        {"name": "strict only", "assert": [{"result": "EvaluationFail", "evalMode": ["EvalModeError"]}]},
        {"name": "both fail", "assert": [{"result": "EvaluationFail",
                                          "evalMode": ["EvalModeCoerce", "EvalModeError"]}]},
        {"name": "syntax", "assert": [{"result": "SyntaxFail"}]},
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps({"file": "f.ion", "ns": ["n"], "statements": ["1"], "env": {}, **line})
                            + "\n\n" for line in lines))
    cases = load_cases(path)
    assert [case.kind for case in cases] == ["success", "none", "fail", "syntax-fail"]
    assert cases[0].expected == [MISSING] and [case.line for case in cases] == [1, 3, 5, 7]


# --------------------------------------------------------------------------- running with toy evaluators


class ToyError(Exception):
    """The toy engine's evaluation error."""


SENTINEL_MISSING = object()
CASES = load_cases()


def raise_everything(statement: str, env: dict[str, Any]) -> Any:
    raise ToyError(f"cannot evaluate {statement}")


def crash_everything(statement: str, env: dict[str, Any]) -> Any:
    raise KeyError(statement)


def _plain(value: Any) -> Any:
    """A decoded expected value as an evaluator might return it: bags as lists, own MISSING."""
    if value is MISSING:
        return SENTINEL_MISSING
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Struct):
        return Struct(tuple((key, _plain(item)) for key, item in value.pairs))
    return value


ANSWERS = {
    (statement, repr(case.env(SENTINEL_MISSING))): case
    for case in CASES
    if case.kind in ("success", "fail")
    for statement in case.statements
}


def oracle(statement: str, env: dict[str, Any]) -> Any:
    """Look the answer up (the key also checks that the env holds the evaluator's MISSING)."""
    case = ANSWERS[(statement, repr(env))]
    if case.kind == "fail":
        raise ToyError("expected to fail")
    return _plain(case.expected)


def syntax_oracle(statement: str) -> None:
    failing = {s for case in CASES if case.kind == "syntax-fail" for s in case.statements}
    if statement in failing:
        raise ToyError("syntax error")


def test_an_evaluator_that_always_fails() -> None:
    report = run_cases(CASES, raise_everything, error_class=ToyError)
    assert (report.passed, report.failed, report.crashed, report.skipped) == (1, 373, 0, 50)
    assert report.passed + report.failed + report.crashed + report.skipped == len(CASES)
    assert "offset -1" not in report.failing_names and len(report.failing_names) == 373
    assert sum(sum(counts.values()) for counts in report.breakdown("file").values()) == len(CASES)
    assert sum(sum(counts.values()) for counts in report.breakdown("ns").values()) == len(CASES)
    assert report.breakdown("file")["eval/query/limitoffset.ion"] == {"failed": 19, "passed": 1}


def test_other_exceptions_are_crashes_never_expected_failures() -> None:
    report = run_cases(CASES, crash_everything, error_class=ToyError)
    assert (report.passed, report.failed, report.crashed, report.skipped) == (0, 0, 374, 50)
    assert all("KeyError" in result.detail for result in report.failing)
    with_syntax = run_cases(CASES, crash_everything, error_class=ToyError, parse=crash_everything)
    assert (with_syntax.crashed, with_syntax.skipped) == (374 + 47, 3)


def test_an_evaluator_that_knows_every_answer_passes_everything() -> None:
    report = run_cases(CASES, oracle, SENTINEL_MISSING, error_class=ToyError, parse=syntax_oracle)
    assert [result.detail for result in report.failing] == []
    assert (report.passed, report.skipped) == (421, 3)


def test_a_wrong_answer_fails() -> None:
    case = next(case for case in CASES if case.name == "array navigation")
    report = run_cases([case], lambda statement, env: 4, error_class=ToyError)
    assert report.failing_names == ["array navigation"]
    assert "expected 6, got 4" in report.failing[0].detail


def test_a_hanging_evaluator_times_out() -> None:
    def hang(statement: str, env: dict[str, Any]) -> Any:
        while True:
            time.sleep(0.001)

    started = time.perf_counter()
    report = run_cases(CASES[:2], hang, error_class=ToyError, timeout=0.1)
    assert time.perf_counter() - started < 5
    assert report.failed == 2 and all(r.detail.startswith("timeout") for r in report.failing)


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    module = "tests.conformance.test_partiql_runner"
    code = partiql.main(["--evaluator", f"{module}:raise_everything", "--error-class", f"{module}:ToyError",
                         "--by", "ns", "--failures"])
    output = capsys.readouterr().out
    assert code == 1
    assert "total" in output and "[failed] array navigation" in output
    code = partiql.main(["--evaluator", f"{module}:oracle", "--error-class", f"{module}:ToyError",
                         "--missing", f"{module}:SENTINEL_MISSING", "--parser", f"{module}:syntax_oracle"])
    assert code == 0
