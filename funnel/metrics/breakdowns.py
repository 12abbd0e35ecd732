"""Breakdowns of the period KPIs (kpi-spec section 5b): by channel, campaign, origin and
person attributes. The channel table answers "which channel did won deals come from"."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Case, CharField, F, Sum, Value, When
from django.db.models.expressions import Combinable

from funnel.choices import Origin
from funnel.metrics.counts import (
    Window,
    cost_rows,
    opportunity_aggregates,
    opportunity_rows,
    person_aggregates,
    person_rows,
)
from funnel.metrics.filters import UNKNOWN, KpiFilters, opportunity_channel_key
from funnel.metrics.ratios import derived_kpis

DIMENSIONS = ("channel", "campaign", "origin", "industry", "company_size", "owner")


def _origin(prefix: str) -> Combinable:
    return Case(
        When(**{f"{prefix}channel__is_marketing": True}, then=Value(Origin.MARKETING.value)),
        default=Value(Origin.SALES.value),
        output_field=CharField(),
    )


def _person_key(dimension: str) -> Combinable:
    if dimension == "origin":
        return _origin("")
    if dimension in ("channel", "campaign"):
        return F(f"{dimension}__key")
    return F(dimension)


def _opportunity_key(dimension: str) -> Combinable:
    if dimension == "channel":
        return opportunity_channel_key()
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
    """Costs belong to channels and campaigns, not to person attributes."""
    keys: dict[str, Combinable] = {
        "channel": F("channel__key"),
        "campaign": F("campaign"),
        "origin": _origin(""),
    }
    return keys.get(dimension)


def breakdown(window: Window, filters: KpiFilters, dimension: str) -> dict[str, dict[str, Any]]:
    """Per value of `dimension`: counts, won amount, cost, CPA and cohort rates.

    Persons and opportunities with no value fall in "unknown", so the rows sum to the total.
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"cannot break down by {dimension!r}; use one of {DIMENSIONS}")
    rows: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in (
        person_rows(window, filters)
        .annotate(group=_person_key(dimension))
        .values("group")
        .annotate(**person_aggregates(window))
    ):
        rows[row.pop("group") or UNKNOWN].update(row)
    for row in (
        opportunity_rows(window, filters)
        .annotate(group=_opportunity_key(dimension))
        .values("group")
        .annotate(**opportunity_aggregates(window))
    ):
        rows[row.pop("group") or UNKNOWN].update(row)
    cost_key = _cost_key(dimension)
    if cost_key is not None and not filters.narrows_persons_only:
        for row in (
            cost_rows(window, filters)
            .annotate(group=cost_key)
            .values("group")
            .annotate(total=Sum("amount"))
        ):
            rows[row["group"] or UNKNOWN]["marketing_cost"] = row["total"]
    empty_persons = dict.fromkeys(person_aggregates(window), 0)
    empty_opportunities = dict.fromkeys(opportunity_aggregates(window), 0)
    result = {}
    for key in sorted(rows, key=lambda k: (k == UNKNOWN, k)):
        counts = {**empty_persons, **empty_opportunities, **rows[key]}
        counts["won_amount"] = counts["won_amount"] or 0
        if cost_key is None or filters.narrows_persons_only:
            counts["marketing_cost"] = None
        else:
            counts.setdefault("marketing_cost", 0)
        result[key] = derived_kpis(counts)
    return result
