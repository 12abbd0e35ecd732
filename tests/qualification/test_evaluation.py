"""Qualifying moments on hand-made timelines (kpi-spec section 2b): window edges
(t - N days, t], activities before lead_at, OR of groups, not_in with missing values,
case-insensitive details, trimmed attributes, no score."""

from __future__ import annotations

import datetime as dt
from typing import Any

from qualification.criteria import parse_criteria
from qualification.evaluation import Activity, Profile, qualifying_moment

JST = dt.timezone(dt.timedelta(hours=9))
LEAD = dt.datetime(2026, 4, 1, 10, 0, tzinfo=JST)
DAY = dt.timedelta(days=1)


def _criteria(*groups: list[dict[str, Any]]) -> Any:
    return parse_criteria({"stage": "mql", "name": "test", "groups": [{"all": g} for g in groups]})


def _downloads(at_least: int, days: int, detail: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {"activity": ["download"], "at_least": at_least, "within_days": days}
    if detail:
        found["detail_contains"] = detail
    return found


def test_the_window_is_open_at_its_start_and_closed_at_its_end() -> None:
    criteria = _criteria([_downloads(2, 30)])
    first = LEAD + DAY
    exactly_30_days_later = Profile(
        LEAD, activities=[Activity(first, "download"), Activity(first + 30 * DAY, "download")]
    )
    assert qualifying_moment(criteria, exactly_30_days_later) is None
    a_second_less = first + 30 * DAY - dt.timedelta(seconds=1)
    inside = Profile(
        LEAD, activities=[Activity(first, "download"), Activity(a_second_less, "download")]
    )
    assert qualifying_moment(criteria, inside) == a_second_less


def test_activities_before_lead_at_count_and_the_moment_is_never_before_it() -> None:
    criteria = _criteria([_downloads(1, 7)])
    anonymous = Profile(LEAD, activities=[Activity(LEAD - 2 * DAY, "download")])
    assert qualifying_moment(criteria, anonymous) == LEAD
    too_early = Profile(LEAD, activities=[Activity(LEAD - 8 * DAY, "download")])
    assert qualifying_moment(criteria, too_early) is None
    later = Profile(
        LEAD,
        activities=[Activity(LEAD - 8 * DAY, "download"), Activity(LEAD + 3 * DAY, "download")],
    )
    assert qualifying_moment(criteria, later) == LEAD + 3 * DAY


def test_the_first_group_to_hold_gives_the_moment() -> None:
    criteria = _criteria(
        [{"field": "lead_score", "op": "gte", "value": 60}],
        [_downloads(2, 14)],
    )
    downloads = [Activity(LEAD + 2 * DAY, "download"), Activity(LEAD + 5 * DAY, "download")]
    assert qualifying_moment(criteria, Profile(LEAD, lead_score=40, activities=downloads)) == (
        LEAD + 5 * DAY
    )
    assert qualifying_moment(criteria, Profile(LEAD, lead_score=60, activities=downloads)) == LEAD
    assert qualifying_moment(criteria, Profile(LEAD, lead_score=None)) is None  # no score


def test_a_missing_value_is_in_no_list() -> None:
    not_retail = _criteria([{"field": "industry", "op": "not_in", "value": ["小売"]}])
    only_it = _criteria([{"field": "industry", "op": "in", "value": ["IT"]}])
    assert qualifying_moment(not_retail, Profile(LEAD)) == LEAD
    assert qualifying_moment(only_it, Profile(LEAD)) is None
    assert qualifying_moment(only_it, Profile(LEAD, industry=" IT ")) == LEAD
    assert qualifying_moment(not_retail, Profile(LEAD, industry="小売")) is None


def test_email_domains_compare_lower_cased_and_details_case_insensitively() -> None:
    free_mail = _criteria([{"field": "email_domain", "op": "not_in", "value": ["GMAIL.com"]}])
    assert qualifying_moment(free_mail, Profile(LEAD, email="taro@Gmail.COM")) is None
    assert qualifying_moment(free_mail, Profile(LEAD, email="taro@example.jp")) == LEAD
    assert qualifying_moment(free_mail, Profile(LEAD, email="")) == LEAD
    pricing = _criteria(
        [{"activity": ["page_view", "web_visit"], "detail_contains": "/pricing",
          "at_least": 1, "within_days": 30}]
    )  # fmt: skip
    visits = [
        Activity(LEAD + DAY, "page_view", "https://example.jp/blog"),
        Activity(LEAD + 2 * DAY, "download", "/pricing.pdf"),  # not a listed type
        Activity(LEAD + 3 * DAY, "web_visit", "https://example.jp/PRICING"),
    ]
    assert qualifying_moment(pricing, Profile(LEAD, activities=visits)) == LEAD + 3 * DAY


def test_every_condition_of_a_group_must_hold_at_the_same_moment() -> None:
    criteria = _criteria([_downloads(1, 7), {"activity": ["webinar"], "at_least": 1,
                                             "within_days": 7}])  # fmt: skip
    apart = [Activity(LEAD + DAY, "download"), Activity(LEAD + 10 * DAY, "webinar")]
    assert qualifying_moment(criteria, Profile(LEAD, activities=apart)) is None
    close = [Activity(LEAD + DAY, "download"), Activity(LEAD + 6 * DAY, "webinar")]
    assert qualifying_moment(criteria, Profile(LEAD, activities=close)) == LEAD + 6 * DAY
