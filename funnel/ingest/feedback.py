"""Sales' decisions on MQLs, written as the product's own source (kpi-spec section 2b).

Accepting an MQL is an `sql` stage entry of source `sales-feedback` at that moment;
rejecting it is that source's `disqualified_at` with a reason code. They combine with the
other sources by the earliest-entry rule like any source, and no sync or import of another
source touches them. One record per person: its `created_at` is the first decision, so
the person's lead_at (its earliest creation anywhere) never moves."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from funnel.choices import QualificationMode, SourceKind, Stage
from funnel.ingest.lookups import FEEDBACK_SOURCE, get_or_create_source
from funnel.ingest.persons import refresh_persons
from funnel.models import Person, SourcePerson, StageEntry

# A module reference: qualification.moments reads funnel.ingest.batches in turn.
from qualification import moments as qualifying


def record_acceptance(person: Person, moment: dt.datetime) -> None:
    with transaction.atomic():
        record = _record(person, moment)
        if record.sql_at is None or moment < record.sql_at:
            record.sql_at = moment
            record.save(update_fields=["sql_at", "updated_at"])
        StageEntry.objects.get_or_create(
            person_id=record.person_id,
            source_record=record,
            stage=Stage.SQL,
            basis=QualificationMode.SOURCE,
            entered_at=moment,
        )
        refresh_persons([record.person_id])
        qualifying.refresh_moments([record.person_id])


def record_rejection(person: Person, moment: dt.datetime, reason: str, text: str = "") -> None:
    with transaction.atomic():
        record = _record(person, moment)
        if record.disqualified_at is None or moment < record.disqualified_at:
            record.disqualified_at = moment
            record.disqualify_reason = reason
            record.disqualify_reason_text = text[:200]
            record.save(
                update_fields=[
                    "disqualified_at",
                    "disqualify_reason",
                    "disqualify_reason_text",
                    "updated_at",
                ]
            )
        refresh_persons([record.person_id])


def _record(person: Person, moment: dt.datetime) -> SourcePerson:
    """The person's feedback record (the first, if a merge of persons brought two)."""
    source = get_or_create_source(FEEDBACK_SOURCE, SourceKind.FEEDBACK)
    found = (
        SourcePerson.objects.select_for_update()
        .filter(source=source, person=person)
        .order_by("pk")
        .first()
    )
    if found is not None:
        return found
    external_id = f"person-{person.pk}"
    while SourcePerson.objects.filter(source=source, external_id=external_id).exists():
        external_id += "+"  # that id's record moved to another person in a merge
    return SourcePerson.objects.create(
        source=source, person=person, external_id=external_id, created_at=moment
    )
