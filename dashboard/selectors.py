"""What the pages read besides the KPI snapshot: the values the filter forms offer, and
whether there is any data at all. Presenters take these as plain data and run no query."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from dashboard.questions import KpiQuestion, kpi_question
from funnel import data_version
from funnel.metrics.attribution import attributed_won_amount
from funnel.metrics.filters import SEGMENT_FIELDS
from funnel.metrics.kept import kept
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.metrics.trend import comparison_as_of, shared_kpi_trend, trend_periods
from funnel.metrics.window import Window
from funnel.models import Campaign, Channel, Opportunity, Person
from funnel.periods import previous_period
from qualification.applied import Definition, definitions, stage_dates

_LEADING_NUMBER = re.compile(r"^\D*(\d+)")


def _natural(value: str) -> tuple[int, str]:
    """Size bands in their order (1-49, 50-299, 300+), other text alphabetically."""
    match = _LEADING_NUMBER.match(value)
    return (int(match[1]) if match else 1 << 30, value)


@dataclass(frozen=True)
class FilterChoices:
    """Channels (key -> display name) and the segment values present in the data."""

    channels: dict[str, str]
    industries: list[str]
    company_sizes: list[str]
    owners: list[str]


def channel_names() -> dict[str, str]:
    return {key: name or key for key, name in Channel.objects.values_list("key", "name")}


def campaign_names() -> dict[str, str]:
    """Campaign key -> display name (keys are unique per channel: a key two channels
    share shows one of their names)."""
    return {key: name or key for key, name in Campaign.objects.values_list("key", "name")}


@kept
def filter_choices() -> FilterChoices:
    persons = Person.objects.order_by()

    def distinct(field: str) -> list[str]:
        assert field in SEGMENT_FIELDS, field
        values = persons.exclude(**{field: ""}).values_list(field, flat=True).distinct()
        return sorted(values, key=_natural)

    return FilterChoices(
        channels=channel_names(),
        industries=distinct("industry"),
        company_sizes=distinct("company_size"),
        owners=distinct("owner"),
    )


@dataclass(frozen=True)
class DashboardNumbers:
    """Every number the dashboard shows for one question (presenters shape them)."""

    definitions: list[Definition]
    snapshot: dict[str, Any]
    trend: list[dict[str, Any]]
    previous: dict[str, Any]
    attributed: dict[str, dict[str, int]]


def dashboard_numbers(question: KpiQuestion) -> DashboardNumbers:
    """The snapshot, the trend, the previous period and the attribution of `question`,
    all under one yardstick (kpi-spec 2b): the MQL/SQL definitions of its as_of."""
    period, as_of, filters = question.period, question.as_of, question.filters
    applied = definitions(as_of, question.criteria)
    dates = stage_dates(as_of, applied=applied)
    days = question.conversion_days
    snapshot = json_ready(kpi_snapshot(period, as_of, filters, question.what_if, dates, days))
    trend = shared_kpi_trend(trend_periods(period, as_of), as_of, filters, dates, days)
    before = previous_period(period)
    (previous,) = shared_kpi_trend([before], comparison_as_of(before, as_of), filters, dates, days)
    attributed = attributed_won_amount(Window(period, as_of, dates), filters)
    return DashboardNumbers(applied, snapshot, trend, previous, attributed)


VIEWED = "dashboard:viewed"  # a cache key: someone opened the dashboard lately
VIEWED_SECONDS = 30 * 60


def mark_viewed() -> None:
    cache.set(VIEWED, True, VIEWED_SECONDS)


def warm_dashboard() -> bool:
    """Compute the dashboard as it opens (this quarter, now, no filters) when someone
    opened it in the last 30 minutes, so the next load is served from what is kept.
    Returns whether it did (nothing is kept where there is no data version)."""
    if not cache.get(VIEWED) or data_version.current() is None:
        return False
    dashboard_numbers(kpi_question({}))
    filter_choices()
    return True


def has_data() -> bool:
    return Person.objects.exists() or Opportunity.objects.exists()
