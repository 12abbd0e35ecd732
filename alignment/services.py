"""Every write of the alignment pages: KPI reviews and improvement proposals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.access import roles_of
from accounts.roles import EXECUTIVE, MARKETING, OPS_ADMIN, SALES
from alignment.models import (
    ActionItem,
    ChecklistAnswer,
    KpiReview,
    Meeting,
    Proposal,
    ProposalComment,
)
from funnel.metrics.catalogue import CATALOGUE
from funnel.periods import parse_period

TEAM_ORDER = (MARKETING, SALES, OPS_ADMIN, EXECUTIVE)


class AlignmentRefused(ValueError):
    """The write is not allowed or not complete: the message says why."""


def team_of(user: Any) -> str:
    roles = roles_of(user)
    return next((team for team in TEAM_ORDER if team in roles), "")


def record_review(user: Any, quarter: str, kpis: Iterable[str], note: str = "") -> KpiReview:
    try:
        period = parse_period(quarter)
    except ValueError:
        raise AlignmentRefused(f"{quarter!r} is not a fiscal quarter (FY2026Q3)") from None
    if not period.name.startswith("FY") or "Q" not in period.name:
        raise AlignmentRefused(f"{quarter!r} is not a fiscal quarter (FY2026Q3)")
    keys = [key for key in dict.fromkeys(kpis) if key in CATALOGUE]
    if not keys:
        raise AlignmentRefused("choose the KPIs you reviewed")
    return KpiReview.objects.create(
        quarter=period.name, kpis=keys, note=note.strip(), reviewed_by=user
    )


def propose(user: Any, kind: str, title: str, reason: str) -> Proposal:
    if kind not in Proposal.Kind.values:
        raise AlignmentRefused("say what the proposal is about")
    if not title.strip() or not reason.strip():
        raise AlignmentRefused("a proposal needs a title and a reason")
    return Proposal.objects.create(
        kind=kind,
        title=title.strip()[:200],
        reason=reason.strip(),
        proposed_by=user,
        team=team_of(user),
    )


def comment(proposal: Proposal, user: Any, text: str) -> ProposalComment:
    if not text.strip():
        raise AlignmentRefused("write a comment")
    return ProposalComment.objects.create(
        proposal=proposal, author=user, team=team_of(user), text=text.strip()
    )


def decide(proposal: Proposal, user: Any, accepted: bool, note: str = "") -> Proposal:
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if locked.status != Proposal.Status.OPEN:
            raise AlignmentRefused("this proposal is decided already")
        locked.status = Proposal.Status.ACCEPTED if accepted else Proposal.Status.DECLINED
        locked.decided_by, locked.decided_at = user, timezone.now()
        locked.decision_note = note.strip()
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    proposal.refresh_from_db()
    return proposal


def answer_item(user: Any, key: str, holds: bool, note: str = "") -> ChecklistAnswer:
    """An answer by hand for an item the data cannot tell (the latest answer counts)."""
    from alignment.checklist import ITEMS

    if key not in {item.key for item in ITEMS if item.by_hand}:
        raise AlignmentRefused("only the items the data cannot tell are answered by hand")
    return ChecklistAnswer.objects.create(
        item=key, holds=holds, note=note.strip(), answered_by=user
    )


def add_action(user: Any, title: str, owner: str, team: str, due_on: dt.date | None) -> ActionItem:
    if not title.strip() or not owner.strip():
        raise AlignmentRefused("an action needs what and who")
    if team not in ActionItem.Team.values:
        raise AlignmentRefused("the team: marketing, sales or both")
    return ActionItem.objects.create(
        title=title.strip()[:300], owner=owner.strip()[:150], team=team, due_on=due_on,
        created_by=user,
    )  # fmt: skip


def close_action(item: ActionItem) -> None:
    ActionItem.objects.filter(pk=item.pk, status=ActionItem.Status.OPEN).update(
        status=ActionItem.Status.DONE, done_at=timezone.now()
    )


def record_meeting(
    user: Any, held_on: dt.date, attendees: str, notes: str, decisions: str
) -> Meeting:
    if not (attendees.strip() or notes.strip() or decisions.strip()):
        raise AlignmentRefused("write who came, the notes or the decisions")
    return Meeting.objects.create(
        held_on=held_on, attendees=attendees.strip(), notes=notes.strip(),
        decisions=decisions.strip(), recorded_by=user,
    )  # fmt: skip
