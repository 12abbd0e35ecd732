"""Criteria versions as the product exchanges them (kpi-spec section 2b): the JSON of
`criteria import|export`, read into typed conditions with an error that names the place
of every problem (`groups[0].all[2].within_days: ...`), and written back canonically.

A version holds for a person at moment t when every condition of at least one group holds
at t; evaluation.py decides that."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from funnel.choices import ActivityType

STAGES = ("mql", "sql")
TEXT_FIELDS = ("industry", "company_size", "channel", "campaign", "owner", "email_domain")
SCORE_FIELD = "lead_score"
MAX_NAME = 200
MAX_DAYS = 3660  # ten years: longer windows are a typo


class CriteriaProblem(ValueError):
    """The criteria cannot be used as written: the message says where and why."""


@dataclass(frozen=True)
class TextCondition:
    """`field` (in | not_in) values: exact match after trimming; email_domain lower-cased."""

    field: str
    op: str  # in, not_in
    values: tuple[str, ...]


@dataclass(frozen=True)
class ScoreCondition:
    """lead_score >= minimum; a person without a score does not qualify by it."""

    minimum: int


@dataclass(frozen=True)
class BehaviourCondition:
    """At least `at_least` activities of `types` whose detail contains `detail_contains`
    (case-insensitive; empty: any) in the window (t - within_days x 24 h, t]."""

    types: tuple[str, ...]
    at_least: int
    within_days: int
    detail_contains: str = ""


Condition = TextCondition | ScoreCondition | BehaviourCondition


@dataclass(frozen=True)
class Group:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Criteria:
    stage: str
    name: str
    groups: tuple[Group, ...]

    def as_json(self) -> dict[str, Any]:
        """The exchange format, canonical: what `criteria export` prints."""
        return {
            "stage": self.stage,
            "name": self.name,
            "groups": [{"all": [_condition_json(c) for c in g.conditions]} for g in self.groups],
        }


def parse_criteria(data: Any) -> Criteria:
    """Typed criteria from the decoded JSON; CriteriaProblem names the first problem."""
    top = _object(data, "criteria", {"stage", "name", "groups"})
    stage = top.get("stage")
    if stage not in STAGES:
        raise CriteriaProblem(f"stage: one of {', '.join(STAGES)}, not {stage!r}")
    name = top.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise CriteriaProblem(f"name: a text of 1 to {MAX_NAME} characters")
    groups = top.get("groups")
    if not isinstance(groups, list) or not groups:
        raise CriteriaProblem("groups: a list of at least one group")
    return Criteria(
        stage=stage,
        name=name.strip(),
        groups=tuple(_group(item, f"groups[{index}]") for index, item in enumerate(groups)),
    )


def parse_criteria_text(text: str) -> Criteria:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CriteriaProblem(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    return parse_criteria(data)


def _object(data: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise CriteriaProblem(f"{where}: an object ({{...}})")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise CriteriaProblem(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )
    return data


def _group(data: Any, where: str) -> Group:
    group = _object(data, where, {"all"})
    conditions = group.get("all")
    if not isinstance(conditions, list) or not conditions:
        raise CriteriaProblem(f"{where}.all: a list of at least one condition")
    return Group(
        tuple(_condition(item, f"{where}.all[{index}]") for index, item in enumerate(conditions))
    )


def _condition(data: Any, where: str) -> Condition:
    if isinstance(data, dict) and "activity" in data:
        return _behaviour(data, where)
    item = _object(data, where, {"field", "op", "value"})
    field, op, value = item.get("field"), item.get("op"), item.get("value")
    if field == SCORE_FIELD:
        if op != "gte":
            raise CriteriaProblem(f"{where}.op: lead_score takes 'gte', not {op!r}")
        return ScoreCondition(_whole(value, f"{where}.value", minimum=None))
    if field not in TEXT_FIELDS:
        fields = ", ".join((*TEXT_FIELDS, SCORE_FIELD))
        raise CriteriaProblem(f"{where}.field: one of {fields} (or an 'activity' condition)")
    if op not in ("in", "not_in"):
        raise CriteriaProblem(f"{where}.op: {field} takes 'in' or 'not_in', not {op!r}")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise CriteriaProblem(f"{where}.value: a list of at least one text")
    values = tuple(v.strip() for v in value)
    if field == "email_domain":
        values = tuple(v.lower() for v in values)
    return TextCondition(field, op, values)


def _behaviour(data: Any, where: str) -> BehaviourCondition:
    item = _object(data, where, {"activity", "detail_contains", "at_least", "within_days"})
    types = item.get("activity")
    known = ActivityType.values
    if not isinstance(types, list) or not types:
        raise CriteriaProblem(f"{where}.activity: a list of activity types ({', '.join(known)})")
    for index, kind in enumerate(types):
        if kind not in known:
            raise CriteriaProblem(
                f"{where}.activity[{index}]: {kind!r} is not an activity type ({', '.join(known)})"
            )
    detail = item.get("detail_contains", "")
    if not isinstance(detail, str):
        raise CriteriaProblem(f"{where}.detail_contains: a text")
    for key in ("at_least", "within_days"):
        if key not in item:
            raise CriteriaProblem(f"{where}.{key}: required")
    return BehaviourCondition(
        types=tuple(dict.fromkeys(types)),
        at_least=_whole(item["at_least"], f"{where}.at_least", minimum=1),
        within_days=_whole(item["within_days"], f"{where}.within_days", minimum=1, top=MAX_DAYS),
        detail_contains=detail,
    )


def _whole(value: Any, where: str, minimum: int | None, top: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CriteriaProblem(f"{where}: a whole number, not {value!r}")
    if minimum is not None and value < minimum:
        raise CriteriaProblem(f"{where}: at least {minimum}, not {value}")
    if top is not None and value > top:
        raise CriteriaProblem(f"{where}: at most {top}, not {value}")
    return value


def _condition_json(condition: Condition) -> dict[str, Any]:
    if isinstance(condition, ScoreCondition):
        return {"field": SCORE_FIELD, "op": "gte", "value": condition.minimum}
    if isinstance(condition, TextCondition):
        return {"field": condition.field, "op": condition.op, "value": list(condition.values)}
    found: dict[str, Any] = {"activity": list(condition.types)}
    if condition.detail_contains:
        found["detail_contains"] = condition.detail_contains
    found.update(at_least=condition.at_least, within_days=condition.within_days)
    return found
