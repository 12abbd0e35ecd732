"""The MQL follow-up SLA (kpi-spec section 3).

An MQL is handled at the earliest of sql_at, opportunity_at, won_at and disqualified_at.
Its deadline is the end of the N-th business day after the local date of mql_at.
Denominator: MQLs of P whose deadline passed by as_of or that are handled; numerator: those
handled strictly before their deadline. Deadlines depend only on the local MQL date, so the
period is cut into runs of days sharing a deadline and the database does the counting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, DateTimeField, F, Q, Value, When

from funnel.business_days import BusinessCalendar
from funnel.metrics.counts import Window, person_rows
from funnel.metrics.filters import KpiFilters
from funnel.periods import local_date, local_midnight

HANDLING_FIELDS = ("sql_at", "opportunity_at", "won_at", "disqualified_at")


@dataclass(frozen=True)
class SlaResult:
    eligible: int
    handled_in_time: int

    @property
    def rate(self) -> float | None:
        return self.handled_in_time / self.eligible if self.eligible else None


def deadline_runs(window: Window) -> list[tuple[dt.datetime, dt.datetime, dt.datetime]]:
    """(from, to, deadline): MQLs at from <= mql_at < to share `deadline`."""
    period = window.period
    last_day = min(period.end, local_date(window.as_of))
    if last_day < period.start:
        return []
    calendar = BusinessCalendar(period.start.year, last_day.year)
    runs: list[tuple[dt.date, dt.date, dt.datetime]] = []
    day = period.start
    while day <= last_day:
        due_day = calendar.nth_business_day_after(day, settings.MQL_SLA_BUSINESS_DAYS)
        deadline = local_midnight(due_day + dt.timedelta(days=1))
        if runs and runs[-1][2] == deadline:
            runs[-1] = (runs[-1][0], day, deadline)
        else:
            runs.append((day, day, deadline))
        day += dt.timedelta(days=1)
    return [
        (local_midnight(first), local_midnight(last + dt.timedelta(days=1)), deadline)
        for first, last, deadline in runs
    ]


def mql_follow_up_sla(window: Window, filters: KpiFilters) -> SlaResult:
    runs = deadline_runs(window)
    if not runs:
        return SlaResult(0, 0)
    deadline = Case(
        *[When(mql_at__gte=start, mql_at__lt=end, then=Value(due)) for start, end, due in runs],
        output_field=DateTimeField(),
    )
    handled = Q()
    in_time = Q()
    for field in HANDLING_FIELDS:
        handled |= Q(**{f"{field}__lte": window.as_of})
        in_time |= Q(**{f"{field}__lte": window.as_of, f"{field}__lt": F("deadline")})
    counts = (
        person_rows(window, filters)
        .filter(window.within("mql_at"))
        .annotate(deadline=deadline)
        .aggregate(
            eligible=Count("pk", filter=Q(deadline__lte=window.as_of) | handled),
            in_time=Count("pk", filter=in_time),
        )
    )
    return SlaResult(counts["eligible"], counts["in_time"])
