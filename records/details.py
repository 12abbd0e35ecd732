"""What a person's and an opportunity's record page shows, read in a fixed, small number
of queries: identity across sources, stage dates and history, deals, the MA timeline."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from feedback.models import Feedback
from feedback.selectors import reason_choices, waits
from funnel.metrics.filters import opportunity_channel, opportunity_channel_key
from funnel.metrics.window import SOURCE_DATES
from funnel.models import Activity, Opportunity, OpportunityChange, Person, StageEntry
from qualification.applied import stage_dates
from records.lists import origin_expression

TIMELINE_LIMIT = 200
# An absolute http(s) URL with nothing a browser would read differently (no spaces, no
# control characters); anything else, `javascript:` included, is shown as text.
_HTTP_URL = re.compile(r"^https?://[^\s/?#\x00-\x1f\x7f]+[^\s\x00-\x1f\x7f]*$", re.IGNORECASE)


def http_url(text: str) -> str | None:
    """`text` when it is an http(s) URL safe to put in a link, else None."""
    return text if _HTTP_URL.match(text) else None


@dataclass(frozen=True)
class TimelineItem:
    activity: Activity
    url: str | None


def persons_with_related() -> QuerySet[Person]:
    """Persons with their first-touch channel, campaign and account (one query)."""
    return Person.objects.select_related("channel", "campaign", "account").annotate(
        origin=origin_expression()
    )


def person_stage_dates(person: Person, as_of: dt.datetime) -> dict[str, Any]:
    """The person's MQL and SQL dates by the definition in effect at as_of (kpi-spec 2b):
    the agreed criteria's qualifying moments in rules mode, else the sources' dates."""
    dates = stage_dates(as_of)
    shown = (
        (person.mql_at, person.sql_at)
        if dates == SOURCE_DATES
        else dates.persons()
        .filter(pk=person.pk)
        .values_list(dates.field("mql_at"), dates.field("sql_at"))
        .first()
    ) or (None, None)
    return {
        "mql_at": shown[0],
        "sql_at": shown[1],
        "mql_by_rules": dates.mql_set is not None,
        "sql_by_rules": dates.sql_set is not None,
    }


def person_page(person: Person) -> dict[str, Any]:
    source_records = person.source_records.select_related("source", "channel", "campaign")
    history = StageEntry.objects.filter(person=person).select_related("source_record__source")
    opportunities = (
        person.opportunities.select_related("source", "account")
        .annotate(channel_key=opportunity_channel_key())
        .order_by("created_at", "pk")
    )
    activities = person.activities.select_related("source").order_by("-occurred_at", "-pk")
    activity_count = activities.count()
    return {
        "person": person,
        "source_records": source_records.order_by("created_at", "pk"),
        "history": history.order_by("entered_at", "stage", "pk"),
        "opportunities": opportunities,
        "timeline": [
            TimelineItem(activity, http_url(activity.detail))
            for activity in activities[:TIMELINE_LIMIT]
        ],
        "activity_count": activity_count,
        "timeline_limit": TIMELINE_LIMIT,
        "feedback": Feedback.objects.filter(person=person)
        .select_related("author", "detail")
        .order_by("decided_at", "pk"),
        "waiting_mql": waits(person, timezone.now()),
        "reasons": reason_choices(),
    }


def opportunities_with_related() -> QuerySet[Opportunity]:
    """Opportunities with their source, account, person, channel and change history."""
    changes = Prefetch("changes", queryset=OpportunityChange.objects.order_by("recorded_at", "pk"))
    return (
        Opportunity.objects.select_related("source", "account", "person__channel", "channel")
        .annotate(channel_key=opportunity_channel_key(), channel_name=opportunity_channel("name"))
        .prefetch_related(changes)
    )
