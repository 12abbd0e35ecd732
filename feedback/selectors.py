"""The MQL inbox: MQLs no one has followed up yet, the oldest deadline first (kpi-spec
section 3's SLA: the end of the N-th business day after the MQL's local date)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from funnel.business_days import BusinessCalendar
from funnel.models import Person
from funnel.periods import local_date, local_midnight


@dataclass(frozen=True)
class WaitingMql:
    person: Person
    deadline: dt.datetime
    overdue: bool


def waiting_mqls(as_of: dt.datetime, channel: str = "") -> QuerySet[Person]:
    """MQLs by as_of with no SQL, opportunity, win or disqualification yet; deadlines rise
    with the MQL date, so by MQL date is by deadline."""
    persons = Person.objects.filter(
        mql_at__lte=as_of,
        sql_at__isnull=True,
        opportunity_at__isnull=True,
        won_at__isnull=True,
        disqualified_at__isnull=True,
    )
    if channel:
        persons = persons.filter(channel__key=channel)
    return persons.select_related("channel", "campaign").order_by("mql_at", "pk")


def with_deadlines(persons: list[Person], as_of: dt.datetime) -> list[WaitingMql]:
    if not persons:
        return []
    days = [local_date(p.mql_at) for p in persons if p.mql_at is not None]
    calendar = BusinessCalendar(min(days).year, max(days).year + 1)
    found = []
    for person in persons:
        assert person.mql_at is not None
        due = calendar.nth_business_day_after(
            local_date(person.mql_at), settings.MQL_SLA_BUSINESS_DAYS
        )
        deadline = local_midnight(due + dt.timedelta(days=1))
        found.append(WaitingMql(person, deadline, deadline <= as_of))
    return found
