"""When a person first meets a criteria version (kpi-spec section 2b): its qualifying
moment, the earliest t >= lead_at at which every condition of some group holds.

Attributes are the person's current values, constant over its timeline; behaviour counts
activities in the window (t - within_days x 24 h, t], activities before lead_at included.
Counts grow only at an activity's occurred_at, so the moment is lead_at or the occurred_at
of an activity at or after it: only those candidates are tried, in order."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from qualification.criteria import (
    BehaviourCondition,
    Criteria,
    Group,
    ScoreCondition,
    TextCondition,
)


@dataclass(frozen=True)
class Activity:
    occurred_at: dt.datetime
    type: str
    detail: str = ""


@dataclass(frozen=True)
class Profile:
    """What criteria read of one person."""

    lead_at: dt.datetime
    industry: str = ""
    company_size: str = ""
    channel: str = ""  # the first-touch channel's key
    campaign: str = ""  # the first-touch campaign's key
    owner: str = ""
    email: str = ""  # normalised
    lead_score: int | None = None
    activities: Sequence[Activity] = field(default_factory=tuple)

    def text(self, name: str) -> str:
        if name == "email_domain":
            return self.email.rpartition("@")[2].strip().lower() if "@" in self.email else ""
        return str(getattr(self, name) or "").strip()


def qualifying_moment(criteria: Criteria, profile: Profile) -> dt.datetime | None:
    """The earliest moment the criteria hold for this person, or None if they never do."""
    groups = [group for group in criteria.groups if attributes_hold(group, profile)]
    if not groups:
        return None
    behaviours = {
        condition: _times(condition, profile.activities)
        for group in groups
        for condition in group.conditions
        if isinstance(condition, BehaviourCondition)
    }
    candidates = {profile.lead_at}
    for times in behaviours.values():
        candidates.update(t for t in times if t >= profile.lead_at)
    for moment in sorted(candidates):
        for group in groups:
            if all(
                _count(behaviours[c], moment, c.within_days) >= c.at_least
                for c in group.conditions
                if isinstance(c, BehaviourCondition)
            ):
                return moment
    return None


def attributes_hold(group: Group, profile: Profile) -> bool:
    for condition in group.conditions:
        if isinstance(condition, ScoreCondition):
            if profile.lead_score is None or profile.lead_score < condition.minimum:
                return False
        elif isinstance(condition, TextCondition):
            value = profile.text(condition.field)
            listed = bool(value) and value in condition.values
            if listed != (condition.op == "in"):
                return False
    return True


def _times(condition: BehaviourCondition, activities: Sequence[Activity]) -> list[dt.datetime]:
    needle = condition.detail_contains.casefold()
    return sorted(
        activity.occurred_at
        for activity in activities
        if activity.type in condition.types
        and (not needle or needle in (activity.detail or "").casefold())
    )


def _count(times: list[dt.datetime], moment: dt.datetime, days: int) -> int:
    """Activities in (moment - days x 24 h, moment]."""
    return bisect_right(times, moment) - bisect_right(times, moment - dt.timedelta(days=days))
