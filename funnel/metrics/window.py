"""A period read as of a moment (kpi-spec section 1), and the rows each KPI reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from funnel.metrics.filters import KpiFilters
from funnel.models import CostEntry, Opportunity, Person
from funnel.periods import Period, local_date

# A person reached stage S when its date for S or any later stage is set and <= as_of.
_LATER_DATES = {
    "mql": ("mql_at", "sql_at", "opportunity_at", "won_at"),
    "sql": ("sql_at", "opportunity_at", "won_at"),
    "opportunity": ("opportunity_at", "won_at"),
    "won": ("won_at",),
}


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


def person_rows(window: Window, filters: KpiFilters) -> QuerySet[Person]:
    """Persons with any stage date in the window (uses the stage-date indexes)."""
    touching = window.within("lead_at") | window.within("mql_at") | window.within("sql_at")
    return Person.objects.filter(filters.persons()).filter(touching)


def persons_dated(window: Window, filters: KpiFilters, field: str) -> QuerySet[Person]:
    """Persons whose `field` is in the window: one range of that date's index."""
    return Person.objects.filter(filters.persons()).filter(window.within(field))


def opportunity_rows(window: Window, filters: KpiFilters) -> QuerySet[Opportunity]:
    touching = window.within("created_at") | window.within("closed_at")
    return Opportunity.objects.filter(filters.opportunities()).filter(touching)


def opportunities_dated(window: Window, filters: KpiFilters, field: str) -> QuerySet[Opportunity]:
    """Opportunities whose `field` is in the window: one range of that date's index."""
    return Opportunity.objects.filter(filters.opportunities()).filter(window.within(field))


def cost_rows(window: Window, filters: KpiFilters) -> QuerySet[CostEntry]:
    return CostEntry.objects.filter(
        filters.costs(), date__gte=window.period.start, date__lte=window.last_cost_day
    )
