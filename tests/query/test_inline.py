"""Generated pipelines (``query.inline``) keep exactly the rows and values the closures give:
random predicates and projections over rows of every kind of value, with parameters."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from query import values as v
from query.expressions import Context, Env, compile_expr
from query.inline import pipeline
from query.parser import parse_one
from query.scope import Scope, Source

COLUMNS = ("a", "b", "c")
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, -1.0, 2.0, 1e308]),
                   st.sampled_from(["", "a", "b", "1", "Z"]), st.just(b"x"), st.just(v.MISSING),
                   st.just({"k": 1}), st.just({"K": {"k": "b"}}), st.just([1, 2]))
OPERANDS = st.sampled_from(["a", "b", "c", "1", "2.5", "'b'", "NULL", ":p", "TRUE", "a.k", "b.K", "c.k.k"])


@st.composite
def predicates(draw, depth=0):
    kind = draw(st.sampled_from(["compare", "between", "null"] + (["logic", "not"] if depth < 2 else [])))
    if kind == "compare":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return f"({draw(OPERANDS)} {op} {draw(OPERANDS)})"
    if kind == "between":
        negated = draw(st.sampled_from(["", "NOT "]))
        return f"({draw(OPERANDS)} {negated}BETWEEN {draw(OPERANDS)} AND {draw(OPERANDS)})"
    if kind == "null":
        return f"({draw(OPERANDS)} IS {draw(st.sampled_from(['', 'NOT ']))}NULL)"
    if kind == "not":
        return f"(NOT {draw(predicates(depth + 1))})"
    op = draw(st.sampled_from(["AND", "OR"]))
    return f"({draw(predicates(depth + 1))} {op} {draw(predicates(depth + 1))})"


def _compiled(text: str):
    select = parse_one(f"SELECT {text} FROM t").body
    scope = Scope([Source("t", COLUMNS)])
    return compile_expr(select.columns[0].expr, scope, Context(plan_query=None))


def _same(x, y):
    return x is y or (type(x) is type(y) and (x == y or x != x and y != y))  # NaN is NaN


@settings(max_examples=400, deadline=None)
@given(text=predicates(), rows=st.lists(st.tuples(VALUES, VALUES, VALUES), max_size=12), param=VALUES)
def test_a_generated_filter_and_projection_agree_with_the_closures(text, rows, param):
    compiled = _compiled(text)
    env = Env({"p": param}, None)
    kept = [row for row in rows if v.truth(compiled(row, env)) is True]
    assert list(pipeline(compiled, None)([rows], env)) == ([kept] if kept else [])
    projected = [(compiled(row, env),) for row in rows]
    got = [x for batch in pipeline(None, [compiled])([rows], env) for x in batch]
    assert len(got) == len(projected) and all(_same(g[0], p[0]) for g, p in zip(got, projected)), text


AGGREGATE_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.integers(-5, 5),
                             st.floats(allow_nan=False, width=32), st.sampled_from(["", "7", "x", "2.5"]),
                             st.just(b"1"))


@settings(max_examples=300, deadline=None)
@given(batches=st.lists(st.one_of(st.lists(st.integers(-(2**62), 2**62), max_size=6),
                                  st.lists(st.floats(allow_nan=False), max_size=6),
                                  st.lists(AGGREGATE_VALUES, max_size=6)), max_size=5),
       name=st.sampled_from(["count", "sum", "total", "avg", "max", "min"]))
def test_step_many_is_step_for_each_value(batches, name):
    from query.functions import lookup_aggregate

    def outcome(feed):
        acc = lookup_aggregate(name)()
        try:
            for batch in batches:
                feed(acc, batch)
            return acc.final()
        except OverflowError:
            return "overflow"
    one_by_one = outcome(lambda acc, batch: [acc.step(x) for x in batch])
    many = outcome(lambda acc, batch: acc.step_many(list(batch)))
    assert _same(many, one_by_one)


@settings(max_examples=300, deadline=None)
@given(text=predicates())
def test_explains_sql_text_parses_back_to_the_same_expression(text):
    from query.sqltext import sql
    parsed = parse_one(f"SELECT {text} FROM t").body.columns[0].expr
    again = parse_one(f"SELECT {sql(parsed)} FROM t").body.columns[0].expr
    assert again == parsed
