"""Stage velocity (kpi-spec section 4) and the sales cycle (section 3): medians in days.

Velocity: median days from X_at to Y_at over the cohort of X in the period, among members
that reached Y with both dates set (<= as_of). Sales cycle: median days from created to
closed over the won deals closed in the period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from funnel.choices import OpportunityStatus
from funnel.metrics.durations import MedianDays, median_days, medians_in_database
from funnel.metrics.window import Window


@dataclass(frozen=True)
class Median:
    """Median days from `start` to `end` over the rows whose `cohort` date is in the window
    and that meet `condition`: a pass over one date's rows computes it (counts.py)."""

    start: str
    end: str
    cohort: str
    condition: Callable[[Window], Q]


def _reached(cohort: str, converted: str) -> Median:
    return Median(cohort, converted, cohort, lambda w: w.before(converted, w.as_of))


PERSON_MEDIANS = {
    "lead_to_mql_days": _reached("lead_at", "mql_at"),
    "mql_to_sql_days": _reached("mql_at", "sql_at"),
    "sql_to_opportunity_days": _reached("sql_at", "opportunity_at"),
    "mql_to_opportunity_days": _reached("mql_at", "opportunity_at"),
}


def person_medians_of(window: Window) -> dict[str, Median]:
    """PERSON_MEDIANS reading the window's stage dates (a criteria set's moments)."""
    return {
        key: Median(window.field(m.start), window.field(m.end), window.field(m.cohort), m.condition)
        for key, m in PERSON_MEDIANS.items()
    }


_WON = Q(status=OpportunityStatus.WON)
OPPORTUNITY_MEDIANS = {
    "opportunity_to_won_days": Median(
        "created_at", "closed_at", "created_at", lambda w: _WON & Q(closed_at__lte=w.as_of)
    ),
    "sales_cycle_days": Median("created_at", "closed_at", "closed_at", lambda w: _WON),
}
VELOCITY_KEYS = (
    "lead_to_mql_days",
    "mql_to_sql_days",
    "sql_to_opportunity_days",
    "opportunity_to_won_days",
    "mql_to_opportunity_days",
)
# The velocity that tells when each cohort rate has matured (section 4: maturity).
VELOCITY_OF_COHORT = {
    "lead_to_mql_rate": "lead_to_mql_days",
    "mql_to_sql_rate": "mql_to_sql_days",
    "sql_to_opportunity_rate": "sql_to_opportunity_days",
    "opportunity_to_won_rate": "opportunity_to_won_days",
    "opportunity_rate": "mql_to_opportunity_days",
}


def median_aggregates(window: Window, medians: dict[str, Median]) -> dict[str, Any]:
    """In-database medians for a pass over their cohort date's rows (PostgreSQL); {} elsewhere."""
    if not medians_in_database():
        return {}
    return {
        key: MedianDays(m.start, m.end, filter=m.condition(window)) for key, m in medians.items()
    }


def medians_apart(
    window: Window, rows: QuerySet[Any], medians: dict[str, Median]
) -> dict[str, float | None]:
    """The same medians, one at a time, from a pass's rows (databases without PERCENTILE_CONT)."""
    return {
        key: median_days(rows.filter(m.condition(window)), m.start, m.end)
        for key, m in medians.items()
    }
