"""The backtest of a criteria draft (kpi-spec 2b): the last four complete fiscal quarters
computed at as_of = now with the draft applied, beside the version in effect (or, with
none, the sources' dates).

Each quarter's numbers are those `kpis --period Q --as-of NOW --criteria STAGE=ID` prints:
the same windows and counts (funnel_counts), so the two can never disagree. Two numbers the
KPI object does not carry are read over the same MQL cohort: the won deals of the cohort
(won opportunities closed by as_of whose primary person is in it) and the share of the
cohort disqualified by as_of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.db.models import Count, Q

from funnel.choices import OpportunityStatus
from funnel.metrics.counts import funnel_counts
from funnel.metrics.filters import KpiFilters
from funnel.metrics.window import Window
from funnel.models import Opportunity
from funnel.periods import Period, fiscal_quarter_of, local_date, previous_quarter
from qualification.applied import stage_dates, version_in_effect
from qualification.criteria import parse_criteria
from qualification.models import CriteriaVersion, MomentSet
from qualification.moments import moment_set_for

QUARTERS = 4


@dataclass(frozen=True)
class Cohort:
    size: int
    converted: int

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.converted, self.size) if self.size else None


@dataclass(frozen=True)
class QuarterFigures:
    """One quarter under one definition."""

    mqls: int
    mql_to_sql: Cohort
    opportunity_rate: Cohort  # 商談化率: MQL cohort -> opportunity
    won_deals: int  # won deals of the MQL cohort
    disqualified: Cohort  # MQL cohort members disqualified by as_of

    def as_dict(self) -> dict[str, Any]:
        return {
            "mqls": self.mqls,
            "mql_to_sql_rate": _cohort(self.mql_to_sql),
            "opportunity_rate": _cohort(self.opportunity_rate),
            "won_deals_of_cohort": self.won_deals,
            "disqualified_share": _cohort(self.disqualified),
        }


def _cohort(cohort: Cohort) -> dict[str, Any]:
    rate = cohort.rate
    return {
        "size": cohort.size,
        "converted": cohort.converted,
        "rate": float(rate) if rate is not None else None,
    }


@dataclass(frozen=True)
class BacktestRow:
    period: Period
    current: QuarterFigures
    draft: QuarterFigures


@dataclass(frozen=True)
class Backtest:
    """Rows when both definitions' moments are ready; else the sets still being computed."""

    as_of: dt.datetime
    compared_with: CriteriaVersion | None  # None: the sources' dates
    rows: list[BacktestRow]
    waiting: list[MomentSet]

    @property
    def ready(self) -> bool:
        return not self.waiting


def backtest_quarters(now: dt.datetime) -> list[Period]:
    """The last four complete fiscal quarters before now, oldest first."""
    quarters = [previous_quarter(fiscal_quarter_of(local_date(now)))]
    while len(quarters) < QUARTERS:
        quarters.insert(0, previous_quarter(quarters[0]))
    return quarters


def backtest(version: CriteriaVersion, now: dt.datetime, compute: bool = False) -> Backtest:
    """The draft beside the version in effect now. Without `compute`, a definition whose
    moments the background job has not finished is reported as waiting, not computed in
    the request."""
    draft = parse_criteria(version.definition)
    current_version = version_in_effect(version.stage, now)
    current = parse_criteria(current_version.definition) if current_version else None
    waiting = [
        moment_set
        for criteria in (draft, current)
        if criteria is not None
        and (moment_set := moment_set_for(criteria)).status != MomentSet.Status.READY
    ]
    if waiting and not compute:
        return Backtest(now, current_version, [], waiting)
    draft_dates = stage_dates(now, {draft.stage: draft})
    current_dates = stage_dates(now, {draft.stage: current})
    rows = [
        BacktestRow(q, figures(Window(q, now, current_dates)), figures(Window(q, now, draft_dates)))
        for q in backtest_quarters(now)
    ]
    return Backtest(now, current_version, rows, [])


def figures(window: Window) -> QuarterFigures:
    counts = funnel_counts(window, KpiFilters(), visits=False)
    cohort = window.persons(KpiFilters()).filter(window.within("mql_at"))
    disqualified = cohort.aggregate(n=Count("pk", filter=Q(disqualified_at__lte=window.as_of)))["n"]
    won = Opportunity.objects.filter(
        person__in=cohort.values("pk"),
        status=OpportunityStatus.WON,
        closed_at__lte=window.as_of,
    ).count()
    return QuarterFigures(
        mqls=counts["mqls"],
        mql_to_sql=Cohort(counts["mqls"], counts["mql_to_sql_rate__converted"]),
        opportunity_rate=Cohort(counts["mqls"], counts["opportunity_rate__converted"]),
        won_deals=won,
        disqualified=Cohort(counts["mqls"], disqualified),
    )
