"""Breakdowns of the period KPIs (kpi-spec section 5b): by channel, campaign, origin and
person attributes. The channel table answers "which channel did won deals come from"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Case, CharField, F, Sum, Value, When
from django.db.models.expressions import Combinable

from funnel.choices import Origin
from funnel.metrics.counts import (
    Window,
    added_up,
    cost_rows,
    empty_counts,
    grouped,
    opportunity_counted,
    person_counted,
)
from funnel.metrics.filters import UNKNOWN, KpiFilters, opportunity_channel
from funnel.metrics.ratios import derived_kpis
from funnel.metrics.window import opportunities_dated, persons_dated
from funnel.models import Channel

DIMENSIONS = ("channel", "campaign", "origin", "industry", "company_size", "owner")


def channels_by_won(by_channel: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The channel keys, those that won the most first (the article's question: which
    channel did the won deals come from), then by won deals and leads; no channel last."""
    return sorted(
        by_channel,
        key=lambda k: (
            k == UNKNOWN,
            -float(by_channel[k]["won_amount"] or 0),
            -by_channel[k]["won_deals"],
            -by_channel[k]["leads"],
            k,
        ),
    )


def _origin(prefix: str) -> Combinable:
    return Case(
        When(**{f"{prefix}channel__is_marketing": True}, then=Value(Origin.MARKETING.value)),
        default=Value(Origin.SALES.value),
        output_field=CharField(),
    )


def _person_key(dimension: str) -> Combinable:
    if dimension == "origin":
        return _origin("")
    if dimension == "channel":
        return F("channel")  # its id: named after the grouping (_named_channels)
    if dimension == "campaign":
        return F("campaign__key")
    return F(dimension)


def _opportunity_key(dimension: str) -> Combinable:
    if dimension == "channel":
        return opportunity_channel("id")
    if dimension == "origin":
        return Case(
            When(person__isnull=False, then=_origin("person__")),
            default=_origin(""),
            output_field=CharField(),
        )
    if dimension == "campaign":
        return F("person__campaign__key")
    return F(f"person__{dimension}")


def _cost_key(dimension: str) -> Combinable | None:
    """Costs belong to channels and campaigns, not to person attributes (nor to a
    segment filter's share of a channel)."""
    keys: dict[str, Combinable] = {
        "channel": F("channel__key"),
        "campaign": F("campaign"),
        "origin": _origin(""),
    }
    return keys.get(dimension)


def breakdown_counts(
    window: Window, filters: KpiFilters, dimension: str
) -> list[tuple[Any, dict[str, Any]]]:
    """(value of `dimension` as the database groups it, its counts): the raw rows of the
    breakdown. Every counted row is in one group, so they add up to the totals."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"cannot break down by {dimension!r}; use one of {DIMENSIONS}")
    persons = grouped(
        lambda date: persons_dated(window, filters, date),
        person_counted(window),
        _person_key(dimension),
    )
    opportunities = grouped(
        lambda date: opportunities_dated(window, filters, date),
        opportunity_counted(window),
        _opportunity_key(dimension),
    )
    empty = empty_counts(window)
    rows = [
        (group, {**empty, **persons.get(group, {}), **opportunities.get(group, {})})
        for group in dict.fromkeys([*persons, *opportunities])
    ]
    return _named_channels(rows) if dimension == "channel" else rows


def _named_channels(rows: list[tuple[Any, dict[str, Any]]]) -> list[tuple[Any, dict[str, Any]]]:
    """Channel rows are grouped by channel id, which needs no join per row; named here."""
    keys = dict(Channel.objects.values_list("pk", "key"))
    return [(keys.get(group), values) for group, values in rows]


def breakdown(
    window: Window,
    filters: KpiFilters,
    dimension: str,
    counts: list[tuple[Any, dict[str, Any]]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per value of `dimension`: counts, won amount, cost, CPA and cohort rates.

    Persons and opportunities with no value fall in "unknown", so the rows sum to the total.
    `counts` are the rows of breakdown_counts when the caller has them already.
    """
    if counts is None:
        counts = breakdown_counts(window, filters, dimension)
    empty = empty_counts(window)
    rows: dict[str, dict[str, Any]] = {}
    for group, values in counts:
        key = group or UNKNOWN
        rows[key] = added_up([rows[key], values], empty) if key in rows else dict(values)
    cost_key = None if filters.narrows_persons_only else _cost_key(dimension)
    if cost_key is not None:
        for row in (
            cost_rows(window, filters)
            .annotate(group=cost_key)
            .values("group")
            .annotate(total=Sum("amount"))
        ):
            rows.setdefault(row["group"] or UNKNOWN, dict(empty))["marketing_cost"] = row["total"]
    result = {}
    for key in sorted(rows, key=lambda k: (k == UNKNOWN, k)):
        row = rows[key]
        row["won_amount"] = row["won_amount"] or 0
        row["marketing_cost"] = row.get("marketing_cost", 0) if cost_key is not None else None
        result[key] = derived_kpis(row)
    return result
