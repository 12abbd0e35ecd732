"""Removing records a source no longer has (funnel/ingest/removal.py): afterwards the
database says what a clean import of the sources' current state says, KPI by KPI, link by
link (docs/connectors.md section 2, "Deletes and merges")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.db import transaction

from funnel.ingest.removal import remove_activities, remove_opportunities, remove_persons
from funnel.metrics.snapshot import json_ready
from funnel.models import Activity, Opportunity, Person, Source, SourcePerson, StageEntry
from funnel.records import ActivityRecord, OpportunityRecord, PersonRecord
from tests.funnel.factories import activity, deal, jst, load, person, snapshot

pytestmark = pytest.mark.django_db(transaction=True)
SourceMaker = Callable[..., Source]

MA = [
    person("m1", jst(2026, 4, 2), email="a@example.jp", channel="webinar", mql_at=jst(2026, 4, 5)),
    person("m2", jst(2026, 4, 3), email="b@example.jp", channel="seo", mql_at=jst(2026, 4, 4)),
    person("m3", jst(2026, 4, 4), email="c@example.jp", channel="ads", mql_at=jst(2026, 4, 6)),
]
SFA = [
    person("s1", jst(2026, 4, 1), email="A@example.jp", sql_at=jst(2026, 4, 9)),
    person("s2", jst(2026, 4, 8), email="d@example.jp", sql_at=jst(2026, 4, 12)),
]
DEALS = [
    deal(
        "o1", jst(2026, 4, 20), "won", 500_000, closed_at=jst(2026, 5, 10), person_external_id="s1"
    ),
    deal("o2", jst(2026, 4, 21), "open", 100_000, person_email="c@example.jp"),
    deal(
        "o3", jst(2026, 4, 22), "lost", 50_000, closed_at=jst(2026, 5, 1), person_external_id="s2"
    ),
]
MA_ACTIVITIES = [
    activity("v1", jst(2026, 4, 2), person_external_id="m1"),
    activity("v2", jst(2026, 4, 3), person_external_id="m3"),
    activity("v3", jst(2026, 4, 3), person_email="b@example.jp"),
]


def _state() -> dict[str, Any]:
    """Everything a reader sees: the KPIs, and who each record is linked to (by identity)."""

    def owner(person_id: int | None) -> tuple[str, ...]:
        if person_id is None:
            return ()
        return tuple(
            sorted(
                SourcePerson.objects.filter(person_id=person_id).values_list(
                    "source__name", "external_id"
                )
            )
        )

    return {
        "kpis": json_ready(snapshot())["kpis"],
        "persons": sorted(
            (owner(p.pk), p.lead_at, p.mql_at, p.sql_at, p.opportunity_at, p.won_at)
            for p in Person.objects.all()
        ),
        "opportunities": sorted(
            (o.external_id, owner(o.person_id)) for o in Opportunity.objects.all()
        ),
        "activities": sorted((a.external_id, owner(a.person_id)) for a in Activity.objects.all()),
        "stage_entries": StageEntry.objects.count(),
    }


def _import(
    source: SourceMaker,
    ma: Sequence[PersonRecord],
    sfa: Sequence[PersonRecord],
    deals: Sequence[OpportunityRecord],
    activities: Sequence[ActivityRecord],
) -> None:
    load(source("ma"), persons=ma, activities=activities)
    load(source("sfa"), persons=sfa, deals=deals)


def _clean(source: SourceMaker, **current: Any) -> dict[str, Any]:
    with transaction.atomic():
        for model in (Activity, Opportunity, StageEntry, SourcePerson, Person):
            model.objects.all().delete()
        _import(source, **current)
        return _state()


@pytest.mark.parametrize(
    ("gone", "ma", "sfa"),
    [
        # the MA's half of a person that the SFA holds too (same email): the person stays
        ({"ma": ["m1"]}, [MA[1], MA[2]], SFA),
        # the SFA's half: its opportunity o1 pointed at s1 by id, and now finds no one
        ({"sfa": ["s1"]}, MA, [SFA[1]]),
        # a person only the MA held, whose activity and an SFA deal pointed at it by email
        ({"ma": ["m3"]}, [MA[0], MA[1]], SFA),
        # all at once
        ({"ma": ["m1", "m2", "m3"], "sfa": ["s2"]}, [], [SFA[0]]),
    ],
)
def test_removing_persons_equals_a_clean_import_of_what_remains(
    source: SourceMaker,
    gone: dict[str, list[str]],
    ma: list[PersonRecord],
    sfa: list[PersonRecord],
) -> None:
    _import(source, MA, SFA, DEALS, MA_ACTIVITIES)
    removed = sum(remove_persons(source(name), ids) for name, ids in gone.items())
    assert removed == sum(len(ids) for ids in gone.values())
    after = _state()
    assert after == _clean(source, ma=ma, sfa=sfa, deals=DEALS, activities=MA_ACTIVITIES)


def test_removing_opportunities_and_activities_equals_a_clean_import(source: SourceMaker) -> None:
    _import(source, MA, SFA, DEALS, MA_ACTIVITIES)
    assert remove_opportunities(source("sfa"), ["o1", "o404"]) == 1
    assert remove_activities(source("ma"), ["v2"]) == 1
    after = _state()
    assert after["kpis"]["won_deals"] == 0
    assert after == _clean(
        source, ma=MA, sfa=SFA, deals=DEALS[1:], activities=[MA_ACTIVITIES[0], MA_ACTIVITIES[2]]
    )


def test_removing_what_is_not_there_changes_nothing(source: SourceMaker) -> None:
    _import(source, MA, SFA, DEALS, MA_ACTIVITIES)
    before = _state()
    assert remove_persons(source("ma"), ["nobody"]) == 0
    assert remove_persons(source("sfa"), ["m1"]) == 0  # another source's id
    assert _state() == before
