"""The connections page, the run page and the CSV upload in real Chromium: an ops admin
syncs a HubSpot portal (the contract server) with a click and follows the run; uploads two
CSV files, reads the preview's problems, downloads them, imports; other roles see what
their role allows. Screenshots (desktop and phone) go to test-artifacts/browser/."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from funnel.demo import DEMO_USERS, ensure_demo_users
from funnel.models import SourcePerson
from integrations.connections import add_connection
from integrations.models import SyncRun
from kpi_dashboard.celery import app
from tests.browser.conftest import Tab
from tests.contract_servers.hubspot import HubSpotContractServer
from tests.integrations.test_csv_upload import OPPORTUNITIES, PERSONS
from tests.integrations.test_hubspot_sync import _seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenTab = Callable[..., Tab]
LOGINS = {user.username: (user.username, user.password) for user in DEMO_USERS}
PHONE = 390


@pytest.fixture
def portal(settings: object, tmp_path: Path) -> Iterator[HubSpotContractServer]:
    """Demo logins, a HubSpot connection to the contract server, tasks run in-process."""
    settings.UPLOAD_DIR = tmp_path / "uploads"  # type: ignore[attr-defined]
    ensure_demo_users()
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    with HubSpotContractServer(token="pat-browser") as hs:
        _seed(hs)
        add_connection("hubspot-prod", "hubspot", {"token": "pat-browser"}, base_url=hs.base_url)
        yield hs
    app.conf.task_always_eager = before


def test_an_ops_admin_syncs_with_a_click_and_follows_the_run(
    open_tab: OpenTab, portal: HubSpotContractServer
) -> None:
    tab = open_tab("en-US")
    tab.log_in(*LOGINS["opsadmin"])
    tab.goto("/connections/")
    page = tab.page
    card = page.locator("article[data-connection='hubspot-prod']")
    assert "pat-browser" not in page.content()
    assert card.locator("[data-field=last-success]").inner_text() == "-"
    with page.expect_navigation():
        card.get_by_role("button", name="Sync now").click()
    assert "A sync of hubspot-prod was started." in page.locator("p.notice").first.inner_text()
    run = SyncRun.objects.get(kind="hubspot")
    assert run.status == SyncRun.Status.PARTIAL  # the USD deal is rejected, named
    row = card.locator("table[data-runs] tbody tr").first
    assert row.get_attribute("data-status") == "partial"
    assert "persons: +3" in row.inner_text()
    assert card.locator("[data-field=last-success]").inner_text() != "-"
    tab.screenshot("connections-en-desktop")
    with page.expect_navigation():
        row.locator("a").first.click()
    assert page.locator("[data-field=status]").get_attribute("data-status") == "partial"
    assert "deal 9004, deal_currency_code: 'USD'" in page.locator("[data-field=error]").inner_text()
    counts = page.locator("table.records tbody tr").first.inner_text()
    assert counts.split()[:3] == ["persons", "3", "3"]
    tab.screenshot("sync-run-en-desktop")
    assert SourcePerson.objects.filter(source__name="hubspot-prod").count() == 3


def test_marketing_views_the_connections_and_uploads_but_starts_no_sync(
    open_tab: OpenTab, portal: HubSpotContractServer
) -> None:
    tab = open_tab("ja-JP", width=PHONE)
    tab.log_in(*LOGINS["marketing"])
    tab.goto("/connections/")
    page = tab.page
    assert page.locator("article[data-connection='hubspot-prod']").is_visible()
    assert page.locator("form[action$='/sync/'] button").count() == 0
    assert page.locator("a[data-action=upload]").count() == 1
    tab.screenshot("connections-ja-phone")
    sales = open_tab("ja-JP")
    sales.log_in(*LOGINS["sales"])
    sales.goto("/connections/")
    assert sales.page.locator("a[data-action=upload]").count() == 0
    sales.expect_error(r"status of 403")
    response = sales.goto("/connections/upload/")
    assert response is not None and response.status == 403


@pytest.mark.parametrize(("locale", "width"), [("en-US", 1280), ("ja-JP", PHONE)])
def test_an_upload_is_previewed_its_problems_downloaded_then_imported(
    open_tab: OpenTab, portal: HubSpotContractServer, tmp_path: Path, locale: str, width: int
) -> None:
    files = []
    for name, text in (("persons.csv", PERSONS), ("opportunities.csv", OPPORTUNITIES)):
        (tmp_path / name).write_text(text)
        files.append(str(tmp_path / name))
    tab = open_tab(locale, width=width)
    tab.log_in(*LOGINS["opsadmin"])
    tab.goto("/connections/")
    page = tab.page
    with page.expect_navigation():
        page.locator("a[data-action=upload]").click()
    page.set_input_files("input[type=file]", files)
    page.fill("input[name=source]", "sfa-export")
    with page.expect_navigation():
        page.locator("form.upload-form button[type=submit]").click()
    assert SourcePerson.objects.count() == 0  # previewed, not written
    heading = {"en-US": "Check before importing", "ja-JP": "取り込み前の確認"}[locale]
    assert page.locator("h1").inner_text() == heading
    persons_row = page.locator("table[data-files] tr[data-file='persons.csv']")
    assert persons_row.locator("[data-count=created]").inner_text() == "3"
    assert persons_row.locator("[data-count=rejected]").inner_text() == "1"
    problems = page.locator("table[data-problems] tbody tr")
    cells = [problems.nth(i).inner_text().split("\t")[:3] for i in range(problems.count())]
    assert ["persons.csv", "4", "created_at"] in cells
    assert ["opportunities.csv", "3", "amount"] in cells
    tab.screenshot(f"upload-preview-{locale}-{width}")
    with page.expect_download() as download:
        page.locator("a[data-action=problems-csv]").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["file", "row", "column", "message"] and len(rows) == len(cells) + 1

    with page.expect_navigation():
        page.locator("button[data-action=import]").click()
    assert page.locator("[data-field=status]").get_attribute("data-status") == "partial"
    assert SourcePerson.objects.filter(source__name="sfa-export").count() == 3
    tab.screenshot(f"upload-run-{locale}-{width}")
    title = {"en-US": "CSV import · sfa-export", "ja-JP": "CSV取り込み · sfa-export"}[locale]
    assert page.locator("h1").inner_text() == title
