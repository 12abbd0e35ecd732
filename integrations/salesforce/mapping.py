"""Salesforce records -> canonical records (docs/connectors.md section 4). Salesforce's field
names stop here: the sync hands on PersonRecord, OpportunityRecord and CostRecord only.

Product decisions implemented here (connectors.md): a Contact created by converting a Lead
is that Lead's human and has no person of its own; stage dates are the first LeadHistory
entry into each status (a lead that goes MQL -> Disqualified -> MQL keeps its first MQL
date, and none is invented); a date-only CloseDate is 00:00 company time, only when the
opportunity is closed; a campaign's whole ActualCost is booked on its StartDate.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.conf import settings

from funnel.records import CostRecord, OpportunityRecord, PersonRecord
from integrations.options import ConnectionOptions
from integrations.salesforce.client import SObject
from integrations.values import (
    RejectedRecord,
    instant,
    looked_up,
    moment,
    size_band,
    whole_number,
    yen,
)

USER_FIELDS = ("Id", "SystemModstamp", "Name", "Username")
ACCOUNT_FIELDS = ("Id", "IsDeleted", "SystemModstamp", "Name", "Industry", "NumberOfEmployees")
CAMPAIGN_FIELDS = ("Id", "IsDeleted", "SystemModstamp", "Name", "Type", "ActualCost", "StartDate")
LEAD_FIELDS = (
    "Id",
    "IsDeleted",
    "MasterRecordId",
    "CreatedDate",
    "SystemModstamp",
    "Email",
    "Name",
    "Company",
    "LeadSource",
    "Industry",
    "NumberOfEmployees",
    "OwnerId",
    "IsConverted",
    "ConvertedContactId",
    "ConvertedOpportunityId",
)
HISTORY_FIELDS = ("Id", "IsDeleted", "LeadId", "Field", "NewValue", "CreatedDate")
CONTACT_FIELDS = (
    "Id",
    "IsDeleted",
    "MasterRecordId",
    "CreatedDate",
    "SystemModstamp",
    "Email",
    "Name",
    "AccountId",
    "LeadSource",
    "OwnerId",
)
MEMBER_FIELDS = (
    "Id",
    "IsDeleted",
    "SystemModstamp",
    "CreatedDate",
    "CampaignId",
    "LeadId",
    "ContactId",
)
OPPORTUNITY_FIELDS = (
    "Id",
    "IsDeleted",
    "CreatedDate",
    "SystemModstamp",
    "Name",
    "AccountId",
    "Amount",
    "CloseDate",
    "StageName",
    "IsClosed",
    "IsWon",
    "LeadSource",
)
ROLE_FIELDS = ("Id", "IsDeleted", "SystemModstamp", "OpportunityId", "ContactId", "IsPrimary")
# Custom or org-dependent fields: an org without one reads it as empty (INVALID_FIELD).
CURRENCY = "CurrencyIsoCode"  # only in multi-currency orgs
OPTIONAL = {
    "Lead": ("DisqualifyReason__c",),  # the score field is added from the options
    "Opportunity": ("Loss_Reason__c", CURRENCY),
    "Campaign": (CURRENCY,),
}


def moment_of(record: SObject, name: str) -> dt.datetime | None:
    return moment(record.text(name), f"{record.type} {record.id}, {name}")


def _company_currency(record: SObject) -> None:
    currency = record.text(CURRENCY)
    if currency and currency.upper() != settings.COMPANY_CURRENCY:
        raise RejectedRecord(
            f"{record.type} {record.id}, {CURRENCY}: '{currency}' is not the company "
            f"currency {settings.COMPANY_CURRENCY}"
        )


def first_entries(history: Iterable[SObject], statuses: Mapping[str, str]) -> dict[str, SObject]:
    """Per stage (mql, sql, disqualified), the first Status history row entering it (by
    CreatedDate, then Id): later re-entries do not move a stage date."""
    wanted = {value: stage for stage, value in statuses.items()}
    first: dict[str, SObject] = {}
    ordered = sorted(history, key=lambda row: (instant(row.text("CreatedDate")), row.id))
    for row in ordered:
        if row.text("Field") != "Status":
            continue
        stage = wanted.get(row.text("NewValue"))
        if stage is not None and stage not in first:
            first[stage] = row
    return first


def first_campaign(members: Iterable[SObject], campaigns: Mapping[str, SObject]) -> str:
    """The Name of the campaign of the earliest CampaignMember (CreatedDate, then Id)."""
    dated = [
        (instant(member.text("CreatedDate")), member.id, member.text("CampaignId"))
        for member in members
        if member.text("CreatedDate")
    ]
    for _created, _id, campaign in sorted(dated):
        if campaign in campaigns:
            return campaigns[campaign].text("Name")
    return ""


def owner_name(owner: SObject | None, sync_user_names: Iterable[str]) -> str:
    """The owner User's Name; empty while the MA's sync user owns the lead."""
    if owner is None:
        return ""
    names = (owner.text("Username") + " " + owner.text("Name")).lower()
    if any(part.lower() in names for part in sync_user_names if part):
        return ""
    return owner.text("Name")


def person_from_lead(
    lead: SObject,
    history: Iterable[SObject],
    campaign: str,
    owner: SObject | None,
    options: ConnectionOptions,
) -> PersonRecord:
    created = moment_of(lead, "CreatedDate")
    if created is None:
        raise RejectedRecord(f"Lead {lead.id}, CreatedDate: empty")
    entries = first_entries(history, options.status_values)
    dates = {stage: instant(row.text("CreatedDate")) for stage, row in entries.items()}
    disqualified = dates.get("disqualified")
    reason = lead.text("DisqualifyReason__c") if disqualified else ""
    score_field = str(options["score_field"])
    return PersonRecord(
        external_id=lead.id,
        created_at=created,
        email=lead.text("Email"),
        name=lead.text("Name"),
        company=lead.text("Company"),
        channel=looked_up(lead.text("LeadSource"), options.table("lead_source")),
        campaign=campaign,
        mql_at=dates.get("mql"),
        sql_at=dates.get("sql"),
        disqualified_at=disqualified,
        disqualify_reason=options.table("disqualify_reason").get(reason, reason),
        lead_score=whole_number(lead.text(score_field), f"Lead {lead.id}, {score_field}"),
        industry=lead.text("Industry"),
        company_size=size_band(lead.text("NumberOfEmployees")),
        owner=owner_name(owner, options["sync_user_names"]),
    )


def person_from_contact(
    contact: SObject,
    account: SObject | None,
    campaign: str,
    owner: SObject | None,
    options: ConnectionOptions,
) -> PersonRecord:
    created = moment_of(contact, "CreatedDate")
    if created is None:
        raise RejectedRecord(f"Contact {contact.id}, CreatedDate: empty")
    return PersonRecord(
        external_id=contact.id,
        created_at=created,
        email=contact.text("Email"),
        name=contact.text("Name"),
        company=account.text("Name") if account else "",
        channel=looked_up(contact.text("LeadSource"), options.table("lead_source")),
        campaign=campaign,
        industry=account.text("Industry") if account else "",
        company_size=size_band(account.text("NumberOfEmployees")) if account else "",
        owner=owner.text("Name") if owner else "",
    )


def opportunity_from(
    opportunity: SObject, account: SObject | None, person_id: str, options: ConnectionOptions
) -> OpportunityRecord:
    created = moment_of(opportunity, "CreatedDate")
    if created is None:
        raise RejectedRecord(f"Opportunity {opportunity.id}, CreatedDate: empty")
    _company_currency(opportunity)
    amount = yen(opportunity.text("Amount"), f"Opportunity {opportunity.id}, Amount")
    closed = opportunity.fields.get("IsClosed") is True
    won = closed and opportunity.fields.get("IsWon") is True
    status = "won" if won else "lost" if closed else "open"
    closed_at = moment_of(opportunity, "CloseDate") if closed else None
    if closed and closed_at is None:
        raise RejectedRecord(f"Opportunity {opportunity.id}, CloseDate: empty on a closed one")
    loss = opportunity.text("Loss_Reason__c") if status == "lost" else ""
    return OpportunityRecord(
        external_id=opportunity.id,
        amount=amount,
        created_at=created,
        status=status,
        person_external_id=person_id,
        account=account.text("Name") if account else "",
        name=opportunity.text("Name"),
        closed_at=closed_at,
        stage=opportunity.text("StageName"),
        loss_reason=options.table("loss_reason").get(loss, loss),
        channel=looked_up(opportunity.text("LeadSource"), options.table("lead_source")),
    )


def costs_from(
    campaigns: Iterable[SObject], options: ConnectionOptions
) -> tuple[list[CostRecord], list[str]]:
    """One cost per (StartDate, channel, Name) of the live campaigns with an ActualCost and a
    StartDate, the whole cost on StartDate; campaigns sharing all three add up (as one CSV
    row would hold them). Returns the costs and the rejected campaigns' messages."""
    totals: dict[tuple[dt.date, str, str], Decimal] = defaultdict(Decimal)
    problems = []
    for campaign in campaigns:
        try:
            cost = campaign.text("ActualCost")
            start = moment_of(campaign, "StartDate")
            if not cost or start is None:
                continue
            _company_currency(campaign)
            amount = yen(cost, f"Campaign {campaign.id}, ActualCost")
        except RejectedRecord as exc:
            problems.append(str(exc))
            continue
        channel = looked_up(campaign.text("Type"), options.table("campaign_type"))
        if not channel:
            problems.append(f"Campaign {campaign.id}, Type: empty (a cost needs a channel)")
            continue
        totals[(start.date(), channel, campaign.text("Name"))] += amount
    costs = [
        CostRecord(date=day, channel=channel, amount=amount, campaign=name)
        for (day, channel, name), amount in sorted(totals.items())
    ]
    return costs, problems
