"""Disqualification reasons of a period (funnel/metrics/disqualifications.py).

Persons disqualified in the window (company time, `<= as_of`), once each (a merged person
counts at its first disqualification), per reason code with count and share. Answers below
are counted by hand from the dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest
from django.utils import translation

from funnel.choices import DisqualifyReason
from funnel.metrics.disqualifications import disqualification_reasons
from funnel.metrics.filters import KpiFilters
from funnel.models import Source
from tests.funnel.factories import at, jst, load, person, window

pytestmark = pytest.mark.django_db

SourceMaker = Callable[..., Source]


def _dataset(source: SourceMaker) -> None:
    created = jst(2026, 1, 5)
    load(
        source("sfa"),
        persons=[
            # in FY2026Q1
            person("D1", created, email="d1@example.com", channel="webinar",
                   disqualified_at=jst(2026, 4, 10, 10), disqualify_reason="no_budget"),
            person("D2", created, email="d2@example.com", channel="referral",
                   disqualified_at=jst(2026, 5, 1), disqualify_reason="No budget"),
            person("D3", created, email="d3@example.com", channel="referral",
                   disqualified_at=at("2026-06-30T14:59:59Z"), disqualify_reason="competitor"),
            person("D6", created, email="d6@example.com", channel="referral",
                   disqualified_at=jst(2026, 6, 20), disqualify_reason="予算がない"),
            person("D7", created, email="d7@example.com", channel="referral",
                   disqualified_at=jst(2026, 4, 15)),
            # outside FY2026Q1: 2026-07-01 00:00 JST and 2026-03-31 23:59:59 JST
            person("D4", created, email="d4@example.com", channel="referral",
                   disqualified_at=at("2026-06-30T15:00:00Z"), disqualify_reason="competitor"),
            person("D5", created, email="d5@example.com", channel="referral",
                   disqualified_at=at("2026-03-31T23:59:59+09:00"),
                   disqualify_reason="wrong_target"),
            person("D8", created, email="d8@example.com", channel="referral"),
            person("M1", created, email="merged@example.com", channel="referral",
                   disqualified_at=jst(2026, 5, 20), disqualify_reason="duplicate"),
        ],
    )  # fmt: skip
    # The same human in MA, disqualified earlier: the merged person's first disqualification.
    load(
        source("ma"),
        persons=[
            person("X1", created, email="MERGED@example.com ",
                   disqualified_at=jst(2026, 4, 20), disqualify_reason="no_timing"),
        ],
    )  # fmt: skip


def _rows(as_of: str, filters: KpiFilters | None = None) -> list[tuple[str, int, Fraction]]:
    result = disqualification_reasons(window("FY2026Q1", at(as_of)), filters)
    return [(r.code, r.count, r.share) for r in result]


def test_it_counts_the_reasons_of_the_quarter_most_frequent_first(source: SourceMaker) -> None:
    _dataset(source)
    # no_budget: D1, D2 ("No budget" maps to the code); then ties in DisqualifyReason order:
    # no_timing (the merged person's first), competitor (D3, 23:59:59 JST), other (D6's
    # unknown text); no reason (D7) last. D4, D5 are outside, D8 was never disqualified.
    assert _rows("2026-09-01T00:00:00+09:00") == [
        ("no_budget", 2, Fraction(2, 6)),
        ("no_timing", 1, Fraction(1, 6)),
        ("competitor", 1, Fraction(1, 6)),
        ("other", 1, Fraction(1, 6)),
        ("", 1, Fraction(1, 6)),
    ]


def test_it_ignores_disqualifications_after_as_of(source: SourceMaker) -> None:
    _dataset(source)
    # at 2026-06-15 00:00 JST: D3 (06-30) and D6 (06-20) have not happened yet
    assert _rows("2026-06-15T00:00:00+09:00") == [
        ("no_budget", 2, Fraction(1, 2)),
        ("no_timing", 1, Fraction(1, 4)),
        ("", 1, Fraction(1, 4)),
    ]


def test_it_counts_a_disqualification_exactly_at_as_of(source: SourceMaker) -> None:
    _dataset(source)
    assert _rows("2026-04-10T10:00:00+09:00") == [("no_budget", 1, Fraction(1))]


def test_it_narrows_by_a_filter(source: SourceMaker) -> None:
    _dataset(source)
    assert _rows("2026-09-01T00:00:00+09:00", KpiFilters(channel="webinar")) == [
        ("no_budget", 1, Fraction(1))
    ]


def test_it_returns_nothing_for_a_quarter_without_disqualifications(
    source: SourceMaker,
) -> None:
    _dataset(source)
    assert disqualification_reasons(window("FY2025Q1")) == []


def test_it_labels_the_reasons_with_the_choices(source: SourceMaker) -> None:
    _dataset(source)
    with translation.override("en"):
        labels = {
            r.code: str(r.label)
            for r in disqualification_reasons(window("FY2026Q1", at("2026-09-01T00:00:00+09:00")))
        }
        assert labels["no_budget"] == str(DisqualifyReason.NO_BUDGET.label) == "No budget"
        assert labels["other"] == str(DisqualifyReason.OTHER.label)
        assert labels[""] == "No reason given"
