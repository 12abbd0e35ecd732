"""Turn a JSON-ready KPI snapshot into what the shared dashboard shows: cards, tables, links,
the filter form. Formatting and arrangement only: every number comes from funnel.metrics."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from funnel.choices import (
    ADDITIVE_KPI_KEYS,
    LOWER_IS_BETTER_KPI_KEYS,
    MONEY_KPI_KEYS,
    Origin,
)
from funnel.metrics.filters import FILTER_PARAMS, UNKNOWN
from funnel.metrics.presentation import (
    CURRENCY_SYMBOLS,
    KPI_LABELS,
    MARKETING_KPIS,
    NULL,
    SALES_KPIS,
    format_money,
    format_value,
)
from funnel.metrics.tree import INPUT_KEYS, RATE_OF_INPUT
from funnel.metrics.trend import TREND_KPIS, comparison_as_of
from funnel.models import Channel, Opportunity, Person
from funnel.periods import (
    Period,
    calendar_month,
    company_tz,
    fiscal_quarter_of,
    fiscal_year,
    fiscal_year_of,
    local_date,
    period_kind,
    previous_quarter,
)
from kpi_dashboard.requests import BadQuestion, KpiQuestion

# The four shared KPIs of the article (商談数, 商談化率, 受注金額, 受注率), then the two where
# marketing hands over to sales (spec section 3, department "shared").
HEADLINE_KPIS = ("opportunities", "opportunity_rate", "won_amount", "win_rate")
HANDOFF_KPIS = ("sqls", "mql_acceptance_sla")
TREE_NODES = ("won_amount", "won_deals", "opportunities", "sqls", "mqls", "leads")
WHAT_IF_PARAMS = tuple(f"what_if_{key}" for key in INPUT_KEYS)
PAGE_PARAMS = ("period", "as_of", *FILTER_PARAMS)

# Record pages behind each count (URL contract with the record pages): (page, kpi). The won
# amount is the sum over the won deals, so its records are theirs.
RECORDS_OF_KPI = {
    "leads": ("persons", "leads"),
    "mqls": ("persons", "mqls"),
    "sqls": ("persons", "sqls"),
    "opportunities": ("opportunities", "opportunities"),
    "won_deals": ("opportunities", "won_deals"),
    "lost_deals": ("opportunities", "lost_deals"),
    "won_amount": ("opportunities", "won_deals"),
}
# The records of each cohort's denominator (spec section 4: the entries of its first stage).
COHORT_BASE = {
    "lead_to_mql_rate": "leads",
    "mql_to_sql_rate": "mqls",
    "sql_to_opportunity_rate": "sqls",
    "opportunity_to_won_rate": "opportunities",
    "opportunity_rate": "mqls",
}
CHANNEL_COLUMNS: tuple[tuple[str, Promise], ...] = (
    ("leads", gettext_lazy("Leads")),
    ("mqls", gettext_lazy("MQLs")),
    ("sqls", gettext_lazy("SQLs")),
    ("opportunities", gettext_lazy("Opps")),
    ("won_deals", gettext_lazy("Won")),
    ("won_amount", gettext_lazy("Won amount")),
    ("marketing_cost", gettext_lazy("Cost")),
    ("cpa", gettext_lazy("CPA")),
    ("lead_to_mql_rate", gettext_lazy("Lead→MQL")),
    ("mql_to_sql_rate", gettext_lazy("MQL→SQL")),
    ("sql_to_opportunity_rate", gettext_lazy("SQL→Opp")),
    ("opportunity_to_won_rate", gettext_lazy("Opp→Won")),
    ("win_rate", gettext_lazy("Win rate")),
)
# Stage pairs of the funnel (spec section 4): cohort rate and its velocity.
STAGE_PAIRS = (
    ("lead_to_mql_rate", "lead_to_mql_days"),
    ("mql_to_sql_rate", "mql_to_sql_days"),
    ("sql_to_opportunity_rate", "sql_to_opportunity_days"),
    ("opportunity_to_won_rate", "opportunity_to_won_days"),
    ("opportunity_rate", "mql_to_opportunity_days"),
)
INPUT_LABELS = {
    "average_deal_size": KPI_LABELS["average_deal_size"],
    "cpa": KPI_LABELS["cpa"],
    **{key: KPI_LABELS[rate] for key, rate in RATE_OF_INPUT.items()},
}
# The tree's reasons (funnel/metrics/tree.py) in words a manager acts on.
TREE_REASONS = {
    "no won_amount target": gettext_lazy(
        "No revenue (won amount) target is set for this period, so nothing can be "
        "reverse-calculated. An ops admin can set one."
    ),
    "the won_amount target is 0": gettext_lazy("The revenue target for this period is 0."),
    "the CPA is 0": gettext_lazy("The CPA is 0, so no budget can be calculated."),
    "no average deal size (no won deals in the trailing four quarters)": gettext_lazy(
        "No average deal size: no won deals in the trailing four quarters."
    ),
    "no CPA (no leads in the trailing four quarters)": gettext_lazy(
        "No CPA: no leads in the trailing four quarters."
    ),
    "no lead → MQL rate (no leads in the trailing four quarters)": gettext_lazy(
        "No lead → MQL rate: no leads in the trailing four quarters."
    ),
    "no MQL → SQL rate (no MQLs in the trailing four quarters)": gettext_lazy(
        "No MQL → SQL rate: no MQLs in the trailing four quarters."
    ),
    "no SQL → opportunity rate (no SQLs in the trailing four quarters)": gettext_lazy(
        "No SQL → opportunity rate: no SQLs in the trailing four quarters."
    ),
    "no opportunity → won rate (no opportunities in the trailing four quarters)": gettext_lazy(
        "No opportunity → won rate: no opportunities in the trailing four quarters."
    ),
}
PERIOD_CHOICES = {"quarters": 8, "months": 12, "years": 3}
_LEADING_NUMBER = re.compile(r"^\D*(\d+)")


# --- links --------------------------------------------------------------------------------


def page_params(question: KpiQuestion, params: Mapping[str, str]) -> dict[str, str]:
    """The page's question as query parameters (the same names as the API): the period
    resolved, as_of when the link fixed it, and the filters."""
    result = {"period": question.period.name}
    as_of = (params.get("as_of") or "").strip()
    if as_of:
        result["as_of"] = as_of
    result.update(question.filters.as_dict())
    return result


def records_url(
    kpi: str, params: Mapping[str, str] | None, channel: str | None = None
) -> str | None:
    """The record list behind a count, or None for a KPI that is not a count of records,
    or when `params` is None: the viewer may not open record pages (no link to a 403)."""
    target = RECORDS_OF_KPI.get(kpi)
    if target is None or params is None:
        return None
    kind, records_kpi = target
    query = {**params, "kpi": records_kpi}
    if channel is not None:
        query["channel"] = channel
    return f"/records/{kind}/?{urlencode(query)}"


def form_redirect(params: Mapping[str, str]) -> str | None:
    """The filter form as a link to share: custom dates become `period=start..end` and
    empty fields are dropped. None when the query is already in that form."""
    period = (params.get("period") or "").strip()
    custom = period == "custom"
    if custom:
        start, end = (params.get("start") or "").strip(), (params.get("end") or "").strip()
        if not (start and end):
            raise BadQuestion(_("Choose both the first and the last day of the custom period."))
        period = f"{start}..{end}"
    kept: dict[str, str] = {}
    for name in (*PAGE_PARAMS, *WHAT_IF_PARAMS):
        value = period if name == "period" else (params.get(name) or "").strip()
        if value:
            kept[name] = value
    untidy = any(
        name in params and not (params.get(name) or "").strip()
        for name in (*PAGE_PARAMS, *WHAT_IF_PARAMS)
    )
    if custom or untidy or "start" in params or "end" in params:
        return f"?{urlencode(kept)}"
    return None


# --- the filter form ----------------------------------------------------------------------


def _natural(value: str) -> tuple[int, str]:
    match = _LEADING_NUMBER.match(value)
    return (int(match[1]) if match else 1 << 30, value)


def channel_names() -> dict[str, str]:
    return {key: name or key for key, name in Channel.objects.values_list("key", "name")}


def _distinct(field: str) -> list[str]:
    values = Person.objects.exclude(**{field: ""}).values_list(field, flat=True).distinct()
    return sorted(values, key=_natural)


def _options(values: list[tuple[str, str]], selected: str) -> list[dict[str, Any]]:
    if selected and selected not in {value for value, _label in values}:
        values = [*values, (selected, selected)]
    return [{"value": v, "label": label, "selected": v == selected} for v, label in values]


def period_label(period: Period) -> str:
    """`FY2026Q3 (2026/10–12)`, `FY2026 (2026/04–2027/03)`, `2026-05`."""
    kind = period_kind(period)
    if kind == "month":
        return period.name
    if kind == "quarter":
        return f"{period.name} ({period.start:%Y/%m}–{period.end:%m})"
    return f"{period.name} ({period.start:%Y/%m}–{period.end:%Y/%m})"


def period_options(today: dt.date, selected: Period | None) -> list[dict[str, Any]]:
    """The last 8 fiscal quarters, 12 months and 3 fiscal years up to today, newest first."""
    quarters = [fiscal_quarter_of(today)]
    while len(quarters) < PERIOD_CHOICES["quarters"]:
        quarters.append(previous_quarter(quarters[-1]))
    months = []
    index = today.year * 12 + today.month - 1
    for i in range(PERIOD_CHOICES["months"]):
        months.append(calendar_month((index - i) // 12, (index - i) % 12 + 1))
    fy = fiscal_year_of(today)
    years = [fiscal_year(fy - i) for i in range(PERIOD_CHOICES["years"])]
    groups = [
        (_("Fiscal quarters"), quarters),
        (_("Months"), months),
        (_("Fiscal years"), years),
    ]
    listed = {p.name for _label, periods in groups for p in periods}
    name = selected.name if selected else ""
    result = []
    if selected and period_kind(selected) != "custom" and name not in listed:
        groups.insert(0, (_("Selected"), [selected]))
    for label, periods in groups:
        result.append(
            {
                "label": label,
                "options": [
                    {
                        "value": p.name,
                        "label": period_label(p),
                        "selected": p.name == name,
                    }
                    for p in periods
                ],
            }
        )
    return result


def filter_form(
    params: Mapping[str, str], today: dt.date, period: Period | None, names: dict[str, str]
) -> dict[str, Any]:
    """Choices offered from the data (channels, industries, sizes present), the current
    values selected, so the form always shows the question the page answers."""
    value = {name: (params.get(name) or "").strip() for name in FILTER_PARAMS}
    custom = period is not None and period_kind(period) == "custom"
    channels = [(key, label) for key, label in sorted(names.items())]
    channels.append((UNKNOWN, _("Unknown (no channel)")))
    return {
        "periods": period_options(today, period),
        "custom": custom,
        "start": period.start.isoformat() if period else "",
        "end": period.end.isoformat() if period else "",
        "as_of": (params.get("as_of") or "").strip(),
        "channels": _options(channels, value["channel"]),
        "origins": _options([(o.value, str(o.label)) for o in Origin], value["origin"]),
        "industries": _options([(v, v) for v in _distinct("industry")], value["industry"]),
        "company_sizes": _options(
            [(v, v) for v in _distinct("company_size")], value["company_size"]
        ),
        "campaign": value["campaign"],
        "owner": value["owner"],
        "filtered": any(value.values()),
    }


def error_context(params: Mapping[str, str], message: str) -> dict[str, Any]:
    """A question the page cannot answer: the message, and the form to ask another."""
    today = local_date(dt.datetime.now(dt.UTC))
    return {"error": message, "form": filter_form(params, today, None, channel_names())}


# --- cards --------------------------------------------------------------------------------


def _is_rate(key: str) -> bool:
    return key.endswith("_rate") or key == "mql_acceptance_sla"


def change(key: str, current: Any, previous: Any) -> dict[str, Any] | None:
    """Change against the previous period: points for rates, amount and percent otherwise."""
    if current is None or previous is None:
        return None
    delta = float(current) - float(previous)
    direction = "up" if delta > 0 else "down" if delta < 0 else "flat"
    better = "flat"
    if direction != "flat":
        lower_is_better = key in LOWER_IS_BETTER_KPI_KEYS or key == "lost_deals"
        better = "good" if (direction == "up") != lower_is_better else "bad"
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    if _is_rate(key):
        text = f"{sign}{abs(delta) * 100:.1f} pt"
    else:
        text = sign + format_value(key, abs(delta))
        if previous:
            text += f" ({sign}{abs(delta) / float(previous) * 100:.1f}%)"
    return {"text": text, "direction": direction, "tone": better}


def _pace(key: str, target: dict[str, Any] | None, value: Any) -> dict[str, Any] | None:
    if not target:
        return None
    goal = float(target["target"])
    progress = None
    if value is not None and goal > 0:
        progress = min(float(value) / goal * 100, 100.0)
    expected_share = float(target["expected"]) / goal * 100 if goal > 0 else None
    return {
        "target": format_value(key, target["target"]),
        "expected": format_value(_expected_format(key), target["expected"]),
        "status": target["status"],
        "status_label": status_label(target["status"]),
        "progress": None if progress is None else round(progress, 1),
        "expected_share": None if expected_share is None else round(min(expected_share, 100), 1),
    }


def _expected_format(key: str) -> str:
    """Expected counts are fractional (target x elapsed share): one decimal. Money keeps
    its format; a ratio's expected value is its target."""
    return "expected_count" if key in ADDITIVE_KPI_KEYS and key not in MONEY_KPI_KEYS else key


def status_label(status: str | None) -> str:
    return {"on_track": _("On track"), "behind": _("Behind")}.get(status or "", "")


def kpi_card(
    key: str,
    snapshot: dict[str, Any],
    params: Mapping[str, str] | None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    value = snapshot["kpis"].get(key)
    cohort = snapshot["cohorts"].get(key)
    before = previous["kpis"].get(key) if previous and key in previous["kpis"] else None
    return {
        "key": key,
        "label": KPI_LABELS[key],
        "value": format_value(key, value),
        "href": records_url(key, params),
        "pace": _pace(key, snapshot["targets"].get(key), value),
        "change": change(key, value, before) if previous else None,
        "previous": format_value(key, before) if previous and key in previous["kpis"] else None,
        "cohort": cohort,
    }


# --- funnel, tree, channels ---------------------------------------------------------------


def stage_rows(snapshot: dict[str, Any], params: Mapping[str, str] | None) -> list[dict[str, Any]]:
    rows = []
    for rate_key, days_key in STAGE_PAIRS:
        cohort = snapshot["cohorts"][rate_key]
        rows.append(
            {
                "key": rate_key,
                "label": KPI_LABELS[rate_key],
                "rate": format_value(rate_key, cohort["rate"]),
                "size": cohort["size"],
                "size_href": records_url(COHORT_BASE[rate_key], params),
                "converted": cohort["converted"],
                "maturing": cohort["maturing"],
                "age_days": format_value("age_days", cohort["age_days"]),
                "days": format_value(days_key, snapshot["velocity"].get(days_key)),
                "headline": rate_key == "opportunity_rate",
            }
        )
    return rows


def reason_text(reason: str | None) -> str:
    if not reason:
        return ""
    return str(TREE_REASONS.get(reason, reason))


def tree_rows(tree: dict[str, Any], params: Mapping[str, str] | None) -> list[dict[str, Any]]:
    """Each node; a missing input's reason is said once, on the node it nulls first."""
    rows = []
    said = None
    for key in TREE_NODES:
        node = tree[key]
        reason = node["reason"]
        repeated = reason is not None and reason == said
        said = reason
        expected_as = key if key == "won_amount" else "expected_count"
        rows.append(
            {
                "key": key,
                "label": KPI_LABELS[key],
                "required": format_value(key, node["required"]),
                "expected": format_value(expected_as, node["expected"]),
                "actual": format_value(key, node["actual"]),
                "href": records_url(key, params),
                "status": node["status"],
                "status_label": status_label(node["status"]),
                "reason": _("Follows from the row above.") if repeated else reason_text(reason),
                "bottleneck": tree["bottleneck"] == key,
            }
        )
    return rows


def tree_inputs(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The what-if inputs: rates edited in percent, money in currency units."""
    inputs, overrides = tree["inputs"], set(tree["inputs"]["overrides"])
    rows = []
    for key in INPUT_KEYS:
        value = inputs.get(key)
        rate = key.startswith("r_")
        if value is None:
            field = ""
        elif rate:
            field = f"{float(value) * 100:.1f}"
        else:
            field = f"{float(value):.0f}"
        rows.append(
            {
                "key": key,
                "label": INPUT_LABELS[key],
                "value": format_value(RATE_OF_INPUT.get(key, key), value),
                "field": field,
                "rate": rate,
                "override": key in overrides,
            }
        )
    return rows


def _sort_value(value: Any) -> str:
    return "" if value is None else f"{float(value):.6f}"


def channel_rows(
    by_channel: dict[str, Any], names: dict[str, str], params: Mapping[str, str] | None
) -> list[dict[str, Any]]:
    """One row per channel, the channels that won the most first (the article's question:
    which channel did won deals come from); unknown last."""
    order = sorted(
        by_channel,
        key=lambda k: (
            k == UNKNOWN,
            -float(by_channel[k]["won_amount"] or 0),
            -by_channel[k]["won_deals"],
            -by_channel[k]["leads"],
            k,
        ),
    )
    rows = []
    for channel in order:
        row = by_channel[channel]
        label = _("Unknown (no channel)") if channel == UNKNOWN else names.get(channel, channel)
        rows.append(
            {
                "channel": channel,
                "label": label,
                "cells": [
                    {
                        "key": key,
                        "text": format_value(key, row.get(key)),
                        "sort": _sort_value(row.get(key)),
                        "href": records_url(key, params, channel),
                    }
                    for key, _label in CHANNEL_COLUMNS
                ],
            }
        )
    return rows


def channel_totals(kpis: dict[str, Any], params: Mapping[str, str] | None) -> list[dict[str, Any]]:
    return [
        {"key": key, "text": format_value(key, kpis.get(key)), "href": records_url(key, params)}
        for key, _label in CHANNEL_COLUMNS
    ]


# --- trend --------------------------------------------------------------------------------


def trend_rows(
    trend: list[dict[str, Any]], selected: str, params: Mapping[str, str] | None
) -> list[dict[str, Any]]:
    rows = []
    for point in trend:
        name = point["period"].name
        here = None if params is None else {**params, "period": name}
        rows.append(
            {
                "period": name,
                "selected": name == selected,
                "cells": [
                    {
                        "key": key,
                        "text": format_value(key, point["kpis"].get(key)),
                        "href": records_url(key, here),
                    }
                    for key in TREND_KPIS
                ],
            }
        )
    return rows


# --- the page -----------------------------------------------------------------------------


def script_config(snapshot: dict[str, Any], question: KpiQuestion, params: dict[str, str]) -> dict:
    """What dashboard.js needs: the API query of this page and the words it shows."""
    api_query = {**params, "as_of": snapshot["as_of"]}
    return {
        "api": "/api/v1/kpis/",
        "query": urlencode(api_query),
        "whatIf": {k: str(v) for k, v in question.what_if.items()},
        "currency": {
            "symbol": CURRENCY_SYMBOLS.get(
                settings.COMPANY_CURRENCY, settings.COMPANY_CURRENCY + " "
            ),
            "decimals": 0 if settings.COMPANY_CURRENCY == "JPY" else 2,
        },
        "null": NULL,
        "tree": snapshot["tree"],
        "reasons": {key: str(text) for key, text in TREE_REASONS.items()},
        "labels": {
            "on_track": _("On track"),
            "behind": _("Behind"),
            "bottleneck": _("Bottleneck"),
            "override": _("Override"),
            "was": _("was"),
            "loading": _("Recalculating…"),
            "failed": _("The what-if could not be calculated:"),
            "follows": _("Follows from the row above."),
            "followsAll": _("Follows from the rows above."),
        },
    }


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(company_tz()).strftime("%Y-%m-%d %H:%M")


def dashboard_context(
    question: KpiQuestion,
    params: Mapping[str, str],
    snapshot: dict[str, Any],
    trend: list[dict[str, Any]],
    previous: dict[str, Any],
    charts: dict[str, Any],
    records_visible: bool = True,
) -> dict[str, Any]:
    """Everything the dashboard template shows, from a JSON-ready snapshot."""
    names = channel_names()
    page = page_params(question, params)
    links = page if records_visible else None
    tree = snapshot["tree"]
    elapsed = float(tree["elapsed_share"])
    return {
        "snapshot": snapshot,
        "period": question.period,
        "elapsed_percent": f"{elapsed * 100:.0f}%",
        "as_of": _local(question.as_of),
        "in_progress": 0 < elapsed < 1,
        "previous_name": previous["period"].name,
        "previous_as_of": _local(comparison_as_of(previous["period"], question.as_of)),
        "form": filter_form(params, local_date(question.as_of), question.period, names),
        "headline": [kpi_card(k, snapshot, links, previous) for k in HEADLINE_KPIS],
        "handoff": [kpi_card(k, snapshot, links, previous) for k in HANDOFF_KPIS],
        "teams": [
            {
                "key": "marketing",
                "title": _("Marketing"),
                "cards": [kpi_card(k, snapshot, links) for k in MARKETING_KPIS],
            },
            {
                "key": "sales",
                "title": _("Sales"),
                "cards": [kpi_card(k, snapshot, links) for k in SALES_KPIS],
            },
        ],
        "stages": stage_rows(snapshot, links),
        "tree": tree_rows(tree, links),
        "tree_inputs": tree_inputs(tree),
        "trailing_period": tree["inputs"].get("trailing_period"),
        "has_target": tree["won_amount"]["required"] is not None,
        "budget": format_money(tree["budget"]["required"]),
        "budget_reason": (
            _("Follows from the rows above.")
            if tree["budget"]["reason"] and tree["budget"]["reason"] == tree["leads"]["reason"]
            else reason_text(tree["budget"]["reason"])
        ),
        "has_data": Person.objects.exists() or Opportunity.objects.exists(),
        "bottleneck": KPI_LABELS.get(tree["bottleneck"] or "", None),
        "what_if_active": bool(question.what_if),
        "channel_columns": [
            {"key": key, "label": label, "title": KPI_LABELS[key]} for key, label in CHANNEL_COLUMNS
        ],
        "channels": channel_rows(snapshot["by_channel"], names, links),
        "channel_totals": channel_totals(snapshot["kpis"], links),
        "costs_hidden": question.filters.narrows_persons_only,
        "trend": trend_rows(trend, question.period.name, links),
        "trend_monthly": period_kind(question.period) == "month",
        "trend_columns": [KPI_LABELS[k] for k in TREND_KPIS],
        "charts": charts,
        "config": script_config(snapshot, question, page),
    }
