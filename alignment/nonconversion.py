"""Why MQLs did not become opportunities (商談化しなかったリードの理由): the MQL cohort of a
period (the denominator of 商談化率, kpi-spec section 4) as of `as_of`, each person either
converted (reached opportunity), dropped (disqualified, with the reason) or still in
progress (at MQL or at SQL: never counted as dropped), split by one dimension; and the
loss reasons of the cohort's lost deals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.expressions import Combinable

from funnel.choices import DisqualifyReason, OpportunityStatus
from funnel.metrics.filters import UNKNOWN, KpiFilters
from funnel.metrics.window import Window, persons_dated
from funnel.models import Opportunity, Person
from funnel.periods import Period
from qualification.applied import stage_dates

DIMENSIONS = ("channel", "campaign", "industry", "company_size", "owner")


@dataclass(frozen=True)
class Outcomes:
    """Where one group of the cohort stands: every member in exactly one column."""

    key: str
    size: int
    converted: int
    at_mql: int
    at_sql: int
    dropped: dict[str, int]  # disqualification reason -> persons

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


@dataclass(frozen=True)
class NonConversion:
    period: Period
    as_of: dt.datetime
    dimension: str
    total: Outcomes
    groups: list[Outcomes]
    reasons: list[str]  # the disqualification reasons that occur, in the spec's order
    losses: list[tuple[str, int]]  # loss reason -> the cohort's lost deals


def _key(dimension: str) -> Combinable:
    if dimension in ("channel", "campaign"):
        return F(f"{dimension}__key")
    return F(dimension)


def cohort(period: Period, as_of: dt.datetime) -> tuple[Window, QuerySet[Person]]:
    window = Window(period, as_of, stage_dates(as_of))
    return window, persons_dated(window, KpiFilters(), "mql_at")


def outcome_filters(window: Window) -> dict[str, Q]:
    """The one definition of each column (also the persons CSV)."""
    converted = window.reached("opportunity")
    dropped = ~converted & Q(disqualified_at__lte=window.as_of)
    at_sql = ~converted & ~dropped & window.before("sql_at", window.as_of)
    at_mql = ~converted & ~dropped & ~at_sql
    return {"converted": converted, "dropped": dropped, "at_sql": at_sql, "at_mql": at_mql}


def non_conversion(period: Period, as_of: dt.datetime, dimension: str) -> NonConversion:
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension: one of {', '.join(DIMENSIONS)}")
    window, members = cohort(period, as_of)
    columns = outcome_filters(window)
    grouped = members.annotate(group=_key(dimension)).values("group")
    counts = {
        row["group"]: row
        for row in grouped.annotate(
            size=Count("pk"),
            converted=Count("pk", filter=columns["converted"]),
            at_mql=Count("pk", filter=columns["at_mql"]),
            at_sql=Count("pk", filter=columns["at_sql"]),
        )
    }
    dropped: dict[object, dict[str, int]] = {}
    for row in (
        grouped.filter(columns["dropped"])
        .values("group", "disqualify_reason")
        .annotate(persons=Count("pk"))
    ):
        reason = row["disqualify_reason"] or DisqualifyReason.OTHER
        by_reason = dropped.setdefault(row["group"], {})
        by_reason[reason] = by_reason.get(reason, 0) + row["persons"]
    groups = [
        Outcomes(
            key=str(group or UNKNOWN),  # as breakdown() names a missing value
            size=row["size"],
            converted=row["converted"],
            at_mql=row["at_mql"],
            at_sql=row["at_sql"],
            dropped=dropped.get(group, {}),
        )
        for group, row in counts.items()
    ]
    groups.sort(key=lambda g: (-g.size, g.key))
    total_dropped: dict[str, int] = {}
    for group in groups:
        for reason, persons in group.dropped.items():
            total_dropped[reason] = total_dropped.get(reason, 0) + persons
    total = Outcomes(
        key="",
        size=sum(g.size for g in groups),
        converted=sum(g.converted for g in groups),
        at_mql=sum(g.at_mql for g in groups),
        at_sql=sum(g.at_sql for g in groups),
        dropped=total_dropped,
    )
    losses = (
        Opportunity.objects.filter(
            person__in=members.values("pk"),
            status=OpportunityStatus.LOST,
            closed_at__lte=as_of,
        )
        .values("loss_reason")
        .annotate(deals=Count("pk"))
        .order_by("-deals", "loss_reason")
    )
    return NonConversion(
        period=period,
        as_of=as_of,
        dimension=dimension,
        total=total,
        groups=groups,
        reasons=[r for r in DisqualifyReason.values if r in total_dropped],
        losses=[(row["loss_reason"] or "-", row["deals"]) for row in losses],
    )


def with_outcomes(members: QuerySet[Person], window: Window) -> QuerySet[Person]:
    """The cohort, each member annotated `outcome` by the same columns (the persons CSV)."""
    columns = outcome_filters(window)
    return members.annotate(
        outcome=Case(
            *(When(columns[name], then=Value(name)) for name in ("converted", "dropped", "at_sql")),
            default=Value("at_mql"),
            output_field=CharField(),
        )
    )


OUTCOMES = ("converted", "dropped", "at_sql", "at_mql")


def cohort_persons(
    period: Period,
    as_of: dt.datetime,
    dimension: str,
    group: str = "",
    outcome: str = "",
    reason: str = "",
) -> tuple[Window, QuerySet[Person]]:
    """The persons behind one count of non_conversion: the cohort, narrowed to one group of
    the dimension (UNKNOWN: no value), one outcome and, for the dropped, one reason (OTHER
    holds those without one, as the table counts them)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"by: one of {', '.join(DIMENSIONS)}")
    if outcome and outcome not in OUTCOMES:
        raise ValueError(f"outcome: one of {', '.join(OUTCOMES)}")
    if reason and reason not in DisqualifyReason.values:
        raise ValueError(f"reason: one of {', '.join(DisqualifyReason.values)}")
    window, members = cohort(period, as_of)
    rows = with_outcomes(members, window)
    if group:
        key = _key(dimension)
        if group == UNKNOWN:
            rows = rows.annotate(group=key).filter(Q(group__isnull=True) | Q(group=""))
        else:
            rows = rows.annotate(group=key).filter(group=group)
    if outcome:
        rows = rows.filter(Q(outcome=outcome))
    if reason:
        rows = rows.filter(Q(outcome="dropped"))
        if reason == DisqualifyReason.OTHER:
            rows = rows.filter(disqualify_reason__in=[DisqualifyReason.OTHER, ""])
        else:
            rows = rows.filter(disqualify_reason=reason)
    return window, rows
