"""Proposing, approving and rejecting criteria versions: every write of the agreement
(kpi-spec section 2b), in one place. The views, admin and `criteria` command call these."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.access import roles_of
from accounts.roles import MARKETING, SALES
from qualification.criteria import Criteria, parse_criteria
from qualification.models import CriteriaDecision, CriteriaVersion, MomentSet
from qualification.moments import moment_set_for

TEAMS = (MARKETING, SALES)


class AgreementRefused(ValueError):
    """The decision is not allowed: the message says why."""


def propose(criteria: Criteria, user: Any | None, reason: str = "") -> CriteriaVersion:
    version = CriteriaVersion.objects.create(
        stage=criteria.stage,
        name=criteria.name,
        definition=criteria.as_json(),
        reason=reason.strip(),
        proposed_by=user if getattr(user, "is_authenticated", False) else None,
    )
    schedule_moments(criteria)
    return version


def _follow_versions_on_commit() -> None:
    """Once the approval commits, the persons carry the new version's dates (its set is
    normally ready: it was computed when the draft was proposed)."""
    from qualification.tasks import follow_versions_task

    transaction.on_commit(follow_versions_task.delay)


def schedule_moments(criteria: Criteria) -> None:
    """Start computing the criteria's qualifying moments once this transaction commits:
    the backtest reads them, and by the approval the version's dates are ready."""
    from qualification.tasks import compute_moments_task

    moment_set = moment_set_for(criteria)
    if moment_set.status != MomentSet.Status.READY:
        transaction.on_commit(lambda: compute_moments_task.delay(moment_set.pk))


def revise(version: CriteriaVersion, criteria: Criteria, reason: str | None = None) -> None:
    """Change a draft; a version decided on (in effect or rejected) is never edited."""
    with transaction.atomic():
        locked = CriteriaVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != CriteriaVersion.Status.DRAFT:
            raise AgreementRefused("a version decided on is never edited: propose a new draft")
        if locked.decisions.exists():
            raise AgreementRefused(
                "this draft has an approval already: propose a new draft to change it"
            )
        if criteria.stage != locked.stage:
            raise AgreementRefused(f"this draft is for {locked.stage}, not {criteria.stage}")
        locked.name, locked.definition = criteria.name, criteria.as_json()
        if reason is not None:
            locked.reason = reason.strip()
        locked.save(update_fields=["name", "definition", "reason"])
        schedule_moments(criteria)
    version.refresh_from_db()


def approve(version: CriteriaVersion, user: Any, comment: str = "") -> CriteriaVersion:
    """The user approves for their team; the second team's approval puts it in effect."""
    with transaction.atomic():
        locked = _open_draft(version, user)
        decided = set(locked.decisions.values_list("role", flat=True))
        team = next((t for t in _teams_of(user) if t not in decided), None)
        if team is None:
            raise AgreementRefused("your team has approved this draft already")
        CriteriaDecision.objects.create(
            version=locked,
            user=user,
            role=team,
            decision=CriteriaDecision.Decision.APPROVE,
            comment=comment.strip(),
        )
        if decided | {team} >= set(TEAMS):
            locked.status = CriteriaVersion.Status.IN_EFFECT
            locked.effective_at = timezone.now()
            locked.save(update_fields=["status", "effective_at"])
            _follow_versions_on_commit()
    version.refresh_from_db()
    return version


def reject(version: CriteriaVersion, user: Any, comment: str) -> CriteriaVersion:
    if not comment.strip():
        raise AgreementRefused("say why: a rejection needs a comment")
    with transaction.atomic():
        locked = _open_draft(version, user)
        CriteriaDecision.objects.create(
            version=locked,
            user=user,
            role=_teams_of(user)[0],
            decision=CriteriaDecision.Decision.REJECT,
            comment=comment.strip(),
        )
        locked.status = CriteriaVersion.Status.REJECTED
        locked.save(update_fields=["status"])
    version.refresh_from_db()
    return version


def _open_draft(version: CriteriaVersion, user: Any) -> CriteriaVersion:
    locked = CriteriaVersion.objects.select_for_update().get(pk=version.pk)
    refusal = _refusal(locked, user)
    if refusal is not None:
        raise AgreementRefused(refusal)
    return locked


def _refusal(version: CriteriaVersion, user: Any) -> str | None:
    """Why `user` may not decide on this version, or None."""
    if version.status != CriteriaVersion.Status.DRAFT:
        state = {"in_effect": "in effect", "rejected": "rejected"}.get(version.status, "decided")
        return f"this version is {state} already"
    if version.proposed_by_id is not None and version.proposed_by_id == user.pk:
        return "the proposer cannot decide on their own draft"
    if any(decision.user_id == user.pk for decision in version.decisions.all()):
        return "you have decided on this draft already"
    if not _teams_of(user):
        return "only marketing and sales users decide on criteria"
    return None


def may_decide(version: CriteriaVersion, user: Any) -> bool:
    """Whether `user` may approve or reject this draft now (the page shows the buttons)."""
    if _refusal(version, user) is not None:
        return False
    decided = {decision.role for decision in version.decisions.all()}
    return any(team not in decided for team in _teams_of(user))


def _teams_of(user: Any) -> list[str]:
    roles = roles_of(user)
    return [team for team in TEAMS if team in roles]


def criteria_of(version: CriteriaVersion) -> Criteria:
    return parse_criteria(version.definition)
