"""Criteria as JSON (kpi-spec section 2b): the spec's example reads and writes back the
same; every problem is named by its place."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qualification.criteria import (
    BehaviourCondition,
    CriteriaProblem,
    ScoreCondition,
    TextCondition,
    parse_criteria,
    parse_criteria_text,
)

SPEC_EXAMPLE = """
{"stage": "mql", "name": "MQL 2026-10", "groups": [
  {"all": [{"field": "lead_score", "op": "gte", "value": 60},
           {"field": "industry", "op": "in", "value": ["IT", "製造"]},
           {"activity": ["web_visit", "page_view"], "detail_contains": "/pricing",
            "at_least": 1, "within_days": 30}]},
  {"all": [{"activity": ["download"], "at_least": 2, "within_days": 14}]}]}
"""


def test_the_spec_example_reads_and_writes_back_the_same() -> None:
    criteria = parse_criteria_text(SPEC_EXAMPLE)
    assert criteria.stage == "mql" and criteria.name == "MQL 2026-10"
    first, second = criteria.groups
    assert first.conditions == (
        ScoreCondition(60),
        TextCondition("industry", "in", ("IT", "製造")),
        BehaviourCondition(("web_visit", "page_view"), 1, 30, "/pricing"),
    )
    assert second.conditions == (BehaviourCondition(("download",), 2, 14),)
    assert criteria.as_json() == json.loads(SPEC_EXAMPLE)
    assert parse_criteria(criteria.as_json()) == criteria


def test_values_are_trimmed_and_email_domains_lower_cased() -> None:
    criteria = parse_criteria(
        {"stage": "sql", "name": " x ", "groups": [{"all": [
            {"field": "email_domain", "op": "not_in", "value": [" Gmail.COM "]},
            {"field": "owner", "op": "in", "value": [" 佐藤 花子 "]},
        ]}]}
    )  # fmt: skip
    assert criteria.name == "x"
    assert criteria.groups[0].conditions == (
        TextCondition("email_domain", "not_in", ("gmail.com",)),
        TextCondition("owner", "in", ("佐藤 花子",)),
    )


def _with(condition: Any) -> dict[str, Any]:
    return {"stage": "mql", "name": "n", "groups": [{"all": [condition]}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "criteria: an object"),
        ({"stage": "lead", "name": "n", "groups": []}, "stage: one of mql, sql, not 'lead'"),
        ({"stage": "mql", "name": "", "groups": []}, "name: a text of 1 to 200 characters"),
        ({"stage": "mql", "name": "n", "groups": []}, "groups: a list of at least one group"),
        ({"stage": "mql", "name": "n", "groups": [{"any": []}]}, "groups[0]: unknown key 'any'"),
        ({"stage": "mql", "name": "n", "groups": [{"all": []}]}, "groups[0].all: a list of at"),
        (_with({"field": "lead_score", "op": "in", "value": [1]}), "groups[0].all[0].op: lead_"),
        (_with({"field": "lead_score", "op": "gte", "value": "60"}), "all[0].value: a whole"),
        (_with({"field": "lead_score", "op": "gte", "value": True}), "all[0].value: a whole"),
        (_with({"field": "title", "op": "in", "value": ["x"]}), "all[0].field: one of industry"),
        (_with({"field": "industry", "op": "eq", "value": ["x"]}), "all[0].op: industry takes"),
        (_with({"field": "industry", "op": "in", "value": "IT"}), "all[0].value: a list of at"),
        (_with({"field": "industry", "op": "in", "value": []}), "all[0].value: a list of at"),
        (_with({"activity": ["call"], "at_least": 1, "within_days": 7}), "activity[0]: 'call'"),
        (_with({"activity": [], "at_least": 1, "within_days": 7}), "all[0].activity: a list"),
        (_with({"activity": ["download"], "within_days": 7}), "all[0].at_least: required"),
        (_with({"activity": ["download"], "at_least": 0, "within_days": 7}), "at least 1, not 0"),
        (_with({"activity": ["download"], "at_least": 1, "within_days": 1.5}), "within_days: a"),
        (_with({"activity": ["download"], "at_least": 1, "within_days": 99999}), "at most 3660"),
        (_with({"activity": ["download"], "at_least": 1, "within_days": 7, "x": 1}), "key 'x'"),
        (
            _with(
                {"activity": ["download"], "at_least": 1, "within_days": 7, "detail_contains": 3}
            ),
            "all[0].detail_contains: a text",
        ),
    ],
)
def test_every_problem_is_named_by_its_place(data: Any, message: str) -> None:
    with pytest.raises(CriteriaProblem) as problem:
        parse_criteria(data)
    assert message in str(problem.value)


def test_text_that_is_not_json_says_where() -> None:
    with pytest.raises(CriteriaProblem, match=r"not valid JSON \(line 1, column 2\)"):
        parse_criteria_text("{stage")
