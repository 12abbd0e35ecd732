"""Batching and the person fields that follow from opportunities (kpi-spec section 2)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from funnel.choices import OpportunityStatus
from funnel.models import Opportunity, Person

T = TypeVar("T")
BATCH_SIZE = 2000


def chunks(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def refresh_opportunity_dates(person_ids: Iterable[int] | QuerySet[Any, Any]) -> None:
    """`opportunity_at`: created_at of the person's earliest opportunity; `won_at`: earliest
    closed_at among its won ones. Whether they count at an as_of is decided when reading.

    `person_ids` are ids (updated in batches), or a query of them: one statement for the
    persons of a whole staged load."""
    first_created = Opportunity.objects.filter(person_id=OuterRef("pk")).order_by("created_at")
    first_won = Opportunity.objects.filter(
        person_id=OuterRef("pk"), status=OpportunityStatus.WON, closed_at__isnull=False
    ).order_by("closed_at")

    def update(persons: Sequence[int] | QuerySet[Any, Any]) -> None:
        Person.objects.filter(pk__in=persons).update(
            opportunity_at=Subquery(first_created.values("created_at")[:1]),
            won_at=Subquery(first_won.values("closed_at")[:1]),
        )

    if isinstance(person_ids, QuerySet):
        if connection.vendor == "postgresql":
            _refresh_opportunity_dates_of(person_ids)
        else:
            update(person_ids)
        return
    for chunk in chunks(sorted({pid for pid in person_ids if pid is not None})):
        update(chunk)


def _refresh_opportunity_dates_of(persons: QuerySet[Any, Any]) -> None:
    """refresh_opportunity_dates for a query of person ids, in one grouped pass over their
    opportunities (PostgreSQL): a subquery a person took 0.5 s of the 1.2 s a load of 27k
    opportunities spent here. Persons whose dates stay as they are are not written."""
    query, params = persons.query.sql_with_params()
    # `query` is Django's SQL for `persons`; its values travel in params.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE funnel_person p SET opportunity_at = d.first_created, won_at = d.first_won "  # noqa: S608
            "FROM (SELECT x.id, min(o.created_at) AS first_created, "
            "min(o.closed_at) FILTER (WHERE o.status = %s) AS first_won "
            f"FROM ({query}) AS x (id) LEFT JOIN funnel_opportunity o ON o.person_id = x.id "
            "GROUP BY x.id) d WHERE p.id = d.id "
            "AND (p.opportunity_at, p.won_at) IS DISTINCT FROM (d.first_created, d.first_won)",
            [OpportunityStatus.WON.value, *params],
        )
