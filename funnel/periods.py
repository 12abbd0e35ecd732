"""The fiscal calendar (kpi-spec section 1): period names, local-date ranges, as_of.

A period is a closed range of local dates [start, end]; a timestamp t is in it when
start 00:00 <= local(t) < (end + 1 day) 00:00, in the company time zone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from funnel.values import OutsideCalendar, parse_timestamp

_FY = re.compile(r"^FY(\d{4})$")
_FYQ = re.compile(r"^FY(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.|/)(\d{4}-\d{2}-\d{2})$")


class PeriodError(ValueError):
    """A period name that is not one of spec section 1's forms."""


# The periods and moments the product answers for. The comparisons of a period (previous
# quarter, a year earlier, the trailing four quarters, the trend) and time zones stay within
# what dates can hold, and a period costs at most what ten years of data cost.
FIRST_YEAR, LAST_YEAR = 1900, 2999
MAX_PERIOD_DAYS = 3_660  # ten years and leap days


def _supported(period: Period, name: str) -> Period:
    if period.start.year < FIRST_YEAR or period.end.year > LAST_YEAR:
        raise PeriodError(
            f"'{name}': periods must lie between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31"
        )
    if period.days > MAX_PERIOD_DAYS:
        raise PeriodError(
            f"'{name}' spans {period.days:,} days; a period may span at most "
            f"{MAX_PERIOD_DAYS:,} days (ten years)"
        )
    return period


def company_tz() -> ZoneInfo:
    return ZoneInfo(settings.COMPANY_TIME_ZONE)


def local_midnight(day: dt.date) -> dt.datetime:
    """`day` 00:00 in company time, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=company_tz())


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(company_tz()).date()


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _month_start(year: int, month: int) -> dt.date:
    return dt.date(year, month, 1)


@dataclass(frozen=True)
class Period:
    name: str
    start: dt.date
    end: dt.date

    @property
    def start_at(self) -> dt.datetime:
        return local_midnight(self.start)

    @property
    def end_at(self) -> dt.datetime:
        """The exclusive upper bound: (end + 1 day) 00:00 company time."""
        return local_midnight(self.end + dt.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def elapsed_share(self, as_of: dt.datetime) -> tuple[int, int]:
        """(elapsed, total) seconds of the period at as_of, elapsed clamped to [0, total].

        Kept as integers so the KPI tree can compute `expected` exactly (spec section 5).
        """
        total = int((self.end_at - self.start_at).total_seconds())
        elapsed = int((as_of - self.start_at).total_seconds())
        return min(max(elapsed, 0), total), total

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "start": self.start.isoformat(), "end": self.end.isoformat()}


def fiscal_year_start(fiscal_year: int) -> dt.date:
    return _month_start(fiscal_year, settings.FISCAL_YEAR_START_MONTH)


def fiscal_year(fy: int) -> Period:
    start = fiscal_year_start(fy)
    end = fiscal_year_start(fy + 1) - dt.timedelta(days=1)
    return Period(f"FY{fy}", start, end)


def fiscal_quarter(fy: int, quarter: int) -> Period:
    year, month = _add_months(fy, settings.FISCAL_YEAR_START_MONTH, 3 * (quarter - 1))
    start = _month_start(year, month)
    next_year, next_month = _add_months(year, month, 3)
    return Period(
        f"FY{fy}Q{quarter}", start, _month_start(next_year, next_month) - dt.timedelta(days=1)
    )


def calendar_month(year: int, month: int) -> Period:
    next_year, next_month = _add_months(year, month, 1)
    end = _month_start(next_year, next_month) - dt.timedelta(days=1)
    return Period(f"{year:04d}-{month:02d}", _month_start(year, month), end)


def fiscal_year_of(day: dt.date) -> int:
    """FY N starts in calendar year N (spec section 1)."""
    return day.year if day.month >= settings.FISCAL_YEAR_START_MONTH else day.year - 1


def fiscal_quarter_of(day: dt.date) -> Period:
    fy = fiscal_year_of(day)
    months_in = (day.year * 12 + day.month) - (fy * 12 + settings.FISCAL_YEAR_START_MONTH)
    return fiscal_quarter(fy, months_in // 3 + 1)


def previous_quarter(period: Period) -> Period:
    return fiscal_quarter_of(period.start - dt.timedelta(days=1))


def next_quarter(period: Period) -> Period:
    return fiscal_quarter_of(period.end + dt.timedelta(days=1))


def period_kind(period: Period) -> str:
    """`quarter`, `month`, `year` or `custom` (explicit dates), read from the period's name."""
    if _FYQ.match(period.name):
        return "quarter"
    if _FY.match(period.name):
        return "year"
    if _MONTH.match(period.name):
        return "month"
    return "custom"


def previous_period(period: Period) -> Period:
    """The period a KPI is compared with: the previous fiscal quarter, calendar month or
    fiscal year; for explicit dates, the same number of days just before the start."""
    kind = period_kind(period)
    if kind == "quarter":
        return previous_quarter(period)
    if kind == "year":
        return fiscal_year(fiscal_year_of(period.start) - 1)
    if kind == "month":
        year, month = _add_months(period.start.year, period.start.month, -1)
        return calendar_month(year, month)
    end = period.start - dt.timedelta(days=1)
    start = end - dt.timedelta(days=period.days - 1)
    return Period(f"{start.isoformat()}..{end.isoformat()}", start, end)


def parse_period(name: str) -> Period:
    """`FY2026`, `FY2026Q1`, `2026-05`, or explicit dates `2026-04-01..2026-06-30`, within
    the supported years and span."""
    try:
        period = _parse_period(name)
    except PeriodError:
        raise
    except (ValueError, OverflowError):  # a date past what the calendar holds (FY9999Q4)
        period = Period(name, dt.date.min, dt.date.max)
    return _supported(period, name)


def _parse_period(name: str) -> Period:
    text = name.strip()
    if match := _FYQ.match(text):
        return fiscal_quarter(int(match[1]), int(match[2]))
    if match := _FY.match(text):
        return fiscal_year(int(match[1]))
    if match := _MONTH.match(text):
        month = int(match[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"'{name}': month {month} does not exist")
        return calendar_month(int(match[1]), month)
    if match := _RANGE.match(text):
        try:
            start, end = dt.date.fromisoformat(match[1]), dt.date.fromisoformat(match[2])
        except ValueError as exc:
            raise PeriodError(f"'{name}': {exc}") from None
        if end < start:
            raise PeriodError(f"'{name}': the end date is before the start date")
        return Period(f"{start.isoformat()}..{end.isoformat()}", start, end)
    raise PeriodError(
        f"'{name}' is not a period: use FY2026, FY2026Q1, 2026-05 or 2026-04-01..2026-06-30"
    )


def trailing_four_quarters(period: Period) -> Period:
    """The four complete fiscal quarters that end on or before the start of `period`, pooled.

    Spec section 5: the KPI tree's default rates, deal size and CPA come from this one
    pooled period, computed as of the start of `period`.
    """
    # The quarter holding period.start ends after it, so the last complete one is before it.
    last = previous_quarter(fiscal_quarter_of(period.start))
    first = last
    for _ in range(3):
        first = previous_quarter(first)
    return Period(f"{first.name}..{last.name}", first.start, last.end)


def current_quarter(now: dt.datetime | None = None) -> Period:
    return fiscal_quarter_of(local_date(now or timezone.now()))


def this_minute(now: dt.datetime | None = None) -> dt.datetime:
    """ "Now" for the pages and the API: the last second of the current minute. Pages show
    as_of to the minute; a question asked again within the minute is the same question,
    so its answer can be kept (funnel/metrics/kept.py) instead of read again."""
    return (now or timezone.now()).replace(second=59, microsecond=0)


def parse_as_of(text: str | None) -> dt.datetime:
    """An ISO 8601 moment; no zone means company time, a date alone is its 00:00. Within
    the supported years (in UTC and in company time)."""
    if not text:
        return timezone.now()
    try:
        moment = parse_timestamp(text)
        years = (moment.astimezone(dt.UTC).year, moment.astimezone(company_tz()).year)
    except (OutsideCalendar, OverflowError):
        years = (0, 0)
    if not all(FIRST_YEAR <= year <= LAST_YEAR for year in years):
        raise PeriodError(
            f"as_of '{text}' must lie between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31"
        )
    return moment
