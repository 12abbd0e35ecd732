"""Upsert of cost entries and targets: a re-sent value replaces the stored one (spec 6)."""

from __future__ import annotations

from collections.abc import Sequence

from funnel.ingest.batches import chunks
from funnel.ingest.lookups import Dimensions
from funnel.models import CostEntry, Source, Target
from funnel.periods import parse_period
from funnel.records import CostRecord, IngestResult, TargetRecord


def ingest_costs(source: Source, records: Sequence[CostRecord]) -> IngestResult:
    """Identity is (source, date, channel, campaign)."""
    result = IngestResult()
    dims = Dimensions()
    for batch in chunks(records):
        dims.load_channels(r.channel for r in batch)
        existing = {
            (c.date, c.channel_id, c.campaign): c
            for c in CostEntry.objects.filter(source=source, date__in={r.date for r in batch})
        }
        created: list[CostEntry] = []
        changed: list[CostEntry] = []
        for record in batch:
            channel_id = dims.channels[record.channel]
            stored = existing.get((record.date, channel_id, record.campaign))
            if stored is None:
                entry = CostEntry(
                    source=source,
                    date=record.date,
                    channel_id=channel_id,
                    campaign=record.campaign,
                    amount=record.amount,
                )
                created.append(entry)
                existing[(record.date, channel_id, record.campaign)] = entry
            elif stored.amount != record.amount:
                stored.amount = record.amount
                changed.append(stored)
            else:
                result.unchanged += 1
        CostEntry.objects.bulk_create(created)
        CostEntry.objects.bulk_update([c for c in changed if c.pk], ["amount"])
        result.created += len(created)
        result.updated += len(changed)
    return result


def replace_costs(source: Source, records: Sequence[CostRecord]) -> tuple[IngestResult, int]:
    """Make `records` the source's whole cost feed: upsert them and delete its other cost
    rows (a campaign whose date or channel changed, or that left). Returns the ingest's
    counts and how many rows were deleted."""
    result = ingest_costs(source, records)
    keep = {(r.date, r.channel, r.campaign) for r in records}
    stale = [
        pk
        for pk, day, channel, campaign in CostEntry.objects.filter(source=source).values_list(
            "pk", "date", "channel__key", "campaign"
        )
        if (day, channel, campaign) not in keep
    ]
    for chunk in chunks(stale):
        CostEntry.objects.filter(pk__in=chunk).delete()
    return result, len(stale)


def ingest_targets(source: Source, records: Sequence[TargetRecord]) -> IngestResult:
    """Identity is (period, kpi), whatever source sent it."""
    result = IngestResult()
    for record in records:
        period = parse_period(record.period)
        stored = Target.objects.filter(period=period.name, kpi=record.kpi).first()
        if stored is None:
            Target.objects.create(
                period=period.name,
                start=period.start,
                end=period.end,
                kpi=record.kpi,
                value=record.value,
                source=source,
            )
            result.created += 1
        elif stored.value != record.value:
            stored.value = record.value
            stored.source = source
            stored.save(update_fields=["value", "source", "updated_at"])
            result.updated += 1
        else:
            result.unchanged += 1
    return result
