"""The records behind a number: exactly the rows a KPI of kpi-spec sections 3 and 4 counts.

Built from the same Q objects as the aggregates (metrics/counts.py) over the same rows
(metrics/window.py), so a list of the records behind `leads` always has `leads` rows. A
cohort rate (section 4) lists its cohort, each row annotated with `converted`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When

from funnel.metrics.counts import (
    opportunity_cohort_filters,
    opportunity_count_filters,
    person_cohort_filters,
    person_count_filters,
)
from funnel.metrics.filters import KpiFilters
from funnel.metrics.window import Window, opportunity_rows, person_rows
from funnel.models import Opportunity, Person

PERSON_COUNT_KPIS = ("leads", "mqls", "sqls")
PERSON_COHORT_KPIS = (
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_rate",
)
OPPORTUNITY_COUNT_KPIS = ("opportunities", "won_deals", "lost_deals")
OPPORTUNITY_COHORT_KPIS = ("opportunity_to_won_rate",)
PERSON_KPIS = PERSON_COUNT_KPIS + PERSON_COHORT_KPIS
OPPORTUNITY_KPIS = OPPORTUNITY_COUNT_KPIS + OPPORTUNITY_COHORT_KPIS
COHORT_KPIS = PERSON_COHORT_KPIS + OPPORTUNITY_COHORT_KPIS

# The date a list of records behind a KPI is about (its order, the column to look at).
KPI_DATE_FIELDS = {
    "leads": "lead_at",
    "mqls": "mql_at",
    "sqls": "sql_at",
    "lead_to_mql_rate": "lead_at",
    "mql_to_sql_rate": "mql_at",
    "sql_to_opportunity_rate": "sql_at",
    "opportunity_rate": "mql_at",
    "opportunities": "created_at",
    "won_deals": "closed_at",
    "lost_deals": "closed_at",
    "opportunity_to_won_rate": "created_at",
}


class UnknownKpi(ValueError):
    """A KPI whose records cannot be listed (or not on this kind of record)."""

    def __init__(self, kpi: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"kpi must be one of {', '.join(allowed)}, not '{kpi}'")


@dataclass(frozen=True)
class RecordCount:
    """The number a list of records stands for: a count, or a cohort's size and converted."""

    kpi: str
    count: int
    converted: int | None = None

    @property
    def rate(self) -> float | None:
        if self.converted is None or not self.count:
            return None
        return self.converted / self.count


def _with_converted(rows: QuerySet, cohort: Q, converted: Q) -> QuerySet:
    flag = Case(
        When(converted, then=Value(True)), default=Value(False), output_field=BooleanField()
    )
    return rows.filter(cohort).annotate(converted=flag)


def person_records(kpi: str | None, window: Window, filters: KpiFilters) -> QuerySet[Person]:
    """The persons behind `kpi`; with no kpi, every person the filters leave."""
    if not kpi:
        return window.persons(filters)
    rows = person_rows(window, filters)
    if kpi in PERSON_COUNT_KPIS:
        return rows.filter(person_count_filters(window)[kpi])
    if kpi in PERSON_COHORT_KPIS:
        return _with_converted(rows, *person_cohort_filters(window)[kpi])
    raise UnknownKpi(kpi, PERSON_KPIS)


def opportunity_records(
    kpi: str | None, window: Window, filters: KpiFilters
) -> QuerySet[Opportunity]:
    """The opportunities behind `kpi`; with no kpi, every opportunity the filters leave."""
    if not kpi:
        return Opportunity.objects.filter(filters.opportunities())
    rows = opportunity_rows(window, filters)
    if kpi in OPPORTUNITY_COUNT_KPIS:
        return rows.filter(opportunity_count_filters(window)[kpi])
    if kpi in OPPORTUNITY_COHORT_KPIS:
        return _with_converted(rows, *opportunity_cohort_filters(window)[kpi])
    raise UnknownKpi(kpi, OPPORTUNITY_KPIS)


def records_behind(
    kpi: str, window: Window, filters: KpiFilters
) -> QuerySet[Person] | QuerySet[Opportunity]:
    """Exactly the rows `kpi` counts in `window` under `filters` (a cohort for a rate)."""
    if kpi in PERSON_KPIS:
        return person_records(kpi, window, filters)
    if kpi in OPPORTUNITY_KPIS:
        return opportunity_records(kpi, window, filters)
    raise UnknownKpi(kpi, PERSON_KPIS + OPPORTUNITY_KPIS)


def record_count(kpi: str, rows: QuerySet) -> RecordCount:
    """The number `rows` (from records_behind) stand for, in one query."""
    if kpi in COHORT_KPIS:
        # The alias must differ from the `converted` annotation it filters on.
        totals = rows.aggregate(
            cohort_size=Count("pk"), converted_count=Count("pk", filter=Q(converted=True))
        )
        return RecordCount(kpi, totals["cohort_size"], totals["converted_count"])
    return RecordCount(kpi, rows.count())
