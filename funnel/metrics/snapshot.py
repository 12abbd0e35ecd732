"""The one entry point every reader calls: the KPI object of kpi-spec section 7.

The dashboard, the REST API, the quarterly report and the `kpis` command all render
`kpi_snapshot(...)`; none of them computes a KPI itself.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from funnel.metrics.breakdowns import breakdown, breakdown_counts
from funnel.metrics.counts import COHORT_KEYS, Window, cohort_sizes, funnel_counts
from funnel.metrics.filters import KpiFilters
from funnel.metrics.kept import kept
from funnel.metrics.ratios import derived_kpis
from funnel.metrics.sla import mql_follow_up_sla
from funnel.metrics.targets import target_pace
from funnel.metrics.tree import kpi_tree, trailing_counts
from funnel.metrics.velocity import VELOCITY_KEYS, VELOCITY_OF_COHORT
from funnel.metrics.window import StageDates
from funnel.periods import Period, company_tz
from qualification.applied import stage_dates

SECONDS_PER_DAY = 86_400


def period_kpis(
    window: Window, filters: KpiFilters, by_channel: list[tuple[Any, dict[str, Any]]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(kpis of sections 3 and 4 with the velocity keys, the raw counts). The counts are
    the channel breakdown's rows added up: the persons and opportunities are read once."""
    counts = funnel_counts(window, filters, medians=True, groups=(row for _, row in by_channel))
    if filters.narrows_persons_only:
        counts["marketing_cost"] = None  # costs belong to channels, not to segments
    kpis = derived_kpis(counts)
    kpis["web_visits"] = counts["web_visits"]
    kpis["sales_cycle_days"] = counts["sales_cycle_days"]
    kpis["mql_acceptance_sla"] = mql_follow_up_sla(window, filters).rate
    kpis.update({key: counts[key] for key in VELOCITY_KEYS})
    return kpis, counts


def cohort_details(
    window: Window, counts: dict[str, Any], trailing_velocity: dict[str, Any]
) -> dict[str, Any]:
    """Size, converted and maturity of each cohort rate (section 4). A cohort matures
    the trailing-four-quarter velocity of its stage pair after the period ends."""
    sizes = cohort_sizes(counts)
    details = {}
    for key in COHORT_KEYS:
        lag = trailing_velocity.get(VELOCITY_OF_COHORT[key]) or 0
        matures_at = window.period.end_at + dt.timedelta(days=math.ceil(lag))
        converted = counts[f"{key}__converted"]
        details[key] = {
            "size": sizes[key],
            "converted": converted,
            "rate": converted / sizes[key] if sizes[key] else None,
            "maturing": window.as_of < matures_at,
            "matures_at": matures_at,
            "age_days": max((window.as_of - window.period.start_at).total_seconds(), 0)
            / SECONDS_PER_DAY,
        }
    return details


@kept
def kpi_snapshot(
    period: Period,
    as_of: dt.datetime,
    filters: KpiFilters | None = None,
    what_if: dict[str, Fraction] | None = None,
    dates: StageDates | None = None,
    conversion_days: int | None = None,
) -> dict[str, Any]:
    """`dates`: where MQL and SQL dates come from; by default what applies at `as_of`
    (kpi-spec 2b: the version in effect then, for each stage in rules mode).
    `conversion_days`: count a cohort's conversions only within that many days of each
    member's cohort date (the cohort rates; None: the spec's rates)."""
    filters = filters or KpiFilters()
    dates = dates if dates is not None else stage_dates(as_of)
    window = Window(period, as_of, dates, conversion_days)
    by_channel = breakdown_counts(window, filters, "channel")
    kpis, counts = period_kpis(window, filters, by_channel)
    trailing = trailing_counts(period, dates)
    return {
        "period": period.as_dict(),
        "as_of": as_of,
        "filters": filters.as_dict(),
        "kpis": kpis,
        "tree": kpi_tree(period, as_of, kpis, what_if, trailing),
        "velocity": {key: kpis[key] for key in VELOCITY_KEYS},
        "cohorts": cohort_details(window, counts, trailing),
        "targets": target_pace(period, as_of, kpis),
        "by_channel": breakdown(window, filters, "channel", by_channel),
    }


def json_ready(value: Any) -> Any:
    """Plain JSON types: exact fractions and decimals become numbers, moments ISO 8601
    in company time. Whole amounts stay integers."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(company_tz()).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
