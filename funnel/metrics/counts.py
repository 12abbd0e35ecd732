"""Period counts and cohort conversions as database aggregates (kpi-spec sections 3 and 4).

The aggregate expressions are defined once here and used both for totals (`aggregate`) and
for breakdowns (`values(...).annotate`), so a breakdown always sums to its total.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.expressions import Expression

from funnel.choices import ActivityType, OpportunityStatus
from funnel.metrics.filters import KpiFilters
from funnel.models import Activity, CostEntry, Opportunity, Person
from funnel.periods import Period, local_date

# A person reached stage S when its date for S or any later stage is set and <= as_of.
_LATER_DATES = {
    "mql": ("mql_at", "sql_at", "opportunity_at", "won_at"),
    "sql": ("sql_at", "opportunity_at", "won_at"),
    "opportunity": ("opportunity_at", "won_at"),
    "won": ("won_at",),
}

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


@dataclass(frozen=True)
class Window:
    """A period read as of a moment: what happened after `as_of` does not exist yet."""

    period: Period
    as_of: dt.datetime

    def within(self, field: str) -> Q:
        return Q(
            **{
                f"{field}__gte": self.period.start_at,
                f"{field}__lt": self.period.end_at,
                f"{field}__lte": self.as_of,
            }
        )

    def reached(self, stage: str) -> Q:
        q = Q()
        for field in _LATER_DATES[stage]:
            q |= Q(**{f"{field}__lte": self.as_of})
        return q

    @property
    def last_cost_day(self) -> dt.date:
        """A cost dated day d happened at d 00:00 company time (spec section 1)."""
        return min(self.period.end, local_date(self.as_of))


def person_aggregates(window: Window) -> dict[str, Expression]:
    aggregates: dict[str, Expression] = {
        "leads": Count("pk", filter=window.within("lead_at")),
        "mqls": Count("pk", filter=window.within("mql_at")),
        "sqls": Count("pk", filter=window.within("sql_at")),
    }
    for key, (cohort_field, stage) in PERSON_COHORTS.items():
        aggregates[f"{key}__converted"] = Count(
            "pk", filter=window.within(cohort_field) & window.reached(stage)
        )
    return aggregates


def person_rows(window: Window, filters: KpiFilters) -> QuerySet[Person]:
    """Persons with any stage date in the window (uses the stage-date indexes)."""
    touching = window.within("lead_at") | window.within("mql_at") | window.within("sql_at")
    return Person.objects.filter(filters.persons()).filter(touching)


def opportunity_aggregates(window: Window) -> dict[str, Expression]:
    created = window.within("created_at")
    closed = window.within("closed_at")
    won = Q(status=OpportunityStatus.WON)
    lost = Q(status=OpportunityStatus.LOST)
    return {
        "opportunities": Count("pk", filter=created),
        "won_deals": Count("pk", filter=closed & won),
        "lost_deals": Count("pk", filter=closed & lost),
        "won_amount": Sum("amount", filter=closed & won),
        "opportunity_to_won_rate__converted": Count(
            "pk", filter=created & won & Q(closed_at__lte=window.as_of)
        ),
    }


def opportunity_rows(window: Window, filters: KpiFilters) -> QuerySet[Opportunity]:
    touching = window.within("created_at") | window.within("closed_at")
    return Opportunity.objects.filter(filters.opportunities()).filter(touching)


def cost_rows(window: Window, filters: KpiFilters) -> QuerySet[CostEntry]:
    return CostEntry.objects.filter(
        filters.costs(), date__gte=window.period.start, date__lte=window.last_cost_day
    )


def web_visits(window: Window, filters: KpiFilters) -> int:
    return (
        Activity.objects.filter(filters.activities(), window.within("occurred_at"))
        .filter(type=ActivityType.WEB_VISIT)
        .count()
    )


def funnel_counts(window: Window, filters: KpiFilters) -> dict[str, Any]:
    """Counts of section 3 and cohort numerators of section 4, for one window."""
    counts: dict[str, Any] = person_rows(window, filters).aggregate(**person_aggregates(window))
    counts.update(opportunity_rows(window, filters).aggregate(**opportunity_aggregates(window)))
    counts["won_amount"] = counts["won_amount"] or Decimal(0)
    counts["marketing_cost"] = cost_rows(window, filters).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal(0)
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
