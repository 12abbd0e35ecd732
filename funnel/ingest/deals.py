"""Upsert of opportunities (with their change history) and activities (kpi-spec 2, 6)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from funnel.ingest.batches import chunks, refresh_opportunity_dates
from funnel.ingest.bulk import allocate_ids, insert_rows, update_rows
from funnel.ingest.linking import resolve_person_ids
from funnel.ingest.lookups import Dimensions
from funnel.models import (
    Activity,
    Opportunity,
    OpportunityChange,
    Person,
    Source,
    SourcePerson,
)
from funnel.records import ActivityRecord, IngestResult, OpportunityRecord, normalise_email

# A module reference: qualification.moments reads funnel.ingest.batches in turn.
from qualification import moments as qualifying

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


def ingest_opportunities(source: Source, records: Sequence[OpportunityRecord]) -> IngestResult:
    """Upsert opportunities; a change of stage, status, amount or close date is kept as history."""
    result = IngestResult()
    dims = Dimensions()
    for batch in chunks(records):
        plan = _plan_opportunities(source, batch, dims, result)
        now = timezone.now()
        ids = _insert_new_opportunities(source, plan.created, now)
        _update_changed_opportunities(plan.changed, now)
        _record_history(plan, ids, now)
        refresh_opportunity_dates(pid for pid in plan.touched_persons if pid is not None)
        result.created += len(plan.created)
        result.updated += len(plan.changed)
    return result


@dataclass
class ChangedOpportunity:
    opportunity: Opportunity
    history_changed: bool  # stage, status, amount or close date moved: a history row


@dataclass
class OpportunityPlan:
    """What a batch of opportunities writes: new ones (external id, values), changed ones,
    and the persons whose opportunity dates follow."""

    created: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changed: list[ChangedOpportunity] = field(default_factory=list)
    touched_persons: set[int | None] = field(default_factory=set)


def _opportunity_values(
    record: OpportunityRecord, person_id: int | None, email: str, dims: Dimensions
) -> dict[str, Any]:
    return {
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


def _plan_opportunities(
    source: Source, batch: Sequence[OpportunityRecord], dims: Dimensions, result: IngestResult
) -> OpportunityPlan:
    """Each record's person (spec section 2: by external id in its source, else by email),
    and whether it is new, changed or unchanged (counted only)."""
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
    plan = OpportunityPlan()
    for record in batch:
        email = normalise_email(record.person_email)
        person_id = by_id.get(record.person_external_id) or by_email.get(email)
        values = _opportunity_values(record, person_id, email, dims)
        if person_id is None and (record.person_external_id or email):
            result.unlinked += 1
        stored = existing.get(record.external_id)
        if stored is None:
            plan.created.append((record.external_id, values))
        elif any(getattr(stored, f) != values[f] for f in OPPORTUNITY_FIELDS):
            plan.touched_persons.add(stored.person_id)
            opportunity = Opportunity(
                pk=stored.pk,
                source=source,
                external_id=record.external_id,
                updated_at=timezone.now(),
                **values,
            )
            history_changed = any(getattr(stored, f) != values[f] for f in HISTORY_FIELDS)
            plan.changed.append(ChangedOpportunity(opportunity, history_changed))
        else:
            result.unchanged += 1
            continue
        plan.touched_persons.add(person_id)
    return plan


def _insert_new_opportunities(
    source: Source, created: list[tuple[str, dict[str, Any]]], now: dt.datetime
) -> list[int]:
    ids = allocate_ids(Opportunity, len(created))
    insert_rows(
        Opportunity,
        ("id", "source_id", "external_id", *OPPORTUNITY_FIELDS, "updated_at"),
        (
            (pk, source.pk, external_id, *(values[f] for f in OPPORTUNITY_FIELDS), now)
            for pk, (external_id, values) in zip(ids, created, strict=True)
        ),
    )
    return ids


def _update_changed_opportunities(changed: list[ChangedOpportunity], now: dt.datetime) -> None:
    if not changed:
        return
    fields = (*OPPORTUNITY_FIELDS, "updated_at")
    rows = [(c.opportunity.pk, *(getattr(c.opportunity, f) for f in fields)) for c in changed]
    update_rows(Opportunity, fields, rows)


def _record_history(plan: OpportunityPlan, ids: list[int], now: dt.datetime) -> None:
    """A history row for every new opportunity and every change of a history field."""
    history = [
        (pk, *(values[f] for f in HISTORY_FIELDS))
        for pk, (_, values) in zip(ids, plan.created, strict=True)
    ] + [
        (c.opportunity.pk, *(getattr(c.opportunity, f) for f in HISTORY_FIELDS))
        for c in plan.changed
        if c.history_changed
    ]
    insert_rows(
        OpportunityChange,
        ("opportunity_id", *HISTORY_FIELDS, "recorded_at"),
        ((*row, now) for row in history),
    )


class ActivityBulkLoad:
    """One large import of activities (one file, one transaction). Person ids of the whole
    source and of every email, and the source's existing activity ids, are read once instead
    of in three lookups per batch: valid for the load, since activities add neither persons
    nor (within one deduplicated file) activity ids that come back."""

    def __init__(self, source: Source) -> None:
        self.by_external_id: dict[str, int] = dict(
            SourcePerson.objects.filter(source=source).values_list("external_id", "person_id")
        )
        self.by_email: dict[str, int] = dict(
            Person.objects.with_email().values_list("email_normalized", "id")
        )
        self.known_ids: set[str] = set(
            Activity.objects.filter(source=source).values_list("external_id", flat=True)
        )

    def __call__(self, source: Source, records: Sequence[ActivityRecord]) -> IngestResult:
        return ingest_activities(source, records, self)


def ingest_activities(
    source: Source, records: Sequence[ActivityRecord], load: ActivityBulkLoad | None = None
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
        # Qualifying moments follow activities: the persons they were and are under.
        qualifying.refresh_moments(
            [row[2] for row in created]
            + [a.person_id for a in changed]
            + [existing[a.external_id].person_id for a in changed]
        )
        result.created += len(created)
        result.updated += len(changed)
    return result
