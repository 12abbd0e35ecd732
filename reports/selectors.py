"""What the quarterly report reads: the KPI snapshots of the quarter and of its comparison
quarters, disqualification reasons, the SLA's counts, channel names and the commentaries.
`reports.report` turns this plain data into rows and figures without a query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

from accounts.names import display_name
from alignment.checklist import score_on
from alignment.models import ChecklistScore
from dashboard.selectors import channel_names
from feedback.selectors import FeedbackSummary, feedback_summary
from funnel.metrics.disqualifications import ReasonCount, disqualification_reasons
from funnel.metrics.filters import KpiFilters
from funnel.metrics.sla import SlaResult, mql_follow_up_sla
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.metrics.window import StageDates, Window
from funnel.periods import Period, local_date, previous_quarter
from qualification.applied import stage_dates
from reports.models import Department, ReportCommentary
from reports.quarters import quarter_label, year_earlier

Label = str | Promise


@dataclass(frozen=True)
class Comparison:
    period: Period
    as_of: dt.datetime
    kpis: dict[str, Any]

    @property
    def label(self) -> str:
        return quarter_label(self.period)


@dataclass(frozen=True)
class Commentary:
    department: str
    label: Label
    text: str
    author: str
    updated_at: dt.datetime | None


def comparison(period: Period, as_of: dt.datetime, dates: StageDates) -> Comparison:
    """A comparison quarter read as of min(as_of, its end) (see the module docstring),
    with the report's MQL/SQL definition (kpi-spec 2b: one yardstick)."""
    moment = min(as_of, period.end_at)
    snapshot = kpi_snapshot(period, moment, dates=dates)
    return Comparison(period, moment, json_ready(snapshot)["kpis"])


def commentaries(period: Period) -> dict[str, Commentary]:
    """Each department's commentary of `period`, empty (no text, no author) when unwritten."""
    stored = {
        c.department: c
        for c in ReportCommentary.objects.filter(period=period.name).select_related("author")
    }
    result = {}
    for department in Department:
        c = stored.get(department.value)
        result[department.value] = Commentary(
            department=department.value,
            label=department.label,
            text=c.text if c else "",
            author=display_name(c.author) if c else "",
            updated_at=c.updated_at if c else None,
        )
    return result


@dataclass(frozen=True)
class ReportData:
    period: Period
    as_of: dt.datetime
    snapshot: dict[str, Any]
    previous: Comparison
    year_ago: Comparison
    reasons: list[ReasonCount]
    sla: SlaResult
    channel_names: dict[str, str]
    commentaries: dict[str, Commentary]
    feedback: FeedbackSummary
    checklist: ChecklistScore | None


def report_data(period: Period, as_of: dt.datetime) -> ReportData:
    dates = stage_dates(as_of)
    window = Window(period, as_of, dates)
    return ReportData(
        period=period,
        as_of=as_of,
        snapshot=json_ready(kpi_snapshot(period, as_of, dates=dates)),
        previous=comparison(previous_quarter(period), as_of, dates),
        year_ago=comparison(year_earlier(period), as_of, dates),
        reasons=disqualification_reasons(window),
        sla=mql_follow_up_sla(window, KpiFilters()),
        channel_names=channel_names(),
        commentaries=commentaries(period),
        feedback=feedback_summary(period, as_of),
        checklist=score_on(min(period.end, local_date(as_of))),
    )
