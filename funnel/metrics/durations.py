"""Medians of durations in days (kpi-spec section 1): exact seconds / 86,400, negative -> 0,
an even count takes the mean of the two middle values.

PostgreSQL computes medians in the database (PERCENTILE_CONT, several in one pass); other
databases (the embedded SQLite) fetch the pairs of one narrowed cohort, not of a table.
"""

from __future__ import annotations

import statistics
from typing import Any

from django.db import connection
from django.db.models import Aggregate, F, FloatField, Q, QuerySet

SECONDS_PER_DAY = 86_400


class MedianDays(Aggregate):
    """PostgreSQL only: median of (end - start) in days over the rows matching `filter`."""

    template = (
        "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY "
        "GREATEST(EXTRACT(EPOCH FROM (%(expressions)s)), 0) / 86400.0)"
    )
    arg_joiner = " - "
    output_field = FloatField()

    def __init__(self, start: str, end: str, filter: Q | None = None) -> None:
        super().__init__(F(end), F(start), filter=filter)


def medians_in_database() -> bool:
    return connection.vendor == "postgresql"


def median_days(queryset: QuerySet[Any], start: str, end: str) -> float | None:
    """Median of (end - start) in days over the rows of `queryset`; None when it is empty."""
    if medians_in_database():
        value = queryset.aggregate(median=MedianDays(start, end))["median"]
        return None if value is None else float(value)
    days = [
        max((finish - begin).total_seconds(), 0) / SECONDS_PER_DAY
        for begin, finish in queryset.values_list(start, end)
    ]
    return statistics.median(days) if days else None
