"""What the weekly sales-marketing meeting looks at, on one page (定期的な部門間ミーティング):
the shared KPIs against pace and against a week ago, the KPI tree's bottleneck, the MQLs
sales rejected this week and why (in the product or in the SFA), the MQLs past their
follow-up deadline, and the action items carried over; plus the record of the last
meetings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from accounts.names import display_name
from alignment.models import ActionItem, Meeting
from dashboard.presenters import kpi_card
from feedback.models import Feedback
from feedback.selectors import waiting_mqls, with_deadlines
from funnel.metrics.catalogue import SHARED_KPIS, TREE_INPUT_LABELS, kpi
from funnel.metrics.filters import KpiFilters
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.metrics.window import Window
from funnel.models import Person
from funnel.periods import Period, current_quarter
from qualification.applied import stage_dates

WEEK = dt.timedelta(days=7)
SHOWN = 20


def meeting_page(now: dt.datetime) -> dict[str, Any]:
    quarter = current_quarter(now)
    snapshot = json_ready(kpi_snapshot(quarter, now))  # as the dashboard presents it
    week_ago = json_ready(kpi_snapshot(quarter, now - WEEK))
    bottleneck = snapshot["tree"]["bottleneck"]
    waiting = list(waiting_mqls(now))
    overdue = [row for row in with_deadlines(waiting, now) if row.overdue]
    missed = [row for row in overdue if row.deadline > now - WEEK]
    rejected = rejected_mqls(quarter, now)
    return {
        "quarter": quarter,
        "now": now,
        "cards": [kpi_card(key, snapshot, None, previous=week_ago) for key in SHARED_KPIS],
        "bottleneck": _bottleneck_label(bottleneck),
        "rejected": rejected[:SHOWN],
        "rejected_count": len(rejected),
        "missed": missed[:SHOWN],
        "missed_count": len(missed),
        "overdue_count": len(overdue),
        "teams": ActionItem.Team.choices,
        "actions": ActionItem.objects.filter(status=ActionItem.Status.OPEN),
        "done_this_week": ActionItem.objects.filter(
            status=ActionItem.Status.DONE, done_at__gte=now - WEEK
        ),
        "meetings": Meeting.objects.select_related("recorded_by")[:5],
    }


@dataclass(frozen=True)
class Rejection:
    """One MQL sales rejected: when, why, and who (the product's user, or the lead's owner
    in the SFA)."""

    person: Person
    at: dt.datetime
    reason: str
    comment: str
    by: str


def rejected_mqls(quarter: Period, now: dt.datetime) -> list[Rejection]:
    """MQLs rejected in the seven days up to `now`, newest first: in the product (its
    feedback, with the comment) and in the SFA (a source record's disqualification, which
    becomes the person's `disqualified_at`, spec section 2). A team whose sales disqualify
    in Salesforce sees its week here as well as one that decides in the MQL inbox."""
    window = Window(quarter, now, stage_dates(now))
    from_sources = (
        window.persons(KpiFilters())
        .filter(window.before("mql_at", now), disqualified_at__gt=now - WEEK)
        .filter(disqualified_at__lte=now)
        .select_related("channel")
    )
    found = {
        person.pk: Rejection(
            person, person.disqualified_at, person.get_disqualify_reason_display(), "", person.owner
        )
        for person in from_sources
        if person.disqualified_at is not None
    }
    in_product = (
        Feedback.objects.filter(
            decision=Feedback.Decision.REJECT, decided_at__gt=now - WEEK, decided_at__lte=now
        )
        .select_related("person", "person__channel", "author")
        .order_by("decided_at")
    )
    for item in in_product:  # the latest decision per person stands
        found[item.person_id] = Rejection(
            item.person,
            item.decided_at,
            item.get_reason_display(),
            item.comment,
            display_name(item.author),
        )
    return sorted(found.values(), key=lambda r: (r.at, r.person.pk), reverse=True)


def _bottleneck_label(key: str | None) -> Any:
    if not key:
        return None
    if key in TREE_INPUT_LABELS:
        return TREE_INPUT_LABELS[key]
    try:
        return kpi(key).label
    except KeyError:
        return key
