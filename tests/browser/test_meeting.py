"""The weekly meeting page in real Chromium, Japanese and English, and as printed: the
shared KPIs, an action item added and carried over, the meeting recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from funnel.demo import DEMO_USERS, load_demo
from tests.browser.conftest import ARTIFACTS, Tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenTab = Callable[..., Tab]
LOGINS = {user.username: (user.username, user.password) for user in DEMO_USERS}


@pytest.mark.parametrize(
    ("locale", "title"), [("ja-JP", "週次ミーティング"), ("en-US", "Weekly meeting")]
)
def test_the_meeting_is_run_from_one_page(open_tab: OpenTab, locale: str, title: str) -> None:
    load_demo(dt.date(2026, 11, 25), persons=1500, seed=2026)
    tab = open_tab(locale)
    tab.log_in(*LOGINS["sales"])
    tab.goto("/alignment/checklist/")
    page = tab.page
    with page.expect_navigation():
        page.locator("nav.subnav a[href='/alignment/meeting/']").click()
    assert page.locator("h1").inner_text().startswith(title)
    assert page.locator("table[data-shared] tbody tr").count() >= 4
    form = page.locator("form.add-action")
    form.locator("input[name=title]").fill("失注理由のレビュー")
    form.locator("input[name=owner]").fill("鈴木")
    with page.expect_navigation():
        form.locator("button[data-action=add-action]").click()
    assert "失注理由のレビュー" in page.locator("table[data-actions]").inner_text()
    page.fill("#meeting-attendees", "佐藤, 鈴木")
    page.fill("#meeting-notes", "MQLの質について合意")
    with page.expect_navigation():
        page.click("button[data-action=record-meeting]")
    assert page.locator("article.past-meeting").count() == 1
    tab.screenshot(f"meeting-{locale}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.emulate_media(media="print")
    assert not page.locator("form.add-action").is_visible()  # the printout has no forms
