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
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from funnel.choices import LOWER_IS_BETTER_KPI_KEYS, MONEY_KPI_KEYS
from funnel.metrics.disqualifications import disqualification_reasons
from funnel.metrics.filters import UNKNOWN, KpiFilters
from funnel.metrics.presentation import KPI_LABELS, NULL, format_money, format_value
from funnel.metrics.sla import mql_follow_up_sla
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.metrics.tree import INPUT_KEYS, NODE_KEYS, RATE_OF_INPUT
from funnel.metrics.window import Window
from funnel.periods import (
    Period,
    PeriodError,
    company_tz,
    current_quarter,
    fiscal_quarter,
    next_quarter,
    parse_period,
    previous_quarter,
)
from kpi_dashboard.models import Department, ReportCommentary

Label = str | Promise

# The article's comparison table: the shared KPIs both teams own, then each team's own.
SHARED_KPIS = ("opportunities", "opportunity_rate", "won_amount", "win_rate")
MARKETING_KPIS = ("leads", "mqls", "web_visits", "marketing_cost", "cpa", "cost_per_opportunity")
SALES_KPIS = ("sqls", "won_deals", "lost_deals", "average_deal_size", "sales_cycle_days")
CHANNEL_COLUMNS = (
    "leads",
    "mqls",
    "sqls",
    "opportunities",
    "won_deals",
    "won_amount",
    "marketing_cost",
    "cpa",
    "opportunity_rate",
    "win_rate",
)
# A rise is bad news for these (costs, a longer cycle, more lost deals).
LOWER_IS_BETTER = LOWER_IS_BETTER_KPI_KEYS | {"lost_deals"}

_QUARTER = re.compile(r"^FY(\d{4})Q([1-4])$")


class NotAQuarter(ValueError):
    """A report period that is not a fiscal quarter name (FY2026Q1)."""


def report_quarter(name: str) -> Period:
    """The fiscal quarter called `name`; anything else (FY2026, 2026-05, FY2026Q5) is refused."""
    try:
        period = parse_period(name)
    except PeriodError as exc:
        raise NotAQuarter(str(exc)) from None
    if not _QUARTER.match(period.name):
        raise NotAQuarter(
            gettext(
                "'%(name)s' is not a fiscal quarter: the quarterly report needs a name like "
                "FY2026Q1"
            )
            % {"name": name}
        )
    return period


def default_quarter(as_of: dt.datetime) -> Period:
    """The quarter `/reports/quarterly/` opens: the one in progress at `as_of`."""
    return current_quarter(as_of)


def year_earlier(period: Period) -> Period:
    match = _QUARTER.match(period.name)
    assert match, period.name
    return fiscal_quarter(int(match[1]) - 1, int(match[2]))


def quarter_label(period: Period) -> str:
    """`FY2026 Q1` (Japanese: 2026年度 第1四半期)."""
    match = _QUARTER.match(period.name)
    if not match:
        return period.name
    return gettext("FY%(year)s Q%(quarter)s") % {"year": match[1], "quarter": match[2]}


def status_text(status: str | None) -> str:
    return {"on_track": gettext("On track"), "behind": gettext("Behind")}.get(status or "", "")


def local_moment(moment: dt.datetime) -> str:
    return moment.astimezone(company_tz()).strftime("%Y-%m-%d %H:%M %Z")


# --- figures: a number and how it reads --------------------------------------------------

# How each kind of figure reads on screen, through presentation.format_value.
_FORMAT_AS = {
    "count": "leads",
    "money": "won_amount",
    "rate": "win_rate",
    "days": "sales_cycle_days",
    "expected": "expected_count",
}


@dataclass(frozen=True)
class Figure:
    """One number of the report with its kind: the HTML and PDF show `text`, the workbook
    writes `value` with the number format of `kind`, so all three agree."""

    value: int | float | None
    kind: str

    @property
    def text(self) -> str:
        if self.value is None:
            return NULL
        if self.kind == "change":
            return f"{self.value * 100:+.1f}%"
        if self.kind == "points":
            return gettext("%(points)s pt") % {"points": f"{self.value:+.1f}"}
        if self.kind == "money":
            return format_money(self.value)
        return format_value(_FORMAT_AS[self.kind], self.value)


def kind_of(key: str) -> str:
    if key in MONEY_KPI_KEYS:
        return "money"
    if key.endswith("_rate") or key == "mql_acceptance_sla":
        return "rate"
    if key.endswith("_days"):
        return "days"
    return "count"


def kpi_figure(key: str, value: Any) -> Figure:
    return Figure(value, kind_of(key))


def change(key: str, current: Any, base: Any) -> Figure:
    """Rates change in percentage points; counts, money and days by a relative change
    (null when the base is 0 or missing, like every ratio of the spec)."""
    if kind_of(key) == "rate":
        if current is None or base is None:
            return Figure(None, "points")
        return Figure((current - base) * 100, "points")
    if current is None or not base:
        return Figure(None, "change")
    return Figure((current - base) / base, "change")


def tone(key: str, delta: Figure) -> str:
    if not delta.value:
        return ""
    rising = delta.value > 0
    return "better" if rising != (key in LOWER_IS_BETTER) else "worse"


# --- the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    period: Period
    as_of: dt.datetime
    kpis: dict[str, Any]

    @property
    def label(self) -> str:
        return quarter_label(self.period)


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
        return status_text(self.target_status)

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
        return status_text(self.status)


@dataclass(frozen=True)
class InputRow:
    key: str
    label: Label
    value: Figure
    override: bool


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    cells: list[Figure]

    @property
    def label(self) -> Label:
        return _("Unknown") if self.channel == UNKNOWN else self.channel


@dataclass(frozen=True)
class ReasonRow:
    code: str
    label: Label
    count: Figure
    share: Figure


@dataclass(frozen=True)
class Commentary:
    department: str
    label: Label
    text: str
    author: str
    updated_at: dt.datetime | None


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
        return KPI_LABELS[self.bottleneck] if self.bottleneck else None

    @property
    def kpi_sections(self) -> list[tuple[str, Label, list[KpiRow]]]:
        return [
            ("shared", _("Shared KPIs (marketing and sales)"), self.shared),
            ("marketing", _("Marketing KPIs"), self.marketing),
            ("sales", _("Sales KPIs"), self.sales),
        ]


def comparison(period: Period, as_of: dt.datetime) -> Comparison:
    """A comparison quarter read as of min(as_of, its end) (see the module docstring)."""
    moment = min(as_of, period.end_at)
    return Comparison(period, moment, json_ready(kpi_snapshot(period, moment))["kpis"])


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
                label=KPI_LABELS[key],
                current=kpi_figure(key, current),
                target=kpi_figure(key, target["target"]) if target else None,
                target_status=target["status"] if target else None,
                previous=kpi_figure(key, previous.kpis.get(key)),
                qoq=change(key, current, previous.kpis.get(key)),
                year_ago=kpi_figure(key, year_ago.kpis.get(key)),
                yoy=change(key, current, year_ago.kpis.get(key)),
            )
        )
    return rows


def _tree_rows(tree: dict[str, Any]) -> list[TreeRow]:
    rows = []
    for key in NODE_KEYS:
        node = tree[key]
        money = key == "won_amount"
        rows.append(
            TreeRow(
                key=key,
                label=KPI_LABELS[key],
                required=Figure(node["required"], "money" if money else "count"),
                expected=Figure(node["expected"], "money" if money else "expected"),
                actual=Figure(node["actual"], "money" if money else "count"),
                status=node["status"],
                reason=node["reason"],
                bottleneck=tree["bottleneck"] == key,
            )
        )
    return rows


def _input_rows(inputs: dict[str, Any]) -> list[InputRow]:
    rows = []
    for key in INPUT_KEYS:
        label = KPI_LABELS[RATE_OF_INPUT.get(key, key)]
        kind = "rate" if key in RATE_OF_INPUT else "money"
        rows.append(InputRow(key, label, Figure(inputs[key], kind), key in inputs["overrides"]))
    return rows


def _kgi(tree: dict[str, Any]) -> dict[str, Any]:
    """Revenue (the KGI, = won_amount, spec section 3) against its target T."""
    node = tree["won_amount"]
    actual, target = node["actual"], node["required"]
    return {
        "actual": Figure(actual, "money"),
        "target": Figure(target, "money"),
        "attainment": Figure(actual / target if target else None, "rate"),
        "expected": Figure(node["expected"], "money"),
        "status": node["status"],
        "status_label": status_text(node["status"]),
        "reason": node["reason"],
    }


def _author_name(user: Any) -> str:
    if user is None:
        return gettext("(deleted user)")
    first, last = user.first_name.strip(), user.last_name.strip()
    if first and last:
        # Japanese names read family name first.
        return f"{last} {first}" if not (first + last).isascii() else f"{first} {last}"
    return first or last or user.get_username()


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
            author=_author_name(c.author) if c else "",
            updated_at=c.updated_at if c else None,
        )
    return result


def quarterly_report(period: Period, as_of: dt.datetime) -> QuarterlyReport:
    """Everything the quarterly report shows, for fiscal quarter `period` as of `as_of`."""
    snapshot = json_ready(kpi_snapshot(period, as_of))
    previous = comparison(previous_quarter(period), as_of)
    year_ago = comparison(year_earlier(period), as_of)
    window = Window(period, as_of)
    tree = snapshot["tree"]
    reasons = disqualification_reasons(window)
    sla = mql_follow_up_sla(window, KpiFilters())
    return QuarterlyReport(
        period=period,
        as_of=as_of,
        previous=previous,
        year_ago=year_ago,
        snapshot=snapshot,
        kgi=_kgi(tree),
        tree=_tree_rows(tree),
        budget=Figure(tree["budget"]["required"], "money"),
        budget_reason=tree["budget"]["reason"],
        bottleneck=tree["bottleneck"],
        elapsed_share=Figure(tree["elapsed_share"], "rate"),
        inputs=_input_rows(tree["inputs"]),
        trailing_period=(tree["inputs"]["trailing_period"] or {}).get("name"),
        shared=_kpi_rows(SHARED_KPIS, snapshot, previous, year_ago),
        marketing=_kpi_rows(MARKETING_KPIS, snapshot, previous, year_ago),
        sales=_kpi_rows(SALES_KPIS, snapshot, previous, year_ago),
        channel_columns=[(key, KPI_LABELS[key]) for key in CHANNEL_COLUMNS],
        channels=[
            ChannelRow(channel, [kpi_figure(key, row.get(key)) for key in CHANNEL_COLUMNS])
            for channel, row in snapshot["by_channel"].items()
        ],
        disqualifications=[
            ReasonRow(r.code, r.label, Figure(r.count, "count"), Figure(float(r.share), "rate"))
            for r in reasons
        ],
        disqualified_total=sum(r.count for r in reasons),
        sla={
            "rate": kpi_figure("mql_acceptance_sla", snapshot["kpis"]["mql_acceptance_sla"]),
            "eligible": Figure(sla.eligible, "count"),
            "handled_in_time": Figure(sla.handled_in_time, "count"),
            "business_days": settings.MQL_SLA_BUSINESS_DAYS,
        },
        commentary=commentaries(period),
    )
