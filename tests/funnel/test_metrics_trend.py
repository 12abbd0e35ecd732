"""The shared KPIs over a run of periods (funnel/metrics/trend.py): the same numbers as
kpi_snapshot gives for each period, from two queries for the whole run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from funnel.metrics.filters import KpiFilters
from funnel.metrics.snapshot import kpi_snapshot
from funnel.metrics.trend import (
    TREND_KPIS,
    comparison_as_of,
    shared_kpi_trend,
    trend_periods,
)
from funnel.models import Source
from funnel.periods import parse_period
from tests.funnel.factories import at, deal, jst, load, person

SourceMaker = Callable[..., Source]
AS_OF = at("2026-06-15T00:00:00+09:00")


def _names(periods: list[Any]) -> list[str]:
    return [p.name for p in periods]


# --- which periods ---------------------------------------------------------------------


def test_it_shows_the_eight_quarters_up_to_a_quarter() -> None:
    names = _names(trend_periods(parse_period("FY2026Q1"), AS_OF))
    assert names == [
        "FY2024Q2",
        "FY2024Q3",
        "FY2024Q4",
        "FY2025Q1",
        "FY2025Q2",
        "FY2025Q3",
        "FY2025Q4",
        "FY2026Q1",
    ]


def test_it_shows_the_twelve_months_up_to_a_month() -> None:
    names = _names(trend_periods(parse_period("2026-05"), AS_OF))
    assert len(names) == 12
    assert (names[0], names[-1]) == ("2025-06", "2026-05")


def test_it_ends_a_fiscal_year_in_progress_at_the_quarter_of_as_of() -> None:
    names = _names(trend_periods(parse_period("FY2026"), AS_OF))
    assert (len(names), names[-1]) == (8, "FY2026Q1")


def test_it_ends_a_past_fiscal_year_at_its_last_quarter() -> None:
    assert _names(trend_periods(parse_period("FY2024"), AS_OF))[-1] == "FY2024Q4"


def test_it_ends_a_future_period_at_its_first_quarter() -> None:
    assert _names(trend_periods(parse_period("FY2027"), AS_OF))[-1] == "FY2027Q1"


def test_it_ends_explicit_dates_at_the_quarter_of_their_last_day_reached() -> None:
    period = parse_period("2025-12-15..2026-02-10")
    assert _names(trend_periods(period, AS_OF))[-1] == "FY2025Q4"


def test_it_reads_a_previous_period_at_its_end_or_earlier() -> None:
    q4 = parse_period("FY2025Q4")
    assert comparison_as_of(q4, AS_OF) == q4.end_at
    assert comparison_as_of(q4, jst(2026, 2, 1)) == jst(2026, 2, 1)


# --- the numbers -----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_gives_nothing_for_no_periods() -> None:
    assert shared_kpi_trend([], AS_OF) == []


@pytest.mark.django_db
def test_it_counts_a_hand_made_run_of_quarters(source: SourceMaker) -> None:
    load(
        source("sfa"),
        persons=[
            # Q4: one lead who becomes an MQL and, in Q1, an opportunity.
            person("P1", at("2026-02-01T10:00:00+09:00"), mql_at=at("2026-02-02T10:00:00+09:00")),
            # Q1: an MQL with no opportunity.
            person("P2", at("2026-04-10T10:00:00+09:00"), mql_at=at("2026-04-11T10:00:00+09:00")),
        ],
        deals=[
            # Created 2026-03-31 23:59:59 JST (Q4), won 04-01 00:00 JST (Q1).
            deal(
                "D1",
                at("2026-03-31T23:59:59+09:00"),
                "won",
                1_200_000,
                closed_at=at("2026-04-01T00:00:00+09:00"),
                person_external_id="P1",
            ),
            # Q1: lost in Q1, and one still open.
            deal("D2", jst(2026, 5, 1), "lost", 500_000, closed_at=jst(2026, 5, 20)),
            deal("D3", jst(2026, 5, 2), "open", 800_000),
            # Won after as_of: does not exist yet.
            deal("D4", jst(2026, 5, 3), "won", 900_000, closed_at=jst(2026, 6, 20)),
        ],
    )
    q4, q1 = shared_kpi_trend([parse_period("FY2025Q4"), parse_period("FY2026Q1")], AS_OF)
    assert q4["period"].name == "FY2025Q4"
    # Q4: D1 created; no deal closed; P1's MQL cohort reached an opportunity (D1 created in Q4).
    assert q4["kpis"]["opportunities"] == 1
    assert q4["kpis"]["won_amount"] == Decimal(0)
    assert q4["kpis"]["win_rate"] is None
    assert q4["kpis"]["opportunity_rate"] == 1.0
    # Q1: D2, D3, D4 created; D1 won (1,200,000), D2 lost -> win rate 1/2; P2 no opportunity.
    assert q1["kpis"]["opportunities"] == 3
    assert q1["kpis"]["won_amount"] == Decimal(1_200_000)
    assert q1["kpis"]["win_rate"] == 0.5
    assert q1["kpis"]["opportunity_rate"] == 0.0
    assert "cpa" not in q1["kpis"]  # costs are not part of the trend


@pytest.fixture
def example(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())


def _same(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is actual
    return Decimal(str(expected)) == Decimal(str(actual))


FILTERS = [
    KpiFilters(),
    KpiFilters(origin="marketing"),
    KpiFilters(origin="sales"),
    KpiFilters(channel="webinar"),
    KpiFilters(channel="unknown"),
    KpiFilters(industry="IT"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: str(f.as_dict() or "all"))
def test_it_equals_kpi_snapshot_for_every_period(example: None, filters: KpiFilters) -> None:
    periods = trend_periods(parse_period("FY2026Q1"), AS_OF)
    trend = shared_kpi_trend(periods, AS_OF, filters)
    assert [point["period"] for point in trend] == periods
    for point in trend:
        expected = kpi_snapshot(point["period"], AS_OF, filters)["kpis"]
        for key, value in point["kpis"].items():
            assert _same(expected[key], value), (point["period"].name, key)
        assert set(TREND_KPIS) <= set(point["kpis"])


@pytest.mark.django_db
def test_it_equals_kpi_snapshot_for_months(example: None) -> None:
    for point in shared_kpi_trend(trend_periods(parse_period("2026-05"), AS_OF), AS_OF):
        expected = kpi_snapshot(point["period"], AS_OF)["kpis"]
        for key in TREND_KPIS:
            assert _same(expected[key], point["kpis"][key]), (point["period"].name, key)


@pytest.mark.django_db
def test_it_gives_the_example_quarter_its_expected_values(example: None) -> None:
    (q1,) = shared_kpi_trend([parse_period("FY2026Q1")], AS_OF)
    # shared/examples/fy2026q1/expected-kpis.json
    assert q1["kpis"]["opportunities"] == 5
    assert q1["kpis"]["won_amount"] == Decimal(9_500_000)
    assert q1["kpis"]["win_rate"] == pytest.approx(0.6)
    assert q1["kpis"]["opportunity_rate"] == pytest.approx(2 / 11)


@pytest.mark.django_db
def test_it_reads_eight_quarters_in_two_queries(
    example: None, django_assert_max_num_queries: Any
) -> None:
    periods = trend_periods(parse_period("FY2026Q1"), AS_OF)
    with django_assert_max_num_queries(2):
        shared_kpi_trend(periods, AS_OF, KpiFilters(origin="marketing"))


@pytest.mark.django_db
def test_it_reads_nothing_after_as_of(source: SourceMaker) -> None:
    load(
        source("sfa"), deals=[deal("D1", jst(2026, 6, 20), "won", 100, closed_at=jst(2026, 6, 21))]
    )
    (q1,) = shared_kpi_trend([parse_period("FY2026Q1")], AS_OF)
    assert (q1["kpis"]["opportunities"], q1["kpis"]["won_amount"]) == (0, Decimal(0))
    later = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    (q1,) = shared_kpi_trend([parse_period("FY2026Q1")], later)
    assert (q1["kpis"]["opportunities"], q1["kpis"]["won_amount"]) == (1, Decimal(100))
