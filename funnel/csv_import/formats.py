"""The five canonical file kinds: their columns and how a row becomes a canonical record.

A row parser collects every problem of the row (column + message) instead of stopping at the
first, so a user can fix a file in one pass (kpi-spec section 6).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models

from funnel.choices import PERIOD_KPI_KEYS, ActivityType, OpportunityStatus
from funnel.metrics.catalogue import MONEY_KPIS
from funnel.models import Account, Campaign, Channel, Opportunity, SourcePerson, Target
from funnel.periods import PeriodError, parse_period
from funnel.records import ActivityRecord, CostRecord, OpportunityRecord, PersonRecord, TargetRecord
from funnel.values import (
    BadValue,
    parse_decimal,
    parse_int,
    parse_money,
    parse_month_or_day,
    parse_timestamp,
)

ACTIVITY_TYPES = tuple(ActivityType.values)
OPPORTUNITY_STATUSES = tuple(OpportunityStatus.values)
CLOSED_STATUSES = (OpportunityStatus.WON.value, OpportunityStatus.LOST.value)

Record = PersonRecord | OpportunityRecord | ActivityRecord | CostRecord | TargetRecord


def _max_length(model: type[models.Model], name: str) -> int:
    field = model._meta.get_field(name)
    assert isinstance(field, models.CharField) and field.max_length, (model, name)
    return field.max_length


# The longest text each column's field stores (the models say): a longer value is a bad
# value of its row, never cut short and never a failed write. `detail` has no limit.
TEXT_LIMITS: dict[str, int] = {
    "external_id": _max_length(SourcePerson, "external_id"),
    "person_external_id": _max_length(Opportunity, "person_external_id"),
    "email": _max_length(SourcePerson, "email"),
    "person_email": _max_length(Opportunity, "person_email_normalized"),
    "name": _max_length(SourcePerson, "name"),
    "company": _max_length(Account, "name"),
    "account": _max_length(Account, "name"),
    "channel": _max_length(Channel, "key"),
    "campaign": _max_length(Campaign, "key"),
    "disqualify_reason": _max_length(SourcePerson, "disqualify_reason_text"),
    "industry": _max_length(SourcePerson, "industry"),
    "company_size": _max_length(SourcePerson, "company_size"),
    "owner": _max_length(SourcePerson, "owner"),
    "stage": _max_length(Opportunity, "stage"),
    "loss_reason": _max_length(Opportunity, "loss_reason"),
    "currency": 3,
    "period": _max_length(Target, "period"),
}


@dataclass
class RowProblem:
    column: str | None
    message: str


class Row:
    """Typed access to one CSV row's fields; problems are collected, not raised."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.problems: list[RowProblem] = []

    def text(self, column: str, required: bool = False) -> str:
        value = self.values.get(column, "")
        if required and not value.strip():
            self.problems.append(RowProblem(column, "a value is required"))
        value = value if column in ("detail", "name", "company") else value.strip()
        limit = TEXT_LIMITS.get(column)
        if limit is not None and len(value) > limit:
            self.problems.append(
                RowProblem(column, f"{len(value):,} characters; at most {limit:,} are stored")
            )
        return value

    def _parsed(self, column: str, parse: Callable[[str], Any], required: bool) -> Any:
        raw = self.values.get(column, "")
        if not raw.strip():
            if required:
                self.problems.append(RowProblem(column, "a value is required"))
            return None
        try:
            return parse(raw)
        except BadValue as exc:
            self.problems.append(RowProblem(column, str(exc)))
            return None

    def timestamp(self, column: str, required: bool = False) -> dt.datetime | None:
        return self._parsed(column, parse_timestamp, required)

    def money(self, column: str, required: bool = False) -> Decimal | None:
        return self._parsed(column, parse_money, required)

    def integer(self, column: str) -> int | None:
        return self._parsed(column, parse_int, False)

    def choice(self, column: str, allowed: tuple[str, ...], required: bool = False) -> str:
        value = self.text(column, required)
        if value and value not in allowed:
            self.problems.append(
                RowProblem(column, f"'{value}' is not one of: {', '.join(allowed)}")
            )
        return value


@dataclass(frozen=True)
class FileKind:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    parse: Callable[[Row], tuple[Record | None, list[str]]]
    identity: Callable[[Record], Any] | None = None  # duplicate rows of a file share it

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


def _person(row: Row) -> tuple[Record | None, list[str]]:
    external_id = row.text("external_id", required=True)
    created_at = row.timestamp("created_at", required=True)
    record = PersonRecord(
        external_id=external_id,
        created_at=created_at,  # type: ignore[arg-type]
        email=row.text("email"),
        name=row.text("name"),
        company=row.text("company"),
        channel=row.text("channel"),
        campaign=row.text("campaign"),
        mql_at=row.timestamp("mql_at"),
        sql_at=row.timestamp("sql_at"),
        disqualified_at=row.timestamp("disqualified_at"),
        disqualify_reason=row.text("disqualify_reason"),
        lead_score=row.integer("lead_score"),
        industry=row.text("industry"),
        company_size=row.text("company_size"),
        owner=row.text("owner"),
    )
    return (None if row.problems else record), []


def _opportunity(row: Row) -> tuple[Record | None, list[str]]:
    warnings: list[str] = []
    external_id = row.text("external_id", required=True)
    amount = row.money("amount", required=True)
    created_at = row.timestamp("created_at", required=True)
    closed_at = row.timestamp("closed_at")
    status = row.choice("status", OPPORTUNITY_STATUSES, required=True)
    optional = ("person_external_id", "person_email", "account", "name", "stage", "loss_reason")
    texts = {column: row.text(column) for column in (*optional, "channel")}
    currency = row.text("currency")
    if currency and currency.upper() != settings.COMPANY_CURRENCY:
        row.problems.append(
            RowProblem(
                "currency",
                f"'{currency}' is not the company currency {settings.COMPANY_CURRENCY}; "
                "convert the amount before importing",
            )
        )
    closed_given = bool(row.values.get("closed_at", "").strip())
    if status in CLOSED_STATUSES and not closed_given:
        row.problems.append(RowProblem("closed_at", f"a {status} opportunity needs a close date"))
    if closed_at and created_at and closed_at < created_at:
        warnings.append("closed_at is earlier than created_at; its sales cycle counts as 0 days")
    if row.problems:
        return None, []
    return (
        OpportunityRecord(
            external_id=external_id,
            amount=amount,  # type: ignore[arg-type]
            created_at=created_at,  # type: ignore[arg-type]
            status=status,
            closed_at=closed_at,
            **texts,
        ),
        warnings,
    )


def _activity(row: Row) -> tuple[Record | None, list[str]]:
    external_id = row.text("external_id", required=True)
    kind = row.choice("type", ACTIVITY_TYPES, required=True)
    occurred_at = row.timestamp("occurred_at", required=True)
    person_external_id, person_email = row.text("person_external_id"), row.text("person_email")
    detail = row.text("detail")
    if row.problems:
        return None, []
    return (
        ActivityRecord(
            external_id=external_id,
            type=kind,
            occurred_at=occurred_at,  # type: ignore[arg-type]
            person_external_id=person_external_id,
            person_email=person_email,
            detail=detail,
        ),
        [],
    )


def _cost(row: Row) -> tuple[Record | None, list[str]]:
    day = row._parsed("date", parse_month_or_day, True)
    channel = row.text("channel", required=True)
    amount = row.money("amount", required=True)
    campaign = row.text("campaign")
    if row.problems:
        return None, []
    return CostRecord(date=day, channel=channel, amount=amount, campaign=campaign), []  # type: ignore[arg-type]


def _target(row: Row) -> tuple[Record | None, list[str]]:
    period = row.text("period", required=True)
    if period:
        try:
            period = parse_period(period).name
        except PeriodError as exc:
            row.problems.append(RowProblem("period", str(exc)))
    kpi = row.choice("kpi", PERIOD_KPI_KEYS, required=True)
    parse = parse_money if kpi in MONEY_KPIS else parse_decimal
    value = row._parsed("value", parse, True)
    if row.problems:
        return None, []
    return TargetRecord(period=period, kpi=kpi, value=value), []


def _by_external_id(record: Record) -> Any:
    return record.external_id  # type: ignore[union-attr]


def _cost_identity(record: Record) -> Any:
    assert isinstance(record, CostRecord)
    return (record.date, record.channel, record.campaign)


def _target_identity(record: Record) -> Any:
    assert isinstance(record, TargetRecord)
    return (record.period, record.kpi)


KINDS: dict[str, FileKind] = {
    "persons": FileKind(
        "persons",
        required=("external_id", "created_at"),
        optional=(
            "email",
            "name",
            "company",
            "channel",
            "campaign",
            "mql_at",
            "sql_at",
            "disqualified_at",
            "disqualify_reason",
            "lead_score",
            "industry",
            "company_size",
            "owner",
        ),
        parse=_person,
        identity=_by_external_id,
    ),
    "opportunities": FileKind(
        "opportunities",
        required=("external_id", "amount", "created_at", "status"),
        optional=(
            "person_external_id",
            "person_email",
            "account",
            "name",
            "currency",
            "closed_at",
            "stage",
            "loss_reason",
            "channel",
        ),
        parse=_opportunity,
        identity=_by_external_id,
    ),
    "activities": FileKind(
        "activities",
        required=("external_id", "type", "occurred_at"),
        optional=("person_external_id", "person_email", "detail"),
        parse=_activity,
        identity=_by_external_id,
    ),
    "costs": FileKind(
        "costs",
        required=("date", "channel", "amount"),
        optional=("campaign",),
        parse=_cost,
        identity=_cost_identity,
    ),
    "targets": FileKind(
        "targets",
        required=("period", "kpi", "value"),
        optional=(),
        parse=_target,
        identity=_target_identity,
    ),
}
# Persons first, so opportunities and activities find their person in the same run.
IMPORT_ORDER = ("persons", "opportunities", "activities", "costs", "targets")


def kind_of(filename: str) -> str | None:
    """The kind a file name says: `persons.csv`, `persons_2026-05.csv`, `sfa-opportunities.csv`."""
    stem = filename.lower().rsplit(".", 1)[0]
    matches = [kind for kind in KINDS if kind in stem]
    return matches[0] if len(matches) == 1 else None
