"""Criteria as people read them, in the page's language: one line per condition, so two
versions compare line by line (what a draft changes against the version in effect)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.utils.translation import gettext as _

from funnel.choices import ActivityType
from qualification.criteria import (
    BehaviourCondition,
    Condition,
    Criteria,
    ScoreCondition,
    TextCondition,
)


def field_label(name: str) -> str:
    return {
        "industry": _("industry"),
        "company_size": _("company size"),
        "channel": _("first-touch channel"),
        "campaign": _("campaign"),
        "owner": _("owner"),
        "email_domain": _("email domain"),
    }.get(name, name)


def describe(condition: Condition) -> str:
    if isinstance(condition, ScoreCondition):
        return _("lead score is %(minimum)s or more") % {"minimum": condition.minimum}
    if isinstance(condition, TextCondition):
        values = ", ".join(condition.values)
        if condition.op == "in":
            return _("%(field)s is one of: %(values)s") % {
                "field": field_label(condition.field),
                "values": values,
            }
        return _("%(field)s is none of: %(values)s (or empty)") % {
            "field": field_label(condition.field),
            "values": values,
        }
    return _behaviour(condition)


def _behaviour(condition: BehaviourCondition) -> str:
    labels = dict(ActivityType.choices)
    kinds = " / ".join(str(labels.get(kind, kind)) for kind in condition.types)
    text = _("at least %(count)s × %(kinds)s in the last %(days)s days") % {
        "count": condition.at_least,
        "kinds": kinds,
        "days": condition.within_days,
    }
    if condition.detail_contains:
        text += " " + _("(detail contains “%(text)s”)") % {"text": condition.detail_contains}
    return text


def lines(criteria: Criteria) -> list[str]:
    """Each group as a heading line and its conditions, in order."""
    found = []
    for number, group in enumerate(criteria.groups, start=1):
        found.append(_("Group %(number)s: all of") % {"number": number})
        found.extend(f"  • {describe(condition)}" for condition in group.conditions)
    return found


@dataclass(frozen=True)
class DiffLine:
    text: str
    change: str  # "added", "removed" or "" (the same in both)


def diff(current: Criteria | None, proposed: Criteria) -> list[DiffLine]:
    """The draft's lines against the version in effect: what stays, goes and comes."""
    old, new = lines(current) if current else [], lines(proposed)
    found: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
        if tag == "equal":
            found.extend(DiffLine(text, "") for text in new[j1:j2])
            continue
        found.extend(DiffLine(text, "removed") for text in old[i1:i2])
        found.extend(DiffLine(text, "added") for text in new[j1:j2])
    return found
