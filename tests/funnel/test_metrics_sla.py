"""The MQL follow-up SLA of kpi-spec section 3 (funnel/metrics/sla.py, business_days.py).

Deadline: the end of the N-th (default 2) business day after the local date of mql_at,
counted from the day after; business days are Mon-Fri minus Japanese national holidays and
CompanyHoliday. Denominator: MQLs of P whose deadline has passed by as_of or that are
handled; numerator: those handled strictly before their deadline.

April 2026: Wed 1, Thu 2, Fri 3, ..., Thu 9, Fri 10, Sat 11, Sun 12, Mon 13, Tue 14, Wed 15.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable

import holidays
import pytest
from pytest_django.fixtures import Settings

from funnel import business_days
from funnel.metrics.filters import KpiFilters
from funnel.metrics.sla import deadline_runs, mql_follow_up_sla
from funnel.models import CompanyHoliday, Source
from tests.funnel.factories import at, deal, jst, kpis, load, person, window

pytestmark = pytest.mark.django_db

SourceMaker = Callable[..., Source]
LATE_AS_OF = jst(2026, 9, 1)


def _mqls(source: SourceMaker, *rows: tuple[dt.datetime, dt.datetime | None]) -> None:
    """One person per (mql_at, sql_at), created the day before its MQL."""
    load(
        source("ma"),
        persons=[
            person(
                f"M{index}",
                mql_at - dt.timedelta(days=1),
                email=f"m{index}@example.com",
                mql_at=mql_at,
                sql_at=sql_at,
            )
            for index, (mql_at, sql_at) in enumerate(rows)
        ],
    )


def _sla(
    period: str = "FY2026Q1", as_of: dt.datetime = LATE_AS_OF
) -> tuple[int, int, float | None]:
    """(denominator, numerator, rate) of the SLA; the rate as the snapshot reports it."""
    result = mql_follow_up_sla(window(period, as_of), KpiFilters())
    return result.eligible, result.handled_in_time, kpis(period, as_of)["mql_acceptance_sla"]


# --- weekends -------------------------------------------------------------------------


def test_it_counts_a_friday_mql_handled_tuesday_2359_59_in_time(source: SourceMaker) -> None:
    # MQL Fri 04-10 10:00 -> Mon 13 (1), Tue 14 (2) -> deadline Tue 24:00 = Wed 15 00:00
    _mqls(source, (jst(2026, 4, 10, 10), at("2026-04-14T23:59:59+09:00")))
    assert _sla() == (1, 1, 1.0)


def test_it_counts_a_friday_mql_handled_exactly_at_the_deadline_late(
    source: SourceMaker,
) -> None:
    # handled Wed 15 00:00 = the deadline: not strictly before it
    _mqls(source, (jst(2026, 4, 10, 10), at("2026-04-15T00:00:00+09:00")))
    assert _sla() == (1, 0, 0.0)


def test_it_gives_a_saturday_mql_the_same_tuesday_deadline(source: SourceMaker) -> None:
    # MQL Sat 04-11 -> Mon 13 (1), Tue 14 (2) -> deadline Wed 15 00:00
    _mqls(
        source,
        (jst(2026, 4, 11, 15), at("2026-04-14T23:59:59+09:00")),  # in time
        (jst(2026, 4, 11, 16), at("2026-04-14T15:00:00Z")),  # = Wed 15 00:00 JST: late
    )
    assert _sla() == (2, 1, 0.5)


def test_it_counts_business_days_from_the_day_after_a_sunday_mql(source: SourceMaker) -> None:
    # MQL Sun 04-12 -> Mon 13 (1), Tue 14 (2) -> deadline Wed 15 00:00; handled Tue 18:00
    _mqls(source, (jst(2026, 4, 12, 11), jst(2026, 4, 14, 18)))
    assert _sla() == (1, 1, 1.0)


def test_it_takes_the_local_date_of_an_mql_written_in_z(source: SourceMaker) -> None:
    # 2026-04-09T15:30:00Z is Fri 04-10 00:30 JST (Thursday in UTC)
    # -> Mon 13 (1), Tue 14 (2) -> deadline Wed 15 00:00 JST; handled Tue 14 12:00 -> in time
    _mqls(source, (at("2026-04-09T15:30:00Z"), jst(2026, 4, 14, 12)))
    assert _sla() == (1, 1, 1.0)


def test_it_gives_a_thursday_2330_mql_a_monday_deadline(source: SourceMaker) -> None:
    # MQL Thu 04-09 23:30 JST -> Fri 10 (1), Mon 13 (2) -> deadline Tue 14 00:00
    # handled Tue 14 12:00 -> late
    _mqls(source, (at("2026-04-09T23:30:00+09:00"), jst(2026, 4, 14, 12)))
    assert _sla() == (1, 0, 0.0)


# --- holidays -------------------------------------------------------------------------


def test_it_knows_golden_week_2026_from_the_holidays_package() -> None:
    japan = holidays.country_holidays("JP", years=2026)
    golden_week = {
        dt.date(2026, 4, 29),  # Showa Day (Wed)
        dt.date(2026, 5, 3),  # Constitution Day (Sun)
        dt.date(2026, 5, 4),  # Greenery Day (Mon)
        dt.date(2026, 5, 5),  # Children's Day (Tue)
        dt.date(2026, 5, 6),  # substitute holiday for May 3 (Wed)
    }
    assert golden_week <= set(japan)
    assert dt.date(2026, 4, 30) not in japan
    assert dt.date(2026, 5, 7) not in japan


def test_it_skips_showa_day(source: SourceMaker) -> None:
    # MQL Tue 04-28 -> Wed 29 Showa Day (off), Thu 30 (1), Fri 05-01 (2) -> deadline Sat 05-02
    # 00:00. Handled Fri 05-01 18:00: in time (it would be late if Apr 29 were a working day)
    _mqls(source, (jst(2026, 4, 28, 10), jst(2026, 5, 1, 18)))
    assert _sla() == (1, 1, 1.0)


def test_it_skips_the_golden_week_holidays_and_the_substitute_holiday(
    source: SourceMaker,
) -> None:
    # MQL Fri 05-01 -> Sat 2, Sun 3, Mon 4, Tue 5, Wed 6 (substitute) off; Thu 7 (1), Fri 8 (2)
    # -> deadline Sat 05-09 00:00
    _mqls(
        source,
        (jst(2026, 5, 1, 10), at("2026-05-08T23:59:59+09:00")),  # in time
        (jst(2026, 5, 1, 11), at("2026-05-09T00:00:00+09:00")),  # at the deadline: late
    )
    assert _sla() == (2, 1, 0.5)


def test_it_counts_from_the_day_after_an_mql_on_a_holiday(source: SourceMaker) -> None:
    # MQL Sun 05-03 (Constitution Day) -> 4, 5, 6 off; Thu 7 (1), Fri 8 (2) -> Sat 05-09 00:00
    _mqls(source, (jst(2026, 5, 3, 9), jst(2026, 5, 8, 17)))
    assert _sla() == (1, 1, 1.0)


def test_it_skips_new_years_day_when_the_deadline_crosses_the_year(source: SourceMaker) -> None:
    # MQL Wed 2025-12-31 -> Thu 2026-01-01 off, Fri 01-02 (1), Mon 01-05 (2) -> Tue 01-06 00:00
    _mqls(source, (jst(2025, 12, 31, 10), jst(2026, 1, 5, 15)))
    assert _sla("FY2025Q3") == (1, 1, 1.0)


def test_it_extends_the_deadline_over_a_company_holiday(source: SourceMaker) -> None:
    CompanyHoliday.objects.create(date=dt.date(2026, 4, 13), name="founding day")
    # MQL Fri 04-10 -> Mon 13 off -> Tue 14 (1), Wed 15 (2) -> deadline Thu 16 00:00
    # handled Wed 15 12:00: in time (late without the company holiday)
    _mqls(source, (jst(2026, 4, 10, 10), jst(2026, 4, 15, 12)))
    assert _sla() == (1, 1, 1.0)


def test_it_follows_the_number_of_business_days_setting(
    source: SourceMaker, settings: Settings
) -> None:
    settings.MQL_SLA_BUSINESS_DAYS = 3
    # MQL Fri 04-10 -> Mon 13 (1), Tue 14 (2), Wed 15 (3) -> deadline Thu 16 00:00
    _mqls(source, (jst(2026, 4, 10, 10), jst(2026, 4, 15, 12)))
    assert _sla() == (1, 1, 1.0)


# --- the denominator ------------------------------------------------------------------


def test_it_leaves_out_an_unhandled_mql_before_its_deadline(source: SourceMaker) -> None:
    # MQL Fri 04-10, deadline Wed 15 00:00, not handled; as_of Tue 14 12:00
    _mqls(source, (jst(2026, 4, 10, 10), None))
    assert _sla(as_of=jst(2026, 4, 14, 12)) == (0, 0, None)


def test_it_counts_an_unhandled_mql_once_its_deadline_has_passed(source: SourceMaker) -> None:
    # as_of = the deadline (Wed 15 00:00): deadline <= as_of -> in the denominator, not in time
    _mqls(source, (jst(2026, 4, 10, 10), None))
    assert _sla(as_of=jst(2026, 4, 15)) == (1, 0, 0.0)


def test_it_counts_an_mql_handled_before_its_deadline_has_passed(source: SourceMaker) -> None:
    # handled Mon 13 09:00, as_of Mon 13 12:00 (deadline Wed 15 00:00 still ahead)
    _mqls(source, (jst(2026, 4, 10, 10), jst(2026, 4, 13, 9)))
    assert _sla(as_of=jst(2026, 4, 13, 12)) == (1, 1, 1.0)


def test_it_ignores_a_handling_after_as_of(source: SourceMaker) -> None:
    # SQL Tue 14 10:00 does not exist yet at as_of Tue 14 09:00; deadline not passed
    _mqls(source, (jst(2026, 4, 10, 10), jst(2026, 4, 14, 10)))
    assert _sla(as_of=jst(2026, 4, 14, 9)) == (0, 0, None)


def test_it_counts_only_the_mqls_of_the_period(source: SourceMaker) -> None:
    _mqls(
        source,
        (at("2026-03-31T23:59:59+09:00"), jst(2026, 4, 1, 10)),  # FY2025Q4 MQL
        (jst(2026, 7, 1, 10), jst(2026, 7, 1, 11)),  # FY2026Q2 MQL
    )
    assert _sla() == (0, 0, None)


def test_it_leaves_out_a_person_that_skipped_mql(source: SourceMaker) -> None:
    load(source("sfa"), persons=[person("S1", jst(2026, 4, 1), sql_at=jst(2026, 4, 2))])
    assert _sla() == (0, 0, None)


def test_it_counts_an_mql_of_june_30_handled_in_july(source: SourceMaker) -> None:
    # MQL Tue 06-30 -> Wed 07-01 (1), Thu 07-02 (2) -> deadline Fri 07-03 00:00
    _mqls(source, (jst(2026, 6, 30, 17), jst(2026, 7, 2, 20)))
    assert _sla() == (1, 1, 1.0)


# --- what handles an MQL --------------------------------------------------------------


def test_it_counts_an_opportunity_that_existed_before_the_mql_as_in_time(
    source: SourceMaker,
) -> None:
    load(
        source("sfa"),
        persons=[person("P1", jst(2026, 3, 20), email="p@example.com", mql_at=jst(2026, 4, 10))],
        deals=[deal("D1", jst(2026, 4, 1), person_external_id="P1")],
    )
    assert _sla() == (1, 1, 1.0)


def test_it_takes_the_earliest_handling_date(source: SourceMaker) -> None:
    # MQL Fri 04-10; SQL Mon 04-20 (late) but the opportunity is created Tue 14 10:00 (in time)
    load(
        source("sfa"),
        persons=[
            person(
                "P1",
                jst(2026, 4, 1),
                email="p@example.com",
                mql_at=jst(2026, 4, 10, 10),
                sql_at=jst(2026, 4, 20),
            )
        ],
        deals=[deal("D1", jst(2026, 4, 14, 10), person_external_id="P1")],
    )
    assert _sla() == (1, 1, 1.0)


def test_it_counts_a_disqualification_as_handling(source: SourceMaker) -> None:
    load(
        source("sfa"),
        persons=[
            person(
                "P1",
                jst(2026, 4, 1),
                mql_at=jst(2026, 4, 10, 10),
                disqualified_at=jst(2026, 4, 13, 16),
                disqualify_reason="no_budget",
            ),
            person(
                "P2",
                jst(2026, 4, 1),
                mql_at=jst(2026, 4, 10, 10),
                disqualified_at=jst(2026, 4, 16, 16),  # after Wed 15 00:00: late
                disqualify_reason="no_timing",
            ),
        ],
    )
    assert _sla() == (2, 1, 0.5)


def test_it_counts_a_win_as_handling(source: SourceMaker) -> None:
    # A deal entered after the fact: created Mon 04-20 (late) but closed won Tue 14 09:00,
    # before its creation (spec 6 accepts that) -> handled at won_at, in time
    load(
        source("sfa"),
        persons=[person("P1", jst(2026, 4, 1), mql_at=jst(2026, 4, 10, 10))],
        deals=[
            deal(
                "D1",
                jst(2026, 4, 20),
                "won",
                100,
                closed_at=jst(2026, 4, 14, 9),
                person_external_id="P1",
            )
        ],
    )
    assert _sla() == (1, 1, 1.0)


# --- the runs of days sharing a deadline ------------------------------------------------


def test_it_finds_the_deadline_of_every_day_of_the_quarter(source: SourceMaker) -> None:
    # One MQL a day at 10:00; every other one handled exactly at its deadline (late), the
    # rest a second before it. The database must find each day's run among all of them.
    runs = deadline_runs(window("FY2026Q1", LATE_AS_OF))
    rows = []
    for index in range(91):
        mql_at = jst(2026, 4, 1, 10) + dt.timedelta(days=index)
        deadline = next(due for start, end, due in runs if start <= mql_at < end)
        in_time = index % 2 == 0
        rows.append((mql_at, deadline - dt.timedelta(seconds=1) if in_time else deadline))
    _mqls(source, *rows)
    assert _sla()[:2] == (91, 46)


def test_it_counts_the_mqls_of_a_one_day_period(source: SourceMaker) -> None:
    # MQL Fri 04-10 -> deadline Wed 15 00:00: one run, no search
    _mqls(source, (jst(2026, 4, 10, 10), jst(2026, 4, 14, 23, 59, 59)))
    assert _sla("2026-04-10..2026-04-10") == (1, 1, 1.0)


@pytest.mark.parametrize("country", ["JP", "US", "DE"])
def test_national_holidays_are_the_librarys(country: str) -> None:
    for year in range(2020, 2031):
        library = frozenset(holidays.country_holidays(country, years=year).keys())
        assert business_days._national_holidays(country, year) == library


def test_the_sla_loads_only_its_countrys_holidays() -> None:
    """Importing holidays.countries loads all 250 countries (~40 ms of every `kpis`)."""
    probe = (
        "import sys, django; django.setup(); "
        "from funnel import business_days; "
        "assert business_days._national_holidays('JP', 2026); "
        "print('holidays.countries' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kpi_dashboard.settings"}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
