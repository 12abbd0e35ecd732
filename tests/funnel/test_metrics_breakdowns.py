"""Breakdowns and filters of kpi-spec sections 2 (channel, origin), 3 (filters) and 5b
(funnel/metrics/breakdowns.py, filters.py), on one hand-made FY2026Q1 dataset."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from funnel.metrics.breakdowns import breakdown
from funnel.metrics.filters import KpiFilters
from funnel.models import Source
from tests.funnel.factories import cost, deal, jst, kpis, load, person, snapshot, window

pytestmark = pytest.mark.django_db

SourceMaker = Callable[..., Source]
COUNT_KEYS = ("leads", "mqls", "sqls", "opportunities", "won_deals", "lost_deals", "won_amount")


def _dataset(source: SourceMaker) -> None:
    """FY2026Q1. Marketing channels: webinar, paid_search; sales: outbound, partner.

    person  channel        lead   mql    sql    industry       size    owner
    A1      webinar        04-01  04-02  04-03  software       50-299  sato
    A2      webinar        04-02  04-05  -      manufacturing  -       suzuki
    B1      paid_search    04-03  -      -      software       -       sato
    C1      outbound       04-04  -      04-06  software       -       suzuki
    U1      (none)         04-05  -      -      -              -       -
    M1      outbound: SFA record created 04-06 (outbound), MA record 04-08 (webinar), one person

    deal  person      own channel   created  status       amount
    DA1   A1          paid_search   04-10    won 05-10    1,000,000
    DC1   C1          -             04-12    won 05-12    2,000,000
    DC2   C1          -             04-13    lost 05-13
    DM1   M1          -             04-14    won 05-14      500,000
    DN1   -           partner       04-15    won 05-15      300,000
    DN2   -           -             04-16    open
    DN3   -           webinar       04-17    won 05-17       50,000

    costs: webinar 04-01 300,000 + webinar/spring 05-01 100,000; paid_search 04-01 100,000
    """
    load(
        source("ma"),
        persons=[
            person(
                "A1",
                jst(2026, 4, 1),
                email="a1@example.com",
                channel="webinar",
                mql_at=jst(2026, 4, 2),
                sql_at=jst(2026, 4, 3),
                industry="software",
                company_size="50-299",
                owner="sato",
            ),
            person(
                "A2",
                jst(2026, 4, 2),
                email="a2@example.com",
                channel="webinar",
                mql_at=jst(2026, 4, 5),
                industry="manufacturing",
                owner="suzuki",
            ),
            person(
                "B1",
                jst(2026, 4, 3),
                email="b1@example.com",
                channel="paid_search",
                industry="software",
                owner="sato",
            ),
            person("U1", jst(2026, 4, 5), email="u1@example.com"),
            person("M1", jst(2026, 4, 8), email="Merge@Example.com", channel="webinar"),
        ],
        costs=[
            cost(dt.date(2026, 4, 1), "webinar", 300_000),
            cost(dt.date(2026, 5, 1), "webinar", 100_000, campaign="spring"),
            cost(dt.date(2026, 4, 1), "paid_search", 100_000),
        ],
    )
    load(
        source("sfa"),
        persons=[
            person(
                "C1",
                jst(2026, 4, 4),
                email="c1@example.com",
                channel="outbound",
                sql_at=jst(2026, 4, 6),
                industry="software",
                owner="suzuki",
            ),
            person("M1", jst(2026, 4, 6), email="merge@example.com ", channel="outbound"),
        ],
        deals=[
            deal(
                "DA1",
                jst(2026, 4, 10),
                "won",
                1_000_000,
                closed_at=jst(2026, 5, 10),
                person_email="a1@example.com",
                channel="paid_search",
            ),
            deal(
                "DC1",
                jst(2026, 4, 12),
                "won",
                2_000_000,
                closed_at=jst(2026, 5, 12),
                person_external_id="C1",
            ),
            deal(
                "DC2",
                jst(2026, 4, 13),
                "lost",
                700_000,
                closed_at=jst(2026, 5, 13),
                person_external_id="C1",
            ),
            deal(
                "DM1",
                jst(2026, 4, 14),
                "won",
                500_000,
                closed_at=jst(2026, 5, 14),
                person_external_id="M1",
            ),
            deal(
                "DN1",
                jst(2026, 4, 15),
                "won",
                300_000,
                closed_at=jst(2026, 5, 15),
                channel="partner",
            ),
            deal("DN2", jst(2026, 4, 16), "open", 400_000),
            deal(
                "DN3",
                jst(2026, 4, 17),
                "won",
                50_000,
                closed_at=jst(2026, 5, 17),
                channel="webinar",
            ),
        ],
    )


def _counts(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in COUNT_KEYS}


def _by(dimension: str, filters: KpiFilters | None = None) -> dict[str, dict[str, Any]]:
    return breakdown(window("FY2026Q1"), filters or KpiFilters(), dimension)


def _row(**values: int) -> dict[str, Any]:
    counts: dict[str, Any] = dict.fromkeys(COUNT_KEYS, 0)
    counts.update(values)
    counts["won_amount"] = Decimal(counts["won_amount"])
    return counts


# --- breakdown by channel -------------------------------------------------------------


def test_it_breaks_the_counts_down_by_first_touch_channel(source: SourceMaker) -> None:
    _dataset(source)
    rows = _by("channel")
    assert {key: _counts(row) for key, row in rows.items()} == {
        # A1 A2; DA1 (A1's channel, not its own paid_search) + DN3 (no person: own channel)
        "webinar": _row(
            leads=2, mqls=2, sqls=1, opportunities=2, won_deals=2, won_amount=1_050_000
        ),
        "paid_search": _row(leads=1),  # B1
        # C1 and M1 (its earliest record is outbound); DC1 DC2 DM1
        "outbound": _row(
            leads=2, sqls=1, opportunities=3, won_deals=2, lost_deals=1, won_amount=2_500_000
        ),
        "partner": _row(opportunities=1, won_deals=1, won_amount=300_000),  # DN1
        "unknown": _row(leads=1, opportunities=1),  # U1; DN2 (no person, no channel)
    }


def test_it_puts_cost_and_cpa_in_each_channel_row(source: SourceMaker) -> None:
    _dataset(source)
    rows = _by("channel")
    assert rows["webinar"]["marketing_cost"] == Decimal(400_000)  # 300,000 + 100,000 (spring)
    assert rows["webinar"]["cpa"] == pytest.approx(200_000)  # 400,000 / 2 leads
    assert rows["webinar"]["cost_per_opportunity"] == pytest.approx(200_000)  # / 2 opps
    assert rows["paid_search"]["cpa"] == pytest.approx(100_000)  # 100,000 / 1 lead
    assert rows["paid_search"]["cost_per_opportunity"] is None  # 100,000 / 0
    assert rows["outbound"]["cpa"] == 0  # no cost / 2 leads
    assert rows["partner"]["cpa"] is None  # no cost / 0 leads


def test_it_puts_the_cohort_rates_in_each_channel_row(source: SourceMaker) -> None:
    _dataset(source)
    rows = _by("channel")
    assert rows["webinar"]["lead_to_mql_rate"] == 1  # A1 A2 of A1 A2
    assert rows["webinar"]["mql_to_sql_rate"] == pytest.approx(1 / 2)  # A1 of A1 A2
    assert rows["webinar"]["opportunity_rate"] == pytest.approx(1 / 2)  # A1 (DA1) of A1 A2
    assert rows["webinar"]["opportunity_to_won_rate"] == 1  # DA1 DN3 of DA1 DN3
    # C1 reached MQL through its SQL, M1 through its opportunity DM1: 2 of 2
    assert rows["outbound"]["lead_to_mql_rate"] == 1
    assert rows["outbound"]["sql_to_opportunity_rate"] == 1  # C1 of C1
    assert rows["outbound"]["opportunity_to_won_rate"] == pytest.approx(2 / 3)  # DC1 DM1


def test_it_sums_the_channel_rows_to_the_totals(source: SourceMaker) -> None:
    _dataset(source)
    rows = _by("channel")
    totals = kpis("FY2026Q1")
    for key in (*COUNT_KEYS, "marketing_cost"):
        assert sum(row[key] or 0 for row in rows.values()) == totals[key], key
    # leads 6, opportunities 7, won 5, won amount 3,850,000, cost 500,000
    assert _counts(totals) == _row(
        leads=6, mqls=2, sqls=2, opportunities=7, won_deals=5, lost_deals=1, won_amount=3_850_000
    )
    assert totals["marketing_cost"] == Decimal(500_000)


def test_it_reports_the_channel_table_in_the_snapshot(source: SourceMaker) -> None:
    _dataset(source)
    assert snapshot("FY2026Q1")["by_channel"] == _by("channel")


@pytest.mark.parametrize("sfa_first", [False, True], ids=["ma-first", "sfa-first"])
def test_it_takes_the_channel_of_the_earliest_created_source_record(
    source: SourceMaker, sfa_first: bool
) -> None:
    ma = [person("M1", jst(2026, 4, 8), email="x@example.com", channel="webinar")]
    sfa = [person("S1", jst(2026, 4, 6), email="X@example.com", channel="outbound")]
    batches = [("sfa", sfa), ("ma", ma)] if sfa_first else [("ma", ma), ("sfa", sfa)]
    for name, records in batches:
        load(source(name), persons=records)
    rows = _by("channel")
    assert {key: row["leads"] for key, row in rows.items()} == {"outbound": 1}


# --- breakdown by origin --------------------------------------------------------------


def test_it_breaks_the_counts_down_by_origin(source: SourceMaker) -> None:
    _dataset(source)
    rows = _by("origin")
    assert {key: _counts(row) for key, row in rows.items()} == {
        # A1 A2 B1; DA1 DN3 (a no-person deal on a marketing channel)
        "marketing": _row(
            leads=3, mqls=2, sqls=1, opportunities=2, won_deals=2, won_amount=1_050_000
        ),
        # C1 M1 U1 (no channel: sales-sourced); DC1 DC2 DM1 DN1 DN2
        "sales": _row(
            leads=3, sqls=1, opportunities=5, won_deals=3, lost_deals=1, won_amount=2_800_000
        ),
    }


# --- filters --------------------------------------------------------------------------


def test_it_narrows_the_kpis_to_marketing_sourced(source: SourceMaker) -> None:
    _dataset(source)
    q1 = kpis("FY2026Q1", filters=KpiFilters(origin="marketing"))
    assert _counts(q1) == _row(
        leads=3, mqls=2, sqls=1, opportunities=2, won_deals=2, won_amount=1_050_000
    )


def test_it_narrows_the_kpis_to_sales_sourced(source: SourceMaker) -> None:
    _dataset(source)
    q1 = kpis("FY2026Q1", filters=KpiFilters(origin="sales"))
    assert _counts(q1) == _row(
        leads=3, sqls=1, opportunities=5, won_deals=3, lost_deals=1, won_amount=2_800_000
    )


def test_it_narrows_the_kpis_to_one_channel(source: SourceMaker) -> None:
    _dataset(source)
    q1 = kpis("FY2026Q1", filters=KpiFilters(channel="webinar"))
    assert _counts(q1) == _row(
        leads=2, mqls=2, sqls=1, opportunities=2, won_deals=2, won_amount=1_050_000
    )


def test_it_narrows_the_kpis_to_the_first_touch_channel_of_a_merged_person(
    source: SourceMaker,
) -> None:
    _dataset(source)
    q1 = kpis("FY2026Q1", filters=KpiFilters(channel="outbound"))
    # C1, M1 (earliest record outbound, though its MA record says webinar); DC1 DC2 DM1
    assert _counts(q1) == _row(
        leads=2, sqls=1, opportunities=3, won_deals=2, lost_deals=1, won_amount=2_500_000
    )


def test_it_narrows_the_kpis_to_the_unknown_channel(source: SourceMaker) -> None:
    _dataset(source)
    q1 = kpis("FY2026Q1", filters=KpiFilters(channel="unknown"))
    assert _counts(q1) == _row(leads=1, opportunities=1)  # U1; DN2


def test_it_narrows_the_kpis_to_an_industry(source: SourceMaker) -> None:
    _dataset(source)
    q1 = kpis("FY2026Q1", filters=KpiFilters(industry="software"))
    # A1 B1 C1; their deals DA1 DC1 DC2 (no-person deals have no industry)
    assert _counts(q1) == _row(
        leads=3, mqls=1, sqls=2, opportunities=3, won_deals=2, lost_deals=1, won_amount=3_000_000
    )


def test_it_narrows_the_kpis_to_an_owner(source: SourceMaker) -> None:
    _dataset(source)
    q1 = kpis("FY2026Q1", filters=KpiFilters(owner="suzuki"))
    # A2 C1; DC1 DC2
    assert _counts(q1) == _row(
        leads=2, mqls=1, sqls=1, opportunities=2, won_deals=1, lost_deals=1, won_amount=2_000_000
    )


def test_it_narrows_the_kpis_to_a_company_size(source: SourceMaker) -> None:
    _dataset(source)
    q1 = kpis("FY2026Q1", filters=KpiFilters(company_size="50-299"))
    # A1; DA1
    assert _counts(q1) == _row(
        leads=1, mqls=1, sqls=1, opportunities=1, won_deals=1, won_amount=1_000_000
    )


def test_it_matches_a_channel_filter_with_its_breakdown_row(source: SourceMaker) -> None:
    _dataset(source)
    rows = _by("channel")
    for channel in ("webinar", "paid_search", "outbound", "partner", "unknown"):
        filtered = kpis("FY2026Q1", filters=KpiFilters(channel=channel))
        assert _counts(filtered) == _counts(rows[channel]), channel


def test_it_refuses_an_unknown_dimension(db: None) -> None:
    with pytest.raises(ValueError, match="cannot break down"):
        _by("weather")
