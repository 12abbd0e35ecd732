"""The quarterly executive report (the article's checklist: 「両部門のKPI達成状況を経営層に
報告している」, reviewed quarterly): one function, `quarterly_report`, builds the data the HTML
page, the PDF and the Excel workbook all render, so the three show the same numbers.

Every number comes from `kpi_snapshot` (kpi-spec section 7) or from the metrics selectors;
nothing here computes a KPI. What is added is comparison: quarter-over-quarter and
year-over-year changes, and revenue attainment against its target.

Comparison quarters (the previous quarter and the same quarter a year earlier) are each
read as of min(as_of, that quarter's end): a closed quarter as it stood when it closed, so
the report's comparisons do not drift as late conversions arrive, and a report for a past
`as_of` stays reproducible.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from alignment.checklist import ITEMS
from alignment.models import ChecklistScore
from funnel.metrics.breakdowns import channels_by_won
from funnel.metrics.catalogue import (
    CHANNEL_COLUMNS,
    MARKETING_KPIS,
    SALES_KPIS,
    SHARED_KPIS,
    TREE_INPUT_LABELS,
    Team,
    kpi,
    reason_label,
)
from funnel.metrics.filters import UNKNOWN
from funnel.metrics.formatting import (
    Figure,
    Kind,
    change_figure,
    expected_kind,
    kpi_figure,
    status_label,
)
from funnel.metrics.tree import INPUT_KEYS, NODE_KEYS, RATE_OF_INPUT
from funnel.periods import Period, company_tz, next_quarter
from reports.quarters import quarter_label
from reports.selectors import Commentary, Comparison, ReportData, report_data

Label = str | Promise


def local_moment(moment: dt.datetime) -> str:
    return moment.astimezone(company_tz()).strftime("%Y-%m-%d %H:%M %Z")


def tone(key: str, delta: Figure) -> str:
    """A change is better or worse news by the KPI's direction (the catalogue's)."""
    if not delta.value:
        return ""
    rising = delta.value > 0
    return "better" if rising != kpi(key).lower_is_better else "worse"


# --- the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiRow:
    key: str
    label: Label
    current: Figure
    target: Figure | None
    target_status: str | None
    previous: Figure
    qoq: Figure
    year_ago: Figure
    yoy: Figure

    @property
    def target_status_label(self) -> str:
        return status_label(self.target_status)

    @property
    def qoq_tone(self) -> str:
        return tone(self.key, self.qoq)

    @property
    def yoy_tone(self) -> str:
        return tone(self.key, self.yoy)


@dataclass(frozen=True)
class TreeRow:
    key: str
    label: Label
    required: Figure
    expected: Figure
    actual: Figure
    status: str | None
    reason: str | None
    bottleneck: bool

    @property
    def status_label(self) -> str:
        return status_label(self.status)


@dataclass(frozen=True)
class InputRow:
    key: str
    label: Label
    value: Figure
    override: bool


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    name: str
    cells: list[Figure]

    @property
    def label(self) -> Label:
        return _("Unknown") if self.channel == UNKNOWN else self.name


@dataclass(frozen=True)
class FeedbackRow:
    """Sales' decisions on one channel's MQLs in the quarter (the MQL inbox)."""

    channel: str
    label: Label
    decided: Figure
    accepted: Figure
    rejected: Figure
    acceptance_rate: Figure
    top_reason: Label


@dataclass(frozen=True)
class ChecklistView:
    """The alignment checklist as it stood at the quarter's end (or as_of)."""

    day: dt.date
    held: int
    total: int
    items: list[tuple[Label, bool | None]]


@dataclass(frozen=True)
class ReasonRow:
    code: str
    label: Label
    count: Figure
    share: Figure


@dataclass
class QuarterlyReport:
    period: Period
    as_of: dt.datetime
    previous: Comparison
    year_ago: Comparison
    snapshot: dict[str, Any]
    kgi: dict[str, Any]
    tree: list[TreeRow]
    budget: Figure
    budget_reason: str | None
    bottleneck: str | None
    elapsed_share: Figure
    inputs: list[InputRow]
    trailing_period: str | None
    shared: list[KpiRow]
    marketing: list[KpiRow]
    sales: list[KpiRow]
    channel_columns: list[tuple[str, Label]]
    channels: list[ChannelRow]
    disqualifications: list[ReasonRow]
    disqualified_total: int
    sla: dict[str, Any]
    commentary: dict[str, Commentary] = field(default_factory=dict)
    feedback: list[FeedbackRow] = field(default_factory=list)
    checklist: ChecklistView | None = None

    @property
    def label(self) -> str:
        return quarter_label(self.period)

    @property
    def next_period(self) -> Period:
        return next_quarter(self.period)

    @property
    def next_label(self) -> str:
        return quarter_label(self.next_period)

    @property
    def as_of_text(self) -> str:
        return local_moment(self.as_of)

    @property
    def bottleneck_label(self) -> Label | None:
        return kpi(self.bottleneck).label if self.bottleneck else None

    @property
    def kpi_sections(self) -> list[tuple[str, Label, list[KpiRow]]]:
        return [
            (Team.SHARED.value, Team.SHARED.label, self.shared),
            (Team.MARKETING.value, Team.MARKETING.label, self.marketing),
            (Team.SALES.value, Team.SALES.label, self.sales),
        ]


def _kpi_rows(
    keys: tuple[str, ...], snapshot: dict[str, Any], previous: Comparison, year_ago: Comparison
) -> list[KpiRow]:
    rows = []
    for key in keys:
        current = snapshot["kpis"].get(key)
        target = snapshot["targets"].get(key)
        rows.append(
            KpiRow(
                key=key,
                label=kpi(key).label,
                current=kpi_figure(key, current),
                target=kpi_figure(key, target["target"]) if target else None,
                target_status=target["status"] if target else None,
                previous=kpi_figure(key, previous.kpis.get(key)),
                qoq=change_figure(key, current, previous.kpis.get(key)),
                year_ago=kpi_figure(key, year_ago.kpis.get(key)),
                yoy=change_figure(key, current, year_ago.kpis.get(key)),
            )
        )
    return rows


def _tree_rows(tree: dict[str, Any]) -> list[TreeRow]:
    rows = []
    for key in NODE_KEYS:
        node = tree[key]
        rows.append(
            TreeRow(
                key=key,
                label=kpi(key).label,
                required=kpi_figure(key, node["required"]),
                expected=Figure(node["expected"], expected_kind(key)),
                actual=kpi_figure(key, node["actual"]),
                status=node["status"],
                reason=reason_label(node["reason"]) or None,
                bottleneck=tree["bottleneck"] == key,
            )
        )
    return rows


def _input_rows(inputs: dict[str, Any]) -> list[InputRow]:
    rows = []
    for key in INPUT_KEYS:
        figure = kpi_figure(RATE_OF_INPUT.get(key, key), inputs[key])
        rows.append(InputRow(key, TREE_INPUT_LABELS[key], figure, key in inputs["overrides"]))
    return rows


def _kgi(tree: dict[str, Any]) -> dict[str, Any]:
    """Revenue (the KGI, = won_amount, spec section 3) against its target T."""
    node = tree["won_amount"]
    actual, target = node["actual"], node["required"]
    return {
        "actual": Figure(actual, Kind.MONEY),
        "target": Figure(target, Kind.MONEY),
        "attainment": Figure(actual / target if target else None, Kind.RATE),
        "expected": Figure(node["expected"], Kind.MONEY),
        "status": node["status"],
        "status_label": status_label(node["status"]),
        "reason": reason_label(node["reason"]) or None,
    }


def _checklist(score: ChecklistScore | None) -> ChecklistView | None:
    if score is None:
        return None
    return ChecklistView(
        day=score.day,
        held=score.held,
        total=score.total,
        items=[(item.text, score.items.get(item.key)) for item in ITEMS],
    )


def quarterly_report(period: Period, as_of: dt.datetime) -> QuarterlyReport:
    """Everything the quarterly report shows, for fiscal quarter `period` as of `as_of`."""
    return present_report(report_data(period, as_of))


def present_report(data: ReportData) -> QuarterlyReport:
    """The report's rows and figures from the selectors' plain data (no query here)."""
    period, as_of, snapshot = data.period, data.as_of, data.snapshot
    previous, year_ago, names, sla, reasons = (
        data.previous,
        data.year_ago,
        data.channel_names,
        data.sla,
        data.reasons,
    )
    tree, by_channel = snapshot["tree"], snapshot["by_channel"]
    return QuarterlyReport(
        period=period,
        as_of=as_of,
        previous=previous,
        year_ago=year_ago,
        snapshot=snapshot,
        kgi=_kgi(tree),
        tree=_tree_rows(tree),
        budget=Figure(tree["budget"]["required"], Kind.MONEY),
        budget_reason=reason_label(tree["budget"]["reason"]) or None,
        bottleneck=tree["bottleneck"],
        elapsed_share=Figure(tree["elapsed_share"], Kind.RATE),
        inputs=_input_rows(tree["inputs"]),
        trailing_period=(tree["inputs"]["trailing_period"] or {}).get("name"),
        shared=_kpi_rows(SHARED_KPIS, snapshot, previous, year_ago),
        marketing=_kpi_rows(MARKETING_KPIS, snapshot, previous, year_ago),
        sales=_kpi_rows(SALES_KPIS, snapshot, previous, year_ago),
        channel_columns=[(key, kpi(key).short_label) for key in CHANNEL_COLUMNS],
        channels=[
            ChannelRow(
                channel,
                names.get(channel, channel),
                [kpi_figure(key, by_channel[channel].get(key)) for key in CHANNEL_COLUMNS],
            )
            for channel in channels_by_won(by_channel)
        ],
        disqualifications=[
            ReasonRow(
                r.code, r.label, Figure(r.count, Kind.COUNT), Figure(float(r.share), Kind.RATE)
            )
            for r in reasons
        ],
        disqualified_total=sum(r.count for r in reasons),
        sla={
            "rate": kpi_figure("mql_acceptance_sla", snapshot["kpis"]["mql_acceptance_sla"]),
            "eligible": Figure(sla.eligible, Kind.COUNT),
            "handled_in_time": Figure(sla.handled_in_time, Kind.COUNT),
            "business_days": settings.MQL_SLA_BUSINESS_DAYS,
        },
        commentary=data.commentaries,
        checklist=_checklist(data.checklist),
        feedback=[
            FeedbackRow(
                row.key,
                _("Unknown") if not row.key else names.get(row.key, row.key),
                Figure(row.decided, Kind.COUNT),
                Figure(row.accepted, Kind.COUNT),
                Figure(row.rejected, Kind.COUNT),
                Figure(row.acceptance_rate, Kind.RATE),
                data.feedback.labels.get(
                    top := max(row.reasons, key=lambda r: (row.reasons[r], r)), top
                )
                if row.reasons
                else "-",
            )
            for row in data.feedback.by_channel
        ],
    )


def _top_reason(reasons: dict[str, int], labels: dict[str, str]) -> str:
    """The most given rejection reason's name (a tie: the larger key), or "-"."""
    if not reasons:
        return "-"
    top = max(reasons, key=lambda r: (reasons[r], r))
    return labels.get(top, top)
