"""SQLite's date and time functions: date, time, datetime, julianday, unixepoch, strftime.

As SQLite's ``date.c`` does, a time value becomes a Julian day number counted in
milliseconds, modifiers move it, and the result is formatted from it. Time values:
``YYYY-MM-DD``, with `` HH:MM[:SS[.SSS]]`` (or ``T``) and an optional ``[+-]HH:MM`` /
``Z`` zone; ``HH:MM[:SS[.SSS]]`` alone (on 2000-01-01); ``now``; a number (a Julian day,
or with the ``unixepoch`` modifier, seconds since 1970). Modifiers: ``±N days``,
``hours``, ``minutes``, ``seconds``, ``months``, ``years``; ``start of month|year|day``;
``weekday N``; ``unixepoch``; ``julianday``; ``auto``; ``utc`` and ``localtime`` (this
machine's zone). Anything malformed gives NULL, as in SQLite.
May import: the standard library and ``query.numbers``.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable

__all__ = ["SPECS"]

_DAY_MS = 86_400_000
_MAX_JD = 464_269_060_799_999  # 9999-12-31 23:59:59.999
_DATE = re.compile(r"^(-?\d{4})-(\d\d)-(\d\d)(?:[ T](.*))?$")
_TIME = re.compile(r"^(\d\d):(\d\d)(?::(\d\d)(\.\d*)?)?\s*(?:(Z|z)|([+-])(\d\d):(\d\d))?$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _jd_of(year: int, month: int, day: int) -> float:
    """The Julian day of a Gregorian date at noon's start, as SQLite's computeJD (in days)."""
    if month <= 2:
        year, month = year - 1, month + 12
    a = int(year / 100)  # C's division, which truncates: years before 0 need it
    b = 2 - a + int(a / 4)
    x1 = int(36525 * (year + 4716) / 100)
    x2 = int(306001 * (month + 1) / 10000)
    return x1 + x2 + day + b - 1524.5


def _ms_of(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: float = 0.0) -> int:
    return int(_jd_of(year, month, day) * _DAY_MS) + hour * 3_600_000 + minute * 60_000 + round(second * 1000)


def _ymd(ms: int) -> tuple[int, int, int]:
    """The Gregorian date of a Julian day in ms (SQLite's computeYMD)."""
    z = (ms + 43_200_000) // _DAY_MS
    alpha = int((z + 32044.75) / 36524.25) - 52
    a = z + 1 + alpha - ((alpha + 100) // 4) + 25
    b = a + 1524
    c = int((b - 122.1) / 365.25)
    d = (36525 * (c & 32767)) // 100
    e = int((b - d) / 30.6001)
    x1 = int(30.6001 * e)
    day = b - d - x1
    month = e - 1 if e < 14 else e - 13
    year = c - 4716 if month > 2 else c - 4715
    return year, month, day


def _hms(ms: int) -> tuple[int, int, float]:
    in_day = (ms + 43_200_000) % _DAY_MS
    seconds = in_day / 1000.0
    hour = int(seconds // 3600)
    minute = int((seconds - hour * 3600) // 60)
    return hour, minute, seconds - hour * 3600 - minute * 60


def _parse(value: object) -> tuple[int, bool] | None:
    """(Julian day in ms, whether it was a bare number) of a time value, or None."""
    if value is None or type(value) is bytes:
        return None
    if type(value) in (int, float) and not isinstance(value, bool):
        return (round(float(value) * _DAY_MS), True) if math.isfinite(value) else None
    text = str(value).strip()
    if text.lower() == "now":
        return round(time.time() * 1000) + 210_866_760_000_000, False
    if _NUMBER.match(text):
        return round(float(text) * _DAY_MS), True
    found = _DATE.match(text)
    if found:
        year, month, day = int(found.group(1)), int(found.group(2)), int(found.group(3))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        rest = found.group(4)
        clock = (0, 0, 0.0, 0) if rest is None else _clock(rest)
        if clock is None:
            return None
        hour, minute, second, zone = clock
        if zone == 0 and (rest is None or not rest.rstrip().endswith(("Z", "z", "+00:00", "-00:00"))):
            _RAW.fields = (year, month, day)  # as written: SQLite prints an unmodified date as given
        return _ms_of(year, month, day, hour, minute, second) - zone, False
    clock = _clock(text)
    if clock is None:
        return None
    hour, minute, second, zone = clock
    return _ms_of(2000, 1, 1, hour, minute, second) - zone, False


def _clock(text: str) -> tuple[int, int, float, int] | None:
    found = _TIME.match(text.strip())
    if not found:
        return None
    hour, minute = int(found.group(1)), int(found.group(2))
    second = float((found.group(3) or "0") + (found.group(4) or "")) if found.group(3) else 0.0
    if hour > 24 or minute > 59 or second >= 60:
        return None
    zone = 0
    if found.group(6):
        zone = (int(found.group(7)) * 60 + int(found.group(8))) * 60_000
        zone = zone if found.group(6) == "+" else -zone
    return hour, minute, second, zone


_UNITS = {"day": _DAY_MS, "hour": 3_600_000, "minute": 60_000, "second": 1000}
_SHIFT = re.compile(r"^([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s+(day|hour|minute|second|month|year)s?$")


def _lost(ms: int) -> bool:
    """A modifier that reads the date's fields finds none: an earlier one moved the time out
    of SQLite's range (its computeYMD marks the value as an error, and so NULL)."""
    return _RAW.fields is None and not 0 <= ms <= _MAX_JD


def _modified(ms: int, number: bool, modifier: object) -> int | None:
    if not isinstance(modifier, str):
        return None
    word = modifier.strip().lower()
    shift = _SHIFT.match(word)
    if shift:
        amount, unit = float(shift.group(1)), shift.group(2)
        if unit in _UNITS:
            return ms + round(amount * _UNITS[unit])
        if _lost(ms):
            return None
        year, month, day = _RAW.fields or _ymd(ms)  # the date as written, if it is
        hour, minute, second = _hms(ms)
        whole = int(amount)
        if unit == "month":
            month += whole
        else:
            year += whole
        year += (month - 1) // 12
        month = (month - 1) % 12 + 1
        moved = _ms_of(year, month, day, hour, minute, second)
        return moved + round((amount - whole) * (30 if unit == "month" else 365) * _DAY_MS)
    if word.startswith("start of "):  # on the date as written, if it is (SQLite's computeYMD)
        if _lost(ms):
            return None
        year, month, day = _RAW.fields or _ymd(ms)
        part = word[len("start of "):].strip()
        fields = {"month": (year, month, 1), "year": (year, 1, 1), "day": (year, month, day)}.get(part)
        if fields is None:
            return None
        _RAW.kept = fields
        return _ms_of(*fields)
    if word.startswith("weekday "):
        try:
            want = float(word[len("weekday "):])
        except ValueError:
            return None
        if not want.is_integer() or not 0 <= want <= 6 or _lost(ms):
            return None
        today = ((ms + 129_600_000) // _DAY_MS) % 7  # 0 is Sunday
        return ms + int((want - today) % 7) * _DAY_MS
    if word == "unixepoch" and number:
        return round(ms / _DAY_MS * 1000) + 210_866_760_000_000
    if word in ("julianday", "auto") and number:
        return ms if word == "julianday" or abs(ms) < 5_373_484_500_000_000 else \
            round(ms / _DAY_MS * 1000) + 210_866_760_000_000
    if word in ("utc", "localtime"):
        seconds = (ms - 210_866_760_000_000) / 1000
        offset = -time.altzone if time.localtime(seconds).tm_isdst > 0 and time.daylight else -time.timezone
        return ms + offset * 1000 if word == "localtime" else ms - offset * 1000
    return None


class _Raw(threading.local):
    """The year, month and day a date string was written with, while one call reads them:
    SQLite prints an unmodified date as given (``date('2024-02-30')`` is '2024-02-30')."""

    fields: tuple[int, int, int] | None = None
    kept: tuple[int, int, int] | None = None  # what a "start of" modifier leaves as written


_RAW = _Raw()


def _moment(args: tuple) -> int | None:
    """The time value of ``args[0]`` moved by the modifiers after it; None if any is bad."""
    if not args:
        args = ("now",)
    _RAW.fields = None
    parsed = _parse(args[0])
    if parsed is None:
        return None
    ms, number = parsed
    if number and not 0 <= ms < 5_373_484.5 * _DAY_MS:  # not a Julian day: only a unix time
        first = args[1].strip().lower() if len(args) > 1 and isinstance(args[1], str) else ""
        if first not in ("unixepoch", "auto"):
            return None
    for modifier in args[1:]:
        _RAW.kept = None
        moved = _modified(ms, number, modifier)
        if moved is None:
            return None
        ms, number = moved, False
        _RAW.fields = _RAW.kept  # a "start of" keeps the date's fields; anything else computes them
    return ms if 0 <= ms <= _MAX_JD else None


def _year(year: int) -> str:
    return ("-" if year < 0 else "") + f"{abs(year):04d}"  # as SQLite's %04d of the magnitude


def _fields(ms: int) -> tuple[int, int, int]:
    return _RAW.fields or _ymd(ms)


def _date_text(ms: int) -> str:
    year, month, day = _fields(ms)
    return f"{_year(year)}-{month:02d}-{day:02d}"


def _time_text(ms: int) -> str:
    hour, minute, second = _hms(ms)
    return f"{hour:02d}:{minute:02d}:{int(second):02d}"


def _function(render: Callable[[int], object]) -> Callable[..., object]:
    def apply(*args: object) -> object:
        ms = _moment(args)
        return None if ms is None else render(ms)
    return apply


def _strftime(form: object, *args: object) -> str | None:
    if form is None:
        return None
    ms = _moment(args)
    if ms is None:
        return None
    year, month, day = _fields(ms)
    hour, minute, second = _hms(ms)
    start_of_year = _ms_of(year, 1, 1)
    day_of_year = (ms - start_of_year) // _DAY_MS
    weekday = ((ms + 129_600_000) // _DAY_MS) % 7
    millis = ((ms + 43_200_000) % _DAY_MS) % 60_000  # the seconds of the minute, in ms
    codes = {
        "d": f"{day:02d}", "f": f"{millis // 1000:02d}.{millis % 1000:03d}", "H": f"{hour:02d}",
        "j": f"{day_of_year + 1:03d}", "J": f"{ms / _DAY_MS:.16g}", "m": f"{month:02d}",
        "M": f"{minute:02d}", "s": str((ms - 210_866_760_000_000) // 1000), "S": f"{int(second):02d}",
        "w": str(weekday), "Y": f"{year:04d}", "%": "%",
        "W": f"{(day_of_year + 7 - (weekday + 6) % 7) // 7:02d}",
    }
    text = form.decode("utf-8", "replace") if isinstance(form, bytes) else str(form)  # a blob reads as text
    out, i = [], 0
    while i < len(text):
        if text[i] == "%":
            code = text[i + 1:i + 2]
            if code not in codes:
                return None
            out.append(codes[code])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


SPECS: list[tuple[str, Callable[..., object], int, int | None]] = [
    ("date", _function(_date_text), 0, None),
    ("time", _function(_time_text), 0, None),
    ("datetime", _function(lambda ms: f"{_date_text(ms)} {_time_text(ms)}"), 0, None),
    ("julianday", _function(lambda ms: ms / _DAY_MS), 0, None),
    ("unixepoch", _function(lambda ms: (ms - 210_866_760_000_000) // 1000), 0, None),
    ("strftime", _strftime, 1, None),
]
