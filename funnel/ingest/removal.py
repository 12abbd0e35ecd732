"""Records a source no longer has (deleted, archived, merged away in the vendor) leave the
product with their stage entries: the KPIs then equal those of a clean import of the
source's current state (docs/connectors.md section 2, "Deletes and merges").

A person keeps existing while another source still holds it (its fields are derived again
from what remains); opportunities and activities that pointed at a person whose record
left find their person again exactly as an import would link them (by external id within
their own source, else by normalised email), or stay unlinked.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Model, OuterRef, Subquery
from django.db.models.functions import Coalesce

from funnel.ingest.batches import chunks, refresh_opportunity_dates
from funnel.ingest.persons import refresh_persons
from funnel.models import Activity, Opportunity, Person, Source, SourcePerson

# A module reference: qualification.moments reads funnel.ingest.batches in turn.
from qualification import moments as qualifying


def remove_persons(source: Source, external_ids: Iterable[str]) -> int:
    """Remove `source`'s person records with these external ids; returns how many."""
    removed = 0
    with transaction.atomic():
        for chunk in chunks(sorted(set(external_ids))):
            records = SourcePerson.objects.filter(source=source, external_id__in=chunk)
            affected = set(records.values_list("person_id", flat=True))
            if not affected:
                continue
            removed += records.count()
            records.delete()  # their stage entries go with them
            remaining = set(
                SourcePerson.objects.filter(person_id__in=affected).values_list(
                    "person_id", flat=True
                )
            )
            refresh_persons(remaining)
            linked = _unlink(affected)
            Person.objects.filter(pk__in=affected - remaining).delete()
            relinked = _relink(linked)
            refresh_opportunity_dates(remaining | relinked)
            qualifying.refresh_moments(
                remaining
                | set(
                    Activity.objects.filter(pk__in=linked[Activity], person__isnull=False)
                    .values_list("person_id", flat=True)
                    .distinct()
                )
            )
    return removed


def remove_opportunities(source: Source, external_ids: Iterable[str]) -> int:
    removed = 0
    with transaction.atomic():
        for chunk in chunks(sorted(set(external_ids))):
            rows = Opportunity.objects.filter(source=source, external_id__in=chunk)
            persons = set(rows.exclude(person=None).values_list("person_id", flat=True))
            removed += rows.delete()[1].get(Opportunity._meta.label, 0)
            refresh_opportunity_dates(persons)
    return removed


def remove_activities(source: Source, external_ids: Iterable[str]) -> int:
    removed = 0
    with transaction.atomic():
        for chunk in chunks(sorted(set(external_ids))):
            rows = Activity.objects.filter(source=source, external_id__in=chunk)
            persons = set(rows.exclude(person=None).values_list("person_id", flat=True))
            removed += rows.delete()[0]
            qualifying.refresh_moments(persons)
    return removed


def _unlink(person_ids: set[int]) -> dict[type[Model], list[int]]:
    """Unlink the opportunities and activities of these persons; returns their ids."""
    linked: dict[type[Model], list[int]] = {}
    for model in (Opportunity, Activity):
        rows = model._default_manager.filter(person_id__in=person_ids)
        linked[model] = list(rows.values_list("pk", flat=True))
        rows.update(person_id=None)
    return linked


def _relink(linked: dict[type[Model], list[int]]) -> set[int]:
    """Link these records as an import would; returns the persons of relinked opportunities."""
    by_reference = SourcePerson.objects.filter(
        source_id=OuterRef("source_id"), external_id=OuterRef("person_external_id")
    ).values("person_id")[:1]
    by_email = (
        Person.objects.with_email()
        .filter(email_normalized=OuterRef("person_email_normalized"))
        .values("id")[:1]
    )
    for model, ids in linked.items():
        for chunk in chunks(ids):
            model._default_manager.filter(pk__in=chunk).update(
                person_id=Coalesce(Subquery(by_reference), Subquery(by_email))
            )
    return set(
        Opportunity.objects.filter(pk__in=linked.get(Opportunity, []))
        .exclude(person=None)
        .values_list("person_id", flat=True)
    )
