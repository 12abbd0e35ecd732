"""Link opportunities and activities that were waiting for their person (kpi-spec section 2).

An opportunity or activity finds its person by `person_external_id` within its own source,
else by normalised `person_email` among the merged persons of every source. Records whose
person arrives later are linked when it does.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Model, OuterRef, Q, Subquery

from funnel.models import Activity, Opportunity, Person, Source, SourcePerson


def resolve_person_ids(
    source: Source, external_ids: Sequence[str], emails: Sequence[str]
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


def records_wait() -> bool:
    """Whether any opportunity or activity still waits for its person (else a load of
    persons has nothing to link)."""
    return (
        Opportunity.objects.filter(person__isnull=True).exists()
        or Activity.objects.filter(person__isnull=True).exists()
    )


def link_waiting_records(
    source: Source, external_ids: Sequence[str], emails: Sequence[str]
) -> set[int]:
    """Link unlinked records that reference these new person records; returns the persons
    that gained opportunities (their opportunity dates must be refreshed). Every query
    here reads only unlinked rows, which the partial `*_person_ref/_email` indexes hold."""
    by_reference = Q(source=source, person_external_id__any=external_ids)
    by_email = Q(person_email_normalized__any=emails) if emails else Q(pk__in=[])
    person_of_reference = Subquery(
        SourcePerson.objects.filter(
            source=source, external_id=OuterRef("person_external_id")
        ).values("person_id")[:1]
    )
    person_of_email = Subquery(
        Person.objects.with_email()
        .filter(email_normalized=OuterRef("person_email_normalized"))
        .values("id")[:1]
    )
    waiting_opportunities = list(
        Opportunity.objects.filter(by_reference | by_email, person__isnull=True).values_list(
            "pk", flat=True
        )
    )
    model: type[Model]
    for model in (Opportunity, Activity):
        waiting = model._default_manager.filter(person__isnull=True)
        waiting.filter(by_reference).update(person_id=person_of_reference)
        if emails:
            waiting.filter(by_email).update(person_id=person_of_email)
    if not waiting_opportunities:
        return set()
    return set(
        Opportunity.objects.filter(pk__in=waiting_opportunities, person__isnull=False).values_list(
            "person_id", flat=True
        )
    )
