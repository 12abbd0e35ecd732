"""Parsing of single values by the rules of kpi-spec section 6: never guess.

One parser per kind of value, shared by the CSV import, the API and the commands.
Each raises BadValue with a message a user can act on.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings


class BadValue(ValueError):
    """A value that breaks the rules of its column."""


class OutsideCalendar(BadValue):
    """A moment that is not one once in UTC (year 0 or 10000): it could be stored but never
    read back."""


_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)"
    r"(?P<zone>Z|z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_PLAIN_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_GROUPED_NUMBER = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.COMPANY_TIME_ZONE)


# Offsets under 24 h are valid (kpi-spec section 6), but PostgreSQL takes a moment with an
# offset of at most ±15:59 (real zones span -12:00 to +14:00): a larger one is kept as its
# UTC instant, which is what is stored anyway.
_STORABLE_OFFSET = dt.timedelta(hours=16)
# The two shapes exports write nearly always, 2026-05-10T09:30:00Z and
# 2026-05-10T09:30:00+09:00, with the time's ranges spelt out and away from the calendar's
# first and last year (where the UTC instant could leave it); parted into the day and the
# zone, which an import meets few distinct values of, so their checks are remembered.
_CANONICAL_DAY = r"(?!0000|0001|9999)\d{4}-\d\d-\d\d"
_CANONICAL_TIME = r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
_CANONICAL_ZONE = r"Z|[+-]\d\d:[0-5]\d"
_CANONICAL_PARTS = re.compile(f"({_CANONICAL_DAY}){_CANONICAL_TIME}({_CANONICAL_ZONE})", re.ASCII)


@functools.lru_cache(maxsize=4096)
def _calendar_day(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=256)
def _storable_zone(text: str) -> bool:
    if text == "Z":
        return True
    return dt.timedelta(hours=int(text[1:3]), minutes=int(text[4:6])) < _STORABLE_OFFSET


def is_canonical_timestamp(value: str) -> bool:
    """Whether `value` is a timestamp in the usual shape with an offset the database takes
    as it is, checked without building the datetime: the import's quick rows
    (csv_import/quick.py) only check their timestamps, millions of them."""
    match = _CANONICAL_PARTS.fullmatch(value)
    return match is not None and _calendar_day(match[1]) and _storable_zone(match[2])


# The same shape, one value a line, for a whole column at once.
_CANONICAL_LINES = re.compile(
    f"(?:{_CANONICAL_DAY}{_CANONICAL_TIME}(?:{_CANONICAL_ZONE})\n)*", re.ASCII
)
_DAY_PART = operator.itemgetter(slice(0, 10))
_ZONE_PART = operator.itemgetter(slice(19, None))


def all_canonical_timestamps(values: Sequence[str]) -> bool:
    """Whether every one of `values` is_canonical_timestamp, checked as one text: a column
    of an import's batch costs one match instead of a call a value (a fifth of the time).
    A value holding a line end would pass for two: the line ends are counted."""
    if not values:
        return True
    text = "\n".join(values) + "\n"
    if text.count("\n") != len(values) or _CANONICAL_LINES.fullmatch(text) is None:
        return False
    return all(map(_calendar_day, set(map(_DAY_PART, values)))) and all(
        map(_storable_zone, set(map(_ZONE_PART, values)))
    )


def canonical_timestamp(value: str) -> dt.datetime | None:
    """A timestamp in the usual shape (is_canonical_timestamp), read without the rules
    below (an import parses millions of them); None for anything else, which takes the
    full rules."""
    return dt.datetime.fromisoformat(value) if is_canonical_timestamp(value) else None


def parse_timestamp(text: str) -> dt.datetime:
    """ISO 8601 with `Z`, an offset, or no zone (company time); a date alone is its 00:00."""
    value = text.strip()
    fast = canonical_timestamp(value)
    if fast is not None:
        return fast
    match = _TIMESTAMP.match(value)
    if not match:
        raise BadValue(f"'{text}' is not an ISO 8601 timestamp (e.g. 2026-05-10T09:30:00+09:00)")
    try:
        zone = match["zone"]
        if zone and zone not in ("Z", "z"):
            digits = zone[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:] or 0)
            if hours >= 24 or minutes >= 60:
                raise BadValue(f"'{text}': the UTC offset {zone} is out of range")
        if match["time"] is None:
            day = dt.date.fromisoformat(match["date"])
            parsed = dt.datetime.combine(day, dt.time.min, tzinfo=_tz())
        else:
            parsed = dt.datetime.fromisoformat(value.replace(",", ".").replace("z", "Z"))
    except ValueError as exc:
        if isinstance(exc, BadValue):
            raise
        raise BadValue(f"'{text}' is not a valid date or time ({exc})") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_tz())
    try:
        in_utc = parsed.astimezone(dt.UTC)
    except OverflowError:
        raise OutsideCalendar(
            f"'{text}' is outside the calendar (years 1 to 9999) in UTC"
        ) from None
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) >= _STORABLE_OFFSET:
        return in_utc  # the same instant, in an offset the database can store
    return parsed


def parse_money(text: str) -> Decimal:
    """A non-negative decimal; `1,200,000`, a leading ¥/￥ and a trailing 円 are accepted."""
    value = text.strip()
    if value[:1] in ("¥", "￥"):
        value = value[1:].strip()
    if value.endswith("円"):
        value = value[:-1].strip()
    if value.startswith("-"):
        raise BadValue(f"'{text}' is negative; amounts must be 0 or more")
    if _GROUPED_NUMBER.match(value):
        value = value.replace(",", "")
    if not _PLAIN_NUMBER.match(value):
        raise BadValue(
            f"'{text}' is not an amount of money (e.g. 1200000, 1,200,000 or ¥1,200,000)"
        )
    try:
        return Decimal(value)
    except InvalidOperation:
        raise BadValue(f"'{text}' is not an amount of money") from None


def parse_decimal(text: str) -> Decimal:
    """A non-negative plain decimal (targets of counts and rates, overrides)."""
    value = text.strip()
    if not _PLAIN_NUMBER.match(value):
        raise BadValue(f"'{text}' is not a non-negative number")
    return Decimal(value)


def parse_int(text: str) -> int:
    value = text.strip()
    if not re.fullmatch(r"-?\d+", value):
        raise BadValue(f"'{text}' is not a whole number")
    return int(value)


def parse_month_or_day(text: str) -> dt.date:
    """A cost date: a day, or `YYYY-MM` for a month (dated on its first day)."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}", value):
            return dt.date.fromisoformat(value + "-01")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return dt.date.fromisoformat(value)
    except ValueError:
        raise BadValue(f"'{text}' is not a date that exists") from None
    raise BadValue(f"'{text}' is not a day (2026-05-10) or a month (2026-05)")
