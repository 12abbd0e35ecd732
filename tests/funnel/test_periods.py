"""The fiscal calendar of kpi-spec section 1 (funnel/periods.py): period names, local-date
ranges cut in company time, the elapsed share and the trailing four quarters of section 5."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from pytest_django.fixtures import Settings

from funnel.periods import PeriodError, parse_period, trailing_four_quarters
from tests.funnel.factories import UTC, at

D = dt.date


def _range(name: str) -> tuple[dt.date, dt.date]:
    period = parse_period(name)
    return period.start, period.end


def test_it_makes_fy2026_start_in_april_2026_and_end_in_march_2027() -> None:
    # Fiscal year starts in April (default); FY2026 starts in calendar 2026.
    assert _range("FY2026") == (D(2026, 4, 1), D(2027, 3, 31))


def test_it_makes_fy2026q1_april_to_june() -> None:
    assert _range("FY2026Q1") == (D(2026, 4, 1), D(2026, 6, 30))


def test_it_makes_fy2026q2_and_q3() -> None:
    assert _range("FY2026Q2") == (D(2026, 7, 1), D(2026, 9, 30))
    assert _range("FY2026Q3") == (D(2026, 10, 1), D(2026, 12, 31))


def test_it_makes_fy2026q4_january_to_march_2027() -> None:
    assert _range("FY2026Q4") == (D(2027, 1, 1), D(2027, 3, 31))


def test_it_reads_a_calendar_month() -> None:
    assert _range("2026-05") == (D(2026, 5, 1), D(2026, 5, 31))


def test_it_ends_february_2028_on_the_leap_day() -> None:
    assert _range("2028-02") == (D(2028, 2, 1), D(2028, 2, 29))


def test_it_reads_explicit_dates() -> None:
    assert _range("2026-04-15..2026-05-14") == (D(2026, 4, 15), D(2026, 5, 14))


def test_it_reads_a_one_day_range() -> None:
    period = parse_period("2026-04-15..2026-04-15")
    assert (period.start, period.end, period.days) == (D(2026, 4, 15), D(2026, 4, 15), 1)


@pytest.mark.parametrize(
    "name",
    [
        "FY2026Q5",
        "FY2026Q0",
        "Q1",
        "2026-13",
        "2026-00",
        "2026-02-30..2026-03-31",
        "2026-06-30..2026-04-01",
        "",
        "last quarter",
    ],
)
def test_it_refuses_a_name_that_is_not_a_period(name: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(name)


def test_it_starts_a_period_at_local_midnight() -> None:
    # 2026-04-01 00:00 JST = 2026-03-31 15:00 UTC.
    period = parse_period("FY2026Q1")
    assert period.start_at == at("2026-03-31T15:00:00Z")


def test_it_ends_a_period_at_midnight_after_its_last_day() -> None:
    # (2026-06-30 + 1 day) 00:00 JST = 2026-06-30 15:00 UTC, exclusive.
    period = parse_period("FY2026Q1")
    assert period.end_at == at("2026-06-30T15:00:00Z")
    assert period.end_at.astimezone(UTC) == dt.datetime(2026, 6, 30, 15, tzinfo=UTC)


def test_it_counts_91_days_in_fy2026q1() -> None:
    # April 30 + May 31 + June 30 = 91.
    assert parse_period("FY2026Q1").days == 91


def test_it_gives_75_of_91_days_elapsed_on_june_15() -> None:
    # 2026-04-01 00:00 -> 2026-06-15 00:00 JST = 30 + 31 + 14 = 75 days of 91.
    elapsed, total = parse_period("FY2026Q1").elapsed_share(at("2026-06-15T00:00:00+09:00"))
    assert Fraction(elapsed, total) == Fraction(75, 91)


def test_it_clamps_the_elapsed_share_to_0_and_1() -> None:
    period = parse_period("FY2026Q1")
    before, total = period.elapsed_share(at("2026-03-31T23:59:59+09:00"))
    after, _ = period.elapsed_share(at("2026-07-01T00:00:01+09:00"))
    assert (before, after) == (0, total)


def test_it_takes_the_four_quarters_before_a_quarter_as_its_trailing_period() -> None:
    # FY2026Q1 starts 2026-04-01: FY2025Q1..FY2025Q4 = 2025-04-01..2026-03-31.
    trailing = trailing_four_quarters(parse_period("FY2026Q1"))
    assert (trailing.start, trailing.end) == (D(2025, 4, 1), D(2026, 3, 31))


def test_it_takes_the_four_quarters_before_a_later_quarter() -> None:
    # FY2026Q3 starts 2026-10-01: FY2025Q3..FY2026Q2 = 2025-10-01..2026-09-30.
    trailing = trailing_four_quarters(parse_period("FY2026Q3"))
    assert (trailing.start, trailing.end) == (D(2025, 10, 1), D(2026, 9, 30))


def test_it_takes_only_complete_quarters_before_a_month() -> None:
    # 2026-05 starts 2026-05-01; the quarters that end on or before it end 2026-03-31.
    trailing = trailing_four_quarters(parse_period("2026-05"))
    assert (trailing.start, trailing.end) == (D(2025, 4, 1), D(2026, 3, 31))


def test_it_takes_the_quarter_just_ended_before_a_range_starting_on_a_quarter() -> None:
    # A range starting 2026-07-01: FY2026Q1 (ends 2026-06-30) is complete -> FY2025Q2..FY2026Q1.
    trailing = trailing_four_quarters(parse_period("2026-07-01..2026-08-15"))
    assert (trailing.start, trailing.end) == (D(2025, 7, 1), D(2026, 6, 30))


def test_it_follows_a_january_fiscal_year(settings: Settings) -> None:
    settings.FISCAL_YEAR_START_MONTH = 1
    assert _range("FY2026") == (D(2026, 1, 1), D(2026, 12, 31))
    assert _range("FY2026Q1") == (D(2026, 1, 1), D(2026, 3, 31))
    assert _range("FY2026Q4") == (D(2026, 10, 1), D(2026, 12, 31))


def test_it_takes_the_previous_calendar_year_as_trailing_with_a_january_fiscal_year(
    settings: Settings,
) -> None:
    settings.FISCAL_YEAR_START_MONTH = 1
    trailing = trailing_four_quarters(parse_period("FY2026Q1"))
    assert (trailing.start, trailing.end) == (D(2025, 1, 1), D(2025, 12, 31))


def test_it_crosses_the_calendar_year_with_an_october_fiscal_year(
    settings: Settings,
) -> None:
    settings.FISCAL_YEAR_START_MONTH = 10
    assert _range("FY2026") == (D(2026, 10, 1), D(2027, 9, 30))
    assert _range("FY2026Q2") == (D(2027, 1, 1), D(2027, 3, 31))


def test_it_keeps_a_calendar_month_whatever_the_fiscal_year(
    settings: Settings,
) -> None:
    settings.FISCAL_YEAR_START_MONTH = 1
    assert _range("2026-05") == (D(2026, 5, 1), D(2026, 5, 31))
