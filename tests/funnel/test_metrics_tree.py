"""The KPI tree (逆算) of kpi-spec section 5 (funnel/metrics/tree.py): trailing inputs,
overrides, what-if, the exact reverse calculation, null propagation, the expected pace,
statuses and the bottleneck. Answers are computed by hand in the comments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest

from funnel.metrics.snapshot import json_ready
from funnel.metrics.tree import raised_rate
from funnel.models import Source, TreeOverride
from funnel.periods import parse_period
from tests.funnel.factories import cost, deal, jst, load, person, snapshot, target

pytestmark = pytest.mark.django_db

SourceMaker = Callable[..., Source]
NODES = ("won_amount", "won_deals", "opportunities", "sqls", "mqls", "leads")
END_OF_Q1 = jst(2026, 7, 1)  # f = 1
MID_JUNE = jst(2026, 6, 15)  # f = 75/91


def _trailing(source: SourceMaker) -> None:
    """FY2026Q1's trailing period: FY2025Q1..FY2025Q4 = 2025-04-01..2026-03-31, pooled, read
    as of 2026-04-01 00:00 JST.

    T1: lead 2025-07-01, MQL 07-05, SQL 07-08, DT1 created 07-10, won 08-01, ¥3,000,000
    T2: lead 07-02, MQL 07-05, SQL 07-09, DT2 created 07-12, lost 08-05
    T3: lead 07-03, MQL 07-06, SQL 2026-04-02 (after the trailing as_of: not reached)
    T4: lead 07-04
    X1: lead 2025-03-15 (FY2024Q4: outside)
    cost 2025-07-01 ¥400,000 (2025-03-31 and 2026-04-01 entries are outside)

    r_lead_mql = 3/4 (T1 T2 T3 of T1..T4)   r_mql_sql = 2/3 (T1 T2 of T1 T2 T3)
    r_sql_opp = 2/2 = 1                      r_opp_won = 1/2 (DT1 of DT1 DT2)
    A = 3,000,000 / 1 = 3,000,000           cpa = 400,000 / 4 = 100,000
    Target T (FY2026Q1 won_amount) = ¥10,000,000.
    """
    load(
        source("ma"),
        persons=[
            person(
                "T1",
                jst(2025, 7, 1),
                email="t1@example.com",
                mql_at=jst(2025, 7, 5),
                sql_at=jst(2025, 7, 8),
            ),
            person(
                "T2",
                jst(2025, 7, 2),
                email="t2@example.com",
                mql_at=jst(2025, 7, 5),
                sql_at=jst(2025, 7, 9),
            ),
            person(
                "T3",
                jst(2025, 7, 3),
                email="t3@example.com",
                mql_at=jst(2025, 7, 6),
                sql_at=jst(2026, 4, 2),
            ),
            person("T4", jst(2025, 7, 4), email="t4@example.com"),
            person("X1", jst(2025, 3, 15), email="x1@example.com"),
        ],
        costs=[
            cost(dt.date(2025, 3, 31), "webinar", 999_999),
            cost(dt.date(2025, 7, 1), "webinar", 400_000),
            cost(dt.date(2026, 4, 1), "webinar", 123),
        ],
    )
    load(
        source("sfa"),
        deals=[
            deal(
                "DT1",
                jst(2025, 7, 10),
                "won",
                3_000_000,
                closed_at=jst(2025, 8, 1),
                person_email="t1@example.com",
            ),
            deal(
                "DT2",
                jst(2025, 7, 12),
                "lost",
                1_000_000,
                closed_at=jst(2025, 8, 5),
                person_email="t2@example.com",
            ),
        ],
        targets=[target("FY2026Q1", "won_amount", 10_000_000)],
    )


def _override(period: str = "FY2026Q1", **values: str) -> None:
    for key, value in values.items():
        TreeOverride.objects.create(period=period, input=key, value=Decimal(value))


def _required(tree: dict) -> dict:
    return {key: tree[key]["required"] for key in (*NODES, "budget")}


# --- inputs and the reverse calculation -----------------------------------------------


def test_it_takes_its_inputs_from_the_trailing_four_quarters_pooled(source: SourceMaker) -> None:
    _trailing(source)
    inputs = snapshot("FY2026Q1", END_OF_Q1)["tree"]["inputs"]
    assert {key: inputs[key] for key in inputs if key not in ("overrides", "trailing_period")} == {
        "average_deal_size": Fraction(3_000_000),
        "cpa": Fraction(100_000),
        "r_lead_mql": Fraction(3, 4),
        "r_mql_sql": Fraction(2, 3),
        "r_sql_opp": Fraction(1),
        "r_opp_won": Fraction(1, 2),
    }
    assert inputs["overrides"] == []


def test_it_reverse_calculates_the_required_numbers(source: SourceMaker) -> None:
    _trailing(source)
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert _required(tree) == {
        "won_amount": 10_000_000,  # T
        "won_deals": 4,  # ceil(10,000,000 / 3,000,000) = ceil(3.33)
        "opportunities": 8,  # ceil(4 / (1/2))
        "sqls": 8,  # ceil(8 / 1)
        "mqls": 12,  # ceil(8 / (2/3)) = ceil(12)
        "leads": 16,  # ceil(12 / (3/4)) = ceil(16)
        "budget": 1_600_000,  # 16 * 100,000
    }


def test_it_replaces_an_input_by_its_override(source: SourceMaker) -> None:
    _trailing(source)
    _override(r_opp_won="0.25")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["inputs"]["r_opp_won"] == Fraction(1, 4)
    assert tree["inputs"]["overrides"] == ["r_opp_won"]
    assert _required(tree) == {
        "won_amount": 10_000_000,
        "won_deals": 4,  # unchanged: ceil(10,000,000 / 3,000,000)
        "opportunities": 16,  # ceil(4 / (1/4))
        "sqls": 16,  # ceil(16 / 1)
        "mqls": 24,  # ceil(16 / (2/3))
        "leads": 32,  # ceil(24 / (3/4))
        "budget": 3_200_000,  # 32 * 100,000
    }


def test_it_ignores_the_overrides_of_another_period(source: SourceMaker) -> None:
    _trailing(source)
    _override("FY2026Q2", r_opp_won="0.25")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["inputs"]["overrides"] == []
    assert tree["opportunities"]["required"] == 8


def test_it_raises_one_rate_by_points_for_a_what_if(source: SourceMaker) -> None:
    _trailing(source)
    what_if = raised_rate(parse_period("FY2026Q1"), "r_mql_sql", Fraction(10))
    assert what_if == {"r_mql_sql": Fraction(23, 30)}  # 2/3 + 10 points = 20/30 + 3/30


def test_it_recomputes_the_required_numbers_for_a_what_if(source: SourceMaker) -> None:
    _trailing(source)
    what_if = raised_rate(parse_period("FY2026Q1"), "r_mql_sql", Fraction(10))
    tree = snapshot("FY2026Q1", END_OF_Q1, what_if=what_if)["tree"]
    assert "r_mql_sql" in tree["inputs"]["overrides"]
    assert _required(tree) == {
        "won_amount": 10_000_000,
        "won_deals": 4,
        "opportunities": 8,
        "sqls": 8,
        "mqls": 11,  # ceil(8 / (23/30)) = ceil(240/23 = 10.43)
        "leads": 15,  # ceil(11 / (3/4)) = ceil(14.67)
        "budget": 1_500_000,  # 15 * 100,000
    }


def test_it_divides_exactly_when_float_division_would_overshoot(source: SourceMaker) -> None:
    load(source("sfa"), targets=[target("FY2026Q1", "won_amount", 2_100_000)])
    _override(average_deal_size="100000", r_opp_won="0.7", r_sql_opp="1", r_mql_sql="1")
    _override(r_lead_mql="1", cpa="1000")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["won_deals"]["required"] == 21  # 2,100,000 / 100,000
    # 21 / 0.7 = 30 exactly; in binary floats 21 / 0.7 = 30.000000000000004 -> ceil 31
    assert tree["opportunities"]["required"] == 30


def test_it_divides_trailing_rates_exactly(source: SourceMaker) -> None:
    # 15 opportunities created in FY2025Q2, 11 won (¥100 each), 4 lost
    deals = [
        deal(f"W{i}", jst(2025, 7, 1 + i), "won", 100, closed_at=jst(2025, 8, 1)) for i in range(11)
    ] + [
        deal(f"L{i}", jst(2025, 7, 20 + i), "lost", 100, closed_at=jst(2025, 8, 1))
        for i in range(4)
    ]
    load(source("sfa"), deals=deals, targets=[target("FY2026Q1", "won_amount", 1_100)])
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["inputs"]["r_opp_won"] == Fraction(11, 15)
    assert tree["won_deals"]["required"] == 11  # 1,100 / (1,100 / 11)
    # 11 / (11/15) = 15 exactly; 11 / (11 / 15) in floats = 15.000000000000002 -> ceil 16
    assert tree["opportunities"]["required"] == 15


def test_it_rounds_the_budget_half_up_to_the_yen(source: SourceMaker) -> None:
    load(source("sfa"), targets=[target("FY2026Q1", "won_amount", 500)])
    _override(average_deal_size="100", r_opp_won="1", r_sql_opp="1", r_mql_sql="1")
    _override(r_lead_mql="1", cpa="0.5")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["leads"]["required"] == 5  # 500 / 100 = 5 won, every rate 1
    assert tree["budget"]["required"] == 3  # 5 * 0.5 = 2.5 -> 3 (half-up; half-even gives 2)


def test_it_rounds_a_fractional_trailing_cpa_budget_to_the_yen(source: SourceMaker) -> None:
    load(
        source("ma"),
        persons=[person(f"T{i}", jst(2025, 7, 1 + i)) for i in range(3)],
        costs=[cost(dt.date(2025, 7, 1), "webinar", 1_000_000)],
        targets=[target("FY2026Q1", "won_amount", 200)],
    )
    _override(average_deal_size="100", r_opp_won="1", r_sql_opp="1", r_mql_sql="1")
    _override(r_lead_mql="1")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["inputs"]["cpa"] == Fraction(1_000_000, 3)  # 333,333.33... per lead
    assert tree["leads"]["required"] == 2
    assert tree["budget"]["required"] == 666_667  # 2 * 1,000,000 / 3 = 666,666.67 -> 666,667


# --- null propagation -----------------------------------------------------------------


def test_it_nulls_every_node_without_a_revenue_target(source: SourceMaker) -> None:
    _override(average_deal_size="100", r_opp_won="1", r_sql_opp="1", r_mql_sql="1")
    _override(r_lead_mql="1", cpa="10")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert _required(tree) == dict.fromkeys((*NODES, "budget"))
    assert all(tree[key]["reason"] for key in (*NODES, "budget"))


def test_it_nulls_every_node_with_a_zero_revenue_target(source: SourceMaker) -> None:
    # T is an input of the tree: a zero input nulls its node (won_amount) and all below it
    load(source("sfa"), targets=[target("FY2026Q1", "won_amount", 0)])
    _override(average_deal_size="100", r_opp_won="1", r_sql_opp="1", r_mql_sql="1")
    _override(r_lead_mql="1", cpa="10")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert _required(tree) == dict.fromkeys((*NODES, "budget"))
    assert all(tree[key]["reason"] for key in (*NODES, "budget"))


def test_it_nulls_every_stage_node_with_a_zero_deal_size(source: SourceMaker) -> None:
    _trailing(source)
    _override(average_deal_size="0")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["won_amount"]["required"] == 10_000_000
    assert [tree[key]["required"] for key in (*NODES[1:], "budget")] == [None] * 6
    assert tree["won_deals"]["reason"]


def test_it_nulls_the_budget_with_a_zero_cpa(source: SourceMaker) -> None:
    _trailing(source)
    _override(cpa="0")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["leads"]["required"] == 16
    assert (tree["budget"]["required"], bool(tree["budget"]["reason"])) == (None, True)


def test_it_nulls_the_nodes_below_a_zero_rate(source: SourceMaker) -> None:
    _trailing(source)
    _override(r_sql_opp="0")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert _required(tree) == {
        "won_amount": 10_000_000,
        "won_deals": 4,
        "opportunities": 8,
        "sqls": None,  # 8 / 0
        "mqls": None,
        "leads": None,
        "budget": None,
    }
    assert [tree[key]["reason"] is None for key in NODES] == [True, True, True, False, False, False]
    assert tree["budget"]["reason"]


def test_it_nulls_the_nodes_below_a_missing_rate(source: SourceMaker) -> None:
    # No trailing data at all; only the deal size and the opportunity -> won rate are set.
    load(source("sfa"), targets=[target("FY2026Q1", "won_amount", 1_000)])
    _override(average_deal_size="100", r_opp_won="0.5")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["inputs"]["r_sql_opp"] is None  # no SQLs in the trailing four quarters
    assert _required(tree) == {
        "won_amount": 1_000,
        "won_deals": 10,  # 1,000 / 100
        "opportunities": 20,  # 10 / (1/2)
        "sqls": None,
        "mqls": None,
        "leads": None,
        "budget": None,
    }
    assert tree["sqls"]["reason"]
    assert tree["opportunities"]["reason"] is None


def test_it_nulls_every_stage_node_without_a_deal_size(source: SourceMaker) -> None:
    load(source("sfa"), targets=[target("FY2026Q1", "won_amount", 1_000)])
    _override(r_opp_won="1", r_sql_opp="1", r_mql_sql="1", r_lead_mql="1", cpa="10")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["won_amount"]["required"] == 1_000
    assert [tree[key]["required"] for key in NODES[1:]] == [None] * 5
    assert tree["won_deals"]["reason"]
    assert tree["budget"]["required"] is None


def test_it_nulls_only_the_budget_without_a_cpa(source: SourceMaker) -> None:
    load(source("sfa"), targets=[target("FY2026Q1", "won_amount", 1_000)])
    _override(average_deal_size="100", r_opp_won="1", r_sql_opp="1", r_mql_sql="1")
    _override(r_lead_mql="1")
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    assert tree["leads"]["required"] == 10  # 1,000 / 100, every rate 1
    assert tree["budget"]["required"] is None  # no leads, no cost in the trailing quarters
    assert tree["budget"]["reason"]


def test_it_nulls_the_expected_value_of_a_null_node(source: SourceMaker) -> None:
    _trailing(source)
    _override(r_sql_opp="0")
    tree = snapshot("FY2026Q1", MID_JUNE)["tree"]
    assert (tree["sqls"]["required"], tree["sqls"]["expected"]) == (None, None)


# --- expected pace, status, bottleneck -------------------------------------------------


def test_it_expects_the_elapsed_share_of_each_required_number(source: SourceMaker) -> None:
    _trailing(source)
    tree = snapshot("FY2026Q1", MID_JUNE)["tree"]
    # 2026-04-01 00:00 -> 2026-06-15 00:00 JST = 75 of 91 days
    assert tree["elapsed_share"] == Fraction(75, 91)
    assert {key: tree[key]["expected"] for key in NODES} == {
        "won_amount": Fraction(10_000_000 * 75, 91),
        "won_deals": Fraction(4 * 75, 91),
        "opportunities": Fraction(8 * 75, 91),
        "sqls": Fraction(8 * 75, 91),
        "mqls": Fraction(12 * 75, 91),
        "leads": Fraction(16 * 75, 91),  # 1200/91 = 13.19
    }


def _pace(source: SourceMaker, extra_mql: bool = False, with_target: bool = True) -> None:
    """Required 2 at every node (T = 200, A = 100, every rate 1, cpa 1,000).

    FY2026Q1 actuals: P1 lead; P2 lead, MQL, SQL; D1 and D2 (no person) created and won,
    ¥1 each -> leads 2, mqls 1, sqls 1, opportunities 2, won_deals 2, won_amount 2.
    With extra_mql, P3 lead and MQL -> leads 3, mqls 2.
    """
    if with_target:
        load(source("sfa"), targets=[target("FY2026Q1", "won_amount", 200)])
    _override(average_deal_size="100", r_opp_won="1", r_sql_opp="1", r_mql_sql="1")
    _override(r_lead_mql="1", cpa="1000")
    persons = [
        person("P1", jst(2026, 4, 1)),
        person("P2", jst(2026, 4, 2), mql_at=jst(2026, 4, 3), sql_at=jst(2026, 4, 4)),
    ]
    if extra_mql:
        persons.append(person("P3", jst(2026, 4, 5), mql_at=jst(2026, 4, 6)))
    load(
        source("ma"),
        persons=persons,
        deals=[
            deal("D1", jst(2026, 4, 10), "won", 1, closed_at=jst(2026, 4, 20)),
            deal("D2", jst(2026, 4, 11), "won", 1, closed_at=jst(2026, 4, 21)),
        ],
    )


def test_it_shows_the_period_kpis_as_actuals(source: SourceMaker) -> None:
    _pace(source)
    snap = snapshot("FY2026Q1", END_OF_Q1)
    assert {key: snap["tree"][key]["actual"] for key in NODES} == {
        key: snap["kpis"][key] for key in NODES
    }
    assert [snap["tree"][key]["actual"] for key in NODES] == [2, 2, 2, 1, 1, 2]


def test_it_sets_each_status_by_actual_against_expected(source: SourceMaker) -> None:
    _pace(source)
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]  # f = 1: expected = required
    assert {key: tree[key]["status"] for key in NODES} == {
        "won_amount": "behind",  # 2 < 200 (T)
        "won_deals": "on_track",  # 2 >= 2
        "opportunities": "on_track",  # 2 >= 2
        "sqls": "behind",  # 1 < 2
        "mqls": "behind",  # 1 < 2
        "leads": "on_track",  # 2 >= 2
    }


def test_it_counts_a_node_exactly_at_its_pace_as_on_track(source: SourceMaker) -> None:
    _pace(source)
    # 91 days / 2 = 45.5 days after 2026-04-01 00:00 = 2026-05-16 12:00 JST -> f = 1/2;
    # expected mqls = 2 * 1/2 = 1 = actual 1 -> on_track (actual >= expected)
    tree = snapshot("FY2026Q1", jst(2026, 5, 16, 12))["tree"]
    assert tree["elapsed_share"] == Fraction(1, 2)
    assert (tree["mqls"]["expected"], tree["mqls"]["status"]) == (1, "on_track")


def test_it_picks_the_earlier_stage_as_the_bottleneck_on_a_tie(source: SourceMaker) -> None:
    _pace(source)
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    # actual / expected: leads 2/2 = 1, mqls 1/2, sqls 1/2, opportunities 1, won_deals 1.
    # won_amount (2/200) is not a stage node. Tie mqls = sqls -> the earlier stage, mqls.
    assert tree["bottleneck"] == "mqls"


def test_it_picks_the_lowest_stage_as_the_bottleneck(source: SourceMaker) -> None:
    _pace(source, extra_mql=True)
    tree = snapshot("FY2026Q1", END_OF_Q1)["tree"]
    # leads 3/2, mqls 2/2, sqls 1/2, opportunities 2/2, won_deals 2/2 -> sqls
    assert tree["bottleneck"] == "sqls"


def test_it_has_no_bottleneck_when_nothing_is_expected_yet(source: SourceMaker) -> None:
    _pace(source)
    tree = snapshot("FY2026Q1", jst(2026, 4, 1))["tree"]  # f = 0 at the start of the period
    assert tree["elapsed_share"] == 0
    assert [tree[key]["expected"] for key in NODES] == [0] * 6
    assert tree["bottleneck"] is None


def test_it_has_no_bottleneck_without_required_numbers(source: SourceMaker) -> None:
    _pace(source, with_target=False)
    assert snapshot("FY2026Q1", END_OF_Q1)["tree"]["bottleneck"] is None


def test_it_clamps_the_elapsed_share_after_the_period(source: SourceMaker) -> None:
    _pace(source)
    tree = snapshot("FY2026Q1", jst(2026, 8, 1))["tree"]
    assert tree["elapsed_share"] == 1
    assert tree["leads"]["expected"] == 2


def test_it_keeps_the_required_numbers_when_another_kpi_has_a_target(
    source: SourceMaker,
) -> None:
    _trailing(source)
    load(source("sfa"), targets=[target("FY2026Q1", "leads", 999)])
    snap = snapshot("FY2026Q1", END_OF_Q1)
    assert snap["tree"]["leads"]["required"] == 16  # from the reverse calculation, not 999
    assert snap["targets"]["leads"]["target"] == 999  # shown beside the KPI


def test_it_writes_the_tree_as_json_numbers(source: SourceMaker) -> None:
    _trailing(source)
    tree = json_ready(snapshot("FY2026Q1", MID_JUNE)["tree"])
    assert tree["leads"]["required"] == 16
    assert tree["budget"]["required"] == 1_600_000
    assert tree["inputs"]["r_mql_sql"] == pytest.approx(2 / 3)
    assert tree["leads"]["expected"] == pytest.approx(1200 / 91)
