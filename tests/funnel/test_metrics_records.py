"""The records behind a number (funnel/metrics/records.py): exactly the rows each KPI of
kpi-spec sections 3 and 4 counts, on a hand-made dataset and on the worked example.

FY2026Q1 is 2026-04-01..2026-06-30 JST: 2026-03-31T15:00:00Z <= t < 2026-06-30T15:00:00Z.
"""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from funnel.metrics.counts import funnel_counts
from funnel.metrics.filters import KpiFilters
from funnel.metrics.records import (
    COHORT_KPIS,
    OPPORTUNITY_COUNT_KPIS,
    OPPORTUNITY_KPIS,
    PERSON_COUNT_KPIS,
    PERSON_KPIS,
    UnknownKpi,
    opportunity_records,
    person_records,
    record_count,
    records_behind,
)
from funnel.models import Channel, Opportunity, Person, Source
from tests.funnel.factories import deal, jst, load, person, snapshot, window

pytestmark = pytest.mark.django_db

SourceMaker = Callable[..., Source]
AS_OF = jst(2026, 6, 15)


def _names(rows: object) -> set[str]:
    return {row.name for row in rows}  # type: ignore[attr-defined]


@pytest.fixture
def small(source: SourceMaker) -> None:
    """Persons and deals on both sides of the period's edges and of as_of (2026-06-15)."""
    ma, sfa = source("ma", "ma"), source("sfa", "sfa")
    load(
        ma,
        persons=[
            # 2026-03-31 23:59:59 JST: FY2025; its MQL on 04-01 00:00 JST is in FY2026Q1.
            person(
                "A",
                jst(2026, 3, 31, 23, 59, 59),
                name="edge",
                email="a@x.jp",
                channel="webinar",
                mql_at=jst(2026, 4, 1),
            ),
            person(
                "B",
                jst(2026, 4, 1),
                name="first",
                email="b@x.jp",
                channel="webinar",
                mql_at=jst(2026, 4, 2),
                sql_at=jst(2026, 4, 3),
            ),
            # MQL after as_of: a lead of P, not yet an MQL.
            person(
                "C",
                jst(2026, 5, 1),
                name="later-mql",
                email="c@x.jp",
                channel="organic_search",
                mql_at=jst(2026, 6, 20),
            ),
            # Lead after as_of: does not exist yet.
            person("D", jst(2026, 6, 16), name="future", email="d@x.jp", channel="webinar"),
            # 2026-07-01 00:00 JST: next quarter.
            person("E", jst(2026, 7, 1), name="next-quarter", email="e@x.jp", channel="webinar"),
        ],
    )
    load(
        sfa,
        persons=[
            # Sales-sourced, skipped MQL.
            person(
                "S1",
                jst(2026, 4, 10),
                name="outbound",
                email="s1@x.jp",
                channel="outbound",
                sql_at=jst(2026, 4, 11),
            ),
        ],
        deals=[
            deal(
                "O1",
                jst(2026, 4, 12),
                "won",
                100,
                person_external_id="S1",
                closed_at=jst(2026, 5, 1),
                name="won-in-p",
            ),
            # Closed won after as_of: open at as_of, not a won deal yet.
            deal(
                "O2",
                jst(2026, 4, 20),
                "won",
                100,
                person_email="b@x.jp",
                closed_at=jst(2026, 6, 20),
                name="won-after-as-of",
            ),
            deal(
                "O3",
                jst(2026, 3, 20),
                "lost",
                100,
                person_email="a@x.jp",
                closed_at=jst(2026, 4, 5),
                name="lost-in-p",
            ),
            # No person: still counted, under its own channel.
            deal("O4", jst(2026, 5, 2), "open", 100, name="unlinked", channel="partner"),
        ],
    )


@pytest.mark.usefixtures("small")
@pytest.mark.parametrize(
    ("kpi", "expected"),
    [
        ("leads", {"first", "later-mql", "outbound"}),
        ("mqls", {"edge", "first"}),
        ("sqls", {"first", "outbound"}),
        ("opportunities", {"won-in-p", "won-after-as-of", "unlinked"}),
        ("won_deals", {"won-in-p"}),
        ("lost_deals", {"lost-in-p"}),
    ],
)
def test_it_lists_exactly_the_rows_a_count_counts(kpi: str, expected: set[str]) -> None:
    rows = records_behind(kpi, window(as_of=AS_OF), KpiFilters())
    assert _names(rows) == expected
    assert funnel_counts(window(as_of=AS_OF), KpiFilters())[kpi] == len(expected)


@pytest.mark.usefixtures("small")
def test_it_narrows_the_rows_with_the_filters_of_the_numbers() -> None:
    w = window(as_of=AS_OF)
    assert _names(records_behind("leads", w, KpiFilters(channel="webinar"))) == {"first"}
    assert _names(records_behind("leads", w, KpiFilters(origin="sales"))) == {"outbound"}
    # An opportunity's channel is its person's; with no person, its own.
    assert _names(records_behind("opportunities", w, KpiFilters(channel="partner"))) == {"unlinked"}
    assert _names(records_behind("opportunities", w, KpiFilters(channel="webinar"))) == {
        "won-after-as-of"
    }
    assert _names(records_behind("leads", w, KpiFilters(channel="unknown"))) == set()


@pytest.mark.usefixtures("small")
def test_it_marks_the_converted_members_of_a_cohort() -> None:
    w = window(as_of=AS_OF)
    # MQL cohort {edge, first}: edge is O3's person (created 03-20), first is O2's
    # (created 04-20), both before as_of, so both reached the opportunity stage.
    rows = records_behind("opportunity_rate", w, KpiFilters())
    assert {row.name: row.converted for row in rows} == {"edge": True, "first": True}
    # Opportunity cohort: won by as_of is only O1 (O2 closes after as_of).
    deals = records_behind("opportunity_to_won_rate", w, KpiFilters())
    assert {row.name: row.converted for row in deals} == {
        "won-in-p": True,
        "won-after-as-of": False,
        "unlinked": False,
    }
    assert record_count("opportunity_to_won_rate", deals).rate == pytest.approx(1 / 3)


@pytest.mark.usefixtures("small")
def test_it_lists_everyone_the_filters_leave_without_a_kpi() -> None:
    w = window(as_of=AS_OF)
    assert person_records(None, w, KpiFilters()).count() == Person.objects.count() == 6
    assert _names(person_records(None, w, KpiFilters(origin="sales"))) == {"outbound"}
    assert opportunity_records(None, w, KpiFilters()).count() == Opportunity.objects.count()


def test_it_refuses_a_kpi_it_cannot_list(db: None) -> None:
    w = window(as_of=AS_OF)
    with pytest.raises(UnknownKpi, match="not 'won_amount'"):
        records_behind("won_amount", w, KpiFilters())
    with pytest.raises(UnknownKpi, match="leads"):
        person_records("won_deals", w, KpiFilters())
    with pytest.raises(UnknownKpi, match="won_deals"):
        opportunity_records("leads", w, KpiFilters())


def _import_example(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())


def test_it_agrees_with_every_number_of_the_worked_example(example_dir: Path) -> None:
    _import_example(example_dir)
    w = window(as_of=AS_OF)
    shot = snapshot(as_of=AS_OF)
    expected = {"leads": 33, "mqls": 11, "sqls": 9, "opportunities": 5}
    expected |= {"won_deals": 3, "lost_deals": 2}
    for kpi, count in expected.items():
        assert record_count(kpi, records_behind(kpi, w, KpiFilters())).count == count, kpi
        assert shot["kpis"][kpi] == count, kpi
    for kpi in COHORT_KPIS:
        number = record_count(kpi, records_behind(kpi, w, KpiFilters()))
        cohort = shot["cohorts"][kpi]
        assert (number.count, number.converted) == (cohort["size"], cohort["converted"]), kpi
        assert number.rate == pytest.approx(shot["kpis"][kpi]), kpi


def test_it_agrees_with_the_counts_under_every_filter(example_dir: Path) -> None:
    _import_example(example_dir)
    w = window(as_of=AS_OF)
    channels = [*Channel.objects.values_list("key", flat=True), "unknown"]
    filter_sets = [KpiFilters(channel=key) for key in channels]
    filter_sets += [KpiFilters(origin="marketing"), KpiFilters(origin="sales")]
    filter_sets += [KpiFilters(industry="IT"), KpiFilters(company_size="300+")]
    for filters in filter_sets:
        counts = funnel_counts(w, filters, visits=False)
        for kpi in PERSON_COUNT_KPIS + OPPORTUNITY_COUNT_KPIS:
            assert records_behind(kpi, w, filters).count() == counts[kpi], (filters, kpi)
        for kpi in (*PERSON_KPIS, *OPPORTUNITY_KPIS):
            if kpi in COHORT_KPIS:
                converted = record_count(kpi, records_behind(kpi, w, filters)).converted
                assert converted == counts[f"{kpi}__converted"], (filters, kpi)
