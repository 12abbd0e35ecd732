"""The MQL inbox in real Chromium: a sales manager rejects two MQLs with a reason and
accepts one, sees them leave the inbox, and finds the decision on the person page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone

from feedback.models import Feedback
from feedback.selectors import waiting_mqls
from funnel.demo import DEMO_USERS, load_demo
from tests.browser.conftest import Tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenTab = Callable[..., Tab]
LOGINS = {user.username: (user.username, user.password) for user in DEMO_USERS}


@pytest.fixture
def demo() -> None:
    load_demo(dt.date(2026, 11, 25), persons=1500, seed=2026)


@pytest.mark.parametrize(("locale", "width"), [("ja-JP", 1280), ("en-US", 390)])
def test_sales_work_through_the_inbox(
    open_tab: OpenTab, demo: None, locale: str, width: int
) -> None:
    waiting = list(waiting_mqls(timezone.now())[:3])
    assert len(waiting) == 3
    tab = open_tab(locale, width=width)
    tab.log_in(*LOGINS["sales"])
    tab.goto("/")
    page = tab.page
    with page.expect_navigation():
        page.locator("header a[href='/feedback/inbox/']").click()
    rows = page.locator("table.records tbody tr")
    assert rows.first.get_attribute("data-person") == str(waiting[0].pk)
    tab.screenshot(f"inbox-{locale}-{width}")
    for person in waiting[:2]:
        page.check(f"tr[data-person='{person.pk}'] input[type=checkbox]")
    page.select_option("select[name=reason]", "no_budget")
    page.fill("input[name=comment]", "予算なし")
    with page.expect_navigation():
        page.click("button[data-action=reject]")
    assert "2" in page.locator("p.notice").first.inner_text()
    for person in waiting[:2]:
        assert page.locator(f"tr[data-person='{person.pk}']").count() == 0
    page.check(f"tr[data-person='{waiting[2].pk}'] input[type=checkbox]")
    with page.expect_navigation():
        page.click("button[data-action=accept]")
    assert Feedback.objects.filter(decision="reject", reason="no_budget").count() == 2
    assert Feedback.objects.filter(decision="accept", person=waiting[2]).exists()
    tab.goto(f"/records/persons/{waiting[0].pk}/")
    assert "予算なし" in page.locator("section[data-feedback]").inner_text()
    tab.goto("/feedback/")
    assert page.locator("table[data-table=channel] tbody tr").count() >= 1
    assert page.locator("[data-field=waiting]").inner_text() == str(
        waiting_mqls(timezone.now()).count()
    )
    tab.screenshot(f"feedback-summary-{locale}-{width}")
