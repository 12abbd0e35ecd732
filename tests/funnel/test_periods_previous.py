"""The period a KPI is compared with (funnel/periods.py previous_period, period_kind): the
previous fiscal quarter, calendar month or fiscal year; for explicit dates, the same number
of days just before."""

from __future__ import annotations

import datetime as dt

import pytest
from pytest_django.fixtures import Settings

from funnel.periods import parse_period, period_kind, previous_period

D = dt.date


def _previous(name: str) -> tuple[str, dt.date, dt.date]:
    period = previous_period(parse_period(name))
    return period.name, period.start, period.end


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("FY2026Q1", "quarter"),
        ("FY2026", "year"),
        ("2026-05", "month"),
        ("2026-04-01..2026-06-30", "custom"),
        ("2026-04-01/2026-04-30", "custom"),
    ],
)
def test_it_tells_the_kind_of_a_period(name: str, kind: str) -> None:
    assert period_kind(parse_period(name)) == kind


def test_it_compares_a_quarter_with_the_previous_quarter() -> None:
    assert _previous("FY2026Q2") == ("FY2026Q1", D(2026, 4, 1), D(2026, 6, 30))


def test_it_compares_the_first_quarter_with_the_last_of_the_previous_fiscal_year() -> None:
    assert _previous("FY2026Q1") == ("FY2025Q4", D(2026, 1, 1), D(2026, 3, 31))


def test_it_compares_a_month_with_the_previous_month() -> None:
    assert _previous("2026-05") == ("2026-04", D(2026, 4, 1), D(2026, 4, 30))


def test_it_compares_january_with_the_previous_december() -> None:
    assert _previous("2026-01") == ("2025-12", D(2025, 12, 1), D(2025, 12, 31))


def test_it_compares_march_with_a_leap_february() -> None:
    assert _previous("2028-03") == ("2028-02", D(2028, 2, 1), D(2028, 2, 29))


def test_it_compares_a_fiscal_year_with_the_previous_fiscal_year() -> None:
    assert _previous("FY2026") == ("FY2025", D(2025, 4, 1), D(2026, 3, 31))


def test_it_compares_explicit_dates_with_as_many_days_just_before() -> None:
    # 2026-04-15..2026-05-14 is 30 days; the 30 days before end on 2026-04-14.
    name, start, end = _previous("2026-04-15..2026-05-14")
    assert (start, end) == (D(2026, 3, 16), D(2026, 4, 14))
    assert name == "2026-03-16..2026-04-14"
    assert (end - start).days + 1 == 30


def test_it_compares_one_day_with_the_day_before() -> None:
    assert _previous("2026-03-01..2026-03-01")[1:] == (D(2026, 2, 28), D(2026, 2, 28))


def test_it_compares_explicit_dates_that_look_like_a_quarter_by_their_days() -> None:
    # Written as dates, FY2026Q1 (91 days) is custom: the 91 days before, not FY2025Q4 (90).
    assert _previous("2026-04-01..2026-06-30")[1:] == (D(2025, 12, 31), D(2026, 3, 31))


def test_it_follows_the_fiscal_year_start_month(settings: Settings) -> None:
    settings.FISCAL_YEAR_START_MONTH = 1
    assert _previous("FY2026Q1") == ("FY2025Q4", D(2025, 10, 1), D(2025, 12, 31))
    assert _previous("FY2026") == ("FY2025", D(2025, 1, 1), D(2025, 12, 31))


def test_a_previous_period_is_itself_parseable() -> None:
    for name in ("FY2026Q1", "FY2026", "2026-01", "2026-04-15..2026-05-14"):
        previous = previous_period(parse_period(name))
        assert parse_period(previous.name) == previous
