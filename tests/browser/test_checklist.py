"""The alignment checklist in real Chromium, in Japanese and English: the demo company's
items judged from its data, the shared dashboard's as both teams open it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from funnel.demo import DEMO_USERS, load_demo
from tests.browser.conftest import Tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenTab = Callable[..., Tab]
LOGINS = {user.username: (user.username, user.password) for user in DEMO_USERS}


@pytest.mark.parametrize(("locale", "title"), [("ja-JP", "共通KPI設計チェックリスト"),
                                                ("en-US", "Alignment checklist")])  # fmt: skip
def test_the_checklist_on_demo_data(open_tab: OpenTab, locale: str, title: str) -> None:
    load_demo(dt.date(2026, 11, 25), persons=1500, seed=2026)
    tab = open_tab(locale)
    tab.log_in(*LOGINS["marketing"])
    tab.goto("/")
    page = tab.page
    with page.expect_navigation():
        page.locator("header a[href='/alignment/checklist/']").click()
    assert page.locator("h1").inner_text() == title
    items = page.locator("ol.items > li")
    assert items.count() == 15
    assert page.locator("li[data-item=linked]").get_attribute("data-holds") == "yes"
    # Marketing has opened the dashboard (just now), sales not yet: the item says so.
    dashboard = page.locator("li[data-item=dashboard]")
    assert dashboard.get_attribute("data-holds") == "no"
    sales = open_tab(locale)
    sales.log_in(*LOGINS["sales"])
    sales.goto("/")
    tab.goto("/alignment/checklist/")
    assert page.locator("li[data-item=dashboard]").get_attribute("data-holds") == "yes"
    assert page.locator("li[data-item=meetings]").get_attribute("data-holds") == "no"
    tab.screenshot(f"checklist-{locale}")


def test_what_converts_on_demo_data(open_tab: OpenTab) -> None:
    load_demo(dt.date(2026, 11, 25), persons=1500, seed=2026)
    tab = open_tab("ja-JP")
    tab.log_in(*LOGINS["marketing"])
    tab.goto("/alignment/what-converts/?period=FY2026Q2")
    page = tab.page
    assert page.locator("[data-field=company]").is_visible()
    assert page.locator("table[data-patterns] tbody tr").count() >= 4
    first = page.locator("table[data-patterns] tbody tr a").first
    with page.expect_navigation():
        first.click()
    assert "/records/persons/" in page.url
    tab.goto("/alignment/what-converts/?period=FY2026Q2")
    tab.screenshot("what-converts-ja-JP")


def test_why_mqls_did_not_convert_on_demo_data(open_tab: OpenTab) -> None:
    load_demo(dt.date(2026, 11, 25), persons=1500, seed=2026)
    tab = open_tab("en-US", width=390)
    tab.log_in(*LOGINS["sales"])
    tab.goto("/alignment/why-not/?period=FY2026Q2&by=industry")
    page = tab.page
    total = page.locator("tr[data-key=total]")
    assert total.is_visible()
    with page.expect_download() as download:
        page.click("a[data-action=persons-csv]")
    lines = open(download.value.path(), encoding="utf-8-sig").read().strip().splitlines()  # noqa: SIM115
    assert total.locator("td").first.inner_text() == str(len(lines) - 1)
    tab.screenshot("why-not-en-phone")
