"""The shared dashboard (kpi_dashboard/views/dashboard.py `home`): every number on the page
is kpi_snapshot's, formatted; filters, periods, empty states, errors, drill-down links,
charts from our own plotly.js."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from fractions import Fraction
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client, override_settings

from funnel import ingest
from funnel.metrics.catalogue import (
    CHANNEL_COLUMNS,
    HANDOFF_KPIS,
    HEADLINE_KPIS,
    MARKETING_KPIS,
    SALES_KPIS,
)
from funnel.metrics.filters import KpiFilters
from funnel.metrics.formatting import expected_kind, format_figure, format_kpi
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.metrics.tree import NODE_KEYS as TREE_NODES
from funnel.metrics.trend import TREND_KPIS, trend_periods
from funnel.models import Source
from funnel.periods import parse_as_of, parse_period
from tests.funnel.factories import jst, person

RoleUser = Callable[[str], User]
ROLES = ("marketing", "sales", "executive", "ops_admin")
AS_OF = "2026-06-15T00:00:00+09:00"
PAGE = {"period": "FY2026Q1", "as_of": AS_OF}

pytestmark = pytest.mark.django_db


# --- a small DOM to read the page by its data attributes ------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs = tag, attrs
        self.children: list[Node | str] = []

    def text(self) -> str:
        return " ".join(
            " ".join((c if isinstance(c, str) else c.text()).split()) for c in self.children
        ).strip()

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def all(self, **attrs: str | None) -> list[Node]:
        """Descendants whose attributes (data_kpi -> data-kpi) have these values; None means
        the attribute is present with any value. `tag` matches the element name."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        tag = wanted.pop("tag", None)
        return [
            node
            for node in self.walk()
            if (tag is None or node.tag == tag)
            and all(
                k in node.attrs
                and (v is None or v in (node.attrs[k] or "").split() or v == node.attrs[k])
                for k, v in wanted.items()
            )
        ]

    def one(self, **attrs: str | None) -> Node:
        found = self.all(**attrs)
        assert len(found) == 1, f"{attrs}: {len(found)} elements"
        return found[0]


VOID = {"input", "br", "meta", "link", "img", "hr", "source", "wbr"}


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.root = Node("document", {})
        self.stack = [self.root]
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _page(response: Any) -> Node:
    return Page(response.content.decode()).root


def _value(page: Node, key: str) -> str:
    return page.one(data_kpi=key).one(class_="value").text()


def _figure(page: Node, element_id: str) -> Any:
    return json.loads(page.one(tag="script", id=element_id).text())


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def example(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())


@pytest.fixture
def user_client(client: Client, role_user: RoleUser) -> Client:
    client.force_login(role_user("marketing"))
    return client


def _get(client: Client, **params: str) -> Any:
    return client.get("/", params, HTTP_ACCEPT_LANGUAGE="en")


def _snapshot(period: str = "FY2026Q1", **filters: str) -> dict[str, Any]:
    return json_ready(kpi_snapshot(parse_period(period), parse_as_of(AS_OF), KpiFilters(**filters)))


# --- access -----------------------------------------------------------------------------


def test_it_sends_an_anonymous_visitor_to_login(client: Client) -> None:
    response = client.get("/", PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_a_user_without_a_role(client: Client) -> None:
    client.force_login(User.objects.create_user("nobody", password="a-long-test-password"))
    assert client.get("/", PAGE).status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_it_shows_the_dashboard_to_every_role(
    client: Client, role_user: RoleUser, example: None, role: str
) -> None:
    client.force_login(role_user(role))
    response = _get(client, **PAGE)
    assert response.status_code == 200
    assert _value(_page(response), "won_amount") == "¥9,500,000"


# --- the numbers are the snapshot's -----------------------------------------------------


def test_it_shows_every_kpi_of_the_snapshot(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, **PAGE))
    kpis = _snapshot()["kpis"]
    for key in (*HEADLINE_KPIS, *HANDOFF_KPIS, *MARKETING_KPIS, *SALES_KPIS):
        assert _value(page, key) == format_kpi(key, kpis[key]), key
    # The worked example (shared/examples/fy2026q1/expected-kpis.json).
    assert _value(page, "opportunities") == "5"
    assert _value(page, "opportunity_rate") == "18.2%"
    assert _value(page, "win_rate") == "60.0%"
    assert _value(page, "cpa") == "¥89,394"


def test_it_shows_targets_and_pace(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, **PAGE))
    targets = _snapshot()["targets"]
    won = page.one(data_kpi="won_amount")
    assert "¥30,000,000" in won.text()
    assert won.one(class_="status").text() == "Behind"
    assert targets["won_amount"]["status"] == "behind"
    assert format_kpi("won_amount", targets["won_amount"]["expected"]) in won.text()
    leads = page.one(data_kpi="leads")
    assert "120" in leads.text() and "Behind" in leads.text()
    # No target for opportunities in the example: said, not hidden.
    assert "No target set" in page.one(data_kpi="opportunities").text()


def test_it_compares_with_the_previous_quarter_at_its_end(
    user_client: Client, example: None
) -> None:
    page = _page(_get(user_client, **PAGE))
    q4 = parse_period("FY2025Q4")
    previous = json_ready(kpi_snapshot(q4, q4.end_at))["kpis"]
    current = _snapshot()["kpis"]
    for key in HEADLINE_KPIS:
        card = page.one(data_kpi=key).text()
        assert f"vs FY2025Q4: {format_kpi(key, previous[key])}" in card, key
    assert "Changes compare with FY2025Q4 as of 2026-04-01 00:00." in page.text()
    delta = current["opportunities"] - previous["opportunities"]
    sign = "+" if delta > 0 else "−"
    assert f"{sign}{abs(delta)}" in page.one(data_kpi="opportunities").text()


def test_it_shows_the_kpi_tree_of_the_snapshot(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, **PAGE))
    tree = _snapshot()["tree"]
    for key in TREE_NODES:
        row = page.one(data_node=key)
        assert row.one(data_cell="required").text() == format_kpi(key, tree[key]["required"])
        assert row.one(data_cell="expected").text() == format_figure(
            tree[key]["expected"], expected_kind(key)
        )
        assert row.one(data_cell="actual").text() == format_kpi(key, tree[key]["actual"])
    assert page.one(data_node="leads").one(data_cell="required").text() == "574"
    assert page.one(data_node="budget").one(data_cell="required").text() == "¥34,508,333"
    # The bottleneck of the example is MQLs, highlighted.
    assert "bottleneck" in (page.one(data_node="mqls").attrs["class"] or "")
    assert "bottleneck" not in (page.one(data_node="sqls").attrs.get("class") or "")


def test_it_shows_the_funnel_with_cohort_rates_and_velocity(
    user_client: Client, example: None
) -> None:
    page = _page(_get(user_client, **PAGE))
    snapshot = _snapshot()
    figure = _figure(page, "funnel-figure")
    assert figure["data"][0]["type"] == "funnel"
    assert figure["data"][0]["x"] == [
        snapshot["kpis"][k] for k in ("leads", "mqls", "sqls", "opportunities", "won_deals")
    ]
    page.one(id="funnel-chart")
    row = page.one(data_stage="mql_to_sql_rate")
    assert format_kpi("mql_to_sql_rate", snapshot["cohorts"]["mql_to_sql_rate"]["rate"]) in (
        row.text()
    )
    assert "4 of 11" in row.text()
    days = format_kpi("mql_to_sql_days", snapshot["velocity"]["mql_to_sql_days"])
    assert days in row.text()


def test_it_shows_the_trend_equal_to_each_quarters_snapshot(
    user_client: Client, example: None
) -> None:
    page = _page(_get(user_client, **PAGE))
    figures = _figure(page, "trend-figures")
    periods = trend_periods(parse_period("FY2026Q1"), parse_as_of(AS_OF))
    assert [p.name for p in periods][-1] == "FY2026Q1"
    bars = figures["wide"]["data"][0]
    assert bars["x"] == [p.name for p in periods]
    for index, period in enumerate(periods):
        kpis = _snapshot(period.name)["kpis"]
        row = page.one(data_period=period.name)
        for key in TREND_KPIS:
            assert row.one(data_trend=key).text() == format_kpi(key, kpis[key]), (period, key)
        assert bars["y"][index] == kpis["opportunities"]
    page.one(id="trend-chart")


def test_it_shows_the_channel_table_of_the_snapshot(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, **PAGE))
    by_channel = _snapshot()["by_channel"]
    table = page.one(id="channel-table")
    rows = table.all(tag="tr", data_channel=None)
    assert {row.attrs["data-channel"] for row in rows} == set(by_channel)
    for row in rows:
        values = by_channel[row.attrs["data-channel"] or ""]
        for key in CHANNEL_COLUMNS:
            assert row.one(data_column=key).text() == format_kpi(key, values[key]), key
    # Sorted by won amount, highest first: the channels the won deals came from on top.
    amounts = [by_channel[row.attrs["data-channel"] or ""]["won_amount"] for row in rows]
    assert amounts == sorted(amounts, reverse=True)
    assert len(table.all(tag="button", class_="sort")) == len(CHANNEL_COLUMNS) + 1


# --- filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [{"channel": "webinar"}, {"origin": "marketing"}, {"origin": "sales"}, {"industry": "IT"}],
)
def test_filters_narrow_the_numbers(
    user_client: Client, example: None, filters: dict[str, str]
) -> None:
    page = _page(_get(user_client, **PAGE, **filters))
    narrowed, whole = _snapshot(**filters)["kpis"], _snapshot()["kpis"]
    for key in ("leads", "opportunities", "won_amount", "win_rate", "mqls", "marketing_cost"):
        assert _value(page, key) == format_kpi(key, narrowed[key]), key
    assert narrowed["leads"] < whole["leads"]
    for name, value in filters.items():
        select = page.one(tag="select", name=name)
        assert select.one(tag="option", selected=None).attrs["value"] == value


def test_a_segment_filter_says_why_costs_are_not_shown(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, **PAGE, company_size="50-299"))
    assert _value(page, "marketing_cost") == "-"
    assert "Costs belong to channels" in page.text()


def _options(page: Node, name: str) -> list[str | None]:
    return [o.attrs["value"] for o in page.one(tag="select", name=name).all(tag="option")]


def test_it_offers_choices_from_the_data(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, **PAGE))
    assert set(_snapshot()["by_channel"]) - {"unknown"} <= set(_options(page, "channel"))
    assert {"IT", ""} <= set(_options(page, "industry"))
    assert "50-299" in _options(page, "company_size")
    periods = _options(page, "period")
    # 8 quarters, 12 months, 3 fiscal years up to the as-of date, and custom dates.
    assert periods[:2] == ["FY2026Q1", "FY2025Q4"]
    assert len([p for p in periods if p and "Q" in p]) == 8
    assert "2026-06" in periods and "2025-07" in periods and "2025-06" not in periods
    assert {"FY2026", "FY2025", "FY2024"} <= set(periods)
    assert periods[-1] == "custom"
    assert page.one(tag="input", name="start").attrs["type"] == "date"
    assert page.one(tag="input", name="as_of", type="hidden").attrs["value"] == AS_OF


def test_it_turns_custom_dates_into_a_period_link(user_client: Client) -> None:
    response = user_client.get(
        "/",
        {
            "period": "custom",
            "start": "2026-04-01",
            "end": "2026-04-30",
            "channel": "",
            "as_of": AS_OF,
        },
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query == {"period": ["2026-04-01..2026-04-30"], "as_of": [AS_OF]}
    page = _page(user_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en"))
    assert "2026-04-01..2026-04-30" in page.one(tag="h1").text()
    assert "selected" in page.one(tag="option", value="custom").attrs
    assert page.one(tag="input", name="end").attrs["value"] == "2026-04-30"


def test_it_drops_empty_filters_from_the_link(user_client: Client) -> None:
    response = user_client.get("/", {"period": "FY2026Q1", "channel": "", "industry": ""})
    assert response.status_code == 302
    assert response["Location"] == "/?period=FY2026Q1"


def test_it_asks_for_both_custom_dates(user_client: Client) -> None:
    response = _get(user_client, period="custom", start="2026-04-01")
    assert response.status_code == 400
    assert "both" in response.content.decode()


# --- links to the records ---------------------------------------------------------------


def _link(node: Node) -> tuple[str, dict[str, list[str]]]:
    href = (node if node.tag == "a" else node.one(tag="a")).attrs["href"] or ""
    parts = urlsplit(href)
    return parts.path, parse_qs(parts.query)


def test_every_count_links_to_its_records(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, **PAGE, origin="marketing"))
    same = {"period": ["FY2026Q1"], "as_of": [AS_OF], "origin": ["marketing"]}
    for key, kind in [
        ("leads", "persons"),
        ("mqls", "persons"),
        ("sqls", "persons"),
        ("opportunities", "opportunities"),
        ("won_deals", "opportunities"),
        ("lost_deals", "opportunities"),
    ]:
        path, query = _link(page.one(data_kpi=key).one(class_="value"))
        assert (path, query) == (f"/records/{kind}/", {"kpi": [key], **same}), key
    path, query = _link(page.one(data_node="leads").one(data_cell="actual"))
    assert (path, query["kpi"]) == ("/records/persons/", ["leads"])
    row = page.one(id="channel-table").one(data_channel="webinar")
    path, query = _link(row.one(data_column="won_deals"))
    assert path == "/records/opportunities/"
    assert query == {"kpi": ["won_deals"], **same, "channel": ["webinar"]}
    # A rate is not a count of records: no link.
    assert page.one(data_kpi="win_rate").one(class_="value").tag == "p"


def test_a_channel_link_replaces_the_pages_channel(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, **PAGE, channel="webinar"))
    row = page.one(id="channel-table").one(data_channel="webinar")
    _path, query = _link(row.one(data_column="leads"))
    assert query["channel"] == ["webinar"]


# --- what-if ----------------------------------------------------------------------------


def test_it_applies_a_what_if_from_the_link(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, **PAGE, what_if_r_mql_sql="0.6"))
    tree = json_ready(
        kpi_snapshot(
            parse_period("FY2026Q1"), parse_as_of(AS_OF), what_if={"r_mql_sql": Fraction("0.6")}
        )
    )["tree"]
    leads = page.one(data_node="leads").one(data_cell="required").text()
    assert leads == format_kpi("leads", tree["leads"]["required"]) != "574"
    field = page.one(data_input="r_mql_sql")
    assert "hidden" not in field.one(class_="override").attrs
    assert "hidden" in page.one(data_input="r_sql_opp").one(class_="override").attrs
    assert field.one(tag="input").attrs["value"] == "60.0"


def test_the_scripts_api_query_answers_what_ifs(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, **PAGE, channel="webinar"))
    config = json.loads(page.one(tag="script", id="dashboard-config").text())
    assert parse_qs(config["query"]) == {
        "period": ["FY2026Q1"],
        "as_of": [AS_OF],
        "channel": ["webinar"],
    }
    response = user_client.get(f"{config['api']}?{config['query']}&what_if_r_mql_sql=0.6")
    assert response.status_code == 200
    assert response.json()["tree"]["inputs"]["overrides"] == ["r_mql_sql"]
    assert config["tree"] == _snapshot(channel="webinar")["tree"]


# --- empty data, no target, errors ------------------------------------------------------


def test_it_renders_an_empty_database_with_empty_states(user_client: Client) -> None:
    response = _get(user_client, **PAGE)
    assert response.status_code == 200
    page = _page(response)
    text = page.text()
    for key in ("win_rate", "opportunity_rate", "cpa", "average_deal_size", "sales_cycle_days"):
        assert _value(page, key) == "-", key
    assert _value(page, "opportunities") == "0"
    assert "data-empty" in page.one(id="funnel-chart").attrs
    assert "no funnel to draw" in page.one(id="funnel-chart").text()
    assert "no trend to draw" in page.one(id="trend-chart").text()
    assert "no channel to compare" in text
    assert "No target set" in text
    assert page.all(tag="script", id="funnel-figure")[0].text() == "null"


def test_it_says_when_a_period_has_no_target(user_client: Client, example: None) -> None:
    page = _page(_get(user_client, period="FY2026Q2", as_of="2026-08-01T00:00:00+09:00"))
    assert "No target set" in page.one(data_kpi="won_amount").text()
    assert page.all(data_empty_tree=None)
    row = page.one(data_node="won_amount")
    assert row.one(data_cell="required").text() == "-"
    assert "No revenue (won amount) target" in row.one(data_cell="status").text()
    assert page.one(data_node="budget").one(data_cell="required").text() == "-"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "FY2026Q9"}, "FY2026Q9"),
        ({"period": "2026-13"}, "month 13"),
        ({"as_of": "yesterday"}, "yesterday"),
        ({"origin": "partners"}, "partners"),
        ({"what_if_r_mql_sql": "1.5"}, "out of range"),
        ({"period": "custom", "start": "2026-05-01", "end": "2026-04-01"}, "before the start"),
    ],
)
def test_it_answers_a_bad_question_with_400_and_the_message(
    user_client: Client, params: dict[str, str], message: str
) -> None:
    response = user_client.get("/", params, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Traceback" not in html
    page = _page(response)
    page.one(tag="form", id="dash-filters")  # the form to ask another question
    assert "plotly" not in html


# --- plotly.js from our own static files ------------------------------------------------


def test_it_loads_plotly_from_our_static_files(user_client: Client, example: None) -> None:
    html = _get(user_client, **PAGE).content.decode()
    assert '<script src="/static/vendor/plotly/plotly.min.js" defer></script>' in html
    assert "cdn.plot.ly" not in html and "https://cdn" not in html
    assert " onclick=" not in html and ' onchange="Plotly' not in html


def test_plotly_js_is_found_and_served() -> None:
    found = finders.find("vendor/plotly/plotly.min.js")
    assert found and Path(str(found)).stat().st_size > 1_000_000
    with override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True):
        response = Client().get("/static/vendor/plotly/plotly.min.js")
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert b"plotly" in body[:2000].lower()
        script = Client().get("/static/js/dashboard.js")
        assert script.status_code == 200


# --- languages --------------------------------------------------------------------------


def test_it_speaks_japanese_with_the_same_numbers(user_client: Client, example: None) -> None:
    response = user_client.get("/", PAGE, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200
    page = _page(response)
    assert page.one(tag="html").attrs["lang"] == "ja"
    assert _value(page, "won_amount") == "¥9,500,000"
    assert _value(page, "win_rate") == "60.0%"


def test_it_keeps_the_page_to_a_bounded_number_of_queries(
    user_client: Client, example: None, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(60):
        assert _get(user_client, **PAGE).status_code == 200


def test_cohort_counts_are_grouped_like_every_other_number(user_client: Client) -> None:
    """1,200 MQLs of FY2026Q1, none converted: "0 of 1,200", not "0 of 1200"."""
    source = Source.objects.create(name="ma", kind="csv")
    ingest.ingest_persons(
        source,
        [
            person(f"P{n}", jst(2026, 4, 2), email=f"p{n}@example.jp", mql_at=jst(2026, 4, 3))
            for n in range(1200)
        ],
    )
    page = _page(_get(user_client, **PAGE))
    assert "0 of 1,200" in page.one(data_stage="mql_to_sql_rate").text()
    assert "0 of 1,200 converted" in page.one(data_kpi="opportunity_rate").text()
    records = user_client.get(
        "/records/persons/", {"kpi": "leads", **PAGE}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert '<span class="record-count" data-count="1200">1,200</span>' in records.text
