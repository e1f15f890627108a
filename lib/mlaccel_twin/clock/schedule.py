"""EventBridge schedule expressions: ``rate(5 minutes)`` and ``cron(0 * * * ? *)``, in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from mlaccel.errors import MLAccelInputError

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# minute hour day-of-month month day-of-week year
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199))
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
_SEARCH_LIMIT = timedelta(days=366 * 5)


@dataclass(frozen=True)
class Schedule:
    """A parsed expression: a rate (``every``) or the allowed values of each cron field."""

    expression: str
    every: timedelta | None = None
    fields: tuple[frozenset[int] | None, ...] = ()


def parse_schedule(expression: str) -> Schedule:
    """Parse an EventBridge schedule expression; bad ones are refused, naming the field.

    Examples
    --------
    >>> parse_schedule("rate(1 hour)").every
    datetime.timedelta(seconds=3600)
    >>> sorted(parse_schedule("cron(0/15 9-10 ? * MON-FRI *)").fields[0])
    [0, 15, 30, 45]
    """
    text = expression.strip()
    if match := _RATE.match(text):
        amount, unit = int(match[1]), match[2].rstrip("s")
        if amount < 1:
            raise MLAccelInputError(f"{expression!r}: a rate needs a positive value")
        return Schedule(text, every=timedelta(seconds=amount * _UNIT_SECONDS[unit]))
    if text.startswith("cron(") and text.endswith(")"):
        parts = text[5:-1].split()
        if len(parts) != 6:
            raise MLAccelInputError(
                f"{expression!r}: cron needs 6 fields (minutes hours day-of-month month "
                "day-of-week year)"
            )
        fields = tuple(
            _cron_field(part, low, high, index, expression)
            for index, (part, (low, high)) in enumerate(zip(parts, _CRON_RANGES, strict=True))
        )
        return Schedule(text, fields=fields)
    raise MLAccelInputError(
        f"{expression!r} is not a schedule expression; write rate(5 minutes) or cron(0 12 * * ? *)"
    )


def _cron_field(
    part: str, low: int, high: int, index: int, expression: str
) -> frozenset[int] | None:
    if part in ("*", "?"):
        return None
    names = _MONTHS if index == 3 else _DAYS if index == 4 else []
    values: set[int] = set()
    for item in part.split(","):
        step = 1
        if "/" in item:
            item, step_text = item.split("/", 1)
            step = int(step_text)
        if item in ("*", ""):
            start, end = low, high
        elif "-" in item:
            first, last = item.split("-", 1)
            start, end = _value(first, names, low), _value(last, names, low)
        else:
            start = _value(item, names, low)
            end = high if "/" in part else start
        if not low <= start <= end <= high:
            raise MLAccelInputError(f"{expression!r}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: list[str], low: int) -> int:
    upper = text.upper()
    if upper in names:
        return names.index(upper) + low
    if not text.isdigit():
        raise MLAccelInputError(f"{text!r} in a cron field is not supported on the twin (L, W, #)")
    return int(text)


def next_fire(schedule: Schedule, after: datetime, anchor: datetime) -> datetime:
    """The first time the schedule fires strictly after ``after`` (a rate counts from
    ``anchor``, when its rule was created).

    Examples
    --------
    >>> from datetime import timezone
    >>> start = datetime(2026, 1, 1, 10, 20, tzinfo=timezone.utc)
    >>> next_fire(parse_schedule("rate(1 hour)"), start, start).isoformat()
    '2026-01-01T11:20:00+00:00'
    >>> next_fire(parse_schedule("cron(0 * * * ? *)"), start, start).isoformat()
    '2026-01-01T11:00:00+00:00'
    """
    if schedule.every is not None:
        periods = int((after - anchor) / schedule.every) + 1
        return anchor + periods * schedule.every
    minute, hour, day, month, weekday, year = schedule.fields
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = after + _SEARCH_LIMIT
    while moment <= limit:
        if (
            (month is None or moment.month in month)
            and (year is None or moment.year in year)
            and (day is None or moment.day in day)
            and (weekday is None or (moment.isoweekday() % 7) + 1 in weekday)
        ):
            if (hour is None or moment.hour in hour) and (
                minute is None or moment.minute in minute
            ):
                return moment
            moment += timedelta(minutes=1)
        else:  # skip to the next day
            moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
    raise MLAccelInputError(f"{schedule.expression!r} never fires")
