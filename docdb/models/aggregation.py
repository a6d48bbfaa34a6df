"""``Collection.aggregate(pipeline)``: MongoDB's aggregation pipeline over a collection.

Stages run in order over plain documents: ``$match`` (a first ``$match`` is a ``find``,
so it uses indexes), ``$project``, ``$addFields``/``$set``, ``$unset``, ``$group``,
``$sort``, ``$skip``, ``$limit``, ``$unwind``, ``$count``, ``$replaceRoot``/``$replaceWith``,
``$lookup`` (``from`` a collection or a table, whose rows are documents) and ``$facet``.
Expressions (``aggregation_expressions``) evaluate ``"$field.path"`` references, literals
and the operators the stages need. The result is a list; like pymongo's CommandCursor it
can be iterated. An unknown stage or operator is a ``ProgrammingError`` before any work.
May import: the standard library and ``docdb.models``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from docdb.errors import ProgrammingError
from docdb.models.aggregation_expressions import MISSING, compile_expression, set_path
from docdb.models.filters import compile_filter
from docdb.models.ordering import compare
from docdb.models.shaping import compile_projection, distinct_key, sort_documents, sort_spec

__all__ = ["run_pipeline"]

Stage = Callable[[Iterable[dict]], Iterable[dict]]


def _stage_name(stage: Any) -> tuple[str, Any]:
    if not isinstance(stage, dict) or len(stage) != 1:
        raise ProgrammingError("a pipeline stage is a one-key dict such as {'$match': {...}}, "
                               f"not {stage!r:.60}")
    (name, spec), = stage.items()
    return name, spec


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProgrammingError(f"{what} takes a non-negative integer, not {value!r}")
    return value


# ----- stages ---------------------------------------------------------------------------------

def _match(spec: Any, session: Any) -> Stage:
    test = compile_filter(spec)
    return lambda docs: (d for d in docs if test(d))


def _computed(spec: dict) -> dict[str, Callable[[dict], Any]]:
    return {path: compile_expression(expr) for path, expr in spec.items()}


def _add_fields(spec: Any, session: Any) -> Stage:
    if not isinstance(spec, dict) or not spec:
        raise ProgrammingError("$addFields / $set take a non-empty object of fields")
    fields = _computed(spec)

    def run(docs: Iterable[dict]) -> Iterable[dict]:
        for doc in docs:
            out = dict(doc)
            for path, compute in fields.items():
                set_path(out, path, compute(doc))
            yield out
    return run


def _project(spec: Any, session: Any) -> Stage:
    if not isinstance(spec, dict) or not spec:
        raise ProgrammingError("$project takes a non-empty object of fields")
    flags = {k: v for k, v in spec.items() if isinstance(v, (bool, int))}
    computed = {k: v for k, v in spec.items() if k not in flags}
    if not computed:
        shape = compile_projection(spec)
        return lambda docs: (shape(d) for d in docs)  # type: ignore[misc]
    if any(not v for k, v in flags.items() if k != "_id"):
        raise ProgrammingError("$project cannot mix excluded fields with computed ones")
    keep = compile_projection({k: 1 for k in flags} or {"_id": 1})
    fields = _computed(computed)

    def run(docs: Iterable[dict]) -> Iterable[dict]:
        for doc in docs:
            out = keep(doc) if keep else dict(doc)
            if flags.get("_id", 1) == 0:
                out.pop("_id", None)
            for path, compute in fields.items():
                set_path(out, path, compute(doc))
            yield out
    return run


def _unset(spec: Any, session: Any) -> Stage:
    fields = [spec] if isinstance(spec, str) else spec
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise ProgrammingError("$unset takes a field name or a list of them")
    shape = compile_projection({f: 0 for f in fields})
    return lambda docs: (shape(d) for d in docs)  # type: ignore[misc]


class _Accumulator:
    def __init__(self, op: str, compute: Callable[[dict], Any]):
        self.op, self.compute = op, compute
        self.values: list = []

    def add(self, doc: dict) -> None:
        self.values.append(self.compute(doc))

    def result(self) -> Any:
        present = [v for v in self.values if v is not MISSING]
        numbers = [v for v in present if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if self.op == "$sum":
            return sum(numbers)
        if self.op == "$avg":
            return sum(numbers) / len(numbers) if numbers else None
        if self.op in ("$min", "$max"):  # MongoDB's order across types; the first of equals
            candidates = [v for v in present if v is not None]
            pick = min if self.op == "$min" else max
            return pick(candidates, key=functools.cmp_to_key(compare)) if candidates else None
        if self.op == "$first":
            return None if not self.values or self.values[0] is MISSING else self.values[0]
        if self.op == "$last":
            return None if not self.values or self.values[-1] is MISSING else self.values[-1]
        if self.op == "$push":
            return present
        if self.op == "$addToSet":
            return list({distinct_key(v): v for v in present}.values())
        return len(self.values)  # $count


_ACCUMULATORS = ("$sum", "$avg", "$min", "$max", "$first", "$last", "$push", "$addToSet", "$count")


def _group(spec: Any, session: Any) -> Stage:
    if not isinstance(spec, dict) or "_id" not in spec:
        raise ProgrammingError("$group takes an object with an _id expression")
    key = compile_expression(spec["_id"])
    outputs: dict[str, tuple[str, Callable[[dict], Any]]] = {}
    for name, accumulator in spec.items():
        if name == "_id":
            continue
        if not isinstance(accumulator, dict) or len(accumulator) != 1 or \
                next(iter(accumulator)) not in _ACCUMULATORS:
            raise ProgrammingError(f"$group field {name!r} takes one accumulator of "
                                   f"{', '.join(_ACCUMULATORS)}")
        (op, expr), = accumulator.items()
        outputs[name] = (op, compile_expression(expr if op != "$count" else 1))

    def run(docs: Iterable[dict]) -> Iterable[dict]:
        groups: dict[bytes, tuple[Any, dict[str, _Accumulator]]] = {}
        for doc in docs:
            value = key(doc)
            value = None if value is MISSING else value
            slot = distinct_key(value)
            if slot not in groups:
                groups[slot] = (value, {n: _Accumulator(op, f) for n, (op, f) in outputs.items()})
            for accumulator in groups[slot][1].values():
                accumulator.add(doc)
        for value, accumulators in groups.values():
            yield {"_id": value, **{n: a.result() for n, a in accumulators.items()}}
    return run


def _sort(spec: Any, session: Any) -> Stage:
    if not isinstance(spec, dict) or not spec:
        raise ProgrammingError("$sort takes a non-empty object of field -> 1 | -1")
    order = sort_spec(list(spec.items()))
    return lambda docs: iter(sort_documents(list(docs), order))


def _skip(spec: Any, session: Any) -> Stage:
    n = _count(spec, "$skip")
    return lambda docs: itertools.islice(docs, n, None)


def _limit(spec: Any, session: Any) -> Stage:
    n = _count(spec, "$limit")
    if n == 0:
        raise ProgrammingError("$limit takes a positive integer")
    return lambda docs: itertools.islice(docs, n)


def _unwind(spec: Any, session: Any) -> Stage:
    options = {"path": spec} if isinstance(spec, str) else spec
    path = options.get("path") if isinstance(options, dict) else None
    if not isinstance(path, str) or not path.startswith("$"):
        raise ProgrammingError("$unwind takes '$path' or {'path': '$path', ...}")
    keep_empty = bool(options.get("preserveNullAndEmptyArrays", False))
    index_field = options.get("includeArrayIndex")
    field = path[1:]
    read = compile_expression(path)

    def run(docs: Iterable[dict]) -> Iterable[dict]:
        for doc in docs:
            value = read(doc)
            if isinstance(value, list) and value:
                for i, item in enumerate(value):
                    out = dict(doc)
                    set_path(out, field, item)
                    if index_field:
                        out[index_field] = i
                    yield out
            elif value is not MISSING and value is not None and not isinstance(value, list):
                out = dict(doc)
                if index_field:
                    out[index_field] = None
                yield out
            elif keep_empty:
                out = dict(doc)
                if isinstance(value, list):
                    set_path(out, field, MISSING)
                if index_field:
                    out[index_field] = None
                yield out
    return run


def _count_stage(spec: Any, session: Any) -> Stage:
    if not isinstance(spec, str) or not spec or spec.startswith("$") or "." in spec:
        raise ProgrammingError("$count takes a field name")

    def run(docs: Iterable[dict]) -> Iterable[dict]:
        n = sum(1 for _ in docs)
        return iter([{spec: n}] if n else [])
    return run


def _replace_root(spec: Any, session: Any) -> Stage:
    expr = spec.get("newRoot") if isinstance(spec, dict) and "newRoot" in spec else None
    if expr is None:
        raise ProgrammingError("$replaceRoot takes {'newRoot': expression}")
    return _replace_with(expr, session)


def _replace_with(spec: Any, session: Any) -> Stage:
    compute = compile_expression(spec)

    def run(docs: Iterable[dict]) -> Iterable[dict]:
        for doc in docs:
            root = compute(doc)
            if not isinstance(root, dict):
                raise ProgrammingError(f"the new root must be an object, not {root!r:.60}")
            yield root
    return run


def _lookup(spec: Any, session: Any) -> Stage:
    needed = ("from", "localField", "foreignField", "as")
    if not isinstance(spec, dict) or any(not isinstance(spec.get(k), str) for k in needed):
        raise ProgrammingError(f"$lookup takes {{{', '.join(repr(k) + ': ...' for k in needed)}}}")
    local = compile_expression("$" + spec["localField"])
    foreign = compile_expression("$" + spec["foreignField"])

    def run(docs: Iterable[dict]) -> Iterable[dict]:
        others: dict[bytes, list[dict]] = {}
        for other in _documents_of(session, spec["from"]):
            value = foreign(other)
            for item in (value if isinstance(value, list) else [value]):
                others.setdefault(distinct_key(None if item is MISSING else item), []).append(other)
        for doc in docs:
            value = local(doc)
            found: dict[int, dict] = {}
            for item in (value if isinstance(value, list) and value else [value]):
                for other in others.get(distinct_key(None if item is MISSING else item), []):
                    found[id(other)] = other
            out = dict(doc)
            set_path(out, spec["as"], list(found.values()))
            yield out
    return run


def _documents_of(session: Any, name: str) -> Iterable[dict]:
    entry = session.reading().catalog.get(name)
    if entry is not None and entry["kind"] == "table":
        return session.table(entry["name"]).rows()
    return session.collection(entry["name"] if entry is not None else name).find()


def _facet(spec: Any, session: Any) -> Stage:
    if not isinstance(spec, dict) or not spec:
        raise ProgrammingError("$facet takes an object of name -> pipeline")
    pipelines = {name: compile_pipeline(stages, session) for name, stages in spec.items()}

    def run(docs: Iterable[dict]) -> Iterable[dict]:
        everything = list(docs)
        yield {name: list(_run(stages, iter(everything))) for name, stages in pipelines.items()}
    return run


STAGES: dict[str, Callable[[Any, Any], Stage]] = {
    "$match": _match, "$project": _project, "$addFields": _add_fields, "$set": _add_fields,
    "$unset": _unset, "$group": _group, "$sort": _sort, "$skip": _skip, "$limit": _limit,
    "$unwind": _unwind, "$count": _count_stage, "$replaceRoot": _replace_root,
    "$replaceWith": _replace_with, "$lookup": _lookup, "$facet": _facet,
}


def compile_pipeline(pipeline: Any, session: Any) -> list[Stage]:
    if not isinstance(pipeline, list):
        raise ProgrammingError(f"a pipeline is a list of stages, not {type(pipeline).__name__}")
    stages = []
    for stage in pipeline:
        name, spec = _stage_name(stage)
        if name not in STAGES:
            raise ProgrammingError(f"unknown pipeline stage {name} (docdb has {', '.join(STAGES)})")
        stages.append(STAGES[name](spec, session))
    return stages


def _run(stages: list[Stage], docs: Iterable[dict]) -> Iterable[dict]:
    for stage in stages:
        docs = stage(docs)
    return docs


def run_pipeline(collection: Any, session: Any, pipeline: Any) -> list[dict]:
    """The documents ``pipeline`` makes of ``collection``'s (checked whole before it runs)."""
    stages = compile_pipeline(pipeline, session)
    first = pipeline[0] if pipeline else None
    if isinstance(first, dict) and "$match" in first:  # read through find(): indexes apply
        return list(_run(stages[1:], iter(collection.find(first["$match"]))))
    return list(_run(stages, iter(collection.find())))
