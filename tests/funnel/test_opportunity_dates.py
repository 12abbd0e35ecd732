"""A person's opportunity dates (kpi-spec section 2: the earliest opportunity's created_at,
the earliest won one's closed_at) come out the same whichever way refresh_opportunity_dates
is called: with ids (the batch path, subqueries a person) or with a query of person ids (a
staged load; one grouped pass on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from funnel.choices import OpportunityStatus
from funnel.ingest.batches import refresh_opportunity_dates
from funnel.models import Opportunity, Person, Source

pytestmark = pytest.mark.django_db


def _at(day: int) -> dt.datetime:
    return dt.datetime(2026, 5, day, 9, tzinfo=dt.UTC)


def _persons() -> list[Person]:
    """Persons with no opportunity, open ones only, a lost one, several won (the earliest
    closed is not the earliest created), a won one not closed, and stale dates to mend."""
    source = Source.objects.create(name="crm", kind="csv")
    persons = [Person.objects.create(lead_at=_at(1)) for _ in range(6)]
    deals = [
        (1, 3, None, OpportunityStatus.OPEN),
        (1, 2, None, OpportunityStatus.OPEN),
        (2, 4, 9, OpportunityStatus.LOST),
        (3, 5, 20, OpportunityStatus.WON),
        (3, 6, 12, OpportunityStatus.WON),
        (3, 7, 8, OpportunityStatus.LOST),
        (4, 8, None, OpportunityStatus.WON),
    ]
    for n, (index, created, closed, status) in enumerate(deals):
        Opportunity.objects.create(
            source=source,
            external_id=f"D{n}",
            person=persons[index],
            amount=Decimal(1000),
            created_at=_at(created),
            closed_at=_at(closed) if closed else None,
            status=status,
        )
    # Stale dates: person 0 has no opportunity any more, person 5 never had one.
    Person.objects.filter(pk=persons[0].pk).update(opportunity_at=_at(2), won_at=_at(3))
    return persons


def _dates() -> list[tuple[dt.datetime | None, dt.datetime | None]]:
    return list(Person.objects.order_by("pk").values_list("opportunity_at", "won_at"))


def test_a_query_of_persons_gets_the_dates_ids_get() -> None:
    persons = _persons()
    refresh_opportunity_dates([p.pk for p in persons])
    by_ids = _dates()
    assert by_ids == [
        (None, None),
        (_at(2), None),
        (_at(4), None),
        (_at(5), _at(12)),
        (_at(8), None),
        (None, None),
    ]
    Person.objects.update(opportunity_at=_at(2), won_at=_at(3))
    refresh_opportunity_dates(Person.objects.values("pk"))
    assert _dates() == by_ids
