"""What converts (alignment/patterns.py): Wilson intervals against hand-computed values;
the groups' counts are the engine's cohort counts (they add up to the company's); small
samples never rank above large ones; content by the cohort members who touched it."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from alignment.patterns import Pattern, what_converts, wilson
from funnel.metrics.snapshot import kpi_snapshot
from funnel.periods import parse_period
from tests.funnel.factories import jst

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]


@pytest.mark.parametrize(
    ("converted", "size", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),  # hand-computed: (p + z²/2n ± z√(p(1-p)/n + z²/4n²)) / (1 + z²/n)
        (0, 10, 0.0, 0.2775),
        (50, 100, 0.4038, 0.5962),
        (1, 1, 0.2065, 1.0),
    ],
)
def test_wilson_intervals(converted: int, size: int, low: float, high: float) -> None:
    found = wilson(converted, size)
    assert found is not None
    assert found[0] == pytest.approx(low, abs=5e-5) and found[1] == pytest.approx(high, abs=5e-5)
    assert wilson(0, 0) is None


def test_a_lucky_small_group_does_not_rank_above_a_large_one() -> None:
    lucky = Pattern("lucky", 3, 3, *wilson(3, 3))  # type: ignore[misc]
    steady = Pattern("steady", 400, 240, *wilson(240, 400))  # type: ignore[misc]
    assert lucky.rate > steady.rate and lucky.low < steady.low
    assert lucky.small and not steady.small
    assert lucky.against(0.5) == "in_line" and steady.against(0.5) == "above"


def test_the_counts_are_the_engines(client: Client, role_user: RoleUser, example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    period, as_of = parse_period("FY2026Q1"), jst(2026, 9, 1)
    found = what_converts(period, as_of)
    snapshot = kpi_snapshot(period, as_of)
    cohort = snapshot["cohorts"]["opportunity_rate"]
    assert found.company is not None
    assert (found.company.size, found.company.converted) == (cohort["size"], cohort["converted"])
    for dimension, rows in found.by.items():
        assert sum(row.size for row in rows) == cohort["size"], dimension
        assert sum(row.converted for row in rows) == cohort["converted"], dimension
        lows = [row.low for row in rows]
        assert lows == sorted(lows, reverse=True)
    for row in found.content:
        assert row.size >= 5 and 0 <= row.converted <= row.size
    client.force_login(role_user("marketing"))
    page = client.get(
        "/alignment/what-converts/", {"period": "FY2026Q1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert f"{found.company.converted} / {found.company.size}" in html
    assert "/records/persons/?kpi=opportunity_rate&amp;period=FY2026Q1" in html
    bad = client.get("/alignment/what-converts/", {"period": "Q9"}, HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400
    client.force_login(role_user("executive"))
    page = client.get("/alignment/what-converts/", {"period": "FY2026Q1"}).content.decode()
    assert "/records/persons/" not in page  # no link to a page executives may not open
