"""`manage.py kpis`: the KPI object of kpi-spec section 7, as JSON or as a table.

A tiny hand-made dataset (FY2026Q1 = 2026-04-01..2026-06-30 JST) whose answers are computed
by hand below.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from funnel import ingest
from funnel.choices import PERIOD_KPI_KEYS
from funnel.models import Source
from funnel.records import CostRecord, OpportunityRecord, PersonRecord

JST = ZoneInfo("Asia/Tokyo")
pytestmark = pytest.mark.django_db
AFTER_QUARTER = "2026-07-01T00:00:00+09:00"
COHORT_KEYS = (
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_won_rate",
    "opportunity_rate",
)
VELOCITY_KEYS = (
    "lead_to_mql_days",
    "mql_to_sql_days",
    "sql_to_opportunity_days",
    "opportunity_to_won_days",
    "mql_to_opportunity_days",
)


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture
def company(source: Callable[..., Source]) -> None:
    """Leads in Q1: P1, P2, P5 (marketing), P3 (outbound: sales). P4 is FY2025Q4 by one
    second. MQLs: P1, P2. SQLs: P1, P3. O1 (P1) won 2,000,000 after 35 days; O2 (P3) lost.
    Cost 400,000 (webinar 300,000 + paid_search 100,000)."""
    ma = source("ma")
    ingest.ingest_persons(
        ma,
        [
            PersonRecord(
                "P1",
                _at("2026-04-10T10:00:00+09:00"),
                email="p1@example.jp",
                channel="webinar",
                mql_at=_at("2026-04-12T10:00:00+09:00"),
                sql_at=_at("2026-04-20T10:00:00+09:00"),
            ),
            PersonRecord(
                "P2",
                _at("2026-04-11T10:00:00+09:00"),
                email="p2@example.jp",
                channel="webinar",
                mql_at=_at("2026-04-15T10:00:00+09:00"),
            ),
            PersonRecord(
                "P3",
                _at("2026-05-01T00:00:00+09:00"),
                email="p3@example.jp",
                channel="outbound",
                sql_at=_at("2026-05-03T10:00:00+09:00"),
            ),
            PersonRecord(
                "P4", _at("2026-03-31T23:59:59+09:00"), email="p4@example.jp", channel="paid_search"
            ),
            PersonRecord(
                "P5", _at("2026-04-01T00:00:00+09:00"), email="p5@example.jp", channel="paid_search"
            ),
        ],
    )
    ingest.ingest_opportunities(
        source("sfa"),
        [
            OpportunityRecord(
                "O1",
                Decimal(2_000_000),
                _at("2026-04-25T10:00:00+09:00"),
                "won",
                person_email="p1@example.jp",
                closed_at=_at("2026-05-30T10:00:00+09:00"),
            ),
            OpportunityRecord(
                "O2",
                Decimal(1_000_000),
                _at("2026-05-05T10:00:00+09:00"),
                "lost",
                person_email="p3@example.jp",
                closed_at=_at("2026-06-01T10:00:00+09:00"),
            ),
        ],
    )
    ingest.ingest_costs(
        ma,
        [
            CostRecord(dt.date(2026, 4, 1), "webinar", Decimal(300_000)),
            CostRecord(dt.date(2026, 4, 1), "paid_search", Decimal(100_000)),
        ],
    )


def _kpis(**options: Any) -> dict[str, Any]:
    out = StringIO()
    call_command("kpis", format="json", stdout=out, **options)
    return json.loads(out.getvalue())


def _table(**options: Any) -> str:
    out = StringIO()
    call_command("kpis", format="table", stdout=out, **options)
    return out.getvalue()


def test_it_prints_the_kpi_object_as_json(company: None) -> None:
    data = _kpis(period="FY2026Q1", as_of=AFTER_QUARTER)
    assert data["period"] == {"name": "FY2026Q1", "start": "2026-04-01", "end": "2026-06-30"}
    assert data["as_of"] == AFTER_QUARTER
    kpis = data["kpis"]
    assert {*PERIOD_KPI_KEYS, *COHORT_KEYS, *VELOCITY_KEYS} <= kpis.keys()
    expected = {
        "leads": 4,
        "mqls": 2,
        "sqls": 2,
        "opportunities": 2,
        "won_deals": 1,
        "lost_deals": 1,
        "won_amount": 2_000_000,
        "marketing_cost": 400_000,
        "cpa": 100_000,
        "cost_per_opportunity": 200_000,
        "win_rate": 0.5,
        "average_deal_size": 2_000_000,
        "sales_cycle_days": 35,
        "web_visits": 0,
    }
    assert {key: kpis[key] for key in expected} == expected
    assert {"inputs", "won_amount", "won_deals", "opportunities", "sqls", "mqls", "leads"} <= (
        data["tree"].keys()
    )
    assert {"budget", "bottleneck"} <= data["tree"].keys()
    assert {"velocity", "cohorts", "by_channel"} <= data.keys()
    assert data["by_channel"]["webinar"]["leads"] == 2


def test_it_prints_null_for_a_ratio_with_a_zero_denominator(db: None) -> None:
    kpis = _kpis(period="FY2026Q1", as_of=AFTER_QUARTER)["kpis"]
    assert kpis["leads"] == 0
    for key in ("cpa", "cost_per_opportunity", "win_rate", "average_deal_size", *COHORT_KEYS):
        assert kpis[key] is None, key


def test_it_prints_a_table(company: None) -> None:
    lines = _table(period="FY2026Q1", as_of=AFTER_QUARTER).splitlines()
    assert lines[0] == f"FY2026Q1 as of {AFTER_QUARTER}"
    rows = {line.split("(")[-1].split(")")[0]: line.split()[-1] for line in lines[1:]}
    assert rows["leads"] == "4"
    assert rows["won_amount"] == "¥2,000,000"
    assert rows["win_rate"] == "50.0%"
    assert rows["cpa"] == "¥100,000"


def test_it_prints_a_dash_in_the_table_for_null(db: None) -> None:
    table = _table(period="FY2026Q1", as_of=AFTER_QUARTER)
    (win_rate,) = [line for line in table.splitlines() if "(win_rate)" in line]
    assert win_rate.split()[-1] == "-"


@pytest.mark.parametrize(
    ("as_of", "shown", "leads", "opportunities"),
    [
        # A date alone is 00:00 company time; P3 created exactly then counts (<= as_of).
        ("2026-05-01", "2026-05-01T00:00:00+09:00", 4, 1),
        ("2026-04-30T15:00:00Z", "2026-05-01T00:00:00+09:00", 4, 1),
        ("2026-04-30T23:59:59+09:00", "2026-04-30T23:59:59+09:00", 3, 1),
        ("2026-04-30T23:59:59", "2026-04-30T23:59:59+09:00", 3, 1),
        ("2026-04-20T00:00:00+09:00", "2026-04-20T00:00:00+09:00", 3, 0),
    ],
)
def test_it_reads_as_of(
    company: None, as_of: str, shown: str, leads: int, opportunities: int
) -> None:
    data = _kpis(period="FY2026Q1", as_of=as_of)
    assert data["as_of"] == shown
    assert (data["kpis"]["leads"], data["kpis"]["opportunities"]) == (leads, opportunities)


def test_it_counts_a_deal_won_after_as_of_as_open(company: None) -> None:
    kpis = _kpis(period="FY2026Q1", as_of="2026-05-30T09:59:59+09:00")["kpis"]
    assert (kpis["won_deals"], kpis["won_amount"]) == (0, 0)


def test_it_reads_other_period_names(company: None) -> None:
    assert _kpis(period="2026-04", as_of=AFTER_QUARTER)["kpis"]["leads"] == 3
    assert _kpis(period="FY2025Q4", as_of=AFTER_QUARTER)["kpis"]["leads"] == 1
    assert _kpis(period="FY2026", as_of=AFTER_QUARTER)["kpis"]["leads"] == 4
    explicit = _kpis(period="2026-05-01..2026-05-31", as_of=AFTER_QUARTER)
    assert explicit["period"]["start"] == "2026-05-01"
    assert explicit["kpis"]["leads"] == 1


def test_it_uses_now_without_as_of(db: None) -> None:
    data = _kpis(period="FY2026Q1")
    as_of = dt.datetime.fromisoformat(data["as_of"])
    assert abs((as_of - dt.datetime.now(dt.UTC)).total_seconds()) < 60


@pytest.mark.parametrize("period", ["FY2026Q5", "Q1", "2026-13", "2026-06-30..2026-04-01", "now"])
def test_it_rejects_a_bad_period_with_a_clear_message(db: None, period: str) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("kpis", period=period, stdout=StringIO())
    message = str(raised.value)
    assert period in message
    assert "Traceback" not in message


def test_it_names_the_accepted_period_forms(db: None) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("kpis", period="this quarter", stdout=StringIO())
    assert "FY2026Q1" in str(raised.value)


@pytest.mark.parametrize("as_of", ["04/05/2026", "2026-02-30", "tomorrow", "45123"])
def test_it_rejects_a_bad_as_of(db: None, as_of: str) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("kpis", period="FY2026Q1", as_of=as_of, stdout=StringIO())
    assert as_of in str(raised.value)


def test_it_narrows_by_origin(company: None) -> None:
    marketing = _kpis(period="FY2026Q1", as_of=AFTER_QUARTER, origin="marketing")
    sales = _kpis(period="FY2026Q1", as_of=AFTER_QUARTER, origin="sales")
    assert marketing["filters"] == {"origin": "marketing"}
    assert (marketing["kpis"]["leads"], sales["kpis"]["leads"]) == (3, 1)
    assert (marketing["kpis"]["sqls"], sales["kpis"]["sqls"]) == (1, 1)
    assert (marketing["kpis"]["won_deals"], sales["kpis"]["lost_deals"]) == (1, 1)
    assert (marketing["kpis"]["opportunities"], sales["kpis"]["opportunities"]) == (1, 1)


def test_it_narrows_by_channel(company: None) -> None:
    webinar = _kpis(period="FY2026Q1", as_of=AFTER_QUARTER, channel="webinar")["kpis"]
    assert (webinar["leads"], webinar["mqls"], webinar["opportunities"]) == (2, 2, 1)
    assert (webinar["won_amount"], webinar["marketing_cost"]) == (2_000_000, 300_000)
    outbound = _kpis(period="FY2026Q1", as_of=AFTER_QUARTER, channel="outbound")["kpis"]
    assert (outbound["leads"], outbound["mqls"], outbound["won_deals"]) == (1, 0, 0)


def test_it_prints_the_same_numbers_as_a_table_and_as_json(company: None) -> None:
    data = _kpis(period="FY2026Q1", as_of=AFTER_QUARTER, channel="webinar")
    table = _table(period="FY2026Q1", as_of=AFTER_QUARTER, channel="webinar")
    (leads,) = [line for line in table.splitlines() if "(leads)" in line]
    assert leads.split()[-1] == str(data["kpis"]["leads"])
