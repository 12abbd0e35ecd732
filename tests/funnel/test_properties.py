"""Laws of the KPI engine that hold for any dataset (docs/architecture.md, tests): re-import
changes nothing (kpi-spec section 6), a breakdown by channel sums to the totals (5b), and
cohort counts never increase down the funnel (sections 2 and 4).

Each example is a small random dataset from two sources around FY2026Q1: stage dates on and
around JST midnight at the quarter boundaries, empty and sales channels, emails that differ
only in case or padding across and within sources, deals with and without a person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel import ingest
from funnel.metrics.breakdowns import breakdown
from funnel.metrics.counts import Window
from funnel.metrics.filters import KpiFilters
from funnel.models import (
    Activity,
    CostEntry,
    Opportunity,
    Person,
    SourcePerson,
    StageEntry,
    Target,
    TreeOverride,
)
from funnel.periods import parse_period
from funnel.records import ActivityRecord, CostRecord, OpportunityRecord, PersonRecord
from tests.funnel.factories import at, jst, snapshot

pytestmark = pytest.mark.django_db

PERIOD = "FY2026Q1"
START = jst(2026, 3, 1)
HOURS = 24 * 150  # 2026-03-01 .. 2026-07-29
BOUNDARIES = [
    at("2026-03-31T23:59:59+09:00"),
    at("2026-03-31T15:00:00Z"),  # 2026-04-01 00:00 JST
    at("2026-06-30T23:59:59+09:00"),
    at("2026-06-30T15:00:00Z"),  # 2026-07-01 00:00 JST
    at("2026-06-15T00:00:00+09:00"),  # one of the as_of values
]
CHANNELS = ["", "webinar", "paid_search", "outbound", "partner"]
EMAILS = ["ann@example.com", "bob@example.com", "cho@example.com", "dai@example.com"]
AS_OF = [jst(2026, 6, 15), jst(2026, 9, 1)]
COUNT_KEYS = ("leads", "mqls", "sqls", "opportunities", "won_deals", "lost_deals", "won_amount")
STAGES = ("mql", "sql", "opportunity", "won")

HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

moments = st.one_of(
    st.integers(0, HOURS * 4).map(lambda q: START + dt.timedelta(minutes=15 * q)),
    st.sampled_from(BOUNDARIES),
)
maybe_moment = st.one_of(st.none(), moments)
emails = st.one_of(
    st.just(""),
    st.tuples(st.sampled_from(EMAILS), st.sampled_from(["lower", "upper", "title", "pad"])).map(
        lambda pair: {
            "lower": pair[0],
            "upper": pair[0].upper(),
            "title": pair[0].title(),
            "pad": f"  {pair[0]} ",
        }[pair[1]]
    ),
)


@st.composite
def person_records(draw: st.DrawFn, prefix: str) -> list[PersonRecord]:
    return [
        PersonRecord(
            external_id=f"{prefix}{index}",
            created_at=draw(moments),
            email=draw(emails),
            channel=draw(st.sampled_from(CHANNELS)),
            mql_at=draw(maybe_moment),
            sql_at=draw(maybe_moment),
            disqualified_at=draw(st.one_of(st.none(), moments)),
        )
        for index in range(draw(st.integers(0, 5)))
    ]


@st.composite
def opportunity_records(draw: st.DrawFn) -> list[OpportunityRecord]:
    records = []
    for index in range(draw(st.integers(0, 5))):
        status = draw(st.sampled_from(["open", "won", "lost"]))
        link = draw(st.sampled_from(["none", "id", "email"]))
        records.append(
            OpportunityRecord(
                external_id=f"D{index}",
                amount=Decimal(draw(st.integers(0, 5_000_000))),
                created_at=draw(moments),
                status=status,
                closed_at=None if status == "open" else draw(moments),
                person_external_id=f"S{draw(st.integers(0, 5))}" if link == "id" else "",
                person_email=draw(emails) if link == "email" else "",
                channel=draw(st.sampled_from(CHANNELS)),
            )
        )
    return records


@st.composite
def cost_records(draw: st.DrawFn) -> list[CostRecord]:
    keys = draw(
        st.lists(
            st.tuples(st.integers(0, 150), st.sampled_from(CHANNELS[1:])),
            max_size=4,
            unique=True,
        )
    )
    return [
        CostRecord(
            date=dt.date(2026, 3, 1) + dt.timedelta(days=day),
            channel=channel,
            amount=Decimal(draw(st.integers(0, 900_000))),
        )
        for day, channel in keys
    ]


@st.composite
def activity_records(draw: st.DrawFn) -> list[ActivityRecord]:
    return [
        ActivityRecord(
            external_id=f"A{index}",
            type=draw(st.sampled_from(["web_visit", "page_view"])),
            occurred_at=draw(moments),
            person_email=draw(emails),
        )
        for index in range(draw(st.integers(0, 3)))
    ]


@dataclass
class Dataset:
    ma_persons: list[PersonRecord]
    sfa_persons: list[PersonRecord]
    opportunities: list[OpportunityRecord]
    costs: list[CostRecord]
    activities: list[ActivityRecord]


datasets = st.builds(
    Dataset,
    ma_persons=person_records("M"),
    sfa_persons=person_records("S"),
    opportunities=opportunity_records(),
    costs=cost_records(),
    activities=activity_records(),
)


def _clean() -> None:
    """Hypothesis runs every example in the same test transaction: start from nothing."""
    for model in (
        Activity,
        Opportunity,
        StageEntry,
        SourcePerson,
        Person,
        CostEntry,
        Target,
        TreeOverride,
    ):
        model.objects.all().delete()


def _load(data: Dataset) -> list[dict[str, int]]:
    ma = ingest.get_or_create_source("ma", "ma")
    sfa = ingest.get_or_create_source("sfa", "sfa")
    results = [
        ingest.ingest_persons(ma, data.ma_persons),
        ingest.ingest_persons(sfa, data.sfa_persons),
        ingest.ingest_opportunities(sfa, data.opportunities),
        ingest.ingest_activities(ma, data.activities),
        ingest.ingest_costs(ma, data.costs),
    ]
    return [result.as_dict() for result in results]


@HYPOTHESIS
@given(data=datasets, as_of=st.sampled_from(AS_OF))
def test_it_changes_nothing_on_a_second_import(data: Dataset, as_of: dt.datetime) -> None:
    _clean()
    _load(data)
    first = snapshot(PERIOD, as_of)
    again = _load(data)
    assert [(result["created"], result["updated"]) for result in again] == [(0, 0)] * 5
    assert snapshot(PERIOD, as_of) == first


@HYPOTHESIS
@given(data=datasets, as_of=st.sampled_from(AS_OF))
def test_it_sums_the_channel_breakdown_to_the_totals(data: Dataset, as_of: dt.datetime) -> None:
    _clean()
    _load(data)
    totals = snapshot(PERIOD, as_of)["kpis"]
    rows = breakdown(Window(parse_period(PERIOD), as_of), KpiFilters(), "channel")
    for key in (*COUNT_KEYS, "marketing_cost"):
        assert sum(row[key] or 0 for row in rows.values()) == totals[key], key


def _reached_counts(window: Window, cohort_field: str, stages: tuple[str, ...]) -> list[int]:
    cohort = Person.objects.filter(window.within(cohort_field))
    return [cohort.count()] + [cohort.filter(window.reached(stage)).count() for stage in stages]


@HYPOTHESIS
@given(data=datasets, as_of=st.sampled_from(AS_OF))
def test_it_never_grows_a_cohort_down_the_funnel(data: Dataset, as_of: dt.datetime) -> None:
    _clean()
    _load(data)
    window = Window(parse_period(PERIOD), as_of)
    for cohort_field, stages in (
        ("lead_at", STAGES),
        ("mql_at", STAGES[1:]),
        ("sql_at", STAGES[2:]),
    ):
        counts = _reached_counts(window, cohort_field, stages)
        assert counts == sorted(counts, reverse=True), (cohort_field, counts)
    cohorts: dict[str, Any] = snapshot(PERIOD, as_of)["cohorts"]
    for key, details in cohorts.items():
        assert 0 <= details["converted"] <= details["size"], key
    # The MQL cohort: reaching an opportunity implies reaching SQL.
    assert cohorts["opportunity_rate"]["converted"] <= cohorts["mql_to_sql_rate"]["converted"]
