"""Link opportunities and activities that were waiting for their person (kpi-spec section 2).

An opportunity or activity finds its person by `person_external_id` within its own source,
else by normalised `person_email` among the merged persons of every source. Records whose
person arrives later are linked when it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Model, OuterRef, Subquery

from funnel.models import Activity, Opportunity, Person, SourcePerson


def resolve_person_ids(
    source: Any, external_ids: Sequence[str], emails: Sequence[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Maps (external id within `source` -> person id, normalised email -> person id)."""
    by_external_id = dict(
        SourcePerson.objects.filter(
            source=source, external_id__any={e for e in external_ids if e}
        ).values_list("external_id", "person_id")
    )
    by_email = dict(
        Person.objects.with_email()
        .filter(email_normalized__any={e for e in emails if e})
        .values_list("email_normalized", "id")
    )
    return by_external_id, by_email


def link_waiting_records(
    source: Any, external_ids: Sequence[str], emails: Sequence[str]
) -> set[int]:
    """Link unlinked records that reference these new person records; returns the persons
    that gained opportunities (their opportunity dates must be refreshed)."""
    gained: set[int] = set()
    model: type[Model]
    for model in (Opportunity, Activity):
        waiting = model._default_manager.filter(person__isnull=True)
        by_id = waiting.filter(source=source, person_external_id__any=external_ids)
        by_id.update(
            person_id=Subquery(
                SourcePerson.objects.filter(
                    source=source, external_id=OuterRef("person_external_id")
                ).values("person_id")[:1]
            )
        )
        if emails:
            waiting.filter(person_email_normalized__any=emails).update(
                person_id=Subquery(
                    Person.objects.with_email()
                    .filter(email_normalized=OuterRef("person_email_normalized"))
                    .values("id")[:1]
                )
            )
        if model is Opportunity:
            gained.update(
                Opportunity.objects.filter(source=source, person_external_id__any=external_ids)
                .exclude(person__isnull=True)
                .values_list("person_id", flat=True)
            )
            if emails:
                gained.update(
                    Opportunity.objects.filter(person_email_normalized__any=emails)
                    .exclude(person__isnull=True)
                    .values_list("person_id", flat=True)
                )
    return gained
