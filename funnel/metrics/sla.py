"""The MQL follow-up SLA (kpi-spec section 3).

An MQL is handled at the earliest of sql_at, opportunity_at, won_at and disqualified_at.
Its deadline is the end of the N-th business day after the local date of mql_at.
Denominator: MQLs of P whose deadline passed by as_of or that are handled; numerator: those
handled strictly before their deadline. Deadlines depend only on the local MQL date, so the
days from the window's first MQL to its last are cut into runs of days sharing a deadline
and the database does the counting. Only those days: the work follows the data, not the
window's length (a period of centuries costs what its MQLs cost).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, DateTimeField, F, Func, Max, Min, Q
from django.db.models.sql.compiler import SQLCompiler

from funnel.business_days import BusinessCalendar
from funnel.metrics.filters import KpiFilters
from funnel.metrics.kept import kept
from funnel.metrics.window import Window, persons_dated
from funnel.periods import local_date, local_midnight

HANDLING_FIELDS = ("sql_at", "opportunity_at", "won_at", "disqualified_at")
# MQLs at from <= mql_at < to share a deadline: (from, to, deadline).
Run = tuple[dt.datetime, dt.datetime, dt.datetime]


@dataclass(frozen=True)
class SlaResult:
    eligible: int
    handled_in_time: int

    @property
    def rate(self) -> float | None:
        return self.handled_in_time / self.eligible if self.eligible else None


def mql_days(window: Window) -> tuple[dt.date, dt.date] | None:
    """The local dates of the window's first and last MQL (two ends of the mql_at index),
    or None when the window holds no MQL."""
    mql_at = window.field("mql_at")
    ends = (
        window.dates.persons()
        .filter(window.within(mql_at))
        .aggregate(first=Min(mql_at), last=Max(mql_at))
    )
    if ends["first"] is None:
        return None
    return local_date(ends["first"]), local_date(ends["last"])


def mql_deadline(calendar: BusinessCalendar, day: dt.date) -> dt.datetime:
    """The follow-up deadline of an MQL of this local date: the end of the N-th business
    day after it (section 3)."""
    due_day = calendar.nth_business_day_after(day, settings.MQL_SLA_BUSINESS_DAYS)
    return local_midnight(due_day + dt.timedelta(days=1))


def deadline_runs(window: Window, days: tuple[dt.date, dt.date] | None = None) -> list[Run]:
    """The runs of days sharing a deadline, in order (their deadlines rise), over `days`
    (first, last), clipped to the window; by default over the window's days."""
    period = window.period
    first_day, last_day = days or (period.start, period.end)
    first_day = max(first_day, period.start)
    last_day = min(last_day, period.end, local_date(window.as_of))
    if last_day < first_day:
        return []
    calendar = BusinessCalendar(first_day.year, last_day.year)
    runs: list[tuple[dt.date, dt.date, dt.datetime]] = []
    day = first_day
    while day <= last_day:
        deadline = mql_deadline(calendar, day)
        if runs and runs[-1][2] == deadline:
            runs[-1] = (runs[-1][0], day, deadline)
        else:
            runs.append((day, day, deadline))
        day += dt.timedelta(days=1)
    return [
        (local_midnight(first), local_midnight(last + dt.timedelta(days=1)), deadline)
        for first, last, deadline in runs
    ]


class Deadline(Func):
    """The deadline of each MQL (from its mql_at) over the runs of deadline_runs.

    A CASE that halves the runs, as SQL text of one expression node: a flat CASE tests
    every run before the matching one for every MQL, and a tree of When objects costs
    Django more to copy and hash than the database needs to run it.
    """

    output_field = DateTimeField()

    def __init__(self, runs: list[Run], mql_at: str = "mql_at") -> None:
        super().__init__(F(mql_at))
        self.runs = runs

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.source_expressions[0])
        field = self.output_field

        def search(runs: list[Run]) -> tuple[str, list[Any]]:
            if len(runs) == 1:
                return "%s", [field.get_db_prep_value(runs[0][2], connection)]
            middle = len(runs) // 2
            low, low_params = search(runs[:middle])
            high, high_params = search(runs[middle:])
            split = field.get_db_prep_value(runs[middle][0], connection)
            sql = f"CASE WHEN {column} < %s THEN {low} ELSE {high} END"
            return sql, [*column_params, split, *low_params, *high_params]

        return search(self.runs)


@kept
def mql_follow_up_sla(window: Window, filters: KpiFilters) -> SlaResult:
    days = mql_days(window)
    if days is None:
        return SlaResult(0, 0)
    runs = deadline_runs(window, days)
    if not runs:
        return SlaResult(0, 0)
    # The runs cover every MQL of the window; their deadlines rise, so the MQLs whose
    # deadline passed by as_of are those before the end of the last such run.
    mql_at = window.field("mql_at")
    deadline = Deadline(runs, mql_at)
    handled = Q()
    in_time = Q()
    for name in HANDLING_FIELDS:
        field = window.field(name)
        handled |= Q(**{f"{field}__lte": window.as_of})
        in_time |= Q(**{f"{field}__lte": window.as_of, f"{field}__lt": deadline})
    eligible = handled
    if passed := [end for _, end, due in runs if due <= window.as_of]:
        eligible = Q(**{f"{mql_at}__lt": passed[-1]}) | handled
    counts = persons_dated(window, filters, mql_at).aggregate(
        eligible=Count(mql_at, filter=eligible), in_time=Count(mql_at, filter=in_time)
    )
    return SlaResult(counts["eligible"], counts["in_time"])
