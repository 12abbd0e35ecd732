"""Stage velocity (kpi-spec section 4): median days from X_at to Y_at over the cohort of
X in the period, among members that reached Y with both dates set (<= as_of)."""

from __future__ import annotations

from django.db.models import Q

from funnel.choices import OpportunityStatus
from funnel.metrics.counts import Window, person_rows
from funnel.metrics.durations import median_days
from funnel.metrics.filters import KpiFilters
from funnel.models import Opportunity

# key -> (cohort date field, converted date field)
PERSON_VELOCITIES = {
    "lead_to_mql_days": ("lead_at", "mql_at"),
    "mql_to_sql_days": ("mql_at", "sql_at"),
    "sql_to_opportunity_days": ("sql_at", "opportunity_at"),
    "mql_to_opportunity_days": ("mql_at", "opportunity_at"),
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


def velocity(window: Window, filters: KpiFilters) -> dict[str, float | None]:
    persons = person_rows(window, filters)
    result: dict[str, float | None] = {}
    for key, (start, end) in PERSON_VELOCITIES.items():
        members = persons.filter(window.within(start), Q(**{f"{end}__lte": window.as_of}))
        result[key] = median_days(members, start, end)
    won = Opportunity.objects.filter(
        filters.opportunities(),
        window.within("created_at"),
        status=OpportunityStatus.WON,
        closed_at__lte=window.as_of,
    )
    result["opportunity_to_won_days"] = median_days(won, "created_at", "closed_at")
    return {key: result[key] for key in VELOCITY_KEYS}


def sales_cycle_days(window: Window, filters: KpiFilters) -> float | None:
    """Median days from created to closed over won deals closed in the period (section 3)."""
    won = Opportunity.objects.filter(
        filters.opportunities(), window.within("closed_at"), status=OpportunityStatus.WON
    )
    return median_days(won, "created_at", "closed_at")
