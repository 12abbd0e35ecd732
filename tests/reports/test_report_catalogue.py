"""The report reads KPI facts from the one catalogue (issue: one KPI catalogue): `sqls` is a
shared KPI as the spec says, the channel table has the dashboard's columns, and a Japanese
reader sees no English in the report (the tree's reasons included), HTML, PDF and Excel."""

from __future__ import annotations

import re
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from funnel.metrics.catalogue import CHANNEL_COLUMNS, TreeReason
from funnel.models import Channel, Source
from funnel.periods import parse_period
from reports.report import quarterly_report
from tests.funnel.factories import deal, jst, load, person
from tests.reports.test_reports import _pdf_text

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]
SourceMaker = Callable[..., Source]
URL = "/reports/quarterly/FY2026Q1/?as_of=2026-06-15T00:00:00%2B09:00"
# Words that stay as they are in Japanese text: acronyms of the trade and our names.
ALLOWED = {
    "MQL",
    "SQL",
    "CPA",
    "SLA",
    "KPI",
    "KGI",
    "FY",
    "PDF",
    "Excel",
    "KPI Bridge",
    "Web",
    "pt",
}


def _no_target_quarter(source: SourceMaker) -> None:
    """Data in FY2026Q1, and no revenue target: every node of the tree is null, with a reason."""
    load(
        source("sfa"),
        persons=[person("a", jst(2026, 4, 3), channel="webinar", mql_at=jst(2026, 4, 5))],
        deals=[
            deal(
                "d1",
                jst(2026, 4, 10),
                "won",
                1000,
                closed_at=jst(2026, 5, 1),
                person_external_id="a",
            )
        ],
    )


def test_it_lists_sqls_among_the_shared_kpis(source: SourceMaker) -> None:
    _no_target_quarter(source)
    report = quarterly_report(parse_period("FY2026Q1"), jst(2026, 6, 15))
    assert "sqls" in [row.key for row in report.shared]
    assert "sqls" not in [row.key for row in report.sales]


def test_it_shows_the_dashboards_channel_columns(
    client: Client, role_user: RoleUser, source: SourceMaker
) -> None:
    _no_target_quarter(source)
    report = quarterly_report(parse_period("FY2026Q1"), jst(2026, 6, 15))
    assert [key for key, _label in report.channel_columns] == list(CHANNEL_COLUMNS)
    client.force_login(role_user("marketing"))
    dashboard = client.get("/?period=FY2026Q1&as_of=2026-06-15T00:00:00%2B09:00").content.decode()
    columns = re.findall(r'<th[^>]*data-column="([a-z_]+)"', dashboard)
    assert columns[: len(CHANNEL_COLUMNS)] == list(CHANNEL_COLUMNS)


def _english_words(text: str) -> set[str]:
    for word in sorted(ALLOWED, key=len, reverse=True):
        text = text.replace(word, " ")
    text = re.sub(r"FY\d{4}Q\d|\d{4}-\d{2}-\d{2}|[a-z_]+@[a-z.]+|JST|UTC|\+09:00", " ", text)
    return {w for w in re.findall(r"[A-Za-z]{3,}", text)}


def test_it_says_the_tree_reasons_in_japanese(
    client: Client, role_user: RoleUser, source: SourceMaker, tmp_path: Path
) -> None:
    _no_target_quarter(source)
    Channel.objects.filter(key="webinar").update(name="ウェビナー")
    client.force_login(role_user("executive"))
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    with translation.override("en"):
        assert str(TreeReason.NO_TARGET.label) not in html  # the English words
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", html.split("<main", 1)[1], flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", main)
    assert "売上目標" in visible or "目標" in visible
    assert _english_words(visible) == set()
    xlsx = client.get(URL.replace("/?", "/report.xlsx?"), HTTP_ACCEPT_LANGUAGE="ja")
    book = load_workbook(BytesIO(xlsx.content))
    cells = " ".join(
        str(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and not re.fullmatch(r"[a-z_]+", cell.value)
    )
    assert _english_words(cells) == set()


@pytest.mark.pdf
@pytest.mark.poppler
def test_the_pdf_says_the_tree_reasons_in_japanese(
    client: Client, role_user: RoleUser, source: SourceMaker, tmp_path: Path
) -> None:
    _no_target_quarter(source)
    Channel.objects.filter(key="webinar").update(name="ウェビナー")
    client.force_login(role_user("executive"))
    pdf = client.get(URL.replace("/?", "/report.pdf?"), HTTP_ACCEPT_LANGUAGE="ja")
    assert pdf.status_code == 200
    assert _english_words(_pdf_text(pdf.content, tmp_path)) == set()
