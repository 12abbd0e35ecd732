"""Account Engagement records -> canonical records (docs/connectors.md section 6). The
vendor's field names stop here: the sync hands on PersonRecord, ActivityRecord and
CostRecord only.

Product decisions implemented here (connectors.md): prospects sharing an email stay
separate records; MQL and SQL are the first lifecycle history entering the stage at
position 2 and 3 (never by the editable name); visitor activities map by their numeric
type, never by `typeName`; a campaign's whole cost is booked to the month (company time)
of its `createdAt`, on the channel the connection maps its name to, else the most common
channel among the prospects it first touched.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from funnel.periods import company_tz
from funnel.records import ActivityRecord, CostRecord, PersonRecord
from integrations.options import ConnectionOptions
from integrations.pardot.client import PardotRecord
from integrations.values import (
    RejectedRecord,
    family_first,
    looked_up,
    moment,
    size_band,
    whole_number,
    yen,
)

PROSPECT_FIELDS = (
    "id",
    "email",
    "firstName",
    "lastName",
    "company",
    "source",
    "campaignId",
    "score",
    "industry",
    "employees",
    "assignedToId",
    "salesforceLeadId",  # kept for drill-down; they merge nothing
    "salesforceContactId",
    "isDeleted",
    "createdAt",
    "updatedAt",
)
CAMPAIGN_FIELDS = ("id", "name", "cost", "isDeleted", "createdAt", "updatedAt")
USER_FIELDS = ("id", "firstName", "lastName", "isDeleted", "updatedAt")
STAGE_FIELDS = ("id", "name", "position")
HISTORY_FIELDS = ("id", "prospectId", "nextStageId", "createdAt")
ACTIVITY_FIELDS = (
    "id",
    "prospectId",
    "type",
    "typeName",
    "details",
    "emailId",
    "fileId",
    "createdAt",
    "updatedAt",
)
MQL_POSITION, SQL_POSITION = 2, 3  # Visitor 0, Prospect 1, MQL 2, SQL 3, Won 4
CLICK = 1
ACTIVITY_TYPES = {
    20: "web_visit",  # Visit
    2: "page_view",  # View (landing page)
    4: "form_submit",  # Success (form or form handler)
    11: "email_open",  # Open
    24: "webinar",  # Attended Webinar
    29: "event",  # Event Checked In
}


def moment_of(record: PardotRecord, name: str) -> dt.datetime | None:
    return moment(record.text(name), f"{record.type} {record.id}, {name}")


def activity_type(activity: PardotRecord) -> str | None:
    """The canonical type of a visitor activity by its numeric `type`; None when it is not
    exported (sends, bounces, registrations, custom URL clicks, ...)."""
    try:
        number = int(activity.text("type"))
    except ValueError:
        return None
    if number == CLICK:
        if activity.text("fileId"):
            return "download"
        if activity.text("emailId"):
            return "email_click"
        return None
    return ACTIVITY_TYPES.get(number)


def activity_from(activity: PardotRecord, prospect: PardotRecord) -> ActivityRecord:
    kind = activity_type(activity)
    if kind is None:
        raise RejectedRecord(f"visitor activity {activity.id}, type: not exported")
    occurred = moment_of(activity, "createdAt")
    if occurred is None:
        raise RejectedRecord(f"visitor activity {activity.id}, createdAt: empty")
    detail = ": ".join(
        part for part in (activity.text("typeName"), activity.text("details")) if part
    )
    return ActivityRecord(
        external_id=activity.id,
        type=kind,
        occurred_at=occurred,
        person_external_id=prospect.id,
        person_email=prospect.text("email"),
        detail=detail,
    )


def stage_ids(stages: Iterable[PardotRecord]) -> dict[str, str]:
    """mql and sql -> the id of the lifecycle stage at that position."""
    by_position = {stage.text("position"): stage.id for stage in stages}
    found = {
        "mql": by_position.get(str(MQL_POSITION), ""),
        "sql": by_position.get(str(SQL_POSITION), ""),
    }
    return {stage: key for stage, key in found.items() if key}


def first_entries(
    histories: Iterable[PardotRecord], stages: Mapping[str, str]
) -> dict[str, dt.datetime]:
    """mql / sql -> createdAt of the first history (by createdAt, then id) whose nextStageId
    is that stage: a prospect that re-enters a stage keeps its first date."""
    wanted = {key: stage for stage, key in stages.items()}
    dated = []
    for row in histories:
        when = moment_of(row, "createdAt")
        if when is not None and row.text("nextStageId") in wanted:
            dated.append((when, int(row.id) if row.id.isdigit() else 0, row.id, row))
    first: dict[str, dt.datetime] = {}
    for when, _number, _id, row in sorted(dated, key=lambda item: item[:3]):
        first.setdefault(wanted[row.text("nextStageId")], when)
    return first


def channel_of(prospect: PardotRecord, options: ConnectionOptions) -> str:
    return looked_up(prospect.text("source"), options.table("pardot_source"))


def person_from(
    prospect: PardotRecord,
    campaign: PardotRecord | None,
    owner: PardotRecord | None,
    histories: Iterable[PardotRecord],
    stages: Mapping[str, str],
    options: ConnectionOptions,
) -> PersonRecord:
    created = moment_of(prospect, "createdAt")
    if created is None:
        raise RejectedRecord(f"prospect {prospect.id}, createdAt: empty")
    dates = first_entries(histories, stages)
    return PersonRecord(
        external_id=prospect.id,
        created_at=created,
        email=prospect.text("email"),
        name=family_first(prospect.text("firstName"), prospect.text("lastName")),
        company=prospect.text("company"),
        channel=channel_of(prospect, options),
        campaign=campaign.text("name") if campaign else "",
        mql_at=dates.get("mql"),
        sql_at=dates.get("sql"),
        lead_score=whole_number(prospect.text("score"), f"prospect {prospect.id}, score"),
        industry=prospect.text("industry"),
        company_size=size_band(prospect.text("employees")),
        owner=family_first(owner.text("firstName"), owner.text("lastName")) if owner else "",
    )


def campaign_cost(campaign: PardotRecord) -> Decimal | None:
    """The cost of a live campaign with a cost above 0, else None."""
    raw = campaign.text("cost")
    if campaign.deleted or not raw or raw.startswith("-"):
        return None
    amount = yen(raw, f"campaign {campaign.id}, cost")
    return amount if amount > 0 else None


def most_common_channel(channels: Iterable[str]) -> str:
    """The most common non-empty channel; ties: the first alphabetically; none: empty."""
    counts = Counter(channel for channel in channels if channel)
    if not counts:
        return ""
    return min(counts, key=lambda channel: (-counts[channel], channel))


def costs_from(
    campaigns: Iterable[PardotRecord],
    first_touch: Mapping[str, Iterable[str]],
    options: ConnectionOptions,
) -> tuple[list[CostRecord], list[str]]:
    """One cost per (month, channel, name) of the live campaigns with a cost above 0, the
    whole cost in the month (company time) of `createdAt`, dated on its first day;
    campaigns sharing all three add up. `first_touch`: per campaign id, the channels of the
    prospects whose first-touch campaign it is. Returns the costs and the rejected
    campaigns' messages."""
    totals: dict[tuple[dt.date, str, str], Decimal] = defaultdict(Decimal)
    problems = []
    mapped = options.table("campaign_channel")
    for campaign in campaigns:
        try:
            amount = campaign_cost(campaign)
            if amount is None:
                continue
            created = moment_of(campaign, "createdAt")
            if created is None:
                raise RejectedRecord(f"campaign {campaign.id}, createdAt: empty")
        except RejectedRecord as exc:
            problems.append(str(exc))
            continue
        name = campaign.text("name")
        channel = mapped.get(name) or most_common_channel(first_touch.get(campaign.id, ()))
        if not channel:
            problems.append(
                f"campaign {campaign.id} ({name}), channel: no campaign_channel entry and no "
                "prospect first touched by it has a channel (a cost needs a channel)"
            )
            continue
        month = created.astimezone(company_tz()).date().replace(day=1)
        totals[(month, channel, name)] += amount
    costs = [
        CostRecord(date=day, channel=channel, amount=amount, campaign=name)
        for (day, channel, name), amount in sorted(totals.items())
    ]
    return costs, problems
