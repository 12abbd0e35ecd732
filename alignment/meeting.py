"""What the weekly sales-marketing meeting looks at, on one page (定期的な部門間ミーティング):
the shared KPIs against pace and against a week ago, the KPI tree's bottleneck, the MQLs
sales rejected this week and why, the MQLs past their follow-up deadline, and the action
items carried over; plus the record of the last meetings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alignment.models import ActionItem, Meeting
from dashboard.presenters import kpi_card
from feedback.models import Feedback
from feedback.selectors import waiting_mqls, with_deadlines
from funnel.metrics.catalogue import SHARED_KPIS, TREE_INPUT_LABELS, kpi
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.periods import current_quarter

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
    rejected = (
        Feedback.objects.filter(decision=Feedback.Decision.REJECT, decided_at__gte=now - WEEK)
        .select_related("person", "person__channel", "author")
        .order_by("-decided_at")
    )
    return {
        "quarter": quarter,
        "now": now,
        "cards": [kpi_card(key, snapshot, None, previous=week_ago) for key in SHARED_KPIS],
        "bottleneck": _bottleneck_label(bottleneck),
        "rejected": list(rejected[:SHOWN]),
        "rejected_count": rejected.count(),
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


def _bottleneck_label(key: str | None) -> Any:
    if not key:
        return None
    if key in TREE_INPUT_LABELS:
        return TREE_INPUT_LABELS[key]
    try:
        return kpi(key).label
    except KeyError:
        return key
