"""Medians of durations in days (funnel/metrics/durations.py, kpi-spec section 1).

On PostgreSQL MedianDays picks the middle rows from a sort of moments and takes the exact
length in days of those alone; it must give, to the last bit, what PERCENTILE_CONT over
every row's exact length (seconds / 86,400, negative -> 0) gives.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection

from funnel.metrics.durations import MedianDays, median_days
from funnel.models import Person

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
EXACT_MEDIAN = """
    SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (
        ORDER BY GREATEST(EXTRACT(EPOCH FROM (mql_at - lead_at)), 0) / 86400.0)
    FROM funnel_person WHERE mql_at IS NOT NULL
"""


def _persons(lengths: list[dt.timedelta]) -> None:
    Person.objects.bulk_create(
        Person(lead_at=START + dt.timedelta(hours=i), mql_at=START + dt.timedelta(hours=i) + d)
        for i, d in enumerate(lengths)
    )


def _random_lengths(rng: random.Random, count: int) -> list[dt.timedelta]:
    """Lengths with microseconds, ties, negatives (dates out of order) and years."""
    lengths = [
        rng.choice(
            [
                dt.timedelta(
                    seconds=rng.randint(0, 90 * 86_400), microseconds=rng.randint(0, 999_999)
                ),
                dt.timedelta(days=rng.randint(0, 9)),
                -dt.timedelta(seconds=rng.randint(1, 86_400 * 3)),
                dt.timedelta(days=rng.randint(300, 3000), seconds=rng.randint(0, 86_399)),
            ]
        )
        for _ in range(count)
    ]
    return lengths + lengths[: count // 7]  # ties


@pytest.mark.postgres
@pytest.mark.parametrize(("seed", "count"), [(1, 1), (2, 2), (3, 3), (4, 4), (5, 101), (6, 1000)])
def test_it_gives_the_exact_median_of_every_length(seed: int, count: int) -> None:
    _persons(_random_lengths(random.Random(seed), count))
    with connection.cursor() as cursor:
        cursor.execute(EXACT_MEDIAN)
        exact = cursor.fetchone()[0]
    median = Person.objects.filter(mql_at__isnull=False).aggregate(
        median=MedianDays("lead_at", "mql_at")
    )["median"]
    assert median == exact  # to the last bit, not approximately


@pytest.mark.postgres
def test_it_gives_null_over_no_rows() -> None:
    _persons([dt.timedelta(days=1)])
    rows = Person.objects.filter(mql_at__lt=START)
    assert rows.aggregate(median=MedianDays("lead_at", "mql_at"))["median"] is None


@pytest.mark.parametrize(
    ("lengths", "expected"),
    [
        ([dt.timedelta(days=3)], 3.0),
        ([dt.timedelta(days=1), dt.timedelta(days=4)], 2.5),
        ([dt.timedelta(days=2), -dt.timedelta(days=5), dt.timedelta(hours=12)], 0.5),
        ([dt.timedelta(hours=6)] * 2 + [dt.timedelta(days=9)] * 2, 4.625),
    ],
)
def test_it_takes_the_middle_values_on_every_database(
    lengths: list[dt.timedelta], expected: float
) -> None:
    _persons(lengths)
    assert median_days(Person.objects.all(), "lead_at", "mql_at") == expected
