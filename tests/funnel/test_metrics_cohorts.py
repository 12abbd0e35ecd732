"""Cohort conversion rates, stage velocity and maturity of kpi-spec section 4
(funnel/metrics/counts.py cohorts, velocity.py, snapshot.py cohort_details), on hand-made
datasets whose answers are computed by hand in the comments."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from funnel.models import Source
from tests.funnel.factories import at, deal, jst, load, person, snapshot

pytestmark = pytest.mark.django_db

SourceMaker = Callable[..., Source]
AS_OF = jst(2026, 9, 1)


def _sized(snap: dict, key: str) -> tuple[int, int]:
    """(size, converted) of one cohort rate: its denominator and numerator."""
    return snap["cohorts"][key]["size"], snap["cohorts"][key]["converted"]


def _funnel(source: SourceMaker) -> None:
    """The FY2026Q1 cohort dataset (all times 00:00 JST, as_of 2026-09-01 00:00 JST).

    person  lead    mql     sql     opportunity (deal)
    P1      04-01   04-03   04-06   D1 04-10, won 05-10
    P2      04-02   04-05   04-15   D2 04-25, lost 05-25
    P3      04-03   04-04   07-10   -
    P4      04-04   04-08   -       -
    P5      04-05   -       04-09   D3 04-20, open      (sales-sourced, skipped MQL)
    P6      04-06   -       -       -
    P7      03-20   04-02   04-12   D4 09-15 (after as_of)
    P8      04-07   09-10   -       -                   (MQL after as_of)
    no person:                      D5 04-11, won 06-01
                                    D6 04-12, won 10-01 (after as_of)
    """
    load(
        source("ma"),
        persons=[
            person(
                "P1",
                jst(2026, 4, 1),
                email="p1@example.com",
                channel="webinar",
                mql_at=jst(2026, 4, 3),
                sql_at=jst(2026, 4, 6),
            ),
            person(
                "P2",
                jst(2026, 4, 2),
                email="p2@example.com",
                channel="webinar",
                mql_at=jst(2026, 4, 5),
                sql_at=jst(2026, 4, 15),
            ),
            person(
                "P3",
                jst(2026, 4, 3),
                email="p3@example.com",
                channel="paid_search",
                mql_at=jst(2026, 4, 4),
                sql_at=jst(2026, 7, 10),
            ),
            person(
                "P4",
                jst(2026, 4, 4),
                email="p4@example.com",
                channel="paid_search",
                mql_at=jst(2026, 4, 8),
            ),
            person("P6", jst(2026, 4, 6), email="p6@example.com", channel="webinar"),
            person(
                "P7",
                jst(2026, 3, 20),
                email="p7@example.com",
                channel="webinar",
                mql_at=jst(2026, 4, 2),
                sql_at=jst(2026, 4, 12),
            ),
            person(
                "P8",
                jst(2026, 4, 7),
                email="p8@example.com",
                channel="webinar",
                mql_at=jst(2026, 9, 10),
            ),
        ],
    )
    load(
        source("sfa"),
        persons=[
            person(
                "P5",
                jst(2026, 4, 5),
                email="p5@example.com",
                channel="outbound",
                sql_at=jst(2026, 4, 9),
            ),
        ],
        deals=[
            deal(
                "D1",
                jst(2026, 4, 10),
                "won",
                100,
                closed_at=jst(2026, 5, 10),
                person_email="P1@example.com",
            ),
            deal(
                "D2",
                jst(2026, 4, 25),
                "lost",
                100,
                closed_at=jst(2026, 5, 25),
                person_email="p2@example.com",
            ),
            deal("D3", jst(2026, 4, 20), "open", 100, person_external_id="P5"),
            deal("D4", jst(2026, 9, 15), "open", 100, person_email="p7@example.com"),
            deal("D5", jst(2026, 4, 11), "won", 100, closed_at=jst(2026, 6, 1)),
            deal("D6", jst(2026, 4, 12), "won", 100, closed_at=jst(2026, 10, 1)),
        ],
    )


def test_it_rates_the_lead_cohort_converted_to_mql(source: SourceMaker) -> None:
    _funnel(source)
    snap = snapshot("FY2026Q1", AS_OF)
    # cohort: leads of Q1 = P1 P2 P3 P4 P5 P6 P8 = 7 (P7's lead is in Q4)
    # reached MQL by as_of: P1 P2 P3 P4, and P5 through its SQL = 5 (P6 never, P8 after as_of)
    assert _sized(snap, "lead_to_mql_rate") == (7, 5)
    assert snap["kpis"]["lead_to_mql_rate"] == pytest.approx(5 / 7)


def test_it_rates_the_mql_cohort_converted_to_sql(source: SourceMaker) -> None:
    _funnel(source)
    snap = snapshot("FY2026Q1", AS_OF)
    # cohort: MQLs of Q1 = P1 P2 P3 P4 P7 = 5 (P8's MQL is after as_of)
    # reached SQL: P1, P2, P3 (07-10, after Q1 but before as_of), P7 = 4
    assert _sized(snap, "mql_to_sql_rate") == (5, 4)
    assert snap["kpis"]["mql_to_sql_rate"] == pytest.approx(4 / 5)


def test_it_rates_the_sql_cohort_converted_to_opportunity(source: SourceMaker) -> None:
    _funnel(source)
    snap = snapshot("FY2026Q1", AS_OF)
    # cohort: SQLs of Q1 = P1 P2 P5 P7 = 4 (P3's SQL is in Q2)
    # reached opportunity: P1 (D1), P2 (D2), P5 (D3) = 3; P7's D4 is after as_of
    assert _sized(snap, "sql_to_opportunity_rate") == (4, 3)
    assert snap["kpis"]["sql_to_opportunity_rate"] == pytest.approx(3 / 4)


def test_it_rates_the_opportunities_created_in_the_period_converted_to_won(
    source: SourceMaker,
) -> None:
    _funnel(source)
    snap = snapshot("FY2026Q1", AS_OF)
    # cohort: created in Q1 = D1 D2 D3 D5 D6 = 5 (D4 is created in Q2)
    # won with closed_at <= as_of: D1, D5 = 2 (D6 closes after as_of: open at as_of)
    assert _sized(snap, "opportunity_to_won_rate") == (5, 2)
    assert snap["kpis"]["opportunity_to_won_rate"] == pytest.approx(2 / 5)


def test_it_rates_the_mql_cohort_converted_to_opportunity(source: SourceMaker) -> None:
    _funnel(source)
    snap = snapshot("FY2026Q1", AS_OF)
    # cohort: MQLs of Q1 = P1 P2 P3 P4 P7 = 5; reached opportunity: P1, P2 = 2
    assert _sized(snap, "opportunity_rate") == (5, 2)
    assert snap["kpis"]["opportunity_rate"] == pytest.approx(2 / 5)


def test_it_does_not_count_a_conversion_after_as_of(source: SourceMaker) -> None:
    _funnel(source)
    snap = snapshot("FY2026Q1", jst(2026, 7, 1))
    # as_of 07-01: P3's SQL (07-10) has not happened -> MQL cohort 5, reached SQL P1 P2 P7 = 3
    assert _sized(snap, "mql_to_sql_rate") == (5, 3)


def test_it_gives_the_median_lead_to_mql_days(source: SourceMaker) -> None:
    _funnel(source)
    # lead cohort members with mql_at <= as_of: P1 2, P2 3, P3 1, P4 4 days (P5 has no mql_at)
    # sorted 1 2 3 4 -> (2 + 3) / 2 = 2.5
    assert snapshot("FY2026Q1", AS_OF)["velocity"]["lead_to_mql_days"] == pytest.approx(2.5)


def test_it_gives_the_median_mql_to_sql_days(source: SourceMaker) -> None:
    _funnel(source)
    # P1 04-03->04-06 = 3, P2 04-05->04-15 = 10, P3 04-04->07-10 = 26+31+30+10 = 97,
    # P7 04-02->04-12 = 10; sorted 3 10 10 97 -> (10 + 10) / 2 = 10
    assert snapshot("FY2026Q1", AS_OF)["velocity"]["mql_to_sql_days"] == pytest.approx(10)


def test_it_gives_the_median_sql_to_opportunity_days(source: SourceMaker) -> None:
    _funnel(source)
    # P1 04-06->04-10 = 4, P2 04-15->04-25 = 10, P5 04-09->04-20 = 11 -> 10
    velocity = snapshot("FY2026Q1", AS_OF)["velocity"]
    assert velocity["sql_to_opportunity_days"] == pytest.approx(10)


def test_it_gives_the_median_opportunity_to_won_days(source: SourceMaker) -> None:
    _funnel(source)
    # D1 04-10->05-10 = 30, D5 04-11->06-01 = 20+31 = 51 -> (30 + 51) / 2 = 40.5
    velocity = snapshot("FY2026Q1", AS_OF)["velocity"]
    assert velocity["opportunity_to_won_days"] == pytest.approx(40.5)


def test_it_gives_the_median_mql_to_opportunity_days(source: SourceMaker) -> None:
    _funnel(source)
    # P1 04-03->04-10 = 7, P2 04-05->04-25 = 20 -> 13.5
    velocity = snapshot("FY2026Q1", AS_OF)["velocity"]
    assert velocity["mql_to_opportunity_days"] == pytest.approx(13.5)


def test_it_reports_velocity_among_the_kpis(source: SourceMaker) -> None:
    _funnel(source)
    snap = snapshot("FY2026Q1", AS_OF)
    assert {key: snap["kpis"][key] for key in snap["velocity"]} == snap["velocity"]


def test_it_counts_a_skipped_mql_as_reached_but_not_as_an_mql(source: SourceMaker) -> None:
    load(
        source("sfa"),
        persons=[
            person("S1", jst(2026, 4, 3), channel="outbound", sql_at=jst(2026, 4, 10)),
        ],
    )
    snap = snapshot("FY2026Q1", AS_OF)
    assert snap["kpis"]["mqls"] == 0
    # lead cohort 1, reached MQL through its SQL date: 1 of 1
    assert _sized(snap, "lead_to_mql_rate") == (1, 1)
    assert snap["kpis"]["lead_to_mql_rate"] == 1
    # no mql_at: not a member "with both dates set"
    assert snap["velocity"]["lead_to_mql_days"] is None


def test_it_does_not_convert_a_deal_won_after_as_of(source: SourceMaker) -> None:
    load(
        source("sfa"),
        deals=[deal("D1", jst(2026, 4, 10), "won", 100, closed_at=jst(2026, 6, 20))],
    )
    snap = snapshot("FY2026Q1", jst(2026, 6, 15))
    assert _sized(snap, "opportunity_to_won_rate") == (1, 0)
    assert snap["kpis"]["opportunity_to_won_rate"] == 0
    assert snap["velocity"]["opportunity_to_won_days"] is None


def test_it_counts_an_opportunity_that_existed_before_the_mql_as_reached(
    source: SourceMaker,
) -> None:
    load(
        source("sfa"),
        persons=[person("P1", jst(2026, 4, 1), email="x@example.com", mql_at=jst(2026, 4, 10))],
        deals=[deal("D1", jst(2026, 4, 5), person_external_id="P1")],
    )
    snap = snapshot("FY2026Q1", AS_OF)
    assert _sized(snap, "opportunity_rate") == (1, 1)
    # 04-10 -> 04-05 is -5 days: a negative duration counts as 0
    assert snap["velocity"]["mql_to_opportunity_days"] == 0


def test_it_links_an_opportunity_imported_before_its_person(source: SourceMaker) -> None:
    load(source("sfa"), deals=[deal("D1", jst(2026, 4, 20), person_email="late@example.com")])
    load(
        source("ma"),
        persons=[person("P1", jst(2026, 4, 1), email="Late@Example.com", mql_at=jst(2026, 4, 10))],
    )
    snap = snapshot("FY2026Q1", AS_OF)
    assert _sized(snap, "opportunity_rate") == (1, 1)
    assert snap["velocity"]["mql_to_opportunity_days"] == pytest.approx(10)  # 04-10 -> 04-20


def test_it_matches_a_person_external_id_only_within_the_deals_source(
    source: SourceMaker,
) -> None:
    load(
        source("ma"),
        persons=[person("P1", jst(2026, 4, 1), email="a@example.com", mql_at=jst(2026, 4, 10))],
    )
    results = load(source("sfa"), deals=[deal("D1", jst(2026, 4, 20), person_external_id="P1")])
    # "P1" is an id of the MA source; the SFA deal does not find it there
    assert results["opportunities"].unlinked == 1
    snap = snapshot("FY2026Q1", AS_OF)
    assert _sized(snap, "opportunity_rate") == (1, 0)
    assert snap["kpis"]["opportunities"] == 1  # kept, unlinked, still counted


def test_it_measures_velocity_in_exact_seconds(source: SourceMaker) -> None:
    load(
        source("ma"),
        persons=[
            person(
                "P1",
                at("2026-04-01T09:00:00+09:00"),
                mql_at=at("2026-04-02T03:00:00Z"),  # 04-02 12:00 JST: 27 h later = 1.125 days
            )
        ],
    )
    assert snapshot("FY2026Q1", AS_OF)["velocity"]["lead_to_mql_days"] == pytest.approx(1.125)


def test_it_gives_null_velocity_and_rates_for_empty_cohorts(db: None) -> None:
    snap = snapshot("FY2026Q1", AS_OF)
    assert set(snap["velocity"].values()) == {None}
    for details in snap["cohorts"].values():
        assert (details["size"], details["converted"], details["rate"]) == (0, 0, None)


# --- maturity -------------------------------------------------------------------------


def _trailing_lead_to_mql(source: SourceMaker) -> None:
    """FY2026Q1's trailing period is 2025-04-01..2026-03-31, read as of 2026-04-01 00:00 JST.

    T1: lead 2025-07-01 00:00, MQL 2025-07-03 12:00 -> 2.5 days.
    T2: lead 2026-03-01, MQL 2026-04-20: after the trailing as_of, so not a member.
    Trailing lead_to_mql_days = 2.5 -> rounded up to 3 whole days.
    The FY2026Q1 lead cohort matures at 2026-07-01 00:00 + 3 days = 2026-07-04 00:00 JST.
    """
    load(
        source("ma"),
        persons=[
            person("T1", jst(2025, 7, 1), mql_at=jst(2025, 7, 3, 12)),
            person("T2", jst(2026, 3, 1), mql_at=jst(2026, 4, 20)),
            person("Q1", jst(2026, 5, 1)),
        ],
    )


def test_it_marks_a_cohort_maturing_until_its_trailing_velocity_has_passed(
    source: SourceMaker,
) -> None:
    _trailing_lead_to_mql(source)
    snap = snapshot("FY2026Q1", at("2026-07-03T23:59:59+09:00"))
    assert snap["cohorts"]["lead_to_mql_rate"]["maturing"] is True


def test_it_marks_a_cohort_mature_once_its_trailing_velocity_has_passed(
    source: SourceMaker,
) -> None:
    _trailing_lead_to_mql(source)
    snap = snapshot("FY2026Q1", at("2026-07-04T00:00:00+09:00"))
    assert snap["cohorts"]["lead_to_mql_rate"]["maturing"] is False


def test_it_marks_a_cohort_of_a_running_period_maturing(source: SourceMaker) -> None:
    _trailing_lead_to_mql(source)
    snap = snapshot("FY2026Q1", jst(2026, 6, 15))
    assert snap["cohorts"]["lead_to_mql_rate"]["maturing"] is True
