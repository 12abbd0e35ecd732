"""Attribution models (the alignment issue): shares on hand-made touch sequences, yen split
exactly, and on the worked example every model credits exactly the won amount, first touch
exactly as the channel table does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from funnel.metrics.attribution import MODELS, Touch, attributed_won_amount, shares, split_yen
from funnel.metrics.filters import KpiFilters
from funnel.metrics.snapshot import kpi_snapshot
from funnel.metrics.window import Window
from funnel.periods import parse_as_of, parse_period

T = [dt.datetime(2026, 4, d, tzinfo=dt.UTC) for d in range(1, 8)]


def _touches(*channels: str) -> list[Touch]:
    return [Touch(T[i], channel) for i, channel in enumerate(channels)]


def test_shares_by_hand() -> None:
    five = _touches("a", "b", "c", "d", "e")
    assert shares("first_touch", five, T[0]) == {0: 1}
    assert shares("last_touch", five, T[0]) == {4: 1}
    # U: 40 / 20 spread over 3 / 40
    assert shares("u_shaped", five, T[0]) == {
        0: Fraction(2, 5), 4: Fraction(2, 5), 1: Fraction(1, 15), 2: Fraction(1, 15),
        3: Fraction(1, 15),
    }  # fmt: skip
    # W with the lead created at the second touch: 30 / 30 / 30 and 10 over the 2 others.
    assert shares("w_shaped", five, T[1]) == {
        0: Fraction(3, 10), 1: Fraction(3, 10), 4: Fraction(3, 10), 2: Fraction(1, 20),
        3: Fraction(1, 20),
    }  # fmt: skip
    # W with lead creation at the first touch: the first touch takes 60%.
    assert shares("w_shaped", five, T[0])[0] == Fraction(3, 5)
    two = _touches("a", "b")
    assert shares("u_shaped", two, T[0]) == {0: Fraction(1, 2), 1: Fraction(1, 2)}
    assert shares("w_shaped", two, T[0]) == {0: Fraction(13, 20), 1: Fraction(7, 20)}
    for model in MODELS:
        assert shares(model, _touches("x"), T[0]) == {0: 1}
        assert sum(shares(model, five, T[2]).values()) == 1
        assert shares(model, [], T[0]) == {}
    with pytest.raises(ValueError, match="model: one of"):
        shares("linear", five, T[0])


def test_yen_are_split_exactly_by_the_largest_remainder() -> None:
    parts = {"a": Fraction(1, 3), "b": Fraction(1, 3), "c": Fraction(1, 3)}
    assert split_yen(Decimal(100), parts) == {"a": 34, "b": 33, "c": 33}
    assert sum(split_yen(Decimal(1_000_001), parts).values()) == 1_000_001
    assert split_yen(Decimal(7), {"x": Fraction(1)}) == {"x": 7}


@pytest.mark.django_db
def test_every_model_credits_exactly_the_won_amount(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    period, as_of = parse_period("FY2026Q1"), parse_as_of("2026-06-15T00:00:00+09:00")
    snapshot = kpi_snapshot(period, as_of)
    result = attributed_won_amount(Window(period, as_of), KpiFilters())
    total = int(snapshot["kpis"]["won_amount"])
    assert total > 0
    for model in MODELS:
        assert sum(result[model].values()) == total, model
    by_channel = {
        key: int(row["won_amount"])
        for key, row in snapshot["by_channel"].items()
        if row["won_amount"]
    }
    assert {k: v for k, v in result["first_touch"].items() if v} == by_channel
