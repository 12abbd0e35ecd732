"""Marketo leads and activities -> canonical records (docs/connectors.md section 5).
Marketo's field names stop here.

Product decisions implemented here: stage dates are the activityDate of the first Change
Data Value (13) of the lead status field to each status (MQL dates are Marketo's: it sets
them, Salesforce learns them minutes later); the campaign is the program of the lead's
first Change Status in Progression (104); each Visit Webpage is one `web_visit`; bot
activity is dropped; an attended program is a webinar when its name says so.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable

from funnel.records import ActivityRecord, PersonRecord
from integrations.marketo.client import MarketoActivity
from integrations.options import ConnectionOptions
from integrations.values import (
    RejectedRecord,
    family_first,
    looked_up,
    moment,
    size_band,
    whole_number,
)

LEAD_FIELDS = (
    "id",
    "email",
    "firstName",
    "lastName",
    "company",
    "createdAt",
    "updatedAt",
    "leadSource",
    "leadScore",
    "industry",
    "numberOfEmployees",
    "sfdcLeadId",
    "sfdcContactId",
)
VISIT, FORM, OPEN, CLICK, NEW_LEAD, DATA_VALUE, SCORE, MERGE, PROGRESSION = (
    1, 2, 10, 11, 12, 13, 22, 32, 104
)  # fmt: skip
STREAMED = (VISIT, FORM, OPEN, CLICK, PROGRESSION, NEW_LEAD, DATA_VALUE, SCORE, MERGE)
ATTENDED = ("Attended", "Visited Booth")
WEBINAR_WORDS = ("webinar", "ウェビナー")
_IDS = re.compile(r"\d+")


def required_moment(raw: str, what: str) -> dt.datetime:
    found = moment(raw, what)
    if found is None:
        raise RejectedRecord(f"{what}: empty")
    return found


def is_bot(activity: MarketoActivity) -> bool:
    flag = activity.attributes.get("Is Bot Activity")
    return flag is True or str(flag).strip().lower() == "true"


def feeds_person(activity: MarketoActivity, options: ConnectionOptions) -> bool:
    """Activities a person's columns are derived from: status changes and progressions."""
    if activity.type_id == PROGRESSION:
        return True
    return activity.type_id == DATA_VALUE and activity.primary == options["status_field"]


def merged_ids(activity: MarketoActivity) -> list[str]:
    """The losers a Merge Leads (32) names in its `Merge IDs` (a list, or its JSON text)."""
    names = {name.lower(): name for name in activity.attributes}
    raw = activity.attributes.get(names.get("merge ids", ""))
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(item) for item in raw]
    text = str(raw)
    try:
        parsed = json.loads(text)
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
    except ValueError:
        pass
    return _IDS.findall(text)


def activity_record(activity: MarketoActivity) -> ActivityRecord | None:
    """The canonical activity, or None for a type (or a 104 status) not exported."""
    kind, detail = None, ""
    if activity.type_id == VISIT:
        kind, detail = "web_visit", str(activity.attributes.get("Webpage URL") or "")
    elif activity.type_id == FORM:
        kind, detail = "form_submit", activity.primary
    elif activity.type_id == OPEN:
        kind, detail = "email_open", activity.primary
    elif activity.type_id == CLICK:
        kind, detail = "email_click", str(activity.attributes.get("Link") or "")
    elif activity.type_id == PROGRESSION and str(activity.attributes.get("New Status")) in ATTENDED:
        webinar = any(word in activity.primary.lower() for word in WEBINAR_WORDS)
        kind, detail = ("webinar" if webinar else "event"), activity.primary
    if kind is None or is_bot(activity):
        return None
    return ActivityRecord(
        external_id=activity.id,
        type=kind,
        occurred_at=required_moment(activity.date, f"activity {activity.id}, activityDate"),
        person_external_id=activity.lead_id,
        detail=detail,
    )


def person_from_lead(
    lead: dict[str, object], activities: Iterable[MarketoActivity], options: ConnectionOptions
) -> PersonRecord:
    lead_id = str(lead.get("id"))

    def text(name: str) -> str:
        value = lead.get(name)
        return "" if value is None else str(value).strip()

    created = text("createdAt")
    if not created:
        raise RejectedRecord(f"lead {lead_id}, createdAt: empty")
    ordered = sorted(
        (required_moment(a.date, f"activity {a.id}, activityDate"), a.id, a) for a in activities
    )
    statuses = {value: stage for stage, value in options.status_values.items()}
    dates: dict[str, dt.datetime] = {}
    campaign = ""
    for when, _id, activity in ordered:
        if activity.type_id == PROGRESSION and not campaign:
            campaign = activity.primary
        elif activity.type_id == DATA_VALUE and activity.primary == options["status_field"]:
            stage = statuses.get(str(activity.attributes.get("New Value") or ""))
            if stage is not None:
                dates.setdefault(stage, when)
    return PersonRecord(
        external_id=lead_id,
        created_at=required_moment(created, f"lead {lead_id}, createdAt"),
        email=text("email"),
        name=family_first(text("firstName"), text("lastName")),
        company=text("company"),
        channel=looked_up(text("leadSource"), options.table("lead_source")),
        campaign=campaign,
        mql_at=dates.get("mql"),
        sql_at=dates.get("sql"),
        disqualified_at=dates.get("disqualified"),
        lead_score=whole_number(text("leadScore"), f"lead {lead_id}, leadScore"),
        industry=text("industry"),
        company_size=size_band(text("numberOfEmployees")),
    )
