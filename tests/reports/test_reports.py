"""The quarterly executive report (kpi_dashboard/views/reports.py, reports.py, report_pdf.py,
report_excel.py): HTML, PDF and Excel show the numbers of kpi_snapshot; comparisons read
the right quarters; the managers' commentary is written by the right roles only."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Callable
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from funnel.metrics.formatting import expected_kind, format_figure, format_kpi, format_money
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.models import Source
from funnel.periods import parse_period
from reports.excel import neutralise
from reports.models import ReportCommentary
from reports.report import quarterly_report
from reports.services import save_commentary
from tests.funnel.factories import deal, jst, load, person

pytestmark = pytest.mark.django_db

RoleUser = Callable[[str], User]
SourceMaker = Callable[..., Source]
JST = ZoneInfo("Asia/Tokyo")
AS_OF = "2026-06-15T00:00:00+09:00"
QUERY = "?as_of=2026-06-15T00:00:00%2B09:00"
URL = "/reports/quarterly/FY2026Q1/"
# The worked example (shared/examples/fy2026q1/expected-kpis.json), as the report shows it.
EXAMPLE_TREE = {
    "won_amount": ("¥30,000,000", "¥24,725,275", "¥9,500,000"),
    "won_deals": ("14", "11.5", "3"),
    "opportunities": ("62", "51.1", "5"),
    "sqls": ("116", "95.6", "9"),
    "mqls": ("249", "205.2", "11"),
    "leads": ("574", "473.1", "33"),
}
# Workbook sheets, in order (their names are translated).
SUMMARY, TREE, SHARED, MARKETING, SALES, CHANNELS, REASONS, FEEDBACK, CHECKLIST, SLA, COMMENTARY = (
    range(11)
)


@pytest.fixture
def example(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())


def _login(client: Client, role_user: RoleUser, role: str) -> User:
    user = role_user(role)
    client.force_login(user)
    return user


def _snapshot(period: str = "FY2026Q1", as_of: str = AS_OF) -> dict[str, Any]:
    return json_ready(kpi_snapshot(parse_period(period), dt.datetime.fromisoformat(as_of)))


def _get(client: Client, path: str, lang: str = "en") -> Any:
    return client.get(path, HTTP_ACCEPT_LANGUAGE=lang)


def _match(html: str, pattern: str) -> str:
    found = re.search(pattern, html, flags=re.S)
    assert found, pattern
    return found[1].strip()


def _figure(html: str, name: str) -> str:
    return _match(html, rf'data-figure="{name}"[^>]*>([^<]*)<')


def _node(html: str, node: str, col: str) -> str:
    return _match(html, rf'data-node="{node}".*?data-col="{col}">([^<]*)<')


def _kpi(html: str, key: str, col: str) -> str:
    return _match(html, rf'data-kpi="{key}".*?data-col="{col}">([^<]*)<')


def _pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    )
    return done.stdout


def _rows_by_key(sheet: Worksheet, key_column: int = 2) -> dict[str, tuple[Any, ...]]:
    return {
        row[key_column - 1].value: tuple(row)
        for row in sheet.iter_rows(min_row=2)
        if row[key_column - 1].value
    }


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/reports/quarterly/", URL, URL + "report.pdf", URL + "report.xlsx"]
)
def test_it_redirects_an_anonymous_visitor_to_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ["marketing", "sales", "executive", "ops_admin"])
def test_it_shows_the_report_to_every_role(client: Client, role_user: RoleUser, role: str) -> None:
    _login(client, role_user, role)
    response = _get(client, URL + QUERY)
    assert response.status_code == 200
    assert "FY2026Q1" in response.content.decode()


def test_it_refuses_a_user_without_a_role(client: Client) -> None:
    client.force_login(User.objects.create_user("nobody", password="a-long-test-password"))
    assert client.get(URL).status_code == 403


def test_it_links_the_report_from_the_navigation(client: Client, role_user: RoleUser) -> None:
    _login(client, role_user, "executive")
    html = _get(client, "/").content.decode()
    assert 'href="/reports/quarterly/"' in html


# --- periods -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "named"),
    [
        ("FY2026", "FY2026"),
        ("2026-05", "2026-05"),
        ("FY2026Q5", "FY2026Q5"),
        ("2026-04-01..2026-06-30", "2026-04-01..2026-06-30"),
        ("last-quarter", "last-quarter"),
    ],
)
def test_it_answers_a_period_that_is_not_a_quarter_with_404_and_a_message(
    client: Client, role_user: RoleUser, period: str, named: str
) -> None:
    _login(client, role_user, "executive")
    for suffix in ("", "report.pdf", "report.xlsx"):
        response = _get(client, f"/reports/quarterly/{period}/{suffix}")
        assert response.status_code == 404, suffix
        html = response.content.decode()
        assert named in html
        assert "FY2026Q1" in html  # says what a quarter name looks like


def test_it_answers_a_bad_as_of_with_400(client: Client, role_user: RoleUser) -> None:
    _login(client, role_user, "executive")
    response = _get(client, URL + "?as_of=04/05/2026")
    assert response.status_code == 400
    assert "04/05/2026" in response.content.decode()


def test_it_redirects_to_the_quarter_of_as_of(client: Client, role_user: RoleUser) -> None:
    _login(client, role_user, "sales")
    response = client.get("/reports/quarterly/", {"as_of": "2026-08-01T12:00:00+09:00"})
    assert response.status_code == 302
    assert response["Location"] == (
        "/reports/quarterly/FY2026Q2/?as_of=2026-08-01T12%3A00%3A00%2B09%3A00"
    )


def test_it_redirects_to_the_current_quarter_by_default(
    client: Client, role_user: RoleUser
) -> None:
    _login(client, role_user, "sales")
    response = client.get("/reports/quarterly/")
    today = dt.datetime.now(JST).date()
    fiscal_year = today.year if today.month >= 4 else today.year - 1
    quarter = ((today.month - 4) % 12) // 3 + 1
    assert response.status_code == 302
    assert response["Location"] == f"/reports/quarterly/FY{fiscal_year}Q{quarter}/"


def test_it_shows_as_of_and_links_downloads_to_the_same_moment(
    client: Client, role_user: RoleUser
) -> None:
    _login(client, role_user, "executive")
    html = _get(client, URL + QUERY).content.decode()
    assert "2026-06-15 00:00 JST" in html
    assert 'data-as-of="2026-06-15T00:00:00+09:00"' in html
    assert f"{URL}report.pdf?as_of=2026-06-15T00%3A00%3A00%2B09%3A00" in html
    assert f"{URL}report.xlsx?as_of=2026-06-15T00%3A00%3A00%2B09%3A00" in html
    assert " onclick=" not in html  # the Print button is wired by static/js/report.js


# --- the numbers: HTML, PDF and Excel equal kpi_snapshot ----------------------------------


def test_it_shows_the_kgi_and_the_tree_of_kpi_snapshot(
    example: None, client: Client, role_user: RoleUser
) -> None:
    _login(client, role_user, "executive")
    html = _get(client, URL + QUERY).content.decode()
    tree = _snapshot()["tree"]
    assert _figure(html, "kgi-actual") == format_money(tree["won_amount"]["actual"]) == "¥9,500,000"
    assert _figure(html, "kgi-target") == format_money(tree["won_amount"]["required"])
    assert _figure(html, "kgi-target") == "¥30,000,000"
    assert _figure(html, "kgi-attainment") == "31.7%"  # 9.5M / 30M
    for node, (required, expected, actual) in EXAMPLE_TREE.items():
        assert _node(html, node, "required") == required, node
        assert _node(html, node, "expected") == expected, node
        assert _node(html, node, "actual") == actual, node
        assert expected == format_figure(tree[node]["expected"], expected_kind(node))
        assert actual == format_kpi(node, tree[node]["actual"])
    assert _node(html, "budget", "required") == format_money(tree["budget"]["required"])
    assert _node(html, "budget", "required") == "¥34,508,333"
    assert re.search(r'data-node="mqls" class="bottleneck"', html)  # tree["bottleneck"]
    assert tree["bottleneck"] == "mqls"


def test_it_shows_every_kpi_of_kpi_snapshot(
    example: None, client: Client, role_user: RoleUser
) -> None:
    _login(client, role_user, "marketing")
    html = _get(client, URL + QUERY).content.decode()
    kpis = _snapshot()["kpis"]
    keys = (
        "opportunities", "opportunity_rate", "won_amount", "win_rate",
        "leads", "mqls", "web_visits", "marketing_cost", "cpa", "cost_per_opportunity",
        "sqls", "won_deals", "lost_deals", "average_deal_size", "sales_cycle_days",
    )  # fmt: skip
    for key in keys:
        assert _kpi(html, key, "current") == format_kpi(key, kpis[key]), key
    assert _kpi(html, "win_rate", "current") == "60.0%"
    assert _kpi(html, "cpa", "current") == "¥89,394"
    assert _figure(html, "sla-rate") == format_kpi("mql_acceptance_sla", 0.2) == "20.0%"
    assert "2 of 10 MQLs handled within 2 business days." in html


def test_it_shows_the_channels_and_the_disqualification_reasons(
    example: None, client: Client, role_user: RoleUser
) -> None:
    _login(client, role_user, "sales")
    html = _get(client, URL + QUERY).content.decode()
    for channel, row in _snapshot()["by_channel"].items():
        assert f'data-channel="{channel}"' in html
        cells = _match(html, rf'data-channel="{channel}">(.*?)</tr>')
        assert format_money(row["won_amount"]) in cells
    # in the dashboard's order: the channels that won the most first, no channel last
    by_channel = _snapshot()["by_channel"]
    table = _match(html, r'<table class="report-table channels">(.*?)</table>')
    shown = re.findall(r'<tr data-channel="([^"]*)">', table)
    won = [by_channel[key]["won_amount"] for key in shown if key != "unknown"]
    assert sorted(shown) == sorted(by_channel) and won == sorted(won, reverse=True)
    assert "unknown" not in shown[:-1] and len(set(won)) > 2
    # the example disqualifies two leads in FY2026Q1 by 06-15: no budget, no timing
    assert _match(html, r'data-reason="no_budget".*?data-col="share">([^<]*)<') == "50.0%"
    assert _match(html, r'data-reason="no_timing".*?data-col="count">([^<]*)<') == "1"


@pytest.mark.pdf
@pytest.mark.poppler
def test_it_renders_the_pdf_with_the_same_numbers(
    example: None, client: Client, role_user: RoleUser, tmp_path: Path
) -> None:
    _login(client, role_user, "executive")
    response = _get(client, URL + "report.pdf" + QUERY, lang="ja")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="kpi-report-FY2026Q1.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    text = _pdf_text(response.content, tmp_path)
    for node, (required, expected, actual) in EXAMPLE_TREE.items():
        row = [line for line in text.splitlines() if required in line and expected in line]
        assert len(row) == 1 and actual in row[0], node
    for value in ("¥34,508,333", "60.0%", "¥89,394", "20.0%", "2026-06-15 00:00 JST"):
        assert value in text
    with translation.override("ja"):
        assert "受注金額" in text  # Japanese renders, as text
    fonts = subprocess.run(
        ["pdffonts", str(tmp_path / "report.pdf")], capture_output=True, check=True, text=True
    ).stdout
    assert "Noto-Sans-CJK-JP" in fonts  # embedded, so Japanese prints anywhere


def test_it_renders_the_workbook_with_the_same_numbers_as_numbers(
    example: None, client: Client, role_user: RoleUser
) -> None:
    _login(client, role_user, "executive")
    response = _get(client, URL + "report.xlsx" + QUERY)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(response.content))
    sheets = book.worksheets
    assert len(sheets) == 11
    snapshot = _snapshot()
    tree = _rows_by_key(sheets[TREE])
    for node in EXAMPLE_TREE:
        _label, _key, required, expected, actual, _status = tree[node]
        for cell, value in (
            (required, snapshot["tree"][node]["required"]),
            (expected, snapshot["tree"][node]["expected"]),
            (actual, snapshot["tree"][node]["actual"]),
        ):
            assert isinstance(cell.value, int | float), node
            assert cell.value == pytest.approx(value, rel=1e-12), node
        assert required.number_format == ("¥#,##0" if node == "won_amount" else "#,##0")
    assert tree["budget"][2].value == 34508333
    rows = {
        **_rows_by_key(sheets[SHARED]),
        **_rows_by_key(sheets[MARKETING]),
        **_rows_by_key(sheets[SALES]),
    }
    for key, value in snapshot["kpis"].items():
        if key in rows:
            assert rows[key][2].value == pytest.approx(value, rel=1e-12), key
    assert rows["won_amount"][2].value == 9500000
    assert rows["won_amount"][2].number_format == "¥#,##0"
    assert rows["win_rate"][2].value == pytest.approx(0.6)
    assert rows["win_rate"][2].number_format == "0.0%"
    assert rows["won_amount"][3].value == 30000000  # target
    sla = {row[0].value: row[1] for row in sheets[SLA].iter_rows()}
    assert sla["MQL follow-up SLA"].value == pytest.approx(0.2)
    assert sla["MQLs due or handled"].value == 10
    reasons = _rows_by_key(sheets[REASONS])
    assert reasons["no_budget"][2].value == 1
    assert reasons["no_budget"][3].value == pytest.approx(0.5)
    channels = {row[0].value: row for row in sheets[CHANNELS].iter_rows(min_row=2)}
    for channel, row in snapshot["by_channel"].items():
        assert channels[channel][6].value == pytest.approx(row["won_amount"]), channel


@pytest.mark.pdf
@pytest.mark.poppler
def test_it_renders_an_empty_quarter_in_every_format(
    client: Client, role_user: RoleUser, tmp_path: Path
) -> None:
    _login(client, role_user, "executive")
    html = _get(client, URL + QUERY).content.decode()
    assert _figure(html, "kgi-actual") == "¥0"
    assert _figure(html, "kgi-target") == "-"
    assert _kpi(html, "win_rate", "current") == "-"
    assert _kpi(html, "win_rate", "qoq") == "-"
    pdf = _get(client, URL + "report.pdf" + QUERY).content
    assert pdf.startswith(b"%PDF")
    assert "Quarterly executive report" in _pdf_text(pdf, tmp_path)
    book = load_workbook(BytesIO(_get(client, URL + "report.xlsx" + QUERY).content))
    assert _rows_by_key(book.worksheets[SHARED])["win_rate"][2].value == "-"


# --- comparisons ------------------------------------------------------------------------


def _comparison_dataset(source: SourceMaker) -> None:
    """Leads: FY2025Q1 1; FY2025Q4 3 (two before 03-15); FY2026Q1 3.
    Deals: FY2025Q4 closes 1 won (¥1,000,000) and 1 lost; FY2026Q1 closes 3 won
    (¥6,000,000, one of them created in FY2025Q4) and 1 lost."""
    load(
        source("crm"),
        persons=[
            person("A", jst(2025, 5, 10), email="a@example.com", channel="webinar"),
            person("B", jst(2026, 2, 10), email="b@example.com", channel="webinar"),
            person("C", jst(2026, 2, 11), email="c@example.com", channel="webinar"),
            person("D", jst(2026, 3, 20), email="d@example.com", channel="webinar"),
            person("E", jst(2026, 4, 10), email="e@example.com", channel="webinar"),
            person("F", jst(2026, 4, 11), email="f@example.com", channel="webinar"),
            person("G", jst(2026, 4, 12), email="g@example.com", channel="webinar"),
        ],
        deals=[
            deal("O1", jst(2026, 1, 10), "lost", 500_000, closed_at=jst(2026, 2, 20)),
            deal("O2", jst(2026, 1, 15), "won", 1_000_000, closed_at=jst(2026, 3, 10)),
            deal("O3", jst(2026, 2, 1), "won", 2_000_000, closed_at=jst(2026, 4, 20)),
            deal("O4", jst(2026, 4, 5), "won", 3_000_000, closed_at=jst(2026, 5, 10)),
            deal("O5", jst(2026, 4, 6), "won", 1_000_000, closed_at=jst(2026, 5, 20)),
            deal("O6", jst(2026, 4, 7), "lost", 800_000, closed_at=jst(2026, 5, 25)),
        ],
    )


def test_it_compares_with_the_previous_quarter_and_a_year_earlier(source: SourceMaker) -> None:
    _comparison_dataset(source)
    report = quarterly_report(parse_period("FY2026Q1"), jst(2026, 6, 15))
    assert report.previous.period.name == "FY2025Q4"
    assert report.previous.as_of == jst(2026, 4, 1)  # its end, before as_of
    assert report.year_ago.period.name == "FY2025Q1"
    assert report.year_ago.as_of == jst(2025, 7, 1)
    rows = {row.key: row for row in [*report.shared, *report.marketing, *report.sales]}
    leads = rows["leads"]
    assert (leads.current.value, leads.previous.value, leads.year_ago.value) == (3, 3, 1)
    assert (leads.qoq.text, leads.yoy.text) == ("+0.0%", "+200.0%")
    won = rows["won_amount"]
    assert (won.current.value, won.previous.value, won.year_ago.value) == (6_000_000, 1_000_000, 0)
    assert won.qoq.text == "+500.0%"
    assert won.yoy.text == "-"  # no base to compare with
    win_rate = rows["win_rate"]
    assert (win_rate.current.value, win_rate.previous.value) == (0.75, 0.5)
    with translation.override("en"):
        assert win_rate.qoq.text == "+25.0 pt"  # rates change in points
    assert win_rate.qoq.value == pytest.approx(25.0)
    assert win_rate.yoy.text == "-"  # no deals closed in FY2025Q1
    assert rows["lost_deals"].qoq_tone == "" and rows["leads"].yoy_tone == "better"


def test_it_reads_a_closed_quarter_as_it_stood_at_its_end(source: SourceMaker) -> None:
    _comparison_dataset(source)
    report = quarterly_report(parse_period("FY2026Q1"), jst(2026, 6, 15))
    # FY2025Q4's opportunity cohort is O1, O2, O3; O3 was won on 04-20, after that quarter
    # ended, so as the quarter stood at its end 1 of 3 had been won (2 of 3 by 06-15).
    assert report.previous.kpis["opportunity_to_won_rate"] == pytest.approx(1 / 3)
    later = json_ready(kpi_snapshot(parse_period("FY2025Q4"), jst(2026, 6, 15)))["kpis"]
    assert later["opportunity_to_won_rate"] == pytest.approx(2 / 3)


def test_it_reads_comparisons_no_later_than_as_of(source: SourceMaker) -> None:
    _comparison_dataset(source)
    as_of = jst(2026, 3, 15)  # before FY2026Q1 starts: D (03-20) does not exist yet
    report = quarterly_report(parse_period("FY2026Q1"), as_of)
    assert report.previous.as_of == as_of
    leads = next(row for row in report.marketing if row.key == "leads")
    assert (leads.current.value, leads.previous.value, leads.year_ago.value) == (0, 2, 1)
    assert leads.qoq.text == "−100.0%"  # a minus sign, as on the dashboard


def test_it_shows_the_comparisons_on_the_page(
    source: SourceMaker, client: Client, role_user: RoleUser
) -> None:
    _comparison_dataset(source)
    _login(client, role_user, "executive")
    html = _get(client, URL + QUERY).content.decode()
    assert _kpi(html, "won_amount", "previous") == "¥1,000,000"
    assert _kpi(html, "won_amount", "qoq") == "+500.0%"
    assert _kpi(html, "win_rate", "qoq") == "+25.0 pt"
    assert _kpi(html, "leads", "yoy") == "+200.0%"
    assert "FY2025Q4" in html and "FY2025Q1" in html
    assert "as of the earlier of this report" in html  # the comparison basis is stated


def test_it_matches_the_example_comparisons_with_kpi_snapshot(example: None) -> None:
    report = quarterly_report(parse_period("FY2026Q1"), dt.datetime.fromisoformat(AS_OF))
    previous = _snapshot("FY2025Q4", "2026-04-01T00:00:00+09:00")["kpis"]
    year_ago = _snapshot("FY2025Q1", "2025-07-01T00:00:00+09:00")["kpis"]
    assert report.previous.kpis == previous
    assert report.year_ago.kpis == year_ago


# --- commentary ---------------------------------------------------------------------------


def _post(client: Client, department: str, text: str, period: str = "FY2026Q1") -> Any:
    return client.post(f"/reports/quarterly/{period}/commentary/{department}/", {"text": text})


def test_it_saves_the_marketing_commentary_of_a_marketing_user(
    client: Client, role_user: RoleUser
) -> None:
    user = _login(client, role_user, "marketing")
    user.last_name, user.first_name = "佐藤", "美咲"
    user.save()
    response = _post(
        client, "marketing", "展示会リードの商談化率が低い。\r\n来期はSDRと共同で架電。"
    )
    assert response.status_code == 302
    assert response["Location"] == URL + "#commentary"
    stored = ReportCommentary.objects.get(period="FY2026Q1", department="marketing")
    assert stored.text == "展示会リードの商談化率が低い。\n来期はSDRと共同で架電。"
    assert stored.author == user
    html = _get(client, URL).content.decode()
    assert "展示会リードの商談化率が低い。" in html
    assert "佐藤 美咲" in html
    assert stored.updated_at.astimezone(JST).strftime("%Y-%m-%d") in html


def test_it_keeps_as_of_after_saving(client: Client, role_user: RoleUser) -> None:
    _login(client, role_user, "sales")
    response = client.post(URL + "commentary/sales/" + QUERY, {"text": "受注率が改善"})
    assert response.status_code == 302
    assert response["Location"] == URL + "?as_of=2026-06-15T00%3A00%3A00%2B09%3A00#commentary"


def test_it_replaces_the_commentary_and_removes_it_when_emptied(
    client: Client, role_user: RoleUser
) -> None:
    _login(client, role_user, "sales")
    _post(client, "sales", "first")
    _post(client, "sales", "second")
    assert list(ReportCommentary.objects.values_list("text", flat=True)) == ["second"]
    _post(client, "sales", "   ")
    assert not ReportCommentary.objects.exists()


def test_it_refuses_the_marketing_commentary_to_a_sales_user(
    client: Client, role_user: RoleUser
) -> None:
    _login(client, role_user, "sales")
    assert _post(client, "marketing", "not mine").status_code == 403
    assert not ReportCommentary.objects.exists()
    html = _get(client, URL).content.decode()
    assert f'action="{URL}commentary/sales/"' in html
    assert f'action="{URL}commentary/marketing/"' not in html


def test_it_lets_an_ops_admin_write_both(client: Client, role_user: RoleUser) -> None:
    _login(client, role_user, "ops_admin")
    assert _post(client, "marketing", "m").status_code == 302
    assert _post(client, "sales", "s").status_code == 302
    assert ReportCommentary.objects.count() == 2


def test_it_shows_the_commentary_read_only_to_an_executive(
    client: Client, role_user: RoleUser
) -> None:
    save_commentary(
        period=parse_period("FY2026Q1"),
        department="sales",
        text="大型案件を2件受注",
        author=role_user("sales"),
    )
    _login(client, role_user, "executive")
    html = _get(client, URL).content.decode()
    assert "大型案件を2件受注" in html
    assert "<textarea" not in html
    assert _post(client, "sales", "exec edit").status_code == 403
    assert ReportCommentary.objects.get().text == "大型案件を2件受注"


def test_it_answers_an_unknown_department_with_404(client: Client, role_user: RoleUser) -> None:
    _login(client, role_user, "ops_admin")
    assert _post(client, "finance", "x").status_code == 404
    assert _post(client, "marketing", "x", period="FY2026").status_code == 404


def test_it_refuses_a_commentary_longer_than_the_limit(client: Client, role_user: RoleUser) -> None:
    _login(client, role_user, "marketing")
    response = _post(client, "marketing", "あ" * 4001)
    assert response.status_code == 400
    assert not ReportCommentary.objects.exists()


def test_it_only_accepts_a_post_for_the_commentary(client: Client, role_user: RoleUser) -> None:
    _login(client, role_user, "marketing")
    assert client.get(URL + "commentary/marketing/").status_code == 405


def test_it_enforces_csrf_on_the_commentary(role_user: RoleUser) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_user("marketing"))
    assert _post(client, "marketing", "no token").status_code == 403
    assert not ReportCommentary.objects.exists()
    client.get(URL)
    token = client.cookies["csrftoken"].value
    response = client.post(
        URL + "commentary/marketing/", {"text": "with token", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert ReportCommentary.objects.get().text == "with token"


def test_it_neutralises_user_text_in_the_workbook(client: Client, role_user: RoleUser) -> None:
    formula = '=HYPERLINK("http://example.com","x")'
    user = role_user("marketing")
    user.first_name = "@evil"
    user.save()
    save_commentary(
        period=parse_period("FY2026Q1"), department="marketing", text=formula, author=user
    )
    _login(client, role_user, "executive")
    book = load_workbook(BytesIO(_get(client, URL + "report.xlsx").content))
    cells = {row[0].value: row for row in book.worksheets[COMMENTARY].iter_rows(min_row=2)}
    text_cell = cells["Marketing"][1]
    assert text_cell.value == "'" + formula
    assert text_cell.data_type == "s"
    assert cells["Marketing"][2].value == "'@evil"
    html = _get(client, URL).content.decode()
    assert "=HYPERLINK(&quot;http://example.com&quot;,&quot;x&quot;)" in html


@pytest.mark.parametrize(
    ("text", "safe"),
    [("=1+1", "'=1+1"), ("+81 3", "'+81 3"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\t=1", "'\t=1"), ("売上 = 受注金額", "売上 = 受注金額"), ("", "")],
)  # fmt: skip
def test_it_neutralises_text_a_spreadsheet_would_run(text: str, safe: str) -> None:
    assert neutralise(text) == safe


# --- a machine without what the PDF needs ------------------------------------------------


def test_the_pdf_says_what_to_install_when_weasyprint_cannot_load(
    client: Client, role_user: RoleUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a laptop without Pango: importing WeasyPrint fails; the page says what to do."""
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` fails
    _login(client, role_user, "executive")
    response = _get(client, URL + "report.pdf" + QUERY)
    assert response.status_code == 503
    text = response.content.decode()
    assert "libpango-1.0-0" in text and "Excel" in text
    assert _get(client, URL + QUERY).status_code == 200  # the page itself still works


def test_the_pdf_says_what_to_install_without_a_japanese_font(
    client: Client, role_user: RoleUser, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from reports import pdf

    empty = tmp_path / "fonts.conf"
    empty.write_text('<?xml version="1.0"?><fontconfig></fontconfig>')
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))  # fontconfig finds no font at all
    pdf._japanese_font_missing.cache_clear()
    try:
        _login(client, role_user, "executive")
        response = _get(client, URL + "report.pdf" + QUERY, lang="ja")
    finally:
        pdf._japanese_font_missing.cache_clear()
    assert response.status_code == 503
    assert "fonts-noto-cjk" in response.content.decode()
