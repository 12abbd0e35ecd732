"""The KPI catalogue (funnel/metrics/catalogue.py) covers every KPI the metrics compute, and
its facts agree with the spec (section 3's departments, section 4's cohorts)."""

from __future__ import annotations

import pytest
from django.utils import translation

from funnel.choices import PERIOD_KPI_KEYS
from funnel.metrics.catalogue import (
    CATALOGUE,
    LOWER_IS_BETTER_KPIS,
    MONEY_KPIS,
    STAGE_RATES,
    Team,
    TreeReason,
    kpi,
)
from funnel.metrics.counts import COHORT_KEYS
from funnel.metrics.formatting import change, format_kpi
from funnel.metrics.velocity import VELOCITY_KEYS

# kpi-spec section 3, the department column.
SPEC_TEAMS = {
    "leads": "marketing",
    "mqls": "marketing",
    "web_visits": "marketing",
    "marketing_cost": "marketing",
    "cpa": "marketing",
    "cost_per_opportunity": "marketing",
    "sqls": "shared",
    "opportunities": "shared",
    "won_amount": "shared",
    "won_deals": "sales",
    "lost_deals": "sales",
    "win_rate": "shared",
    "average_deal_size": "sales",
    "sales_cycle_days": "sales",
    "opportunity_rate": "shared",
    "mql_acceptance_sla": "shared",
}


def test_it_holds_every_kpi_the_metrics_compute() -> None:
    assert set(CATALOGUE) == {*PERIOD_KPI_KEYS, *COHORT_KEYS, *VELOCITY_KEYS}


def test_its_teams_are_the_specs() -> None:
    assert {key: kpi(key).team for key in PERIOD_KPI_KEYS} == {
        key: Team(team) for key, team in SPEC_TEAMS.items()
    }


def test_cohort_rates_name_their_base_and_velocity() -> None:
    for key in STAGE_RATES:
        entry = kpi(key)
        assert entry.cohort_base in CATALOGUE and entry.velocity in VELOCITY_KEYS, key


def test_lower_is_better_for_costs_losses_and_durations() -> None:
    assert {"marketing_cost", "cpa", "cost_per_opportunity", "lost_deals"} <= LOWER_IS_BETTER_KPIS
    assert all(kpi(key).lower_is_better for key in VELOCITY_KEYS)
    assert not LOWER_IS_BETTER_KPIS & {"leads", "won_amount", "win_rate", "opportunity_rate"}
    assert change("lost_deals", 5, 3).tone == "bad"  # type: ignore[union-attr]
    assert change("won_deals", 5, 3).tone == "good"  # type: ignore[union-attr]


def test_money_kpis_read_as_money() -> None:
    for key in MONEY_KPIS:
        assert format_kpi(key, 1234567) == "¥1,234,567", key


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_label_and_reason_is_translated(language: str) -> None:
    with translation.override(language):
        for entry in CATALOGUE.values():
            assert str(entry.label) and str(entry.definition), entry.key
        for reason in TreeReason:
            text = str(reason.label)
            assert text and (language == "en" or not text.isascii()), reason
