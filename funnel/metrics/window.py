"""A period read as of a moment (kpi-spec section 1), and the rows each KPI reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, FilteredRelation, Q, QuerySet

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
class StageDates:
    """Where each person's MQL and SQL dates come from (kpi-spec 2b): the person's own
    columns (the sources' dates), or the qualifying moments of a criteria set (rules mode
    with a version in effect at as_of, or a version computed on request). The set of the
    version in effect now is copied onto the person (`ruled_*_at`, `*_on_persons`) and read
    there like the sources' dates; any other set is joined."""

    mql_set: int | None = None
    sql_set: int | None = None
    mql_on_persons: bool = False
    sql_on_persons: bool = False

    def field(self, name: str) -> str:
        """The path a query reads for a person date: a set's moment replaces the column."""
        for stage, set_id, on_persons in (
            ("mql", self.mql_set, self.mql_on_persons),
            ("sql", self.sql_set, self.sql_on_persons),
        ):
            if name == f"{stage}_at" and set_id is not None:
                return f"ruled_{stage}_at" if on_persons else f"ruled_{stage}__moment"
        return name

    def persons(self) -> QuerySet[Person]:
        """Persons with the moments of sets not on the person joined (a LEFT JOIN each)."""
        rows = Person.objects.all()
        for alias, set_id, on_persons in (
            ("ruled_mql", self.mql_set, self.mql_on_persons),
            ("ruled_sql", self.sql_set, self.sql_on_persons),
        ):
            if set_id is not None and not on_persons:
                rows = rows.alias(
                    **{
                        alias: FilteredRelation(
                            "qualifying_moments",
                            condition=Q(qualifying_moments__moment_set_id=set_id),
                        )
                    }
                )
        return rows


SOURCE_DATES = StageDates()


@dataclass(frozen=True)
class Window:
    """A period read as of a moment: what happened after `as_of` does not exist yet.
    `dates` says where the MQL and SQL dates come from (the version in effect at the
    computation's as_of, the same for every window it reads)."""

    period: Period
    as_of: dt.datetime
    dates: StageDates = SOURCE_DATES
    # A conversion window: a cohort member converts only if it reached the next stage
    # within this many days of its cohort date (None: any time up to as_of, spec section 4).
    conversion_days: int | None = None

    def field(self, name: str) -> str:
        return self.dates.field(name)

    def within(self, field: str) -> Q:
        field = self.field(field)
        return Q(
            **{
                f"{field}__gte": self.period.start_at,
                f"{field}__lt": self.period.end_at,
                f"{field}__lte": self.as_of,
            }
        )

    def before(self, field: str, moment: dt.datetime) -> Q:
        return Q(**{f"{self.field(field)}__lte": moment})

    def converted(self, cohort_field: str, stage: str) -> Q:
        """A member of the cohort of `cohort_field` converted to `stage`: reached it by as_of,
        and within the conversion window of its cohort date when there is one."""
        if self.conversion_days is None:
            return self.reached(stage)
        limit = F(self.field(cohort_field)) + dt.timedelta(days=self.conversion_days)
        q = Q()
        for field in _LATER_DATES[stage]:
            name = self.field(field)
            q |= Q(**{f"{name}__lte": self.as_of}) & Q(**{f"{name}__lte": limit})
        return q

    def reached(self, stage: str) -> Q:
        q = Q()
        for field in _LATER_DATES[stage]:
            q |= self.before(field, self.as_of)
        return q

    def persons(self, filters: KpiFilters) -> QuerySet[Person]:
        return self.dates.persons().filter(filters.persons())

    @property
    def last_cost_day(self) -> dt.date:
        """A cost dated day d happened at d 00:00 company time (spec section 1)."""
        return min(self.period.end, local_date(self.as_of))


def person_rows(window: Window, filters: KpiFilters) -> QuerySet[Person]:
    """Persons with any stage date in the window (uses the stage-date indexes)."""
    touching = window.within("lead_at") | window.within("mql_at") | window.within("sql_at")
    return window.persons(filters).filter(touching)


def persons_dated(window: Window, filters: KpiFilters, field: str) -> QuerySet[Person]:
    """Persons whose `field` is in the window: one range of that date's index."""
    return window.persons(filters).filter(window.within(field))


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
