"""The demo company: deterministic, realistic in shape, idempotent to load, with working logins."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from funnel.choices import DEFAULT_SALES_CHANNEL_KEYS, DisqualifyReason, OpportunityStatus
from funnel.demo import CHANNEL_NAMES, DEMO_USERS, DemoData, build_demo, load_demo
from funnel.metrics.attribution import attributed_won_amount
from funnel.metrics.filters import KpiFilters
from funnel.metrics.window import Window
from funnel.models import Campaign, Channel
from funnel.periods import fiscal_quarter_of, local_midnight, next_quarter, parse_period
from funnel.records import PersonRecord, normalise_email

TODAY = dt.date(2026, 11, 25)
SIZE = 600
MARKETING_CHANNELS = {
    "organic_search",
    "paid_search",
    "webinar",
    "exhibition",
    "content_download",
    "email",
    "referral",
}


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return build_demo(TODAY, SIZE, seed=7)


def _merged(demo: DemoData) -> dict[str, list[PersonRecord]]:
    persons: dict[str, list[PersonRecord]] = {}
    for source in demo.sources:
        for record in source.persons:
            persons.setdefault(normalise_email(record.email), []).append(record)
    return persons


def _stage_counts(demo: DemoData) -> dict[str, int]:
    merged = _merged(demo)
    key_of = {r.external_id: normalise_email(r.email) for r in demo.sfa.persons}
    with_deal, with_win = set(), set()
    for deal in demo.sfa.opportunities:
        key = key_of.get(deal.person_external_id) or normalise_email(deal.person_email)
        if key:
            with_deal.add(key)
            if deal.status == OpportunityStatus.WON:
                with_win.add(key)
    return {
        "leads": len(merged),
        "mqls": sum(any(r.mql_at for r in records) for records in merged.values()),
        "sqls": sum(any(r.sql_at for r in records) for records in merged.values()),
        "opportunities": len(with_deal),
        "won": len(with_win),
    }


def test_it_is_deterministic() -> None:
    assert build_demo(TODAY, SIZE, seed=3) == build_demo(TODAY, SIZE, seed=3)
    assert build_demo(TODAY, SIZE, seed=3) != build_demo(TODAY, SIZE, seed=4)


def test_it_holds_one_person_per_requested_person(demo: DemoData) -> None:
    assert len(_merged(demo)) == SIZE


def test_it_dates_nothing_after_today(demo: DemoData) -> None:
    cutoff = local_midnight(TODAY)
    moments = [
        moment
        for source in demo.sources
        for kind in ("persons", "opportunities", "activities")
        for record in source.records(kind)
        for moment in (
            getattr(record, "created_at", None),
            getattr(record, "mql_at", None),
            getattr(record, "sql_at", None),
            getattr(record, "disqualified_at", None),
            getattr(record, "closed_at", None),
            getattr(record, "occurred_at", None),
        )
        if moment is not None
    ]
    assert max(moments) < cutoff
    assert min(moments) > cutoff - dt.timedelta(days=2 * 366)
    assert max(cost.date for cost in demo.ma.costs) <= TODAY


def test_it_covers_every_channel(demo: DemoData) -> None:
    channels = {r.channel for source in demo.sources for r in source.persons if r.channel}
    assert channels >= MARKETING_CHANNELS
    assert {"outbound", "partner"} <= channels
    assert {cost.channel for cost in demo.ma.costs} >= MARKETING_CHANNELS


def test_funnel_counts_decrease_down_the_stages(demo: DemoData) -> None:
    counts = _stage_counts(demo)
    assert counts["leads"] > counts["mqls"] > counts["sqls"] > counts["opportunities"]
    assert counts["opportunities"] > counts["won"] > 0


def test_sales_sourced_persons_skip_mql(demo: DemoData) -> None:
    sales = [r for r in demo.sfa.persons if r.channel in DEFAULT_SALES_CHANNEL_KEYS]
    assert sales
    assert all(r.mql_at is None for r in sales)
    assert any(r.sql_at for r in sales)
    sales_ids = {r.external_id for r in sales}
    assert any(d.person_external_id in sales_ids for d in demo.sfa.opportunities)


def test_some_persons_merge_across_sources_with_another_email_case(demo: DemoData) -> None:
    both = [records for records in _merged(demo).values() if len(records) == 2]
    assert both
    assert any(a.email != b.email for a, b in both)
    for ma_record, sfa_record in both:
        assert ma_record.created_at < sfa_record.created_at
        assert ma_record.mql_at and not sfa_record.mql_at
        assert sfa_record.owner


def test_some_marketing_leads_reach_salesforce_through_a_second_door(demo: DemoData) -> None:
    both = [records for records in _merged(demo).values() if len(records) == 2]
    second = [(ma, sfa) for ma, sfa in both if sfa.channel]
    assert 0.1 < len(second) / len(both) < 0.4
    for ma_record, sfa_record in second:
        assert sfa_record.channel in ("partner", "referral")
        assert sfa_record.channel != ma_record.channel
        assert sfa_record.campaign


@pytest.mark.django_db
def test_its_attribution_models_tell_the_channels_apart() -> None:
    """With second touches, the won amount per channel differs between the models (with one
    touch per person the dashboard's four columns were the same)."""
    load_demo(TODAY, SIZE, seed=7)
    year = parse_period("FY2025")
    result = attributed_won_amount(Window(year, local_midnight(TODAY)), KpiFilters())
    assert sum(result["first_touch"].values()) == sum(result["last_touch"].values()) > 0
    assert result["first_touch"] != result["last_touch"]
    assert result["last_touch"].get("partner", 0) > result["first_touch"].get("partner", 0)


def test_some_mqls_are_disqualified_and_some_recycled(demo: DemoData) -> None:
    disqualified = [r for r in demo.sfa.persons if r.disqualified_at]
    assert disqualified
    assert {r.disqualify_reason for r in disqualified} <= set(DisqualifyReason.values)
    assert len({r.disqualify_reason for r in disqualified}) >= 4
    recycled = [r for r in disqualified if r.sql_at and r.sql_at > r.disqualified_at]
    assert recycled


def test_opportunities_are_open_won_and_lost(demo: DemoData) -> None:
    deals = demo.sfa.opportunities
    statuses = Counter(d.status for d in deals)
    assert set(statuses) == set(OpportunityStatus.values)
    assert all(d.closed_at is None for d in deals if d.status == OpportunityStatus.OPEN)
    assert all(d.loss_reason for d in deals if d.status == OpportunityStatus.LOST)
    assert all(500_000 <= d.amount <= 10_000_000 for d in deals if d.person_external_id)
    closed = statuses[OpportunityStatus.WON] + statuses[OpportunityStatus.LOST]
    assert 0.15 <= statuses[OpportunityStatus.WON] / closed <= 0.35


def test_a_few_deals_have_no_person_or_only_an_email() -> None:
    demo = build_demo(TODAY, 3000, seed=7)
    deals = demo.sfa.opportunities
    by_email = [d for d in deals if d.person_email]
    assert 0 < len(by_email) < len(deals) * 0.1
    ma_emails = {normalise_email(r.email) for r in demo.ma.persons}
    assert all(normalise_email(d.person_email) in ma_emails for d in by_email)
    without = [d for d in deals if not d.person_external_id and not d.person_email]
    assert 0 < len(without) < len(deals) * 0.1


def test_activities_are_tracked_per_person_and_anonymously(demo: DemoData) -> None:
    activities = demo.ma.activities
    tracked = [a for a in activities if a.person_external_id]
    assert 4 <= len(tracked) / len(demo.ma.persons) <= 6
    assert any(not a.person_external_id and a.type == "web_visit" for a in activities)
    assert len({a.type for a in activities}) == 8


def test_targets_cover_the_history_the_current_and_the_next_quarter(demo: DemoData) -> None:
    current = fiscal_quarter_of(TODAY)
    periods = {t.period for t in demo.sfa.targets}
    assert {current.name, next_quarter(current).name} <= periods
    assert fiscal_quarter_of(TODAY - dt.timedelta(days=540)).name in periods
    kpis = {t.kpi for t in demo.sfa.targets}
    assert kpis == {"won_amount", "leads", "mqls", "sqls", "opportunities"}
    assert all(t.value > 0 for t in demo.sfa.targets)


@pytest.mark.django_db
def test_loading_twice_changes_nothing() -> None:
    first = load_demo(TODAY, SIZE, seed=7)
    second = load_demo(TODAY, SIZE, seed=7)
    counts = build_demo(TODAY, SIZE, seed=7).counts()
    for name, kinds in first["sources"].items():
        for kind, result in kinds.items():
            if kind == "kind":
                continue
            assert result["records"] == counts[name][kind]
            assert result["rejected"] == 0, (name, kind)
            assert second["sources"][name][kind]["created"] == 0, (name, kind)
            assert second["sources"][name][kind]["updated"] == 0, (name, kind)
    assert first["sources"]["hubspot"]["persons"]["created"] == counts["hubspot"]["persons"]
    assert all(user["created"] for user in first["users"])
    assert not any(user["created"] or user["updated"] for user in second["users"])


@pytest.mark.django_db
def test_its_channels_and_campaigns_have_names_and_an_admins_rename_stays() -> None:
    load_demo(TODAY, SIZE, seed=7)
    names = dict(Channel.objects.values_list("key", "name"))
    assert names == {key: CHANNEL_NAMES[key] for key in names}
    assert set(names) == set(CHANNEL_NAMES)
    Channel.objects.filter(key="webinar").update(name="オンラインセミナー")
    campaigns = dict(Campaign.objects.values_list("key", "name"))
    assert campaigns and all(name and name != key for key, name in campaigns.items())
    webinar = Campaign.objects.filter(key__startswith="wb-").first()
    assert webinar is not None and webinar.name.endswith(")")  # its title and day
    webinar.name = "秋のセミナー"
    webinar.save()
    load_demo(TODAY, SIZE, seed=7)
    assert Channel.objects.get(key="webinar").name == "オンラインセミナー"
    assert Campaign.objects.get(pk=webinar.pk).name == "秋のセミナー"


@pytest.mark.django_db
def test_the_command_prints_counts_and_logins_that_work() -> None:
    out = StringIO()
    call_command("load_demo", persons=SIZE, seed=7, today=TODAY, allow_production=True, stdout=out)
    printed = out.getvalue()
    assert "hubspot (ma)" in printed
    assert "salesforce (sfa)" in printed
    assert "opportunities" in printed
    for spec in DEMO_USERS:
        assert f"{spec.username}" in printed and spec.password in printed
        login = RequestFactory().post("/accounts/login/")  # login throttling needs the request
        user = authenticate(login, username=spec.username, password=spec.password)
        assert user is not None
        assert list(user.groups.values_list("name", flat=True)) == [spec.group]
        assert user.is_staff == (spec.group == "ops_admin")


@pytest.mark.django_db
def test_it_refuses_production_without_the_flag(settings: Any) -> None:
    settings.DEBUG = False
    settings.EMBEDDED = False
    with pytest.raises(CommandError, match="public"):
        call_command("load_demo", persons=SIZE, seed=7, today=TODAY, stdout=StringIO())


@pytest.mark.django_db
def test_its_sales_manager_has_decided_on_recent_mqls() -> None:
    """The feedback loop shows working: decisions on the last weeks' MQLs, accepted and
    rejected with reasons, each after its MQL date and before the demo's now; once."""
    from feedback.demo import DEMO_WEEKS, ensure_demo_feedback
    from feedback.models import Feedback
    from feedback.selectors import feedback_summary

    load_demo(TODAY, 3000, seed=7)  # enough MQLs in the last weeks
    now = local_midnight(TODAY)
    made, fresh = ensure_demo_feedback(7, now)
    assert fresh and made == Feedback.objects.count() > 5
    decisions = list(Feedback.objects.select_related("person", "author"))
    assert {f.decision for f in decisions} == {"accept", "reject"}
    assert all(f.reason for f in decisions if f.decision == "reject")
    assert len({f.reason for f in decisions}) >= 4
    assert {f.author.username for f in decisions} == {"sales"}
    since = now - dt.timedelta(weeks=DEMO_WEEKS)
    for f in decisions:
        assert f.person.mql_at is not None and since <= f.person.mql_at < f.decided_at < now
    for f in decisions:
        if f.decision == "accept":
            assert f.person.sql_at is not None and f.person.sql_at <= f.decided_at
        else:
            assert f.person.disqualified_at == f.decided_at
    summary = feedback_summary(fiscal_quarter_of(TODAY), now)
    assert sum(row.decided for row in summary.by_channel) > 0
    assert ensure_demo_feedback(7, now) == (made, False)
    assert Feedback.objects.count() == made
