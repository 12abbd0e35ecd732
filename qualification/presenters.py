"""Criteria as people read them, in the page's language: one line per condition, so two
versions compare line by line (what a draft changes against the version in effect)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from dashboard.charts import base_layout, plain_figure
from funnel.choices import ActivityType
from funnel.metrics.catalogue import Unit
from funnel.metrics.formatting import format_figure
from qualification.criteria import (
    BehaviourCondition,
    Condition,
    Criteria,
    ScoreCondition,
    TextCondition,
)


def field_label(name: str) -> str:
    return {
        "industry": _("industry"),
        "company_size": _("company size"),
        "channel": _("first-touch channel"),
        "campaign": _("campaign"),
        "owner": _("owner"),
        "email_domain": _("email domain"),
    }.get(name, name)


def describe(condition: Condition) -> str:
    if isinstance(condition, ScoreCondition):
        return _("lead score is %(minimum)s or more") % {"minimum": condition.minimum}
    if isinstance(condition, TextCondition):
        values = ", ".join(condition.values)
        if condition.op == "in":
            return _("%(field)s is one of: %(values)s") % {
                "field": field_label(condition.field),
                "values": values,
            }
        return _("%(field)s is none of: %(values)s (or empty)") % {
            "field": field_label(condition.field),
            "values": values,
        }
    return _behaviour(condition)


def _behaviour(condition: BehaviourCondition) -> str:
    labels = dict(ActivityType.choices)
    kinds = " / ".join(str(labels.get(kind, kind)) for kind in condition.types)
    text = _("at least %(count)s × %(kinds)s in the last %(days)s days") % {
        "count": condition.at_least,
        "kinds": kinds,
        "days": condition.within_days,
    }
    if condition.detail_contains:
        text += " " + _("(detail contains “%(text)s”)") % {"text": condition.detail_contains}
    return text


def lines(criteria: Criteria) -> list[str]:
    """Each group as a heading line and its conditions, in order."""
    found = []
    for number, group in enumerate(criteria.groups, start=1):
        found.append(_("Group %(number)s: all of") % {"number": number})
        found.extend(f"  • {describe(condition)}" for condition in group.conditions)
    return found


@dataclass(frozen=True)
class DiffLine:
    text: str
    change: str  # "added", "removed" or "" (the same in both)


def diff(current: Criteria | None, proposed: Criteria) -> list[DiffLine]:
    """The draft's lines against the version in effect: what stays, goes and comes."""
    old, new = lines(current) if current else [], lines(proposed)
    found: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
        if tag == "equal":
            found.extend(DiffLine(text, "") for text in new[j1:j2])
            continue
        found.extend(DiffLine(text, "removed") for text in old[i1:i2])
        found.extend(DiffLine(text, "added") for text in new[j1:j2])
    return found


@dataclass(frozen=True)
class BacktestLine:
    """One number of the backtest over the quarters: the version in effect, then the draft."""

    label: str
    current: list[str]
    draft: list[str]


def backtest_lines(rows: list[Any]) -> list[BacktestLine]:
    """The backtest as table lines, numbers formatted as the dashboard formats them."""

    def cohort(c: Any) -> str:
        rate = format_figure(c.rate, Unit.RATE)
        return f"{rate} ({c.converted:,}/{c.size:,})"

    readings: list[tuple[str, Callable[[Any], str]]] = [
        (_("MQLs"), lambda f: f"{f.mqls:,}"),
        (_("MQL → SQL rate"), lambda f: cohort(f.mql_to_sql)),
        (_("Opportunity rate (MQL → opportunity)"), lambda f: cohort(f.opportunity_rate)),
        (_("Won deals of the MQL cohort"), lambda f: f"{f.won_deals:,}"),
        (_("Disqualified by sales"), lambda f: cohort(f.disqualified)),
    ]
    return [
        BacktestLine(
            label,
            [read(row.current) for row in rows],
            [read(row.draft) for row in rows],
        )
        for label, read in readings
    ]


def backtest_figure(rows: list[Any], current_name: str, draft_name: str) -> dict[str, Any]:
    """MQLs per quarter (bars) and the opportunity rate (lines, right axis), the version in
    effect beside the draft: does the draft trade volume for quality?"""
    names = [row.period.name for row in rows]

    def rate(c: Any) -> float | None:
        return float(c.rate) if c.rate is not None else None

    figure = go.Figure()
    for name, pick, colour in (
        (current_name, lambda r: r.current, "#9aa5b1"),
        (draft_name, lambda r: r.draft, "#7c3aed"),
    ):
        figure.add_bar(
            x=names,
            y=[pick(r).mqls for r in rows],
            name=f"{_('MQLs')} · {name}",
            marker_color=colour,
        )
        figure.add_scatter(
            x=names,
            y=[rate(pick(r).opportunity_rate) for r in rows],
            name=f"{_('Opportunity rate')} · {name}",
            yaxis="y2",
            mode="lines+markers",
            line={"color": colour, "width": 3},
        )
    figure.update_layout(
        # room on the right for the rate's axis, and a legend for the two definitions
        **{
            **base_layout(320),
            "margin": {"l": 56, "r": 56, "t": 16, "b": 40},
            "showlegend": True,
        },
        barmode="group",
        legend={"orientation": "h", "y": -0.18},
        yaxis={"title": {"text": _("MQLs")}, "rangemode": "tozero"},
        yaxis2={
            "title": {"text": _("Opportunity rate")},
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "rangemode": "tozero",
        },
    )
    return plain_figure(figure)
