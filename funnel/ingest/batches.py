"""Batching and the person fields that follow from opportunities (kpi-spec section 2)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from django.db.models import OuterRef, Subquery

from funnel.choices import OpportunityStatus
from funnel.models import Opportunity, Person

T = TypeVar("T")
BATCH_SIZE = 2000


def chunks(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def refresh_opportunity_dates(person_ids: Iterable[int]) -> None:
    """`opportunity_at`: created_at of the person's earliest opportunity; `won_at`: earliest
    closed_at among its won ones. Whether they count at an as_of is decided when reading."""
    ids = sorted({pid for pid in person_ids if pid is not None})
    first_created = Opportunity.objects.filter(person_id=OuterRef("pk")).order_by("created_at")
    first_won = Opportunity.objects.filter(
        person_id=OuterRef("pk"), status=OpportunityStatus.WON, closed_at__isnull=False
    ).order_by("closed_at")
    for chunk in chunks(ids):
        Person.objects.filter(pk__in=chunk).update(
            opportunity_at=Subquery(first_created.values("created_at")[:1]),
            won_at=Subquery(first_won.values("closed_at")[:1]),
        )
