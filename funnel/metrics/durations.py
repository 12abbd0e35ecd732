"""Medians of durations in days (kpi-spec section 1): exact seconds / 86,400, negative -> 0,
an even count takes the mean of the two middle values.

PostgreSQL computes medians in the database (PERCENTILE_CONT, several in one pass); other
databases (the embedded SQLite) fetch the pairs of one narrowed cohort, not of a table.
"""

from __future__ import annotations

import statistics
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Aggregate, F, FloatField, Q, QuerySet
from django.db.models.sql.compiler import SQLCompiler

SECONDS_PER_DAY = 86_400


class MedianDays(Aggregate):
    """PostgreSQL only: median of (end - start) in days over the rows matching `filter`.

    The value PERCENTILE_CONT gives over every row's exact length in days, computed for
    less: the database sorts the durations as moments ('epoch' + duration, a plain 64-bit
    sort) and picks the middle one or two (PERCENTILE_DISC at 0.5 and just above it: rows
    ceil(n/2) and ceil(n/2 + n/10^10), which is n/2 + 1 for an even n below 5 * 10^9);
    PERCENTILE_CONT then takes only their exact lengths. A timestamp without time zone
    adds days as 24 hours, so moment - 'epoch' gives each duration back to the
    microsecond. Exact decimal lengths for every row, or an interval sort, cost several
    times more (tests/funnel/test_metrics_durations.py pins the equality).
    """

    template = (
        "PERCENTILE_DISC(ARRAY[0.5, 0.5000000001]) WITHIN GROUP "
        "(ORDER BY 'epoch'::timestamp + (%(expressions)s))"
    )
    arg_joiner = " - "
    output_field = FloatField()

    def __init__(self, start: str, end: str, filter: Q | None = None) -> None:
        super().__init__(F(end), F(start), filter=filter)

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        middle, params = super().as_sql(compiler, connection, **extra)
        days = "GREATEST(EXTRACT(EPOCH FROM (middle.moment - 'epoch'::timestamp)), 0) / 86400.0"
        median = f"PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {days})"
        sql = f"(SELECT {median} FROM unnest({middle}) AS middle(moment))"  # noqa: S608 - compiled SQL
        return sql, list(params)


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
