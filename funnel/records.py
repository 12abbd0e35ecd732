"""Canonical records: what every writer (CSV import, connectors, demo loader) hands to ingest.

Vendor field names stop before these types. Timestamps are timezone-aware; money is Decimal.
The fields mirror the canonical import format of kpi-spec section 6.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(slots=True)
class PersonRecord:
    external_id: str
    created_at: dt.datetime
    email: str = ""
    name: str = ""
    company: str = ""
    channel: str = ""
    campaign: str = ""
    mql_at: dt.datetime | None = None
    sql_at: dt.datetime | None = None
    disqualified_at: dt.datetime | None = None
    disqualify_reason: str = ""
    lead_score: int | None = None
    industry: str = ""
    company_size: str = ""
    owner: str = ""


@dataclass(slots=True)
class OpportunityRecord:
    external_id: str
    amount: Decimal
    created_at: dt.datetime
    status: str
    person_external_id: str = ""
    person_email: str = ""
    account: str = ""
    name: str = ""
    closed_at: dt.datetime | None = None
    stage: str = ""
    loss_reason: str = ""
    channel: str = ""


@dataclass(slots=True)
class ActivityRecord:
    external_id: str
    type: str
    occurred_at: dt.datetime
    person_external_id: str = ""
    person_email: str = ""
    detail: str = ""


@dataclass(slots=True)
class CostRecord:
    date: dt.date
    channel: str
    amount: Decimal
    campaign: str = ""


@dataclass(slots=True)
class TargetRecord:
    period: str
    kpi: str
    value: Decimal


@dataclass
class IngestResult:
    """Counts an ingest call reports (issue: created / updated / unchanged / rejected)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    unlinked: int = 0
    warnings: list[str] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        self.unlinked += other.unlinked
        self.warnings.extend(other.warnings)

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "unlinked": self.unlinked,
        }


def normalise_email(email: str) -> str:
    """Identity key for merging persons across sources (spec section 6: trimmed, lower-cased)."""
    return email.strip().lower()
