"""Upsert of opportunities (with their change history) and activities (kpi-spec 2, 6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from funnel.ingest.batches import chunks, refresh_opportunity_dates
from funnel.ingest.bulk import allocate_ids, insert_rows, update_rows
from funnel.ingest.linking import resolve_person_ids
from funnel.ingest.lookups import Dimensions
from funnel.models import Activity, Opportunity, OpportunityChange, Person, SourcePerson
from funnel.records import ActivityRecord, IngestResult, OpportunityRecord, normalise_email

OPPORTUNITY_FIELDS = (
    "person_id",
    "person_external_id",
    "person_email_normalized",
    "account_id",
    "name",
    "amount",
    "created_at",
    "closed_at",
    "status",
    "stage",
    "loss_reason",
    "channel_id",
)
HISTORY_FIELDS = ("stage", "status", "amount", "closed_at")
ACTIVITY_FIELDS = (
    "person_id",
    "person_external_id",
    "person_email_normalized",
    "type",
    "occurred_at",
    "detail",
)


def ingest_opportunities(source: Any, records: Sequence[OpportunityRecord]) -> IngestResult:
    """Upsert opportunities; a change of stage, status, amount or close date is kept as history."""
    result = IngestResult()
    dims = Dimensions()
    for batch in chunks(records):
        dims.load_channels(r.channel for r in batch)
        dims.load_accounts(r.account for r in batch)
        by_id, by_email = resolve_person_ids(
            source,
            [r.person_external_id for r in batch],
            [normalise_email(r.person_email) for r in batch],
        )
        existing = {
            o.external_id: o
            for o in Opportunity.objects.filter(
                source=source, external_id__any=[r.external_id for r in batch]
            )
        }
        created: list[tuple[str, dict[str, Any]]] = []
        changed: list[Opportunity] = []
        touched_persons: set[int | None] = set()
        for record in batch:
            email = normalise_email(record.person_email)
            person_id = by_id.get(record.person_external_id) or by_email.get(email)
            values: dict[str, Any] = {
                "person_id": person_id,
                "person_external_id": record.person_external_id,
                "person_email_normalized": email,
                "account_id": dims.account_id(record.account),
                "name": record.name,
                "amount": record.amount,
                "created_at": record.created_at,
                "closed_at": record.closed_at,
                "status": record.status,
                "stage": record.stage,
                "loss_reason": record.loss_reason,
                "channel_id": dims.channel_id(record.channel),
            }
            if values["person_id"] is None and (record.person_external_id or email):
                result.unlinked += 1
            stored = existing.get(record.external_id)
            if stored is None:
                created.append((record.external_id, values))
            elif any(getattr(stored, f) != values[f] for f in OPPORTUNITY_FIELDS):
                touched_persons.add(stored.person_id)
                history_changed = any(getattr(stored, f) != values[f] for f in HISTORY_FIELDS)
                opportunity = Opportunity(
                    pk=stored.pk,
                    source=source,
                    external_id=record.external_id,
                    updated_at=timezone.now(),
                    **values,
                )
                opportunity._history_changed = history_changed  # type: ignore[attr-defined]
                changed.append(opportunity)
            else:
                result.unchanged += 1
                continue
            touched_persons.add(person_id)
        now = timezone.now()
        ids = allocate_ids(Opportunity, len(created))
        insert_rows(
            Opportunity,
            ("id", "source_id", "external_id", *OPPORTUNITY_FIELDS, "updated_at"),
            (
                (pk, source.pk, external_id, *(values[f] for f in OPPORTUNITY_FIELDS), now)
                for pk, (external_id, values) in zip(ids, created, strict=True)
            ),
        )
        if changed:
            fields = (*OPPORTUNITY_FIELDS, "updated_at")
            update_rows(
                Opportunity, fields, [(o.pk, *(getattr(o, f) for f in fields)) for o in changed]
            )
        history = [
            (pk, *(values[f] for f in HISTORY_FIELDS))
            for pk, (_, values) in zip(ids, created, strict=True)
        ] + [
            (o.pk, *(getattr(o, f) for f in HISTORY_FIELDS))
            for o in changed
            if getattr(o, "_history_changed", True)
        ]
        insert_rows(
            OpportunityChange,
            ("opportunity_id", *HISTORY_FIELDS, "recorded_at"),
            ((*row, now) for row in history),
        )
        refresh_opportunity_dates(pid for pid in touched_persons if pid is not None)
        result.created += len(created)
        result.updated += len(changed)
    return result


class ActivityBulkLoad:
    """One large import of activities (one file, one transaction). Person ids of the whole
    source and of every email, and the source's existing activity ids, are read once instead
    of in three lookups per batch: valid for the load, since activities add neither persons
    nor (within one deduplicated file) activity ids that come back."""

    def __init__(self, source: Any) -> None:
        self.by_external_id: dict[str, int] = dict(
            SourcePerson.objects.filter(source=source).values_list("external_id", "person_id")
        )
        self.by_email: dict[str, int] = dict(
            Person.objects.with_email().values_list("email_normalized", "id")
        )
        self.known_ids: set[str] = set(
            Activity.objects.filter(source=source).values_list("external_id", flat=True)
        )

    def __call__(self, source: Any, records: Sequence[ActivityRecord]) -> IngestResult:
        return ingest_activities(source, records, self)


def ingest_activities(
    source: Any, records: Sequence[ActivityRecord], load: ActivityBulkLoad | None = None
) -> IngestResult:
    """Upsert MA activities; one with no person reference is anonymous (e.g. a web visit)."""
    result = IngestResult()
    for batch in chunks(records):
        if load is not None:
            by_id, by_email = load.by_external_id, load.by_email
            stored_ids = [r.external_id for r in batch if r.external_id in load.known_ids]
        else:
            by_id, by_email = resolve_person_ids(
                source,
                [r.person_external_id for r in batch],
                [normalise_email(r.person_email) for r in batch],
            )
            stored_ids = [r.external_id for r in batch]
        existing = (
            {
                a.external_id: a
                for a in Activity.objects.filter(source=source, external_id__any=stored_ids)
            }
            if stored_ids
            else {}
        )
        created: list[tuple[Any, ...]] = []
        changed: list[Activity] = []
        for record in batch:
            email = normalise_email(record.person_email)
            values = {
                "person_id": by_id.get(record.person_external_id) or by_email.get(email),
                "person_external_id": record.person_external_id,
                "person_email_normalized": email,
                "type": record.type,
                "occurred_at": record.occurred_at,
                "detail": record.detail,
            }
            if values["person_id"] is None and (record.person_external_id or email):
                result.unlinked += 1
            stored = existing.get(record.external_id)
            if stored is None:
                created.append((source.pk, record.external_id, *values.values()))
            elif any(getattr(stored, f) != values[f] for f in ACTIVITY_FIELDS):
                changed.append(
                    Activity(pk=stored.pk, source=source, external_id=record.external_id, **values)
                )
            else:
                result.unchanged += 1
        insert_rows(Activity, ("source_id", "external_id", *ACTIVITY_FIELDS), created)
        if changed:
            update_rows(
                Activity,
                ACTIVITY_FIELDS,
                [(a.pk, *(getattr(a, f) for f in ACTIVITY_FIELDS)) for a in changed],
            )
        result.created += len(created)
        result.updated += len(changed)
    return result
