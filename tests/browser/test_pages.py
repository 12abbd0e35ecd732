"""The pages in real Chromium: logins, the shared dashboard against the KPI engine, filters,
drill-down and back, the KPI tree's what-if, the quarterly report and its downloads, roles,
languages, the empty database. Screenshots go to test-artifacts/browser/ for a human look.

Numbers are never read against the live clock: every URL fixes `as_of`, and the expected
values come from `kpi_snapshot` for the same period, as_of and filters (kpi-spec section 7),
formatted by `format_kpi` as the page formats them.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from openpyxl import load_workbook

from accounts.models import UserPreference
from funnel.demo import DEMO_USERS, ensure_demo_users, load_demo
from funnel.metrics.catalogue import MARKETING_KPIS, SALES_KPIS, SHARED_KPIS
from funnel.metrics.filters import KpiFilters
from funnel.metrics.formatting import format_kpi, format_money
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.periods import parse_as_of, parse_period
from tests.browser.conftest import Tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenTab = Callable[..., Tab]

TODAY = dt.date(2026, 11, 25)
AS_OF = "2026-11-25T00:00:00+09:00"
PERIOD = "FY2026Q3"  # the quarter `AS_OF` falls in, two thirds elapsed
REPORT_PERIOD = "FY2026Q2"  # the last closed quarter
LOGINS = {user.username: (user.username, user.password) for user in DEMO_USERS}
PAGE_KPIS = (*SHARED_KPIS, *MARKETING_KPIS, *SALES_KPIS)


def dashboard_path(period: str = PERIOD, **params: str) -> str:
    query = "&".join(f"{key}={quote(value)}" for key, value in params.items())
    return f"/?period={period}&as_of={quote(AS_OF)}" + (f"&{query}" if query else "")


def snapshot(
    period: str = PERIOD, filters: KpiFilters | None = None, what_if: Any = None
) -> dict[str, Any]:
    return json_ready(kpi_snapshot(parse_period(period), parse_as_of(AS_OF), filters, what_if))


def expected_values(filters: KpiFilters | None = None, keys: Iterable[str] = PAGE_KPIS) -> dict:
    kpis = snapshot(filters=filters)["kpis"]
    return {key: format_kpi(key, kpis[key]) for key in keys}


def values_on_page(tab: Tab, keys: Iterable[str] = PAGE_KPIS) -> dict[str, str]:
    found = {}
    for key in keys:
        value = tab.page.locator(f"[data-kpi='{key}'] .value")
        assert value.count() == 1, f"{key}: {value.count()} values on the page"
        found[key] = value.inner_text().strip()
    return found


def wait_for_charts(tab: Tab) -> None:
    """plotly draws an svg.main-svg into each chart's div once it has rendered."""
    tab.page.wait_for_selector("#funnel-chart .main-svg")
    tab.page.wait_for_selector("#trend-chart .main-svg")


def query_of(tab: Tab) -> dict[str, list[str]]:
    return parse_qs(urlsplit(tab.page.url).query)


def path_of(tab: Tab) -> str:
    return urlsplit(tab.page.url).path


def html_lang(tab: Tab) -> str:
    return str(tab.page.get_attribute("html", "lang"))


@pytest.fixture
def demo() -> None:
    """A small demo company (1,500 persons): about a second to load on either database."""
    load_demo(TODAY, persons=1500, seed=2026)


@pytest.fixture
def demo_users() -> None:
    """The demo logins on an empty database."""
    ensure_demo_users()


# --- logins -------------------------------------------------------------------------------


def test_every_role_logs_in_through_the_form_and_lands_on_the_dashboard(
    open_tab: OpenTab, demo_users: None
) -> None:
    for user in DEMO_USERS:
        tab = open_tab("ja-JP")
        tab.log_in(user.username, user.password)
        assert path_of(tab) == "/", user.username
        assert tab.page.locator("h1").first.inner_text().startswith("共通ダッシュボード")
        assert tab.page.inner_text("header .user") == user.username
        admin_links = tab.page.locator("header a[href='/admin/']").count()
        assert admin_links == (1 if user.is_staff else 0), user.username

    wrong = open_tab("en-US")
    wrong.log_in("sales", "not-the-password")
    assert path_of(wrong) == "/accounts/login/"
    assert wrong.page.locator("p.error").is_visible()


# --- the dashboard ------------------------------------------------------------------------


def test_the_dashboard_shows_the_engines_numbers_and_draws_every_chart(
    open_tab: OpenTab, demo: None
) -> None:
    tab = open_tab("ja-JP")
    tab.log_in(*LOGINS["marketing"])
    tab.goto(dashboard_path())
    wait_for_charts(tab)
    assert values_on_page(tab) == expected_values()
    assert tab.page.locator("#funnel-chart .main-svg").count() >= 1
    assert tab.page.locator("#trend-chart .main-svg").count() >= 1
    assert tab.page.locator("#channel-table tbody tr").count() >= 5
    assert html_lang(tab) == "ja"
    tab.screenshot("dashboard-ja-1280")

    english = open_tab("en-US")
    english.log_in(*LOGINS["sales"])
    english.goto(dashboard_path())
    wait_for_charts(english)
    assert html_lang(english) == "en"
    assert english.page.locator("h1").first.inner_text().startswith("Shared dashboard")
    assert values_on_page(english) == expected_values()
    english.screenshot("dashboard-en-1280")

    phone = open_tab("ja-JP", width=390)
    phone.log_in(*LOGINS["executive"])
    phone.goto(dashboard_path())
    wait_for_charts(phone)
    assert values_on_page(phone) == expected_values()
    overflow = phone.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    phone.screenshot("dashboard-ja-390")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 390px"


def test_a_filter_chosen_in_the_form_goes_into_the_url_and_the_numbers(
    open_tab: OpenTab, demo: None
) -> None:
    tab = open_tab("ja-JP")
    tab.log_in(*LOGINS["marketing"])
    tab.goto(dashboard_path())
    page = tab.page

    page.select_option("#f-channel", "webinar")
    with page.expect_navigation():
        page.click("#dash-filters button[type=submit]")
    query = query_of(tab)
    assert query["channel"] == ["webinar"]
    assert query["period"] == [PERIOD] and query["as_of"] == [AS_OF]
    assert page.input_value("#f-channel") == "webinar"
    assert values_on_page(tab) == expected_values(KpiFilters(channel="webinar"))
    wait_for_charts(tab)

    page.select_option("#f-channel", "")
    page.select_option("#f-origin", "sales")
    with page.expect_navigation():
        page.click("#dash-filters button[type=submit]")
    query = query_of(tab)
    assert query["origin"] == ["sales"] and "channel" not in query
    assert values_on_page(tab) == expected_values(KpiFilters(origin="sales"))

    with page.expect_navigation():
        page.click("#dash-filters a.clear")
    assert "origin" not in query_of(tab)
    assert values_on_page(tab) == expected_values()


def test_a_number_drills_down_to_its_records_and_back(open_tab: OpenTab, demo: None) -> None:
    tab = open_tab("ja-JP")
    tab.log_in(*LOGINS["sales"])
    tab.goto(dashboard_path())
    page = tab.page
    kpis = snapshot()["kpis"]
    dashboard_url = page.url

    with page.expect_navigation():
        page.click("tr[data-kpi='leads'] a.value")
    assert path_of(tab) == "/records/persons/"
    assert query_of(tab)["kpi"] == ["leads"] and query_of(tab)["as_of"] == [AS_OF]
    assert page.get_attribute(".record-count", "data-count") == str(kpis["leads"])
    list_url = page.url
    first = page.locator("table.records[data-records='persons'] tbody tr").first
    person_id = first.get_attribute("data-id")
    with page.expect_navigation():
        first.locator("a").first.click()
    assert path_of(tab) == f"/records/persons/{person_id}/"
    assert page.locator("[data-stages]").is_visible()

    page.go_back()
    assert page.url == list_url
    assert page.get_attribute(".record-count", "data-count") == str(kpis["leads"])
    page.go_back()
    assert page.url == dashboard_url
    assert values_on_page(tab, ["leads"]) == expected_values(keys=["leads"])

    with page.expect_navigation():
        page.click("article[data-kpi='won_amount'] a.value")
    assert path_of(tab) == "/records/opportunities/"
    assert page.get_attribute(".record-count", "data-count") == str(kpis["won_deals"])
    rows = page.locator("table.records[data-records='opportunities'] tbody tr")
    assert rows.count() == kpis["won_deals"]
    with page.expect_navigation():
        rows.first.locator("a").first.click()
    assert path_of(tab).startswith("/records/opportunities/")
    assert page.locator("h1 .pill.won").is_visible()
    page.go_back()
    page.go_back()
    assert page.url == dashboard_url


def test_the_what_if_recalculates_the_required_numbers_and_budget(
    open_tab: OpenTab, demo: None
) -> None:
    tab = open_tab("ja-JP")
    tab.log_in(*LOGINS["marketing"])
    tab.goto(dashboard_path())
    page = tab.page
    base = snapshot()["tree"]
    assert base["won_amount"]["required"] is not None, "the demo sets a revenue target"

    def required(node: str) -> str:
        cell = f"#tree-table tr[data-node='{node}'] [data-cell='required']"
        return str(page.eval_on_selector(cell, "cell => cell.firstChild.textContent")).strip()

    assert required("leads") == format_kpi("leads", base["leads"]["required"])
    assert required("budget") == format_money(base["budget"]["required"])

    page.fill("#wi-r_mql_sql", "50")
    page.press("#wi-r_mql_sql", "Enter")
    page.wait_for_function("() => location.search.includes('what_if_r_mql_sql=0.5')")
    page.wait_for_selector("#tree-table:not([aria-busy])")
    after = snapshot(what_if={"r_mql_sql": Fraction(1, 2)})["tree"]
    assert after["leads"]["required"] != base["leads"]["required"]
    assert after["budget"]["required"] != base["budget"]["required"]
    for node in ("mqls", "leads"):
        assert required(node) == format_kpi(node, after[node]["required"]), node
    assert required("sqls") == format_kpi("sqls", base["sqls"]["required"])
    assert required("budget") == format_money(after["budget"]["required"])
    assert page.locator("#tree-table tr[data-node='leads'] .was").is_visible()

    # The what-if is in the URL: reloading it shows the same tree, rendered by the server.
    page.reload()
    assert required("leads") == format_kpi("leads", after["leads"]["required"])
    assert required("budget") == format_money(after["budget"]["required"])


# --- the quarterly report -----------------------------------------------------------------


@pytest.mark.pdf
@pytest.mark.poppler
def test_the_quarterly_report_and_its_pdf_and_excel_show_the_won_amount(
    open_tab: OpenTab, demo: None, tmp_path: Path
) -> None:
    won = snapshot(REPORT_PERIOD)["kpis"]["won_amount"]
    won_text = format_money(won)
    url = f"/reports/quarterly/{REPORT_PERIOD}/?as_of={quote(AS_OF)}"

    tab = open_tab("ja-JP")
    tab.log_in(*LOGINS["executive"])
    tab.goto(url)
    page = tab.page
    assert html_lang(tab) == "ja"
    assert page.inner_text("[data-figure='kgi-actual']").strip() == won_text
    assert page.inner_text("tr[data-kpi='won_amount'] [data-col='current']").strip() == won_text
    tab.screenshot("report-ja-1280")

    with page.expect_download() as pdf_info:
        page.click("a[href*='report.pdf']")
    pdf = pdf_info.value
    assert pdf.suggested_filename == f"kpi-report-{REPORT_PERIOD}.pdf"
    pdf_path = tmp_path / pdf.suggested_filename
    pdf.save_as(pdf_path)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert won_text in text
    assert REPORT_PERIOD in text

    with page.expect_download() as xlsx_info:
        page.click("a[href*='report.xlsx']")
    xlsx = xlsx_info.value
    assert xlsx.suggested_filename == f"kpi-report-{REPORT_PERIOD}.xlsx"
    xlsx_path = tmp_path / xlsx.suggested_filename
    xlsx.save_as(xlsx_path)
    book = load_workbook(xlsx_path)
    numbers = [
        cell.value
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, int | float) and not isinstance(cell.value, bool)
    ]
    assert won in numbers, f"{won} is not a number in the workbook"

    english = open_tab("en-US")
    english.log_in(*LOGINS["opsadmin"])
    english.goto(url)
    assert html_lang(english) == "en"
    assert english.page.inner_text("[data-figure='kgi-actual']").strip() == won_text
    english.screenshot("report-en-1280")


# --- roles --------------------------------------------------------------------------------


def test_an_executive_has_no_records_link_and_gets_a_403_on_the_records(
    open_tab: OpenTab, demo: None
) -> None:
    tab = open_tab("ja-JP")
    tab.log_in(*LOGINS["executive"])
    tab.goto(dashboard_path())
    page = tab.page
    assert page.locator("header nav a[href^='/records/']").count() == 0
    assert page.locator("header nav a[href^='/reports/']").count() == 1
    assert page.locator("header a[href='/admin/']").count() == 0
    # roles.py: "a link is never shown to a user who would get a 403".
    record_links = page.locator("main a[href^='/records/']").count()

    tab.expect_error(r"status of 403")
    response = tab.goto("/records/persons/")
    assert response is not None and response.status == 403
    response = tab.goto(f"/records/opportunities/?kpi=won_deals&period={PERIOD}")
    assert response is not None and response.status == 403
    assert record_links == 0, f"the executive's dashboard links {record_links} times to records"


# --- languages ----------------------------------------------------------------------------


def test_the_language_follows_the_browser_then_the_users_choice(
    open_tab: OpenTab, demo_users: None
) -> None:
    japanese = open_tab("ja-JP")
    japanese.goto("/accounts/login/")
    assert html_lang(japanese) == "ja"
    assert japanese.page.inner_text("h1") == "ログイン"

    english = open_tab("en-US")
    english.goto("/accounts/login/")
    assert html_lang(english) == "en"
    assert english.page.inner_text("h1") == "Log in"
    english.log_in(*LOGINS["sales"])
    assert html_lang(english) == "en"

    with english.page.expect_navigation():
        english.page.select_option("header select[name=language]", "ja")
    assert html_lang(english) == "ja"
    assert path_of(english) == "/"
    assert UserPreference.objects.get(user__username="sales").language == "ja"
    english.log_out()
    assert path_of(english) == "/accounts/login/"

    # A fresh English browser (no language cookie): the saved preference wins once logged in.
    again = open_tab("en-US")
    again.log_in(*LOGINS["sales"])
    assert html_lang(again) == "ja"
    assert again.page.locator("h1").first.inner_text().startswith("共通ダッシュボード")

    with again.page.expect_navigation():
        again.page.select_option("header select[name=language]", "en")
    assert html_lang(again) == "en"
    again.log_out()
    last = open_tab("ja-JP")
    last.log_in(*LOGINS["sales"])
    assert html_lang(last) == "en"


# --- the empty database -------------------------------------------------------------------


def test_an_empty_database_shows_empty_states_without_errors(
    open_tab: OpenTab, demo_users: None
) -> None:
    tab = open_tab("ja-JP")
    tab.log_in(*LOGINS["marketing"])
    tab.goto(dashboard_path())
    page = tab.page
    assert page.locator("[data-no-data]").is_visible()
    assert page.locator("#funnel-chart[data-empty] .empty").is_visible()
    assert page.locator("#trend-chart[data-empty] .empty").is_visible()
    assert page.locator("[data-empty-tree]").is_visible()
    assert page.locator("#channel-table").count() == 0
    assert values_on_page(tab) == expected_values()
    tab.screenshot("dashboard-empty-ja-1280")

    page.fill("#wi-r_mql_sql", "50")
    page.press("#wi-r_mql_sql", "Enter")
    page.wait_for_function("() => location.search.includes('what_if_r_mql_sql=0.5')")

    response = tab.goto(f"/records/persons/?kpi=leads&period={PERIOD}&as_of={quote(AS_OF)}")
    assert response is not None and response.status == 200
    assert page.locator(".empty-state").is_visible()
    response = tab.goto(f"/reports/quarterly/{PERIOD}/?as_of={quote(AS_OF)}")
    assert response is not None and response.status == 200
    assert page.inner_text("[data-figure='kgi-actual']").strip() == format_money(0)


def test_the_pages_have_a_favicon(open_tab: OpenTab, demo_users: None) -> None:
    """Browsers ask every site for an icon; a 404 there is a console error on every page."""
    tab = open_tab("en-US")
    tab.goto("/accounts/login/")
    icon = tab.page.evaluate(
        "() => (document.querySelector('link[rel~=icon]') || {}).href"
        " || location.origin + '/favicon.ico'"
    )
    response = tab.context.request.get(icon)
    assert response.ok, f"{icon}: {response.status}"
