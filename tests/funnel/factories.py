"""Small builders for the hand-made datasets of the KPI engine tests.

Every dataset goes through the canonical records and the one ingest path (funnel/ingest),
exactly as the CSV import and the connectors do; the answers are computed by hand in the
tests, from docs/kpi-spec.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from funnel import ingest
from funnel.metrics.counts import Window
from funnel.metrics.filters import KpiFilters
from funnel.metrics.snapshot import kpi_snapshot
from funnel.models import Source
from funnel.periods import parse_period
from funnel.records import (
    ActivityRecord,
    CostRecord,
    IngestResult,
    OpportunityRecord,
    PersonRecord,
    TargetRecord,
)

JST = ZoneInfo("Asia/Tokyo")
UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """An aware moment from ISO 8601 text that carries its zone (`+09:00` or `Z`)."""
    moment = dt.datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"{text}: write the zone in test data"
    return moment


def jst(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=JST)


def person(external_id: str, created_at: dt.datetime, **fields: Any) -> PersonRecord:
    return PersonRecord(external_id=external_id, created_at=created_at, **fields)


def deal(
    external_id: str,
    created_at: dt.datetime,
    status: str = "open",
    amount: int | str | Decimal = 0,
    **fields: Any,
) -> OpportunityRecord:
    return OpportunityRecord(
        external_id=external_id,
        amount=Decimal(amount),
        created_at=created_at,
        status=status,
        **fields,
    )


def activity(
    external_id: str, occurred_at: dt.datetime, kind: str = "web_visit", **fields: Any
) -> ActivityRecord:
    return ActivityRecord(external_id=external_id, type=kind, occurred_at=occurred_at, **fields)


def cost(day: dt.date, channel: str, amount: int | str, campaign: str = "") -> CostRecord:
    return CostRecord(date=day, channel=channel, amount=Decimal(amount), campaign=campaign)


def target(period: str, kpi: str, value: int | str) -> TargetRecord:
    return TargetRecord(period=period, kpi=kpi, value=Decimal(value))


def load(
    source: Source,
    persons: Sequence[PersonRecord] = (),
    deals: Sequence[OpportunityRecord] = (),
    activities: Sequence[ActivityRecord] = (),
    costs: Sequence[CostRecord] = (),
    targets: Sequence[TargetRecord] = (),
) -> dict[str, IngestResult]:
    """Ingest one source's records in the order the CSV import uses (persons first)."""
    return {
        "persons": ingest.ingest_persons(source, persons),
        "opportunities": ingest.ingest_opportunities(source, deals),
        "activities": ingest.ingest_activities(source, activities),
        "costs": ingest.ingest_costs(source, costs),
        "targets": ingest.ingest_targets(source, targets),
    }


def snapshot(
    period: str = "FY2026Q1",
    as_of: dt.datetime | None = None,
    filters: KpiFilters | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """kpi_snapshot for a period name; as_of defaults to well after FY2026Q1 ends."""
    return kpi_snapshot(parse_period(period), as_of or jst(2026, 9, 1), filters, **kwargs)


def kpis(
    period: str = "FY2026Q1", as_of: dt.datetime | None = None, filters: KpiFilters | None = None
) -> dict[str, Any]:
    return snapshot(period, as_of, filters)["kpis"]


def window(period: str = "FY2026Q1", as_of: dt.datetime | None = None) -> Window:
    return Window(parse_period(period), as_of or jst(2026, 9, 1))
