"""HubSpot objects -> canonical records (docs/connectors.md section 3). HubSpot's field names
stop here: the sync hands on PersonRecord and OpportunityRecord only.

Vendor JSON is read into typed objects first (`HubSpotObject.parse`), so a malformed answer
is refused where it arrives, naming the object, id and field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from funnel.records import OpportunityRecord, PersonRecord
from integrations.values import RejectedRecord, display_name, instant, moment, size_band

__all__ = ["RejectedRecord", "display_name", "instant", "size_band"]  # re-exported

# Sources whose hs_analytics_source_data_1 names the campaign (connectors.md section 3).
CAMPAIGN_SOURCES = frozenset({"PAID_SEARCH", "EMAIL_MARKETING", "OTHER_CAMPAIGNS", "PAID_SOCIAL"})
CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "company",
    "createdate",
    "lastmodifieddate",
    "hs_analytics_source",
    "hs_analytics_source_data_1",
    "hs_lifecyclestage_marketingqualifiedlead_date",
    "hs_lifecyclestage_salesqualifiedlead_date",
    "hs_v2_date_entered_marketingqualifiedlead",
    "hs_v2_date_entered_salesqualifiedlead",
    "hubspotscore",
    "associatedcompanyid",
    "hubspot_owner_id",
    "hs_merged_object_ids",
)
COMPANY_PROPERTIES = ("name", "industry", "numberofemployees", "hs_lastmodifieddate")
DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "deal_currency_code",
    "createdate",
    "closedate",
    "dealstage",
    "pipeline",
    "closed_lost_reason",
    "hs_analytics_source",
    "hs_lastmodifieddate",
    "hs_merged_object_ids",
)


@dataclass(frozen=True)
class HubSpotObject:
    """A contact, company or deal as the CRM v3 API sends it."""

    kind: str  # contact, company, deal
    id: str
    properties: Mapping[str, str | None]
    archived: bool = False

    @classmethod
    def parse(cls, kind: str, data: Any) -> HubSpotObject:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str | int):
            raise RejectedRecord(f"{kind}: an answer without an id ({str(data)[:80]})")
        properties = data.get("properties") or {}
        if not isinstance(properties, dict):
            raise RejectedRecord(f"{kind} {data['id']}: properties is not an object")
        return cls(
            kind=kind,
            id=str(data["id"]),
            properties={str(k): (None if v is None else str(v)) for k, v in properties.items()},
            archived=bool(data.get("archived", False)),
        )

    def text(self, name: str) -> str:
        return (self.properties.get(name) or "").strip()

    def moment(self, name: str) -> dt.datetime | None:
        return moment(self.text(name), f"{self.kind} {self.id}, {name}")

    def merged_ids(self) -> list[str]:
        """The ids merged into this record (hs_merged_object_ids, `;`-separated)."""
        return [part for part in self.text("hs_merged_object_ids").split(";") if part.strip()]


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    closed: bool
    probability: str  # "1.0" won, "0.0" lost, as HubSpot sends it (a string)


def stages_of(pipelines: Any) -> dict[str, Stage]:
    """Deal stages by id from GET /crm/v3/pipelines/deals."""
    stages: dict[str, Stage] = {}
    for pipeline in (pipelines or {}).get("results", []):
        for stage in pipeline.get("stages", []):
            metadata = stage.get("metadata") or {}
            stages[str(stage["id"])] = Stage(
                id=str(stage["id"]),
                label=str(stage.get("label") or stage["id"]),
                closed=str(metadata.get("isClosed", "false")).lower() == "true",
                probability=str(metadata.get("probability", "")),
            )
    return stages


def channel_of(source: str) -> str:
    """hs_analytics_source lower-cased: ORGANIC_SEARCH -> organic_search."""
    return source.strip().lower()


def person_from_contact(
    contact: HubSpotObject, companies: Mapping[str, HubSpotObject], owners: Mapping[str, str]
) -> PersonRecord:
    created = contact.moment("createdate")
    if created is None:
        raise RejectedRecord(f"contact {contact.id}, createdate: empty")
    source = contact.text("hs_analytics_source")
    company = companies.get(contact.text("associatedcompanyid"))
    score = contact.text("hubspotscore")
    try:
        lead_score = int(Decimal(score)) if score else None
    except InvalidOperation:
        raise RejectedRecord(
            f"contact {contact.id}, hubspotscore: '{score}' is not a number"
        ) from None
    owner = contact.text("hubspot_owner_id")
    return PersonRecord(
        external_id=contact.id,
        created_at=created,
        email=contact.text("email"),
        name=display_name(contact.text("firstname"), contact.text("lastname")),
        company=contact.text("company"),
        channel=channel_of(source),
        campaign=contact.text("hs_analytics_source_data_1")
        if source.upper() in CAMPAIGN_SOURCES
        else "",
        mql_at=contact.moment("hs_lifecyclestage_marketingqualifiedlead_date")
        or contact.moment("hs_v2_date_entered_marketingqualifiedlead"),
        sql_at=contact.moment("hs_lifecyclestage_salesqualifiedlead_date")
        or contact.moment("hs_v2_date_entered_salesqualifiedlead"),
        lead_score=lead_score,
        industry=company.text("industry") if company else "",
        company_size=size_band(company.text("numberofemployees")) if company else "",
        owner=owners.get(owner, owner),
    )


def lowest_id(ids: Sequence[str]) -> str:
    """The associated contact with the lowest id (deals have no primary contact)."""
    return min(ids, key=lambda value: (len(value), value)) if ids else ""


def opportunity_from_deal(
    deal: HubSpotObject,
    stages: Mapping[str, Stage],
    contact_ids: Sequence[str],
    primary_company: HubSpotObject | None,
) -> OpportunityRecord:
    created = deal.moment("createdate")
    if created is None:
        raise RejectedRecord(f"deal {deal.id}, createdate: empty")
    currency = deal.text("deal_currency_code")
    if currency and currency.upper() != settings.COMPANY_CURRENCY:
        raise RejectedRecord(
            f"deal {deal.id}, deal_currency_code: '{currency}' is not the company currency "
            f"{settings.COMPANY_CURRENCY}"
        )
    raw_amount = deal.text("amount")
    try:
        amount = Decimal(raw_amount) if raw_amount else Decimal(0)
    except InvalidOperation:
        raise RejectedRecord(f"deal {deal.id}, amount: '{raw_amount}' is not a number") from None
    if amount < 0:
        raise RejectedRecord(f"deal {deal.id}, amount: {raw_amount} is negative")
    stage = stages.get(deal.text("dealstage"))
    closed = stage is not None and stage.closed
    status = "open"
    if closed and stage is not None:
        status = {"1.0": "won", "0.0": "lost"}.get(stage.probability, "open")
    closed_at = deal.moment("closedate") if status != "open" else None
    if status != "open" and closed_at is None:
        raise RejectedRecord(f"deal {deal.id}, closedate: empty on a {status} deal")
    return OpportunityRecord(
        external_id=deal.id,
        amount=amount,
        created_at=created,
        status=status,
        person_external_id=lowest_id(contact_ids),
        account=primary_company.text("name") if primary_company else "",
        name=deal.text("dealname"),
        closed_at=closed_at,
        stage=stage.label if stage else deal.text("dealstage"),
        loss_reason=deal.text("closed_lost_reason") if status == "lost" else "",
        channel=channel_of(deal.text("hs_analytics_source")),
    )
