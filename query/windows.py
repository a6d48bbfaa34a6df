"""Window functions: ``f(...) OVER (PARTITION BY ... ORDER BY ... frame)``, run as SQLite runs them.

``Windowed`` is the plan node: it reads all of its input, and for each window
(one partitioning and ordering, shared by every call that names it) sorts the
rows by partition and order, splits them into partitions and peer groups (rows
with equal ORDER BY values), and computes each call's value for every row. Its
output is each input row with the calls' values appended, in the order of the
last window -- so without an ORDER BY of its own a query gives the rows in
window order, as SQLite does.

Frames follow SQLite: ``ROWS``, ``RANGE`` and ``GROUPS``; bounds ``UNBOUNDED
PRECEDING``, ``n PRECEDING``, ``CURRENT ROW``, ``n FOLLOWING``, ``UNBOUNDED
FOLLOWING``; ``EXCLUDE NO OTHERS / CURRENT ROW / GROUP / TIES``. Without a frame
the frame is ``RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`` (the whole
partition when there is no ORDER BY, since every row is then a peer).

An aggregate over a frame that starts at the partition's first row and
excludes nothing is computed incrementally (one step per row, its running
value read after each); any other frame is computed afresh for each row.
May import: the standard library, ``docdb.errors`` and ``query``'s own modules.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from docdb.errors import DataError, OperationalError, ProgrammingError
from query import values as v
from query.expressions import Compiled, Env
from query.plan import Plan, group_key, sort_rows

__all__ = ["RANKING", "VALUE_FUNCTIONS", "Frame", "WindowCall", "WindowSpec", "Windowed", "check_frame",
           "window_arity"]

MISSING = v.MISSING

# functions that exist only over a window: name -> (fewest, most arguments)
RANKING = {"row_number": (0, 0), "rank": (0, 0), "dense_rank": (0, 0), "percent_rank": (0, 0),
           "cume_dist": (0, 0), "ntile": (1, 1)}
VALUE_FUNCTIONS = {"lag": (1, 3), "lead": (1, 3), "first_value": (1, 1), "last_value": (1, 1),
                   "nth_value": (2, 2)}


def window_arity(name: str) -> tuple[int, int] | None:
    """(fewest, most) arguments of a window-only function; None for any other name."""
    return RANKING.get(name) or VALUE_FUNCTIONS.get(name)


@dataclass(frozen=True)
class Frame:
    unit: str = "RANGE"  # ROWS, RANGE, GROUPS
    start: str = "UNBOUNDED PRECEDING"
    start_offset: Compiled | None = None
    end: str = "CURRENT ROW"
    end_offset: Compiled | None = None
    exclude: str = "NO OTHERS"

    @property
    def running(self) -> bool:
        """From the partition's first row, excluding nothing: an aggregate can run along it."""
        return self.start == "UNBOUNDED PRECEDING" and self.exclude == "NO OTHERS"


def check_frame(unit: str, start: str, end: str, order_terms: int) -> None:
    """SQLite's refusals of frames that cannot be (a start after the end's kind, and so on)."""
    order = ["UNBOUNDED PRECEDING", "PRECEDING", "CURRENT ROW", "FOLLOWING", "UNBOUNDED FOLLOWING"]
    if start == "UNBOUNDED FOLLOWING" or end == "UNBOUNDED PRECEDING" or \
            order.index(start) > order.index(end):
        raise ProgrammingError("unsupported frame specification")
    if unit == "RANGE" and order_terms != 1 and ({start, end} & {"PRECEDING", "FOLLOWING"}):
        raise ProgrammingError("RANGE with offset PRECEDING/FOLLOWING requires one ORDER BY expression")


@dataclass(eq=False)
class WindowSpec:
    """One window: how rows are partitioned and ordered (each call brings its own frame)."""
    partition: list[Compiled]
    order: list[tuple[Compiled, bool, bool | None]]  # (key, descending, nulls first)


@dataclass(eq=False)
class WindowCall:
    """One call over a window: its name, the aggregate's factory (None for ranking and
    value functions), compiled arguments, FILTER, and frame."""
    name: str
    factory: Callable[[], Any] | None
    args: list[Compiled]
    frame: Frame
    filter: Compiled | None = None
    star: bool = False  # count(*)
    runs: bool = False  # a built-in aggregate, whose value can be read between steps


@dataclass(eq=False)
class Windowed(Plan):
    input: Plan
    windows: list[tuple[WindowSpec, list[tuple[int, WindowCall]]]]  # each call with its result position
    width: int  # how many calls: the values appended to each row
    labels: list[str] = field(default_factory=list)

    def rows(self, env: Env) -> Iterator[tuple]:
        rows = list(self.input.rows(env))
        results = [[None] * self.width for _ in rows]
        order = list(range(len(rows)))
        for spec, calls in self.windows:
            order = self._compute(rows, spec, calls, results, env)
        for i in order:
            yield rows[i] + tuple(results[i])

    def _compute(self, rows: list[tuple], spec: WindowSpec, calls: list[tuple[int, WindowCall]],
                 results: list[list], env: Env) -> list[int]:
        tagged = [(*row, i) for i, row in enumerate(rows)]  # the row's position rides at the end
        keys = [(k, False, None) for k in spec.partition] + spec.order
        sort_rows(tagged, keys, env)
        order = [row[-1] for row in tagged]
        partition_of = group_key([k for k in spec.partition], env)
        peer_of = group_key([k for k, _, _ in spec.order], env)
        start = 0
        while start < len(tagged):
            if not spec.partition:  # one partition: every row
                end = len(tagged)
            else:
                key = partition_of(tagged[start])
                end = start + 1
                while end < len(tagged) and partition_of(tagged[end]) == key:
                    end += 1
            part = tagged[start:end]
            groups = _peer_groups([peer_of(row) for row in part])
            for position, call in calls:
                values = _run(call, part, groups, spec, env)
                for row, value in zip(part, values):
                    results[row[-1]][position] = value
            start = end
        return order

    def children(self) -> tuple[Plan, ...]:
        return (self.input,)

    def label(self) -> str:
        return "WINDOW " + ", ".join(self.labels) if self.labels else "WINDOW"


@dataclass
class _Groups:
    """A partition's peer groups: ``of[i]`` is row i's group; group g holds rows
    ``first[g]`` to ``last[g]``."""
    of: list[int]
    first: list[int]
    last: list[int]


def _peer_groups(keys: list[Any]) -> _Groups:
    of, first, last = [], [], []
    for i, key in enumerate(keys):
        if i == 0 or key != keys[i - 1]:
            first.append(i)
            if i:
                last.append(i - 1)
        of.append(len(first) - 1)
    if keys:
        last.append(len(keys) - 1)
    return _Groups(of, first, last)


def _run(call: WindowCall, part: list[tuple], groups: _Groups, spec: WindowSpec, env: Env) -> list:
    name, n = call.name, len(part)
    if name in RANKING:
        return _ranking(call, part, groups, env)
    if name in ("lag", "lead"):
        return _shifted(call, part, env)
    frame = call.frame
    if frame.running and call.runs and frame.end in ("CURRENT ROW", "UNBOUNDED FOLLOWING"):
        # the usual frames, whose ends need no search: the row, its last peer, the partition's end
        ends: Any = [n - 1] * n if frame.end == "UNBOUNDED FOLLOWING" else range(n) if frame.unit == "ROWS" \
            else [groups.last[g] for g in groups.of]
        return _running(call, part, ends, env)
    frames = _frames(frame, part, groups, spec, env)
    if name in VALUE_FUNCTIONS:
        return [_nth(call, part, rows, i, env) for i, rows in enumerate(frames)]
    if call.frame.running and call.runs:
        return _running(call, part, [rows[-1] if rows else -1 for rows in frames], env)
    sliding = _sliding(call, part, frames, env)
    if sliding is not None:
        return sliding
    out = []
    for rows in frames:
        acc = call.factory()  # type: ignore[misc]
        for j in rows:
            _step(call, acc, part[j], env)
        out.append(_final(acc))
    assert len(out) == n
    return out


def _ranking(call: WindowCall, part: list[tuple], groups: _Groups, env: Env) -> list:
    n, name = len(part), call.name
    if name == "row_number":
        return list(range(1, n + 1))
    if name == "rank":
        return [groups.first[g] + 1 for g in groups.of]
    if name == "dense_rank":
        return [g + 1 for g in groups.of]
    if name == "percent_rank":
        return [groups.first[g] / (n - 1) if n > 1 else 0.0 for g in groups.of]
    if name == "cume_dist":
        return [(groups.last[g] + 1) / n for g in groups.of]
    out = []  # ntile(N): N buckets, the first n % N of them one row larger
    for i, row in enumerate(part):
        buckets = _positive(call.args[0](row, env), "argument of ntile must be a positive integer")
        size, extra = divmod(n, buckets)
        if size == 0:
            out.append(i + 1)
            continue
        big = extra * (size + 1)
        out.append(i // (size + 1) + 1 if i < big else extra + (i - big) // size + 1)
    return out


def _shifted(call: WindowCall, part: list[tuple], env: Env) -> list:
    """lag(x, k, default) / lead(...): x at the row k before (after) in the partition."""
    sign = -1 if call.name == "lag" else 1
    values = [_plain(call.args[0](row, env)) for row in part]
    if len(call.args) == 1:  # one row back (forward), NULL past the end: the values shifted
        return [None, *values[:-1]] if sign < 0 else [*values[1:], None]
    out = []
    for i, row in enumerate(part):
        k = call.args[1](row, env)
        k = v.numeric_affinity(k) if isinstance(k, str) else k
        if k is None or k is MISSING:
            out.append(None)
            continue
        if not isinstance(k, (int, float)) or k != int(k):
            raise OperationalError(f"second argument to {call.name}() must be an integer")
        j = i + sign * int(k)
        if 0 <= j < len(part):
            out.append(values[j])
        else:
            out.append(_plain(call.args[2](row, env)) if len(call.args) > 2 else None)
    return out


def _nth(call: WindowCall, part: list[tuple], rows: list[int], i: int, env: Env) -> Any:
    if call.name == "first_value":
        chosen = rows[0] if rows else None
    elif call.name == "last_value":
        chosen = rows[-1] if rows else None
    else:
        nth = _positive(call.args[1](part[i], env), "second argument to nth_value must be a positive integer")
        chosen = rows[nth - 1] if nth <= len(rows) else None
    return None if chosen is None else _plain(call.args[0](part[chosen], env))


def _positive(value: Any, message: str) -> int:
    value = v.numeric_affinity(value) if isinstance(value, str) else value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value <= 0:
        raise OperationalError(message)
    return int(value)


def _plain(value: Any) -> Any:
    return None if value is MISSING else value


def _step(call: WindowCall, acc: Any, row: tuple, env: Env) -> None:
    if call.filter is not None and v.truth(call.filter(row, env)) is not True:
        return
    if call.star or not call.args:
        acc.step()
        return
    acc.step(*[_plain(a(row, env)) for a in call.args])


def _final(acc: Any) -> Any:
    try:
        return acc.final()
    except OverflowError:
        raise DataError("integer overflow") from None


def _running(call: WindowCall, part: list[tuple], ends: Any, env: Env) -> list:
    """A frame from the partition's start to ``ends[i]`` (never moving back): one
    aggregate, stepped along, its value read after each row's end. A call of one
    argument and no FILTER has its values computed in one pass first."""
    acc = call.factory()  # type: ignore[misc]
    if call.filter is None and len(call.args) == 1 and not call.star:
        values = [_plain(call.args[0](row, env)) for row in part]
        step = acc.step

        def feed(i: int) -> None:
            step(values[i])
    else:
        def feed(i: int) -> None:
            _step(call, acc, part[i], env)
    fed, out, last = -1, [], _UNREAD
    for end in ends:
        if end > fed or last is _UNREAD:
            while fed < end:
                fed += 1
                feed(fed)
            last = _final(acc)
        out.append(list(last) if type(last) is list else last)  # a running array_agg keeps growing
    return out


_UNREAD = object()


_EXACT = 1 << 53  # integers whose sums a float holds exactly: avg over them is avg as stepped


def _sliding(call: WindowCall, part: list[tuple], frames: list, env: Env) -> list | None:
    """count, sum, total or avg of integers over frames that slide (``ROWS 1 PRECEDING``...),
    from prefix sums: one pass, the same answers as an aggregate per frame -- when every
    value is an integer or NULL and their magnitudes add up to less than 2**53, so no sum
    overflows or rounds. None when that does not hold (each frame is then aggregated)."""
    if call.name not in ("count", "sum", "total", "avg") or not call.runs or call.filter is not None \
            or len(call.args) > 1 or not all(type(rows) is range for rows in frames):
        return None
    if call.star or not call.args:
        return [len(rows) for rows in frames]
    values = [_plain(call.args[0](row, env)) for row in part]
    if any(type(x) is not int for x in values if x is not None) or \
            sum(abs(x) for x in values if x is not None) >= _EXACT:
        return None
    sums, counts = [0], [0]
    for x in values:
        sums.append(sums[-1] + (x or 0))
        counts.append(counts[-1] + (x is not None))
    out: list = []
    for rows in frames:
        lo, hi = rows.start, rows.stop
        total, count = sums[hi] - sums[lo], counts[hi] - counts[lo]
        if call.name == "count":
            out.append(count)
        elif call.name == "total":
            out.append(float(total))
        elif count == 0:
            out.append(None)
        else:
            out.append(total if call.name == "sum" else total / count)
    return out


def _frames(frame: Frame, part: list[tuple], groups: _Groups, spec: WindowSpec, env: Env) -> list:
    """For each row of the partition, the positions its frame holds, in order (a range
    unless EXCLUDE takes some out)."""
    n = len(part)
    # the offsets are constant expressions (as SQLite requires): taken once per partition
    start_k = _offset(frame, frame.start_offset, part[0], env, True) if frame.start_offset else 0
    end_k = _offset(frame, frame.end_offset, part[0], env, False) if frame.end_offset else 0
    if frame.unit == "ROWS" and frame.exclude == "NO OTHERS":
        return _row_frames(frame, n, start_k, end_k)
    out: list = []
    numbers = _RangeValues(part, spec, env) if frame.unit == "RANGE" and \
        {frame.start, frame.end} & {"PRECEDING", "FOLLOWING"} else None
    for i in range(n):
        lo = _bound(frame.unit, frame.start, start_k, True, i, n, groups, numbers)
        hi = _bound(frame.unit, frame.end, end_k, False, i, n, groups, numbers)
        rows: Any = range(max(lo, 0), max(min(hi, n - 1) + 1, max(lo, 0)))
        if frame.exclude != "NO OTHERS" and rows:
            g = groups.of[i]
            if frame.exclude == "CURRENT ROW":
                dropped = {i}
            else:
                dropped = set(range(groups.first[g], groups.last[g] + 1))
                if frame.exclude == "TIES":
                    dropped.discard(i)
            rows = [j for j in rows if j not in dropped]
        out.append(rows)
    return out


def _row_frames(frame: Frame, n: int, start_k: int, end_k: int) -> list[range]:
    """ROWS frames without EXCLUDE: ranges made by arithmetic, not bound by bound."""
    def reach(kind: str, k: int) -> tuple[int, int | None]:
        """(position relative to the row, or the fixed one for UNBOUNDED) of a bound."""
        if kind.startswith("UNBOUNDED"):
            return 0, 0 if kind == "UNBOUNDED PRECEDING" else n - 1
        return (-k if kind == "PRECEDING" else k if kind == "FOLLOWING" else 0), None
    start, fixed_start = reach(frame.start, start_k)
    end, fixed_end = reach(frame.end, end_k)
    out = []
    for i in range(n):
        lo = max(fixed_start if fixed_start is not None else i + start, 0)
        hi = min(fixed_end if fixed_end is not None else i + end, n - 1)
        out.append(range(lo, max(hi + 1, lo)))
    return out


def _offset(frame: Frame, compiled: Compiled, row: tuple, env: Env, starting: bool) -> Any:
    value = compiled(row, env)
    value = v.numeric_affinity(value) if isinstance(value, str) else value
    which = "starting" if starting else "ending"
    if frame.unit == "RANGE":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or math.isnan(value):
            raise OperationalError(f"frame {which} offset must be a non-negative number")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        raise OperationalError(f"frame {which} offset must be a non-negative integer")
    return int(value)


def _bound(unit: str, kind: str, k: Any, starting: bool, i: int, n: int, groups: _Groups,
           numbers: _RangeValues | None) -> int:
    """The first (``starting``) or last position of row i's frame, ``k`` the bound's offset;
    may fall outside 0..n-1."""
    if kind == "UNBOUNDED PRECEDING":
        return 0
    if kind == "UNBOUNDED FOLLOWING":
        return n - 1
    g = groups.of[i]
    if kind == "CURRENT ROW":
        if unit == "ROWS":
            return i
        return groups.first[g] if starting else groups.last[g]
    sign = -1 if kind == "PRECEDING" else 1
    if unit == "ROWS":
        return i + sign * k
    if unit == "GROUPS":
        target = g + sign * k
        if target < 0:
            return 0 if starting else -1
        if target >= len(groups.first):
            return n if starting else n - 1
        return groups.first[target] if starting else groups.last[target]
    assert numbers is not None
    return numbers.bound(i, sign * k, starting, groups)


class _RangeValues:
    """A partition's ORDER BY values, for RANGE n PRECEDING/FOLLOWING, as SQLite finds such
    a bound: the row's value plus or minus n -- or, for a value that is no number (NULL,
    text, a blob), the value itself -- compared with the others in the window's order
    (NULLs where the ordering puts them, text after numbers). Kept in ascending order
    for a binary search."""

    def __init__(self, part: list[tuple], spec: WindowSpec, env: Env):
        key, self.descending, nulls_first = spec.order[0]
        first = nulls_first if nulls_first is not None else not self.descending
        self.null_rank = 0 if first != self.descending else 2  # NULL's place in ascending order
        self.values = [_plain(key(row, env)) for row in part]
        ordered = reversed(self.values) if self.descending else self.values
        self.keys = [self._key(x) for x in ordered]

    def _key(self, x: Any) -> tuple:
        return (self.null_rank, ()) if x is None else (1, v.sort_key(x))

    def bound(self, i: int, delta: float, starting: bool, groups: _Groups) -> int:
        x, n = self.values[i], len(self.values)
        if _is_number(x):
            x = x - delta if self.descending else x + delta
        goal = self._key(x)
        keys = self.keys
        if not self.descending:
            return bisect.bisect_left(keys, goal) if starting else bisect.bisect_right(keys, goal) - 1
        return n - bisect.bisect_right(keys, goal) if starting else n - 1 - bisect.bisect_left(keys, goal)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
