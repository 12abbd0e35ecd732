"""The MQL inbox: MQLs no one has followed up yet, the oldest deadline first (kpi-spec
section 3's SLA: the end of the N-th business day after the MQL's local date); and what
marketing reads of sales' decisions: by channel, campaign and month, with reasons."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db.models import F, QuerySet

from feedback.models import CUSTOM_PREFIX, Feedback, RejectionReason
from funnel.business_days import BusinessCalendar
from funnel.choices import DisqualifyReason
from funnel.metrics.kept import kept
from funnel.metrics.sla import HANDLING_FIELDS, mql_deadline
from funnel.metrics.window import SOURCE_DATES
from funnel.models import Person
from funnel.periods import Period, local_date
from qualification.applied import stage_dates


@dataclass(frozen=True)
class WaitingMql:
    person: Person
    deadline: dt.datetime
    overdue: bool


def waits(person: Person, as_of: dt.datetime) -> bool:
    """An MQL waits for follow-up until one of the SLA's handling moments is set."""
    if stage_dates(as_of) == SOURCE_DATES:  # the person's own dates: no query
        return (
            person.mql_at is not None
            and person.mql_at <= as_of
            and all(getattr(person, field) is None for field in HANDLING_FIELDS)
        )
    return waiting_mqls(as_of).filter(pk=person.pk).exists()


def waiting_mqls(as_of: dt.datetime, channel: str = "") -> QuerySet[Person]:
    """MQLs by as_of with no SQL, opportunity, win or disqualification yet, by the MQL and
    SQL definition of as_of (kpi-spec 2b), each with `stage_mql_at`; deadlines rise with the
    MQL date, so by MQL date is by deadline."""
    dates = stage_dates(as_of)
    mql_at = dates.field("mql_at")
    persons = dates.persons().filter(
        **{f"{mql_at}__lte": as_of},
        **{f"{dates.field(field)}__isnull": True for field in HANDLING_FIELDS},
    )
    if channel:
        persons = persons.filter(channel__key=channel)
    return (
        persons.select_related("channel", "campaign")
        .annotate(stage_mql_at=F(mql_at))
        .order_by("stage_mql_at", "pk")
    )


def with_deadlines(persons: list[Person], as_of: dt.datetime) -> list[WaitingMql]:
    moments = [person.stage_mql_at for person in persons]  # type: ignore[attr-defined]
    return [
        WaitingMql(person, deadline, deadline <= as_of)
        for person, deadline in zip(persons, with_deadline_moments(moments), strict=True)
    ]


def reason_choices() -> list[tuple[str, str]]:
    """What sales may choose when rejecting: the spec's reasons (kpi-spec section 2) and
    the ops admins' own, each named with the standard reason it counts as."""
    standard = [(str(value), str(label)) for value, label in DisqualifyReason.choices]
    own = [
        (reason.key, f"{reason.display} ({DisqualifyReason(reason.counts_as).label})")
        for reason in RejectionReason.objects.filter(active=True)
    ]
    return own + standard


def reason_labels(keys: Iterable[str]) -> list[tuple[str, str]]:
    """(key, label) of reasons as tallied (a standard code or an ops admins' reason), the
    ops admins' first, then the standard list's order."""
    wanted = set(keys)
    own = {
        reason.key: reason.display
        for reason in RejectionReason.objects.filter(
            code__in=[k.removeprefix(CUSTOM_PREFIX) for k in wanted if k.startswith(CUSTOM_PREFIX)]
        )
    }
    labels = [(key, label) for key, label in own.items() if key in wanted]
    labels += [
        (str(value), str(label)) for value, label in DisqualifyReason.choices if value in wanted
    ]
    known = {key for key, _ in labels}
    return labels + [(key, key) for key in sorted(wanted - known)]


@dataclass(frozen=True)
class FeedbackRow:
    """Sales' decisions on one channel's (or campaign's) MQLs within a period."""

    key: str
    accepted: int
    rejected: int
    reasons: dict[str, int]

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None


@dataclass(frozen=True)
class FeedbackSummary:
    by_channel: list[FeedbackRow]
    by_campaign: list[FeedbackRow]
    by_month: list[FeedbackRow]  # key: YYYY-MM of the decision, company time
    overdue: int  # MQLs waiting past their deadline at as_of
    waiting: int
    # Each tallied reason's name, in the active language (reason_labels' order).
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TalliedDecision:
    """One decision as the summary counts it: the one definition the tables and the lists
    behind their numbers share."""

    pk: int
    channel: str  # the MQL's first-touch channel key, "" for none
    campaign: str
    month: str  # YYYY-MM of the decision, company time
    tally: str  # ACCEPTED, or the reason as given (a standard code or custom:<code>)

    def counted_in(self, by: str, key: str, column: str) -> bool:
        """Whether this decision is in the number at (row `key` of table `by`, `column`):
        decided, accepted, rejected or a reason's column."""
        if by and getattr(self, by) != key:  # no table: every decision of the period
            return False
        if column == "decided":
            return True
        if column == "accepted":
            return self.tally == ACCEPTED
        if column == "rejected":
            return self.tally != ACCEPTED
        return self.tally == column


def tallied_decisions(period: Period, as_of: dt.datetime) -> Iterator[TalliedDecision]:
    """Decisions made in the period, up to as_of."""
    rows = Feedback.objects.filter(
        decided_at__gte=period.start_at, decided_at__lt=min(period.end_at, as_of)
    ).values_list(
        "pk",
        "person__channel__key",
        "person__campaign__key",
        "decided_at",
        "decision",
        "reason",
        "detail__code",
    )
    for pk, channel, campaign, decided_at, decision, reason, detail in rows:
        given = f"{CUSTOM_PREFIX}{detail}" if detail else reason
        yield TalliedDecision(
            pk=pk,
            channel=channel or "",
            campaign=campaign or "",
            month=local_date(decided_at).strftime("%Y-%m"),
            tally=given if decision == Feedback.Decision.REJECT else ACCEPTED,
        )


DRILL_TABLES = ("channel", "campaign", "month")


def decisions_behind(
    period: Period, as_of: dt.datetime, by: str, key: str, column: str
) -> QuerySet[Feedback]:
    """The decisions one number of the summary counts, newest first."""
    if by and by not in DRILL_TABLES:
        raise ValueError(f"by: one of {', '.join(DRILL_TABLES)}")
    pks = [d.pk for d in tallied_decisions(period, as_of) if d.counted_in(by, key, column)]
    return (
        Feedback.objects.filter(pk__in=pks)
        .select_related("person", "person__channel", "person__campaign", "author", "detail")
        .order_by("-decided_at", "-pk")
    )


@kept
def feedback_summary(period: Period, as_of: dt.datetime) -> FeedbackSummary:
    """Decisions made in the period (up to as_of), by the MQL's first-touch channel and
    campaign and by month; and the inbox's state at as_of."""
    by_channel: dict[str, Counter[str]] = defaultdict(Counter)
    by_campaign: dict[str, Counter[str]] = defaultdict(Counter)
    by_month: dict[str, Counter[str]] = defaultdict(Counter)
    for decision in tallied_decisions(period, as_of):
        by_channel[decision.channel][decision.tally] += 1
        by_campaign[decision.campaign][decision.tally] += 1
        by_month[decision.month][decision.tally] += 1
    waiting = [m for m in waiting_mqls(as_of).values_list("stage_mql_at", flat=True)]  # type: ignore[misc]
    overdue = sum(1 for deadline in with_deadline_moments(waiting) if deadline <= as_of)
    tallied = {key for counts in by_channel.values() for key in counts if key != ACCEPTED}
    return FeedbackSummary(
        labels=dict(reason_labels(tallied)),
        by_channel=_rows(by_channel, by_total=True),
        by_campaign=_rows(by_campaign, by_total=True),
        by_month=_rows(by_month, by_total=False),
        overdue=overdue,
        waiting=len(waiting),
    )


ACCEPTED = "__accepted__"


def _rows(tallies: dict[str, Counter[str]], by_total: bool) -> list[FeedbackRow]:
    rows = [
        FeedbackRow(
            key=key,
            accepted=counts[ACCEPTED],
            rejected=sum(n for reason, n in counts.items() if reason != ACCEPTED),
            reasons={reason: n for reason, n in counts.items() if reason != ACCEPTED},
        )
        for key, counts in tallies.items()
    ]
    if by_total:
        return sorted(rows, key=lambda row: (-row.decided, row.key))
    return sorted(rows, key=lambda row: row.key)


def with_deadline_moments(mql_moments: list[dt.datetime]) -> list[dt.datetime]:
    """The SLA deadline of each MQL moment (the inbox's rule)."""
    if not mql_moments:
        return []
    days = [local_date(moment) for moment in mql_moments]
    calendar = BusinessCalendar(min(days).year, max(days).year + 1)
    return [mql_deadline(calendar, day) for day in days]
