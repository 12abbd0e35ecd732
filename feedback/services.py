"""Sales' decisions on MQLs: the stage dates through the ingest's feedback source, the
history (author, time, reason, comment) here, in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from feedback.models import CUSTOM_PREFIX, Feedback, RejectionReason
from funnel.choices import DisqualifyReason
from funnel.ingest.feedback import record_acceptance, record_rejection
from funnel.models import Person
from qualification.applied import stage_dates


class FeedbackRefused(ValueError):
    """The decision cannot be recorded: the message says why."""


def decide(
    person_ids: Iterable[int],
    user: Any,
    decision: str,
    reason: str = "",
    comment: str = "",
    at: dt.datetime | None = None,
) -> int:
    """Accept or reject these MQLs now (or `at`, for the demo's history of decisions);
    returns how many were recorded."""
    ids = sorted(set(person_ids))
    if not ids:
        raise FeedbackRefused(_("choose at least one MQL"))
    if decision not in Feedback.Decision.values:
        raise FeedbackRefused(_("accept or reject"))
    detail = None
    if decision == Feedback.Decision.ACCEPT:
        reason = ""
    elif reason.startswith(CUSTOM_PREFIX):
        detail = RejectionReason.objects.filter(
            code=reason.removeprefix(CUSTOM_PREFIX), active=True
        ).first()
        if detail is None:
            raise FeedbackRefused(_("that rejection reason is not offered any more"))
        reason = detail.counts_as
    elif reason not in DisqualifyReason.values:
        raise FeedbackRefused(_("a rejection needs a reason"))
    now = at or timezone.now()
    with transaction.atomic():
        persons = list(Person.objects.select_for_update().filter(pk__in=ids))
        dates = stage_dates(now)  # MQLs by the definition in effect now (kpi-spec 2b)
        mqls = dates.persons().filter(pk__in=ids, **{f"{dates.field('mql_at')}__isnull": False})
        if len(persons) != len(ids) or mqls.count() != len(ids):
            raise FeedbackRefused(_("some of the chosen persons are not MQLs (any more)"))
        for person in persons:
            if decision == Feedback.Decision.ACCEPT:
                record_acceptance(person, now)
            else:
                record_rejection(person, now, reason, comment)
            Feedback.objects.create(
                person=person,
                decision=decision,
                reason=reason,
                detail=detail,
                comment=comment.strip(),
                author=user,
                decided_at=now,
            )
    return len(persons)
