"""Upsert of person records and the identity merge (kpi-spec sections 2 and 6).

A source record links to the Person with its normalised email; a record without an email
keeps the Person it is linked to (or gets a new one). Each Person's stage dates are the
earliest among its source records and the stage history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Min
from django.utils import timezone

from funnel.choices import DisqualifyReason, QualificationMode, Stage
from funnel.ingest.batches import chunks, refresh_opportunity_dates
from funnel.ingest.bulk import allocate_ids, insert_rows, update_rows
from funnel.ingest.linking import link_waiting_records, records_wait
from funnel.ingest.lookups import Dimensions
from funnel.models import (
    Activity,
    Opportunity,
    Person,
    Source,
    SourcePerson,
    StageEntry,
)
from funnel.records import IngestResult, PersonRecord, normalise_email

# A module reference: qualification.moments reads funnel.ingest.batches in turn.
from qualification import moments as qualifying

# Fields of SourcePerson that a record sets; comparing them tells updated from unchanged.
RECORD_FIELDS = (
    "email",
    "email_normalized",
    "name",
    "company",
    "created_at",
    "channel_id",
    "campaign_id",
    "mql_at",
    "sql_at",
    "disqualified_at",
    "disqualify_reason",
    "disqualify_reason_text",
    "lead_score",
    "industry",
    "company_size",
    "owner",
)
# Person attributes taken from the first source record (by creation) that has them.
ATTRIBUTE_FIELDS = ("name", "company", "lead_score", "industry", "company_size", "owner")
STAGE_FIELDS = (("mql_at", Stage.MQL), ("sql_at", Stage.SQL))
PERSON_COLUMNS = (
    "id",
    "email_normalized",
    "account_id",
    "channel_id",
    "campaign_id",
    "lead_at",
    "mql_at",
    "sql_at",
    "opportunity_at",
    "won_at",
    "disqualified_at",
    "disqualify_reason",
    *ATTRIBUTE_FIELDS,
)
SOURCE_PERSON_COLUMNS = (
    "id",
    "source_id",
    "external_id",
    "person_id",
    *RECORD_FIELDS,
    "updated_at",
)
STAGE_ENTRY_COLUMNS = (
    "person_id",
    "source_record_id",
    "stage",
    "basis",
    "entered_at",
    "recorded_at",
)
_REASONS = {choice.value: choice.value for choice in DisqualifyReason} | {
    str(choice.label).lower(): choice.value for choice in DisqualifyReason
}


def disqualify_reason_code(text: str) -> str:
    """Map a source's reason to our codes; anything we do not know is `other` (text is kept)."""
    if not text.strip():
        return ""
    key = text.strip().lower().replace(" ", "_").replace("-", "_")
    return _REASONS.get(key) or _REASONS.get(text.strip().lower()) or DisqualifyReason.OTHER


class PersonBulkLoad:
    """One large import of persons (one file, one transaction): the source's external ids,
    every email and whether any record waits for its person are read once, so batches that
    hold only new persons skip their lookups. Kept current with what the load writes."""

    def __init__(self, source: Source) -> None:
        self.known_ids: set[str] = set(
            SourcePerson.objects.filter(source=source).values_list("external_id", flat=True)
        )
        self.known_emails: set[str] = set(
            Person.objects.with_email().values_list("email_normalized", flat=True)
        )
        self.records_wait = records_wait()

    def __call__(self, source: Source, records: Sequence[PersonRecord]) -> IngestResult:
        return ingest_persons(source, records, self)


def ingest_persons(
    source: Source, records: Sequence[PersonRecord], load: PersonBulkLoad | None = None
) -> IngestResult:
    """Upsert `records` of `source`; idempotent, keeps stage history, merges identities."""
    result = IngestResult()
    dims = Dimensions()
    for batch in chunks(records):
        _ingest_batch(source, batch, dims, result, load)
    return result


def _record_values(record: PersonRecord, dims: Dimensions) -> dict[str, Any]:
    return {
        **record_texts(record),
        "channel_id": dims.channel_id(record.channel),
        "campaign_id": dims.campaign_id(record.channel, record.campaign),
    }


def record_texts(record: PersonRecord) -> dict[str, Any]:
    """The values a source record stores, but for the channel and campaign ids."""
    return {
        "email": record.email.strip(),
        "email_normalized": normalise_email(record.email),
        "name": record.name,
        "company": record.company,
        "created_at": record.created_at,
        "mql_at": record.mql_at,
        "sql_at": record.sql_at,
        "disqualified_at": record.disqualified_at,
        "disqualify_reason": disqualify_reason_code(record.disqualify_reason),
        "disqualify_reason_text": record.disqualify_reason.strip(),
        "lead_score": record.lead_score,
        "industry": record.industry,
        "company_size": record.company_size,
        "owner": record.owner,
    }


def _new_person(values: dict[str, Any], account_id: int | None) -> dict[str, Any]:
    """A Person from its only source record: its derived fields are that record's values."""
    return {
        "email_normalized": values["email_normalized"],
        "account_id": account_id,
        "channel_id": values["channel_id"],
        "campaign_id": values["campaign_id"],
        "lead_at": values["created_at"],
        "mql_at": values["mql_at"],
        "sql_at": values["sql_at"],
        "opportunity_at": None,
        "won_at": None,
        "disqualified_at": values["disqualified_at"],
        "disqualify_reason": values["disqualify_reason"],
        **{field: values[field] for field in ATTRIBUTE_FIELDS},
    }


Target = str | int  # a new person of the batch (its key) or a stored person (its id)


@dataclass
class PendingRecord:
    """A record of the batch that will be written: new (`stored` None) or changed."""

    external_id: str
    stored: SourcePerson | None
    values: dict[str, Any]
    target: Target


@dataclass
class BatchPlan:
    """What a batch will write, decided before any write: the persons it creates (keyed by
    email, or by source and external id without one), the records it writes, the stored
    persons whose derived fields must be recomputed, and the records that move person."""

    new_persons: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pending: list[PendingRecord] = field(default_factory=list)
    dirty: set[int] = field(default_factory=set)
    moved_from: dict[int, Target] = field(default_factory=dict)
    unchanged: int = 0


@dataclass(frozen=True)
class KnownRecords:
    """What the database holds for a batch: its stored source records, persons by email."""

    existing: dict[str, SourcePerson]
    person_by_email: dict[str, int]


def _ingest_batch(
    source: Source,
    batch: Sequence[PersonRecord],
    dims: Dimensions,
    result: IngestResult,
    load: PersonBulkLoad | None = None,
) -> None:
    dims.load_channels(r.channel for r in batch)
    dims.load_campaigns((r.channel, r.campaign) for r in batch)
    dims.load_accounts(r.company for r in batch)
    values = [_record_values(r, dims) for r in batch]
    known = _read_known(source, batch, values, load)
    plan = _plan_batch(source, batch, values, known, dims)
    person_ids = _insert_new_persons(plan)

    def person_id(target: Target) -> int:
        return target if isinstance(target, int) else person_ids[target]

    now = timezone.now()
    result.unchanged += plan.unchanged
    result.created += _insert_new_records(source, plan, person_id, now)
    result.updated += _update_changed_records(source, plan, known, person_id, now)
    _follow_up(source, plan, person_id, load)


def _read_known(
    source: Source,
    batch: Sequence[PersonRecord],
    values: list[dict[str, Any]],
    load: PersonBulkLoad | None,
) -> KnownRecords:
    """The batch's stored records and the persons of its emails (a bulk load skips the
    lookups of ids and emails it knows are new)."""
    stored_ids = [r.external_id for r in batch]
    emails = {v["email_normalized"] for v in values if v["email_normalized"]}
    if load is not None:
        stored_ids = [i for i in stored_ids if i in load.known_ids]
        emails = emails & load.known_emails
    existing = (
        {
            sp.external_id: sp
            for sp in SourcePerson.objects.filter(source=source, external_id__any=stored_ids)
        }
        if stored_ids
        else {}
    )
    person_by_email: dict[str, int] = (
        dict(
            Person.objects.with_email()
            .filter(email_normalized__any=emails)
            .values_list("email_normalized", "id")
        )
        if emails
        else {}
    )
    return KnownRecords(existing, person_by_email)


def _plan_batch(
    source: Source,
    batch: Sequence[PersonRecord],
    values: list[dict[str, Any]],
    known: KnownRecords,
    dims: Dimensions,
) -> BatchPlan:
    """The identity merge (spec section 2): each record's person, by normalised email, else
    the person it is stored with, else a new one; unchanged records are only counted."""
    plan = BatchPlan()
    person_by_email = dict(known.person_by_email)
    for record, value in zip(batch, values, strict=True):
        stored = known.existing.get(record.external_id)
        email = value["email_normalized"]
        target: Target | None = person_by_email.get(email) if email else None
        if (
            target is None
            and stored is not None
            and (not email or stored.email_normalized in ("", email))
            and email not in plan.new_persons  # else it joins the batch's new person with it
        ):
            target = stored.person_id
            if email:  # later records of the batch with this email join it too
                person_by_email[email] = target
        if target is None:
            key = email or f"#{source.pk}:{record.external_id}"
            if key not in plan.new_persons:
                plan.new_persons[key] = _new_person(value, dims.account_id(record.company))
            plan.members[key] += 1
            target = key
        if stored is not None:
            if stored.person_id == target and all(
                getattr(stored, f) == value[f] for f in RECORD_FIELDS
            ):
                plan.unchanged += 1
                continue
            if stored.person_id != target:
                plan.moved_from[stored.person_id] = target
            plan.dirty.add(stored.person_id)
        if isinstance(target, int):
            plan.dirty.add(target)
        plan.pending.append(PendingRecord(record.external_id, stored, value, target))
    return plan


def _insert_new_persons(plan: BatchPlan) -> dict[str, int]:
    """Insert the batch's new persons; a new person of several records is recomputed."""
    person_ids = dict(
        zip(plan.new_persons, allocate_ids(Person, len(plan.new_persons)), strict=True)
    )
    insert_rows(
        Person,
        PERSON_COLUMNS,
        (
            (person_ids[key], *(row[c] for c in PERSON_COLUMNS[1:]))
            for key, row in plan.new_persons.items()
        ),
    )
    plan.dirty.update(person_ids[key] for key, count in plan.members.items() if count > 1)
    return person_ids


def _insert_new_records(
    source: Source, plan: BatchPlan, person_id: Callable[[Target], int], now: dt.datetime
) -> int:
    """New source records and their stage entries; returns how many."""
    created = [
        (p.external_id, p.values, person_id(p.target)) for p in plan.pending if p.stored is None
    ]
    record_ids = allocate_ids(SourcePerson, len(created))
    insert_rows(
        SourcePerson,
        SOURCE_PERSON_COLUMNS,
        (
            (record_id, source.pk, external_id, pid, *(value[f] for f in RECORD_FIELDS), now)
            for record_id, (external_id, value, pid) in zip(record_ids, created, strict=True)
        ),
    )
    insert_rows(
        StageEntry,
        STAGE_ENTRY_COLUMNS,
        (
            (pid, record_id, stage, QualificationMode.SOURCE, value[date_field], now)
            for record_id, (_, value, pid) in zip(record_ids, created, strict=True)
            for date_field, stage in STAGE_FIELDS
            if value[date_field] is not None
        ),
    )
    return len(created)


def _update_changed_records(
    source: Source,
    plan: BatchPlan,
    known: KnownRecords,
    person_id: Callable[[Target], int],
    now: dt.datetime,
) -> int:
    """Changed source records: new values, their history follows a move, new stage dates
    are added to the history (never removed: first entries count). Returns how many."""
    changed = [
        SourcePerson(
            pk=p.stored.pk,
            updated_at=now,
            source=source,
            external_id=p.external_id,
            person_id=person_id(p.target),
            **p.values,
        )
        for p in plan.pending
        if p.stored is not None
    ]
    if not changed:
        return 0
    fields = (*RECORD_FIELDS, "person_id", "updated_at")
    update_rows(
        SourcePerson, fields, [(sp.pk, *(getattr(sp, f) for f in fields)) for sp in changed]
    )
    _move_history(changed, {sp.pk: sp.person_id for sp in known.existing.values()})
    StageEntry.objects.bulk_create(
        [
            StageEntry(
                person_id=sp.person_id,
                source_record_id=sp.pk,
                stage=stage,
                basis=QualificationMode.SOURCE,
                entered_at=getattr(sp, date_field),
            )
            for sp in changed
            for date_field, stage in STAGE_FIELDS
            if getattr(sp, date_field) is not None
        ],
        ignore_conflicts=True,
    )
    return len(changed)


def _follow_up(
    source: Source,
    plan: BatchPlan,
    person_id: Callable[[Target], int],
    load: PersonBulkLoad | None,
) -> None:
    """What follows from the written records: persons left without a record merge into
    where it went, derived fields are recomputed, waiting opportunities and activities find
    their person, and the persons' opportunity dates follow."""
    written = [(p.external_id, p.values) for p in plan.pending]
    merged_into = _merge_orphans({old: person_id(t) for old, t in plan.moved_from.items()})
    refresh_persons((plan.dirty - merged_into.keys()) | set(merged_into.values()))
    written_emails = [
        value["email_normalized"] for _, value in written if value["email_normalized"]
    ]
    if load is not None:
        load.known_ids.update(external_id for external_id, _ in written)
        load.known_emails.update(written_emails)
    linked: set[int] = set()
    if load is None or load.records_wait:
        linked = link_waiting_records(
            source, [external_id for external_id, _ in written], written_emails
        )
    refresh_opportunity_dates(linked | set(merged_into.values()))
    qualifying.refresh_moments((plan.dirty - merged_into.keys()) | set(merged_into.values()))


def _move_history(changed: list[SourcePerson], previous_person: dict[int, int]) -> None:
    """Stage entries follow their source record when it moves to another person."""
    moves: dict[int, list[int]] = defaultdict(list)
    for sp in changed:
        if previous_person.get(sp.pk) != sp.person_id:
            moves[sp.person_id].append(sp.pk)
    for new_person, record_ids in moves.items():
        StageEntry.objects.filter(source_record_id__in=record_ids).update(person_id=new_person)


def _merge_orphans(moves: dict[int, int]) -> dict[int, int]:
    """Persons left with no source record are merged into the person their record went to."""
    if not moves:
        return {}
    still_used = set(
        SourcePerson.objects.filter(person_id__in=moves).values_list("person_id", flat=True)
    )
    orphans = {old: new for old, new in moves.items() if old not in still_used and old != new}
    for old, new in orphans.items():
        Opportunity.objects.filter(person_id=old).update(person_id=new)
        Activity.objects.filter(person_id=old).update(person_id=new)
        StageEntry.objects.filter(person_id=old).update(person_id=new)
    Person.objects.filter(pk__in=orphans).delete()
    return orphans


def stage_bases() -> dict[str, str]:
    """The basis of each qualified stage's date on the person: the sources' entries.

    Rules mode (kpi-spec 2b) does not rewrite these dates: the dates under an agreed
    criteria version are the qualification module's, chosen for each `as_of` by the
    version in effect then; with no version in effect the source dates stand. (Taking
    "rules" entries here, which nothing writes, cleared mql_at person by person as imports
    touched them; the bulk path never did, so two imports of one file disagreed.)"""
    return {Stage.MQL.value: QualificationMode.SOURCE, Stage.SQL.value: QualificationMode.SOURCE}


def refresh_persons(person_ids: Iterable[int]) -> None:
    """Recompute each person's derived fields from all its source records and history."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    bases = stage_bases()
    for chunk in chunks(ids):
        rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in (
            SourcePerson.objects.filter(person_id__in=chunk)
            .order_by("person_id", "created_at", "source__name", "external_id")
            .values("person_id", "company", *RECORD_FIELDS)
        ):
            rows[row["person_id"]].append(row)
        firsts: dict[tuple[int, str], Any] = {}
        for stage, basis in bases.items():
            for pid, first in (
                StageEntry.objects.filter(person_id__in=chunk, stage=stage, basis=basis)
                .values("person_id")
                .annotate(first=Min("entered_at"))
                .values_list("person_id", "first")
            ):
                firsts[(pid, stage)] = first
        persons = []
        for pid in chunk:
            records = rows.get(pid)
            if not records:
                continue
            persons.append(_derived_person(pid, records, firsts))
        update_rows(
            Person,
            DERIVED_FIELDS,
            [(p.pk, *(getattr(p, f) for f in DERIVED_FIELDS)) for p in persons],
        )


DERIVED_FIELDS = (
    "email_normalized",
    "channel_id",
    "campaign_id",
    "lead_at",
    "mql_at",
    "sql_at",
    "disqualified_at",
    "disqualify_reason",
    *ATTRIBUTE_FIELDS,
)


def _first(records: list[dict[str, Any]], field: str) -> Any:
    return next((r[field] for r in records if r[field] not in ("", None)), records[0][field])


def _derived_person(
    pid: int, records: list[dict[str, Any]], firsts: dict[tuple[int, str], Any]
) -> Person:
    """`records` are ordered by creation (records created at the same instant by source
    name, then external id, so the order sources sync in changes nothing): the first one
    with a channel is the first touch."""
    touch = next((r for r in records if r["channel_id"] is not None), records[0])
    disqualified = [r for r in records if r["disqualified_at"] is not None]
    first_dq = min(disqualified, key=lambda r: r["disqualified_at"]) if disqualified else None
    return Person(
        pk=pid,
        email_normalized=_first(records, "email_normalized"),
        channel_id=touch["channel_id"],
        campaign_id=touch["campaign_id"],
        lead_at=records[0]["created_at"],
        mql_at=firsts.get((pid, Stage.MQL.value)),
        sql_at=firsts.get((pid, Stage.SQL.value)),
        disqualified_at=first_dq["disqualified_at"] if first_dq else None,
        disqualify_reason=first_dq["disqualify_reason"] if first_dq else "",
        **{field: _first(records, field) for field in ATTRIBUTE_FIELDS},
    )
