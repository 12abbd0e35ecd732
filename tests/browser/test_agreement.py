"""The MQL/SQL agreement in real Chromium: an ops admin's draft is approved by a marketing
and then a sales manager on the agreement page, and is in effect from that moment."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from funnel.demo import DEMO_USERS, ensure_demo_users
from qualification import services
from qualification.criteria import parse_criteria_text
from qualification.models import CriteriaVersion
from qualification.moments import ready_set
from tests.browser.conftest import Tab
from tests.qualification.test_criteria import SPEC_EXAMPLE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenTab = Callable[..., Tab]
LOGINS = {user.username: (user.username, user.password) for user in DEMO_USERS}


def test_a_draft_is_approved_by_both_teams_on_the_page(
    open_tab: OpenTab, example_dir: Path
) -> None:
    ensure_demo_users()
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    from django.contrib.auth.models import User

    draft = services.propose(
        parse_criteria_text(SPEC_EXAMPLE), User.objects.get(username="opsadmin"), "価格ページ閲覧"
    )
    # What the worker does once the proposal commits (eager in the embedded mode; here it
    # also runs when the suite uses a real worker, which this test does not start).
    ready_set(parse_criteria_text(SPEC_EXAMPLE))
    for login, locale, width in (("marketing", "ja-JP", 1280), ("sales", "en-US", 390)):
        tab = open_tab(locale, width=width)
        tab.log_in(*LOGINS[login])
        tab.goto("/alignment/checklist/")
        with tab.page.expect_navigation():
            tab.page.locator("nav.subnav a[href='/agreement/']").click()
        article = tab.page.locator(f"article[data-version='{draft.pk}']")
        assert article.locator("pre.diff .added").count() >= 1
        # The backtest: computed by the job the proposal started, drawn by plotly.
        backtest = article.locator(".backtest")
        backtest.locator(".chart .main-svg").first.wait_for()
        assert backtest.locator("tbody tr").count() == 10
        assert backtest.locator("thead th").count() == 5
        tab.screenshot(f"agreement-{login}-{locale}-{width}")
        article.locator("input[name=comment]").fill(f"OK from {login}")
        with tab.page.expect_navigation():
            article.locator("button[data-action=approve]").click()
    draft.refresh_from_db()
    assert draft.status == CriteriaVersion.Status.IN_EFFECT
    assert tab.page.locator("article[data-status=in_effect]").count() == 1
    assert "Both teams agreed" in tab.page.locator("p.notice").first.inner_text()
    assert [d.comment for d in draft.decisions.all()] == ["OK from marketing", "OK from sales"]


def test_an_ops_admin_fills_in_criteria_rows_in_admin(open_tab: OpenTab) -> None:
    """Django admin's criteria form in Chromium: rows, choices, checkboxes, saved as JSON."""
    ensure_demo_users()
    tab = open_tab("ja-JP", width=1440)
    tab.log_in(*LOGINS["opsadmin"])
    tab.goto("/admin/qualification/criteriaversion/add/")
    page = tab.page
    page.locator("#id_criteria_stage").select_option("mql")
    page.locator("#id_criteria_name").fill("行で作った基準")
    page.locator("#id_c0_kind").select_option("score")
    page.locator("#id_c0_score").fill("55")
    page.locator("#id_c1_kind").select_option("behaviour")
    page.locator("#id_c1_group").fill("2")
    page.locator("input[name=c1_types][value=download]").check()
    page.locator("#id_c1_at_least").fill("2")
    page.locator("#id_c1_days").fill("14")
    tab.screenshot("admin-criteria-rows-ja-1440")
    with page.expect_navigation():
        page.locator("input[name=_save]").click()
    version = CriteriaVersion.objects.get()
    assert version.name == "行で作った基準"
    assert [g["all"][0] for g in version.definition["groups"]] == [
        {"field": "lead_score", "op": "gte", "value": 55},
        {"activity": ["download"], "at_least": 2, "within_days": 14},
    ]
