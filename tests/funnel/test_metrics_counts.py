"""Period KPIs of kpi-spec section 3 (funnel/metrics/counts.py, ratios.py, velocity.py's
sales cycle), on hand-made datasets whose answers are computed by hand in the comments.

FY2026Q1 is 2026-04-01..2026-06-30 in Asia/Tokyo: a timestamp counts when
2026-04-01 00:00 JST (2026-03-31T15:00:00Z) <= t < 2026-07-01 00:00 JST (2026-06-30T15:00:00Z).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from funnel.csv_import.importer import import_csv_files
from funnel.models import Person, Source
from tests.funnel.factories import activity, at, cost, deal, jst, kpis, load, person

pytestmark = pytest.mark.django_db

SourceMaker = Callable[..., Source]

SECTION_3_KEYS = {
    "leads",
    "mqls",
    "web_visits",
    "marketing_cost",
    "cpa",
    "cost_per_opportunity",
    "sqls",
    "opportunities",
    "won_amount",
    "won_deals",
    "lost_deals",
    "win_rate",
    "average_deal_size",
    "sales_cycle_days",
    "opportunity_rate",
    "mql_acceptance_sla",
}
SECTION_4_KEYS = {
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_won_rate",
    "lead_to_mql_days",
    "mql_to_sql_days",
    "sql_to_opportunity_days",
    "opportunity_to_won_days",
    "mql_to_opportunity_days",
}
RATIO_KEYS = (
    "cpa",
    "cost_per_opportunity",
    "win_rate",
    "average_deal_size",
    "sales_cycle_days",
    "opportunity_rate",
    "mql_acceptance_sla",
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_won_rate",
    "lead_to_mql_days",
    "mql_to_sql_days",
    "sql_to_opportunity_days",
    "opportunity_to_won_days",
    "mql_to_opportunity_days",
)


# --- the calendar: JST midnight at the quarter boundary ---------------------------------


def test_it_counts_a_lead_at_0000_jst_april_1_in_the_new_quarter(source: SourceMaker) -> None:
    load(
        source("ma"),
        persons=[
            person("L1", at("2026-03-31T23:59:59+09:00")),
            person("L2", at("2026-04-01T00:00:00+09:00")),
        ],
    )
    assert kpis("FY2026Q1")["leads"] == 1  # L2
    assert kpis("FY2025Q4")["leads"] == 1  # L1


def test_it_cuts_z_timestamps_at_jst_midnight(source: SourceMaker) -> None:
    load(
        source("ma"),
        persons=[
            person("L1", at("2026-03-31T14:59:59Z")),  # 2026-03-31 23:59:59 JST -> FY2025Q4
            person("L2", at("2026-03-31T15:00:00Z")),  # 2026-04-01 00:00:00 JST -> FY2026Q1
        ],
    )
    assert kpis("FY2026Q1")["leads"] == 1
    assert kpis("FY2025Q4")["leads"] == 1


def test_it_ends_a_quarter_at_midnight_after_june_30(source: SourceMaker) -> None:
    load(
        source("ma"),
        persons=[
            person("L1", at("2026-06-30T23:59:59+09:00")),  # FY2026Q1
            person("L2", at("2026-06-30T15:00:00Z")),  # 2026-07-01 00:00 JST -> FY2026Q2
        ],
    )
    assert kpis("FY2026Q1")["leads"] == 1
    assert kpis("FY2026Q2")["leads"] == 1


def test_it_cuts_mqls_and_sqls_at_jst_midnight(source: SourceMaker) -> None:
    created = at("2026-03-01T10:00:00+09:00")
    load(
        source("ma"),
        persons=[
            # P1: MQL 03-31 23:59:59 JST (Q4), SQL 04-01 00:00 JST (Q1).
            person(
                "P1",
                created,
                mql_at=at("2026-03-31T23:59:59+09:00"),
                sql_at=at("2026-03-31T15:00:00Z"),
            ),
            # P2: MQL 04-01 00:00 JST (Q1), SQL 07-01 00:00 JST (Q2).
            person(
                "P2",
                created,
                mql_at=at("2026-03-31T15:00:00Z"),
                sql_at=at("2026-07-01T00:00:00+09:00"),
            ),
        ],
    )
    q1, q4 = kpis("FY2026Q1"), kpis("FY2025Q4")
    assert (q1["mqls"], q1["sqls"]) == (1, 1)  # mqls: P2; sqls: P1
    assert (q4["mqls"], q4["sqls"]) == (1, 0)  # mqls: P1


def test_it_cuts_opportunities_and_closes_at_jst_midnight(source: SourceMaker) -> None:
    load(
        source("sfa"),
        deals=[
            # created in Q4 (23:59:59 JST), won in Q1 (00:00 JST)
            deal(
                "D1",
                at("2026-03-31T23:59:59+09:00"),
                "won",
                500_000,
                closed_at=at("2026-04-01T00:00:00+09:00"),
            ),
            # created in Q1 (00:00 JST written in Z), lost in Q2 (07-01 00:00 JST written in Z)
            deal(
                "D2",
                at("2026-03-31T15:00:00Z"),
                "lost",
                300_000,
                closed_at=at("2026-06-30T15:00:00Z"),
            ),
        ],
    )
    q1 = kpis("FY2026Q1")
    assert q1["opportunities"] == 1  # D2
    assert (q1["won_deals"], q1["won_amount"], q1["lost_deals"]) == (1, Decimal(500_000), 0)
    assert kpis("FY2026Q2")["lost_deals"] == 1  # D2
    assert kpis("FY2025Q4")["opportunities"] == 1  # D1


def test_it_reads_naive_timestamps_in_company_time(source: SourceMaker, tmp_path: Path) -> None:
    (tmp_path / "persons.csv").write_text(
        "external_id,email,created_at,mql_at\n"
        "N1,n1@example.com,2026-03-31T23:59:59,\n"  # 23:59:59 JST -> FY2025Q4
        "N2,n2@example.com,2026-04-01T00:00:00,2026-06-30T23:59:59\n"  # lead Q1, MQL Q1
        "N3,n3@example.com,2026-04-01,2026-07-01\n",  # a date alone: 00:00 JST; MQL in Q2
        encoding="utf-8",
    )
    report = import_csv_files("ma", [tmp_path / "persons.csv"])
    assert report.ok
    q1 = kpis("FY2026Q1")
    assert (q1["leads"], q1["mqls"]) == (2, 1)  # leads N2, N3; MQL N2
    assert kpis("FY2025Q4")["leads"] == 1  # N1
    n2 = Person.objects.get(email_normalized="n2@example.com")
    assert n2.lead_at == at("2026-03-31T15:00:00Z")


# --- persons: skipped stages, merges, re-qualification ----------------------------------


def test_it_does_not_count_a_skipped_mql_as_an_mql(source: SourceMaker) -> None:
    load(
        source("sfa"),
        persons=[
            person(
                "S1",
                jst(2026, 4, 3, 9),
                email="buyer@example.com",
                channel="outbound",
                sql_at=jst(2026, 4, 10, 9),
            )
        ],
    )
    q1 = kpis("FY2026Q1")
    assert (q1["leads"], q1["mqls"], q1["sqls"]) == (1, 0, 1)


def test_it_merges_one_person_across_sources_by_trimmed_lower_case_email(
    source: SourceMaker,
) -> None:
    load(
        source("ma"),
        persons=[person("M1", jst(2026, 4, 10), email="  Taro.Yamada@Example.COM ")],
    )
    load(source("sfa"), persons=[person("S1", jst(2026, 4, 12), email="taro.yamada@example.com")])
    assert Person.objects.count() == 1
    assert kpis("FY2026Q1")["leads"] == 1  # one human, not two


@pytest.mark.parametrize("sfa_first", [False, True], ids=["ma-first", "sfa-first"])
def test_it_dates_a_merged_lead_at_its_earliest_creation(
    source: SourceMaker, sfa_first: bool
) -> None:
    ma = [person("M1", jst(2026, 4, 10), email="Hanako@Example.com")]
    sfa = [person("S1", jst(2026, 3, 25), email=" hanako@example.com")]
    batches = [("sfa", sfa), ("ma", ma)] if sfa_first else [("ma", ma), ("sfa", sfa)]
    for name, records in batches:
        load(source(name), persons=records)
    # lead_at = min(2026-04-10, 2026-03-25) = 2026-03-25 -> FY2025Q4, not FY2026Q1.
    assert kpis("FY2026Q1")["leads"] == 0
    assert kpis("FY2025Q4")["leads"] == 1
    assert Person.objects.get().lead_at == jst(2026, 3, 25)


@pytest.mark.parametrize("sfa_first", [False, True], ids=["ma-first", "sfa-first"])
def test_it_dates_a_merged_persons_stages_at_the_earliest_among_sources(
    source: SourceMaker, sfa_first: bool
) -> None:
    ma = [
        person(
            "M1",
            jst(2026, 3, 1),
            email="JIRO@example.com",
            mql_at=jst(2026, 4, 2),
            sql_at=jst(2026, 4, 20),
        )
    ]
    sfa = [
        person(
            "S1",
            jst(2026, 3, 5),
            email="jiro@example.com ",
            mql_at=jst(2026, 3, 30),
            sql_at=jst(2026, 4, 15),
        )
    ]
    batches = [("sfa", sfa), ("ma", ma)] if sfa_first else [("ma", ma), ("sfa", sfa)]
    for name, records in batches:
        load(source(name), persons=records)
    # mql_at = min(04-02, 03-30) = 03-30 (FY2025Q4); sql_at = min(04-20, 04-15) = 04-15 (Q1).
    q1 = kpis("FY2026Q1")
    assert (q1["mqls"], q1["sqls"]) == (0, 1)
    assert kpis("FY2025Q4")["mqls"] == 1
    merged = Person.objects.get()
    assert (merged.mql_at, merged.sql_at) == (jst(2026, 3, 30), jst(2026, 4, 15))


def test_it_keeps_the_first_mql_date_when_a_person_qualifies_again(source: SourceMaker) -> None:
    ma = source("ma")
    load(
        ma, persons=[person("M1", jst(2026, 3, 1), email="a@example.com", mql_at=jst(2026, 3, 20))]
    )
    # Recycled, then qualified again in FY2026Q1: the first entry (03-20) stays.
    load(
        ma, persons=[person("M1", jst(2026, 3, 1), email="a@example.com", mql_at=jst(2026, 4, 20))]
    )
    assert kpis("FY2026Q1")["mqls"] == 0
    assert kpis("FY2025Q4")["mqls"] == 1


# --- opportunities ---------------------------------------------------------------------


def test_it_counts_an_opportunity_with_no_person(source: SourceMaker) -> None:
    load(
        source("sfa"),
        deals=[deal("D1", jst(2026, 4, 5), "won", 700_000, closed_at=jst(2026, 5, 5))],
    )
    q1 = kpis("FY2026Q1")
    assert (q1["opportunities"], q1["won_deals"], q1["won_amount"]) == (1, 1, Decimal(700_000))


def test_it_counts_an_opportunity_whose_person_matches_no_one(source: SourceMaker) -> None:
    results = load(
        source("sfa"),
        deals=[
            deal(
                "D1",
                jst(2026, 4, 5),
                "won",
                400_000,
                closed_at=jst(2026, 4, 25),
                person_email="ghost@example.com",
            )
        ],
    )
    assert results["opportunities"].unlinked == 1
    q1 = kpis("FY2026Q1")
    assert (q1["opportunities"], q1["won_deals"], q1["won_amount"]) == (1, 1, Decimal(400_000))


def test_it_sums_won_amount_won_and_lost_deals_of_the_period(source: SourceMaker) -> None:
    load(
        source("sfa"),
        deals=[
            deal("W1", jst(2026, 3, 1), "won", 1_200_000, closed_at=jst(2026, 4, 20)),
            deal("W2", jst(2026, 4, 1), "won", 800_000, closed_at=jst(2026, 5, 10)),
            deal("W3", jst(2026, 5, 1), "won", 1_000_001, closed_at=jst(2026, 6, 30, 23)),
            deal("W4", jst(2026, 5, 1), "won", 9_999, closed_at=jst(2026, 7, 1)),  # Q2
            deal("L1", jst(2026, 4, 1), "lost", 50_000, closed_at=jst(2026, 5, 1)),
            deal("L2", jst(2026, 4, 1), "lost", 60_000, closed_at=jst(2026, 6, 1)),
            deal("L3", jst(2026, 3, 1), "lost", 70_000, closed_at=jst(2026, 3, 31)),  # Q4
            deal("O1", jst(2026, 4, 2), "open", 90_000),
        ],
    )
    q1 = kpis("FY2026Q1")
    assert q1["won_deals"] == 3  # W1, W2, W3
    assert q1["won_amount"] == Decimal(3_000_001)  # 1,200,000 + 800,000 + 1,000,001
    assert q1["lost_deals"] == 2  # L1, L2
    assert q1["win_rate"] == pytest.approx(0.6)  # 3 / (3 + 2)
    assert q1["average_deal_size"] == pytest.approx(3_000_001 / 3)  # 1,000,000.33...
    assert q1["opportunities"] == 6  # created in Q1: W2, W3, W4, L1, L2, O1


def test_it_treats_a_deal_won_after_as_of_as_open(source: SourceMaker) -> None:
    load(
        source("sfa"),
        deals=[deal("D1", jst(2026, 4, 10), "won", 900_000, closed_at=jst(2026, 6, 20))],
    )
    q1 = kpis("FY2026Q1", as_of=jst(2026, 6, 15))
    assert q1["opportunities"] == 1
    assert (q1["won_deals"], q1["won_amount"], q1["lost_deals"]) == (0, Decimal(0), 0)
    assert q1["win_rate"] is None  # 0 / (0 + 0)
    assert q1["average_deal_size"] is None  # 0 / 0
    assert q1["sales_cycle_days"] is None  # no won deal closed by as_of


def test_it_treats_a_deal_lost_after_as_of_as_open(source: SourceMaker) -> None:
    load(
        source("sfa"),
        deals=[deal("D1", jst(2026, 4, 10), "lost", 900_000, closed_at=jst(2026, 6, 20))],
    )
    assert kpis("FY2026Q1", as_of=jst(2026, 6, 15))["lost_deals"] == 0
    assert kpis("FY2026Q1", as_of=jst(2026, 6, 21))["lost_deals"] == 1


def test_it_counts_a_deal_closed_exactly_at_as_of(source: SourceMaker) -> None:
    load(
        source("sfa"),
        deals=[deal("D1", jst(2026, 4, 10), "won", 900_000, closed_at=jst(2026, 6, 20, 10))],
    )
    # Every comparison with as_of is <=.
    q1 = kpis("FY2026Q1", as_of=at("2026-06-20T01:00:00Z"))  # = 2026-06-20 10:00 JST
    assert (q1["won_deals"], q1["won_amount"]) == (1, Decimal(900_000))


# --- as_of -----------------------------------------------------------------------------


def test_it_ignores_stage_dates_after_as_of(source: SourceMaker) -> None:
    load(
        source("ma"),
        persons=[
            person("P1", jst(2026, 4, 5), mql_at=jst(2026, 6, 20), sql_at=jst(2026, 6, 25)),
            person("P2", jst(2026, 6, 16)),
        ],
    )
    q1 = kpis("FY2026Q1", as_of=jst(2026, 6, 15))
    assert (q1["leads"], q1["mqls"], q1["sqls"]) == (1, 0, 0)  # only P1's lead_at <= as_of
    later = kpis("FY2026Q1", as_of=jst(2026, 7, 1))
    assert (later["leads"], later["mqls"], later["sqls"]) == (2, 1, 1)


def test_it_counts_a_stage_date_exactly_at_as_of(source: SourceMaker) -> None:
    load(source("ma"), persons=[person("P1", jst(2026, 4, 5), mql_at=jst(2026, 6, 15))])
    assert kpis("FY2026Q1", as_of=jst(2026, 6, 15))["mqls"] == 1
    assert kpis("FY2026Q1", as_of=at("2026-06-14T23:59:59+09:00"))["mqls"] == 0


def test_it_counts_only_web_visit_activities_of_the_period(source: SourceMaker) -> None:
    load(
        source("ma"),
        persons=[person("P1", jst(2026, 4, 1), email="v@example.com")],
        activities=[
            activity("A1", at("2026-03-31T23:59:59+09:00")),  # FY2025Q4
            activity("A2", at("2026-03-31T15:00:00Z")),  # 04-01 00:00 JST, anonymous
            activity("A3", jst(2026, 4, 10), kind="page_view", person_external_id="P1"),
            activity("A4", jst(2026, 4, 11), person_external_id="P1"),
            activity("A5", jst(2026, 4, 12), person_email="V@Example.com"),
            activity("A6", jst(2026, 4, 13), kind="form_submit"),
            activity("A7", at("2026-06-30T15:00:00Z")),  # 07-01 00:00 JST -> FY2026Q2
        ],
    )
    assert kpis("FY2026Q1")["web_visits"] == 3  # A2, A4, A5


def test_it_ignores_activities_after_as_of(source: SourceMaker) -> None:
    load(
        source("ma"),
        activities=[
            activity("A1", jst(2026, 6, 14, 23)),
            activity("A2", jst(2026, 6, 15)),  # exactly at as_of: counts
            activity("A3", at("2026-06-14T15:00:01Z")),  # 06-15 00:00:01 JST: after as_of
        ],
    )
    assert kpis("FY2026Q1", as_of=jst(2026, 6, 15))["web_visits"] == 2


def test_it_sums_cost_entries_dated_in_the_period(source: SourceMaker) -> None:
    load(
        source("ma"),
        costs=[
            cost(dt.date(2026, 3, 31), "paid_search", 100),  # FY2025Q4
            cost(dt.date(2026, 4, 1), "paid_search", 1_000),
            cost(dt.date(2026, 6, 30), "webinar", 2_000),
            cost(dt.date(2026, 6, 30), "webinar", 500, campaign="spring"),
            cost(dt.date(2026, 7, 1), "webinar", 4_000),  # FY2026Q2
        ],
    )
    assert kpis("FY2026Q1")["marketing_cost"] == Decimal(3_500)  # 1,000 + 2,000 + 500


def test_it_counts_a_cost_from_0000_jst_of_its_day(source: SourceMaker) -> None:
    load(
        source("ma"),
        costs=[
            cost(dt.date(2026, 6, 14), "paid_search", 10),
            cost(dt.date(2026, 6, 15), "paid_search", 200),
            cost(dt.date(2026, 6, 16), "paid_search", 3_000),
        ],
    )
    # as_of 06-15 00:00 JST: the 06-15 entry happened at 06-15 00:00 <= as_of -> 10 + 200.
    assert kpis("FY2026Q1", as_of=jst(2026, 6, 15))["marketing_cost"] == Decimal(210)
    # The same instant in Z.
    assert kpis("FY2026Q1", as_of=at("2026-06-14T15:00:00Z"))["marketing_cost"] == Decimal(210)
    # One second earlier the 06-15 entry has not happened yet -> 10.
    early = at("2026-06-14T23:59:59+09:00")
    assert kpis("FY2026Q1", as_of=early)["marketing_cost"] == Decimal(10)


def test_it_dates_a_monthly_cost_on_the_first_day_of_its_month(
    source: SourceMaker, tmp_path: Path
) -> None:
    (tmp_path / "costs.csv").write_text(
        "date,channel,campaign,amount\n"
        "2026-03,webinar,,1000\n"  # 2026-03-01: FY2025Q4
        "2026-04,webinar,,20000\n"  # 2026-04-01 00:00 JST: FY2026Q1
        "2026-06,paid_search,,300000\n",  # 2026-06-01: FY2026Q1, after as_of below
        encoding="utf-8",
    )
    assert import_csv_files("ma", [tmp_path / "costs.csv"]).ok
    assert kpis("FY2026Q1")["marketing_cost"] == Decimal(320_000)  # 20,000 + 300,000
    # as_of 2026-04-01 00:00 JST: the April entry happened exactly then -> counts
    assert kpis("FY2026Q1", as_of=jst(2026, 4, 1))["marketing_cost"] == Decimal(20_000)


def test_it_replaces_a_re_sent_cost_instead_of_adding_it(source: SourceMaker) -> None:
    ma = source("ma")
    load(ma, costs=[cost(dt.date(2026, 4, 1), "webinar", 100_000)])
    load(ma, costs=[cost(dt.date(2026, 4, 1), "webinar", 80_000)])
    assert kpis("FY2026Q1")["marketing_cost"] == Decimal(80_000)


def test_it_divides_cost_by_all_leads_and_all_opportunities(source: SourceMaker) -> None:
    load(
        source("ma"),
        persons=[
            person("P1", jst(2026, 4, 2), email="p1@example.com", channel="webinar"),
            person("P2", jst(2026, 4, 3), email="p2@example.com", channel="paid_search"),
        ],
        costs=[cost(dt.date(2026, 4, 1), "webinar", 200_000)],
    )
    load(
        source("sfa"),
        persons=[person("S1", jst(2026, 4, 4), email="s1@example.com", channel="outbound")],
        deals=[
            deal("D1", jst(2026, 4, 20), person_external_id="S1"),
            deal("D2", jst(2026, 5, 20)),
        ],
        costs=[cost(dt.date(2026, 5, 1), "paid_search", 100_000)],
    )
    q1 = kpis("FY2026Q1")
    assert q1["marketing_cost"] == Decimal(300_000)  # 200,000 + 100,000
    # Marketing- and sales-sourced leads alike: 3 leads, 2 opportunities.
    assert q1["cpa"] == pytest.approx(100_000)  # 300,000 / 3
    assert q1["cost_per_opportunity"] == pytest.approx(150_000)  # 300,000 / 2


# --- the sales cycle -------------------------------------------------------------------


def _cycle_deals(include_s2: bool) -> list:
    deals = [
        # 2026-04-01 00:00 -> 2026-04-02 12:00 = 36 h = 1.5 days (never truncated to 1)
        deal("S1", jst(2026, 4, 1), "won", 100, closed_at=jst(2026, 4, 2, 12)),
        # closed 3 days before created (entered out of order) -> counts as 0
        deal("S3", jst(2026, 4, 20), "won", 100, closed_at=jst(2026, 4, 17)),
        # 2026-05-01 -> 2026-05-05 = 4 days
        deal("S4", jst(2026, 5, 1), "won", 100, closed_at=jst(2026, 5, 5)),
        # not won, or not closed in the period: not in the median
        deal("L1", jst(2026, 4, 1), "lost", 100, closed_at=jst(2026, 6, 1)),
        deal("W9", jst(2026, 4, 1), "won", 100, closed_at=jst(2026, 7, 2)),
        deal("O1", jst(2026, 4, 1), "open", 100),
    ]
    if include_s2:
        # 2026-04-01 -> 2026-04-11 = 10 days
        deals.append(deal("S2", jst(2026, 4, 1), "won", 100, closed_at=jst(2026, 4, 11)))
    return deals


def test_it_takes_the_median_sales_cycle_of_an_odd_count(source: SourceMaker) -> None:
    load(source("sfa"), deals=_cycle_deals(include_s2=False))
    # sorted 0, 1.5, 4 -> 1.5
    assert kpis("FY2026Q1")["sales_cycle_days"] == pytest.approx(1.5, abs=1e-9)


def test_it_averages_the_two_middle_sales_cycles_of_an_even_count(source: SourceMaker) -> None:
    load(source("sfa"), deals=_cycle_deals(include_s2=True))
    # sorted 0, 1.5, 4, 10 -> (1.5 + 4) / 2 = 2.75
    assert kpis("FY2026Q1")["sales_cycle_days"] == pytest.approx(2.75, abs=1e-9)


def test_it_counts_a_negative_sales_cycle_as_zero(source: SourceMaker) -> None:
    load(
        source("sfa"),
        deals=[deal("S1", jst(2026, 4, 20), "won", 100, closed_at=jst(2026, 4, 17))],
    )
    assert kpis("FY2026Q1")["sales_cycle_days"] == 0  # -3 days -> 0


def test_it_measures_the_sales_cycle_in_exact_seconds(source: SourceMaker) -> None:
    load(
        source("sfa"),
        deals=[
            deal(
                "S1",
                at("2026-04-01T00:00:00+09:00"),
                "won",
                100,
                closed_at=at("2026-04-01T06:00:00+09:00"),
            )
        ],
    )
    assert kpis("FY2026Q1")["sales_cycle_days"] == pytest.approx(0.25, abs=1e-9)  # 6 h / 24 h


# --- zero denominators, and the keys -----------------------------------------------------


def test_it_gives_null_for_every_ratio_of_an_empty_period(db: None) -> None:
    q1 = kpis("FY2026Q1")
    assert {key: q1[key] for key in RATIO_KEYS} == dict.fromkeys(RATIO_KEYS)


def test_it_gives_zero_for_every_count_of_an_empty_period(db: None) -> None:
    q1 = kpis("FY2026Q1")
    counts = ("leads", "mqls", "web_visits", "sqls", "opportunities", "won_deals", "lost_deals")
    assert {key: q1[key] for key in counts} == dict.fromkeys(counts, 0)
    assert (q1["won_amount"], q1["marketing_cost"]) == (0, 0)


def test_it_gives_null_cpa_when_there_is_cost_but_no_lead(source: SourceMaker) -> None:
    load(source("ma"), costs=[cost(dt.date(2026, 4, 1), "webinar", 150_000)])
    q1 = kpis("FY2026Q1")
    assert q1["marketing_cost"] == Decimal(150_000)
    assert (q1["cpa"], q1["cost_per_opportunity"]) == (None, None)  # 150,000 / 0


def test_it_gives_zero_not_null_when_only_the_numerator_is_zero(source: SourceMaker) -> None:
    load(
        source("sfa"),
        persons=[person("P1", jst(2026, 4, 1))],
        deals=[deal("L1", jst(2026, 4, 1), "lost", 100, closed_at=jst(2026, 4, 9))],
    )
    q1 = kpis("FY2026Q1")
    assert q1["win_rate"] == 0  # 0 / (0 + 1)
    assert q1["cpa"] == 0  # 0 / 1 lead
    assert q1["lead_to_mql_rate"] == 0  # 0 of 1


def test_it_reports_every_key_of_sections_3_and_4(db: None) -> None:
    assert set(kpis("FY2026Q1")) >= SECTION_3_KEYS | SECTION_4_KEYS
