"""Turn a JSON-ready KPI snapshot into what the shared dashboard shows: cards, tables, links,
the filter form. Formatting and arrangement only: every number comes from funnel.metrics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dashboard.questions import BadQuestion, KpiQuestion
from dashboard.selectors import FilterChoices
from funnel.choices import Origin
from funnel.metrics.attribution import MODELS as ATTRIBUTION_MODELS
from funnel.metrics.breakdowns import channels_by_won
from funnel.metrics.catalogue import (
    CATALOGUE,
    CHANNEL_COLUMNS,
    HANDOFF_KPIS,
    HEADLINE_KPIS,
    MARKETING_KPIS,
    SALES_KPIS,
    STAGE_RATES,
    TREE_INPUT_LABELS,
    TreeReason,
    kpi,
    reason_label,
)
from funnel.metrics.filters import FILTER_PARAMS, UNKNOWN
from funnel.metrics.formatting import (
    NULL,
    Kind,
    change,
    currency_places,
    currency_symbol,
    expected_kind,
    format_figure,
    format_kpi,
    format_money,
    status_label,
)
from funnel.metrics.tree import INPUT_KEYS, NODE_KEYS, RATE_OF_INPUT
from funnel.metrics.trend import TREND_KPIS, comparison_as_of
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

WHAT_IF_PARAMS = tuple(f"what_if_{key}" for key in INPUT_KEYS)
PAGE_PARAMS = ("period", "as_of", "conversion_days", *FILTER_PARAMS)
PERIOD_CHOICES = {"quarters": 8, "months": 12, "years": 3}


# --- links --------------------------------------------------------------------------------


def page_params(question: KpiQuestion, params: Mapping[str, str]) -> dict[str, str]:
    """The page's question as query parameters (the same names as the API): the period
    resolved, as_of when the link fixed it, and the filters."""
    result = {"period": question.period.name}
    as_of = (params.get("as_of") or "").strip()
    if as_of:
        result["as_of"] = as_of
    if question.conversion_days:
        result["conversion_days"] = str(question.conversion_days)
    result.update(question.filters.as_dict())
    return result


def records_url(
    key: str, params: Mapping[str, str] | None, channel: str | None = None
) -> str | None:
    """The record list behind a count, or None for a KPI that is not a count of records,
    or when `params` is None: the viewer may not open record pages (no link to a 403)."""
    target = CATALOGUE[key].records if key in CATALOGUE else None
    if target is None or params is None:
        return None
    page, records_kpi = target
    query = {**params, "kpi": records_kpi}
    if channel is not None:
        query["channel"] = channel
    return f"{reverse(f'records:{page}')}?{urlencode(query)}"


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


def filter_options(params: Mapping[str, str], choices: FilterChoices) -> dict[str, Any]:
    """The filter selects of every page (dashboard, record lists), the current values
    selected, so a form always shows the question its page answers."""
    value = {name: (params.get(name) or "").strip() for name in FILTER_PARAMS}
    channels = sorted(choices.channels.items())
    channels.append((UNKNOWN, _("Unknown (no channel)")))
    return {
        "channels": _options(channels, value["channel"]),
        "origins": _options([(o.value, str(o.label)) for o in Origin], value["origin"]),
        "industries": _options([(v, v) for v in choices.industries], value["industry"]),
        "company_sizes": _options([(v, v) for v in choices.company_sizes], value["company_size"]),
        "owners": _options([(v, v) for v in choices.owners], value["owner"]),
        "campaign": value["campaign"],
        "owner": value["owner"],
        "filtered": any(value.values()),
    }


def filter_form(
    params: Mapping[str, str], today: dt.date, period: Period | None, choices: FilterChoices
) -> dict[str, Any]:
    """The dashboard's form: the periods offered, custom dates, as_of and the filters."""
    custom = period is not None and period_kind(period) == "custom"
    return {
        "periods": period_options(today, period),
        "custom": custom,
        "start": period.start.isoformat() if period else "",
        "end": period.end.isoformat() if period else "",
        "as_of": (params.get("as_of") or "").strip(),
        "conversion_days": _conversion_options((params.get("conversion_days") or "").strip()),
        **filter_options(params, choices),
    }


CONVERSION_WINDOWS = (30, 60, 90, 180, 365)


def _conversion_options(chosen: str) -> list[dict[str, Any]]:
    """The cohort funnel's conversion window: any time (the spec's rates) or N days."""
    options = [{"value": "", "label": _("Any time"), "selected": not chosen}]
    days = [*CONVERSION_WINDOWS]
    if chosen.isdigit() and int(chosen) not in days:
        days = sorted({*days, int(chosen)})
    for n in days:
        label = ngettext("Within %(n)d day", "Within %(n)d days", n) % {"n": n}
        options.append({"value": str(n), "label": label, "selected": chosen == str(n)})
    return options


def error_context(
    params: Mapping[str, str], message: str, choices: FilterChoices
) -> dict[str, Any]:
    """A question the page cannot answer: the message, and the form to ask another."""
    today = local_date(dt.datetime.now(dt.UTC))
    return {"error": message, "form": filter_form(params, today, None, choices)}


# --- cards --------------------------------------------------------------------------------


def _change(key: str, current: Any, previous: Any) -> dict[str, Any] | None:
    moved = change(key, current, previous)
    if moved is None:
        return None
    return {"text": moved.text, "direction": moved.direction, "tone": moved.tone}


def _pace(key: str, target: dict[str, Any] | None, value: Any) -> dict[str, Any] | None:
    if not target:
        return None
    goal = float(target["target"])
    progress = None
    if value is not None and goal > 0:
        progress = min(float(value) / goal * 100, 100.0)
    expected_share = float(target["expected"]) / goal * 100 if goal > 0 else None
    return {
        "target": format_kpi(key, target["target"]),
        "expected": format_figure(target["expected"], expected_kind(key)),
        "status": target["status"],
        "status_label": status_label(target["status"]),
        "progress": None if progress is None else round(progress, 1),
        "expected_share": None if expected_share is None else round(min(expected_share, 100), 1),
    }


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
        "label": kpi(key).label,
        "value": format_kpi(key, value),
        "href": records_url(key, params),
        "pace": _pace(key, snapshot["targets"].get(key), value),
        "change": _change(key, value, before) if previous else None,
        "previous": format_kpi(key, before) if previous and key in previous["kpis"] else None,
        "cohort": cohort,
    }


# --- funnel, tree, channels ---------------------------------------------------------------


def stage_rows(snapshot: dict[str, Any], params: Mapping[str, str] | None) -> list[dict[str, Any]]:
    rows = []
    for rate_key in STAGE_RATES:
        entry = kpi(rate_key)
        cohort = snapshot["cohorts"][rate_key]
        days_key = entry.velocity or ""
        rows.append(
            {
                "key": rate_key,
                "label": entry.label,
                "rate": format_kpi(rate_key, cohort["rate"]),
                "size": cohort["size"],
                "size_href": records_url(entry.cohort_base or "", params),
                "converted": cohort["converted"],
                "maturing": cohort["maturing"],
                "age_days": format_figure(cohort["age_days"], Kind.DAYS),
                "days": format_kpi(days_key, snapshot["velocity"].get(days_key)),
                "headline": rate_key in HEADLINE_KPIS,
            }
        )
    return rows


def tree_rows(tree: dict[str, Any], params: Mapping[str, str] | None) -> list[dict[str, Any]]:
    """Each node; a missing input's reason is said once, on the node it nulls first."""
    rows = []
    said = None
    for key in NODE_KEYS:
        node = tree[key]
        reason = node["reason"]
        repeated = reason is not None and reason == said
        said = reason
        rows.append(
            {
                "key": key,
                "label": kpi(key).label,
                "required": format_kpi(key, node["required"]),
                "expected": format_figure(node["expected"], expected_kind(key)),
                "actual": format_kpi(key, node["actual"]),
                "href": records_url(key, params),
                "status": node["status"],
                "status_label": status_label(node["status"]),
                "reason": _("Follows from the row above.") if repeated else reason_label(reason),
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
        rate = key in RATE_OF_INPUT
        if value is None:
            field = ""
        elif rate:
            field = f"{float(value) * 100:.1f}"
        else:
            field = f"{float(value):.0f}"
        rows.append(
            {
                "key": key,
                "label": TREE_INPUT_LABELS[key],
                "value": format_kpi(RATE_OF_INPUT.get(key, key), value),
                "field": field,
                "rate": rate,
                "override": key in overrides,
            }
        )
    return rows


def _sort_value(value: Any) -> str:
    return "" if value is None else f"{float(value):.6f}"


def channel_label(key: str | None, names: Mapping[str, str]) -> str:
    """A channel as the pages show it: the name an ops admin gave it, else its key; no
    channel (an opportunity without a person or channel) is unknown."""
    if not key or key == UNKNOWN:
        return _("Unknown (no channel)")
    return names.get(key, key)


def attribution_rows(
    attributed: dict[str, dict[str, int]], names: dict[str, str]
) -> list[dict[str, Any]]:
    """Won amount per channel under each attribution model, side by side; the channels
    with the most (by first touch) first, unknown last."""
    channels = sorted(
        {channel for by_channel in attributed.values() for channel in by_channel},
        key=lambda c: (c == UNKNOWN, -attributed["first_touch"].get(c, 0), c),
    )
    return [
        {
            "channel": channel,
            "label": channel_label(channel, names),
            "cells": [
                {"model": model, "text": format_money(attributed[model].get(channel, 0))}
                for model in ATTRIBUTION_MODELS
            ],
        }
        for channel in channels
    ]


def channel_rows(
    by_channel: dict[str, Any], names: dict[str, str], params: Mapping[str, str] | None
) -> list[dict[str, Any]]:
    """One row per channel, the channels that won the most first (the article's question:
    which channel did won deals come from); unknown last."""
    rows = []
    for channel in channels_by_won(by_channel):
        row = by_channel[channel]
        rows.append(
            {
                "channel": channel,
                "label": channel_label(channel, names),
                "cells": [
                    {
                        "key": key,
                        "text": format_kpi(key, row.get(key)),
                        "sort": _sort_value(row.get(key)),
                        "href": records_url(key, params, channel),
                    }
                    for key in CHANNEL_COLUMNS
                ],
            }
        )
    return rows


def channel_totals(kpis: dict[str, Any], params: Mapping[str, str] | None) -> list[dict[str, Any]]:
    return [
        {"key": key, "text": format_kpi(key, kpis.get(key)), "href": records_url(key, params)}
        for key in CHANNEL_COLUMNS
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
                        "text": format_kpi(key, point["kpis"].get(key)),
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
        "api": reverse("api-kpis"),
        "query": urlencode(api_query),
        "whatIf": {k: str(v) for k, v in question.what_if.items()},
        "currency": {
            "symbol": currency_symbol(),
            "decimals": currency_places(),
        },
        "null": NULL,
        "tree": snapshot["tree"],
        "nodes": [{"key": key, "unit": kpi(key).unit.value} for key in NODE_KEYS],
        "reasons": {reason.value: str(reason.label) for reason in TreeReason},
        "labels": {
            "on_track": status_label("on_track"),
            "behind": status_label("behind"),
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
    choices: FilterChoices,
    has_data: bool,
    records_visible: bool = True,
) -> dict[str, Any]:
    """Everything the dashboard template shows, from a JSON-ready snapshot and the
    selectors' plain data."""
    names = choices.channels
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
        "form": filter_form(params, local_date(question.as_of), question.period, choices),
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
            else reason_label(tree["budget"]["reason"])
        ),
        "has_data": has_data,
        "bottleneck": kpi(tree["bottleneck"]).label if tree["bottleneck"] else None,
        "what_if_active": bool(question.what_if),
        "channel_columns": [
            {"key": key, "label": kpi(key).short_label, "title": kpi(key).label}
            for key in CHANNEL_COLUMNS
        ],
        "channels": channel_rows(snapshot["by_channel"], names, links),
        "channel_totals": channel_totals(snapshot["kpis"], links),
        "costs_hidden": question.filters.narrows_persons_only,
        "trend": trend_rows(trend, question.period.name, links),
        "trend_monthly": period_kind(question.period) == "month",
        "trend_columns": [kpi(k).label for k in TREND_KPIS],
        "charts": charts,
        "config": script_config(snapshot, question, page),
    }
