"""Bad query input is a clear 400 (404 for a report that cannot exist), never a 500 or a
runaway request (issue: hardening): periods are bounded in years and span, NUL characters
are refused before any view, what-if numbers are bounded, and a fuzz over every parameter
of every page and endpoint keeps it so."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel.metrics.filters import KpiFilters
from funnel.metrics.sla import deadline_runs, mql_days, mql_follow_up_sla
from funnel.metrics.window import Window
from funnel.models import Person, Source
from funnel.periods import MAX_PERIOD_DAYS, parse_period
from tests.funnel.factories import jst, load, person

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]
PAGES = ("/", "/api/v1/kpis/", "/records/persons/", "/records/opportunities/")


@pytest.fixture
def marketing(client: Client, role_user: RoleUser) -> Client:
    client.force_login(role_user("marketing"))
    return client


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    "period",
    ["0002-01-01..9998-12-31", "0001-01", "FY9999Q4", "1899-12", "2020-01-01..2031-01-01"],
)
def test_it_refuses_periods_outside_the_supported_years_or_span(
    marketing: Client, path: str, period: str
) -> None:
    response = marketing.get(path, {"period": period})
    assert response.status_code == 400
    text = response.content.decode()
    assert "1900-01-01 and 2999-12-31" in text or f"{MAX_PERIOD_DAYS:,} days" in text


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("as_of", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_it_refuses_as_of_at_the_ends_of_the_calendar(
    marketing: Client, path: str, as_of: str
) -> None:
    response = marketing.get(path, {"as_of": as_of})
    assert response.status_code == 400
    assert "1900-01-01 and 2999-12-31" in response.content.decode()


@pytest.mark.parametrize("suffix", ["", "report.pdf", "report.xlsx"])
def test_a_report_that_cannot_exist_is_not_found(marketing: Client, suffix: str) -> None:
    response = marketing.get(f"/reports/quarterly/FY9999Q4/{suffix}")
    assert response.status_code == 404
    assert "1900-01-01 and 2999-12-31" in response.content.decode()


def test_the_kpis_command_names_the_limit() -> None:
    with pytest.raises(CommandError, match=r"at most 3,660 days"):
        call_command("kpis", "--period", "2000-01-01..2030-12-31", stdout=StringIO())


@pytest.mark.parametrize("path", [*PAGES, "/reports/quarterly/FY2026Q1/"])
@pytest.mark.parametrize("name", ["channel", "q", "period", "as_of", "owner", "x"])
def test_it_refuses_a_nul_character_in_any_parameter(
    marketing: Client, path: str, name: str
) -> None:
    response = marketing.get(path, {name: "web\x00inar"})
    assert response.status_code == 400
    assert f"The parameter '{name}' contains a NUL character" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("what_if_average_deal_size", "1e309"),
        ("what_if_r_mql_sql", "1e-400"),
        ("what_if_cpa", "9" * 150),
        ("what_if_r_opp_won", "0.0000001"),
        ("what_if_cpa", "1000000000001"),
        ("what_if_r_lead_mql", "-0.5"),
        ("what_if_r_lead_mql", "nan"),
    ],
)
@pytest.mark.parametrize("path", ["/", "/api/v1/kpis/"])
def test_it_refuses_what_if_numbers_it_cannot_answer(
    marketing: Client, path: str, name: str, value: str
) -> None:
    response = marketing.get(path, {"period": "FY2026Q1", name: value})
    assert response.status_code == 400
    assert name in response.content.decode()


def test_a_long_window_costs_what_its_mqls_cost(source: Callable[..., Source]) -> None:
    """The SLA cuts only the days between the window's first and last MQL into runs."""
    load(
        source("ma"),
        persons=[
            person("a", jst(2026, 4, 1), mql_at=jst(2026, 4, 10, 10)),
            person("b", jst(2026, 4, 1), mql_at=jst(2026, 4, 13, 10), sql_at=jst(2026, 4, 14)),
        ],
    )
    as_of = jst(2026, 7, 1)
    quarter, decade = (
        Window(parse_period("FY2026Q1"), as_of),
        Window(parse_period("2020-01-01..2029-12-31"), as_of),
    )
    assert mql_days(decade) == (dt.date(2026, 4, 10), dt.date(2026, 4, 13))
    assert len(deadline_runs(decade, mql_days(decade))) <= 4
    assert mql_follow_up_sla(decade, KpiFilters()) == mql_follow_up_sla(quarter, KpiFilters())
    assert mql_follow_up_sla(decade, KpiFilters()).eligible == 2
    assert Person.objects.count() == 2


# --- fuzz ------------------------------------------------------------------------------

PARAMETERS = (
    "period",
    "as_of",
    "origin",
    "channel",
    "campaign",
    "industry",
    "company_size",
    "owner",
    "what_if_average_deal_size",
    "what_if_cpa",
    "what_if_r_lead_mql",
    "what_if_r_mql_sql",
    "what_if_r_sql_opp",
    "what_if_r_opp_won",
    "kpi",
    "q",
    "page",
    "format",
    "start",
    "end",
)
NASTY = st.sampled_from(
    [
        "",
        "\x00",
        "%00",
        "0001-01",
        "9999-12",
        "FY9999Q4",
        "FY0000",
        "0002-01-01..9998-12-31",
        "2026-02-30",
        "9999-12-31T23:59:59-14:00",
        "2026-06-15T00:00:00+25:00",
        "1e309",
        "1e-400",
        "-1",
        "nan",
        "inf",
        "9" * 150,
        "csv",
        "html",
        "xlsx",
        "leads",
        "won_deals",
        "opportunity_rate",
        "marketing",
        "unknown",
        "'; DROP TABLE funnel_person; --",
        "<script>alert(1)</script>",
        "ウェビナー",
        "🎉",
        "a" * 5000,
    ]
)
VALUES = st.one_of(NASTY, st.text(max_size=40))
QUERIES = st.dictionaries(st.sampled_from(PARAMETERS), VALUES, max_size=5)
FUZZED = (
    "/",
    "/api/v1/kpis/",
    "/records/persons/",
    "/records/opportunities/",
    "/reports/quarterly/",
    "/reports/quarterly/FY2026Q1/",
    "/reports/quarterly/FY2026Q1/report.xlsx",
)


@pytest.mark.parametrize("path", FUZZED)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=QUERIES)
def test_no_parameter_makes_a_page_fail(
    marketing: Client, path: str, query: dict[str, str]
) -> None:
    response = marketing.get(path, query)
    assert response.status_code in (200, 302, 400, 404), (path, query, response.status_code)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(period=VALUES, suffix=st.sampled_from(["", "report.xlsx"]))
def test_no_report_name_makes_the_report_fail(marketing: Client, period: str, suffix: str) -> None:
    if not period.strip() or "/" in period or "\r" in period or "\n" in period:
        return  # not a path segment the router gives the view
    response = marketing.get(f"/reports/quarterly/{quote(period, safe='')}/{suffix}")
    assert response.status_code in (200, 400, 404), (period, response.status_code)
