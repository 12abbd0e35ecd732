"""The shared KPIs over a run of periods (kpi-spec section 3), for the dashboard's trend chart
and its comparison with the previous period.

The KPI definitions are the ones of `counts.py` and `ratios.py`: each period's aggregates are
the expressions `funnel_counts` uses, evaluated side by side in one person query and one
opportunity query for the whole run, so eight quarters cost two queries, not sixteen.
Costs, the SLA and medians are not part of the trend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from funnel.metrics.counts import (
    Window,
    opportunity_aggregates,
    opportunity_rows,
    person_aggregates,
    person_rows,
)
from funnel.metrics.filters import KpiFilters
from funnel.metrics.kept import kept
from funnel.metrics.ratios import derived_kpis
from funnel.metrics.window import SOURCE_DATES, StageDates
from funnel.periods import (
    Period,
    calendar_month,
    fiscal_quarter_of,
    local_date,
    period_kind,
    previous_quarter,
)

TREND_KPIS = ("opportunities", "opportunity_rate", "won_amount", "win_rate")
TREND_QUARTERS = 8
TREND_MONTHS = 12
# Derived from costs, which the trend does not read: left out rather than shown as null.
_COST_KEYS = ("marketing_cost", "cpa", "cost_per_opportunity")


def trend_periods(period: Period, as_of: dt.datetime) -> list[Period]:
    """The periods the trend shows, oldest first: the 12 months up to a month period, else
    the 8 fiscal quarters up to the quarter of the period's last day already reached (a
    fiscal year or explicit dates in progress end their trend at today's quarter)."""
    anchor = min(period.end, max(period.start, local_date(as_of)))
    if period_kind(period) == "month":
        index = anchor.year * 12 + anchor.month - 1
        return [
            calendar_month(i // 12, i % 12 + 1) for i in range(index - TREND_MONTHS + 1, index + 1)
        ]
    quarters = [fiscal_quarter_of(anchor)]
    while len(quarters) < TREND_QUARTERS:
        quarters.insert(0, previous_quarter(quarters[0]))
    return quarters


@kept
def shared_kpi_trend(
    periods: Sequence[Period],
    as_of: dt.datetime,
    filters: KpiFilters | None = None,
    dates: StageDates = SOURCE_DATES,
    conversion_days: int | None = None,
) -> list[dict[str, Any]]:
    """For each period, in order: {"period": Period, "kpis": counts and ratios}, equal to
    what `kpi_snapshot(period, as_of, filters)` reports for those keys."""
    if not periods:
        return []
    filters = filters or KpiFilters()
    windows = [Window(p, as_of, dates, conversion_days) for p in periods]
    span = Window(
        Period("trend", min(p.start for p in periods), max(p.end for p in periods)),
        as_of,
        dates,
    )
    person_counts = person_rows(span, filters).aggregate(
        **{f"p{i}_{k}": e for i, w in enumerate(windows) for k, e in person_aggregates(w).items()}
    )
    opportunity_counts = opportunity_rows(span, filters).aggregate(
        **{
            f"p{i}_{k}": e
            for i, w in enumerate(windows)
            for k, e in opportunity_aggregates(w).items()
        }
    )
    result = []
    for i, window in enumerate(windows):
        prefix = f"p{i}_"
        counts: dict[str, Any] = {
            key.removeprefix(prefix): value
            for key, value in (*person_counts.items(), *opportunity_counts.items())
            if key.startswith(prefix)
        }
        counts["won_amount"] = counts["won_amount"] or Decimal(0)
        counts["marketing_cost"] = None
        kpis = {k: v for k, v in derived_kpis(counts).items() if k not in _COST_KEYS}
        result.append({"period": window.period, "kpis": kpis})
    return result


def comparison_as_of(period: Period, as_of: dt.datetime) -> dt.datetime:
    """The moment a previous period is read at: as_of, or the period's end if earlier."""
    return min(as_of, period.end_at)
