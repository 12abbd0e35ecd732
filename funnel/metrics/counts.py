"""Period counts and cohort conversions as database aggregates (kpi-spec sections 3 and 4).

The aggregate expressions are defined once here and used both for totals (`aggregate`) and
for breakdowns (`values(...).annotate`), so a breakdown always sums to its total.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.expressions import Expression

from funnel.choices import ActivityType, OpportunityStatus
from funnel.metrics.filters import KpiFilters
from funnel.metrics.velocity import (
    OPPORTUNITY_MEDIANS,
    PERSON_MEDIANS,
    median_aggregates,
    medians_apart,
)
from funnel.metrics.window import Window, cost_rows, opportunity_rows, person_rows
from funnel.models import Activity

__all__ = ["Window", "cost_rows", "funnel_counts", "opportunity_rows", "person_rows"]

# Person cohort pairs of spec section 4: key -> (cohort date field, reached stage).
PERSON_COHORTS = {
    "lead_to_mql_rate": ("lead_at", "mql"),
    "mql_to_sql_rate": ("mql_at", "sql"),
    "sql_to_opportunity_rate": ("sql_at", "opportunity"),
    "opportunity_rate": ("mql_at", "opportunity"),
}
COHORT_KEYS = (
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_won_rate",
    "opportunity_rate",
)


def person_count_filters(window: Window) -> dict[str, Q]:
    """The persons each count of section 3 counts: the one definition the aggregates
    below and the record pages behind the numbers (metrics/records.py) both use."""
    return {
        "leads": window.within("lead_at"),
        "mqls": window.within("mql_at"),
        "sqls": window.within("sql_at"),
    }


def opportunity_count_filters(window: Window) -> dict[str, Q]:
    """The opportunities each count of section 3 counts (won_amount sums `won_deals`)."""
    closed = window.within("closed_at")
    return {
        "opportunities": window.within("created_at"),
        "won_deals": closed & Q(status=OpportunityStatus.WON),
        "lost_deals": closed & Q(status=OpportunityStatus.LOST),
    }


def person_cohort_filters(window: Window) -> dict[str, tuple[Q, Q]]:
    """(cohort, converted) of each person cohort rate of section 4."""
    return {
        key: (window.within(cohort_field), window.reached(stage))
        for key, (cohort_field, stage) in PERSON_COHORTS.items()
    }


def opportunity_cohort_filters(window: Window) -> dict[str, tuple[Q, Q]]:
    """(cohort, converted) of `opportunity -> won`: won with closed_at <= as_of (section 4)."""
    converted = Q(status=OpportunityStatus.WON) & Q(closed_at__lte=window.as_of)
    return {"opportunity_to_won_rate": (window.within("created_at"), converted)}


def person_aggregates(window: Window) -> dict[str, Expression]:
    aggregates: dict[str, Expression] = {
        key: Count("pk", filter=rows) for key, rows in person_count_filters(window).items()
    }
    for key, (cohort, converted) in person_cohort_filters(window).items():
        aggregates[f"{key}__converted"] = Count("pk", filter=cohort & converted)
    return aggregates


def opportunity_aggregates(window: Window) -> dict[str, Expression]:
    counted = opportunity_count_filters(window)
    aggregates: dict[str, Expression] = {
        key: Count("pk", filter=rows) for key, rows in counted.items()
    }
    aggregates["won_amount"] = Sum("amount", filter=counted["won_deals"])
    for key, (cohort, converted) in opportunity_cohort_filters(window).items():
        aggregates[f"{key}__converted"] = Count("pk", filter=cohort & converted)
    return aggregates


def web_visits(window: Window, filters: KpiFilters) -> int:
    return (
        Activity.objects.filter(filters.activities(), window.within("occurred_at"))
        .filter(type=ActivityType.WEB_VISIT)
        .count()
    )


def funnel_counts(
    window: Window, filters: KpiFilters, medians: bool = False, visits: bool = True
) -> dict[str, Any]:
    """Counts of section 3 and cohort numerators of section 4 for one window; with
    `medians`, also the velocity keys and the sales cycle, in the same passes where the
    database can."""
    persons, opportunities = person_rows(window, filters), opportunity_rows(window, filters)
    person_medians = median_aggregates(window, PERSON_MEDIANS) if medians else {}
    opportunity_medians = median_aggregates(window, OPPORTUNITY_MEDIANS) if medians else {}
    counts: dict[str, Any] = persons.aggregate(**person_aggregates(window), **person_medians)
    counts.update(opportunities.aggregate(**opportunity_aggregates(window), **opportunity_medians))
    if medians and not person_medians:
        counts.update(medians_apart(window, persons, PERSON_MEDIANS))
        counts.update(medians_apart(window, opportunities, OPPORTUNITY_MEDIANS))
    counts["won_amount"] = counts["won_amount"] or Decimal(0)
    counts["marketing_cost"] = cost_rows(window, filters).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal(0)
    if visits:
        counts["web_visits"] = web_visits(window, filters)
    return counts


def cohort_sizes(counts: dict[str, Any]) -> dict[str, int]:
    """The denominator of each cohort rate: the entries of its first stage in the period."""
    return {
        "lead_to_mql_rate": counts["leads"],
        "mql_to_sql_rate": counts["mqls"],
        "sql_to_opportunity_rate": counts["sqls"],
        "opportunity_to_won_rate": counts["opportunities"],
        "opportunity_rate": counts["mqls"],
    }
