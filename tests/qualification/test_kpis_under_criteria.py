"""KPIs under agreed criteria (kpi-spec 2b and 7): the worked example with a criteria file
of our own, checked against qualifying moments found by brute force over the stored
persons and activities; the version in effect at as_of; the ingest keeping moments
current; the API's criteria_mql; SQL as the earlier of the rules and sales' acceptance."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from funnel.ingest.feedback import record_acceptance
from funnel.models import Activity, Person, QualificationSetting
from funnel.periods import parse_as_of, parse_period
from qualification.criteria import parse_criteria
from qualification.models import CriteriaVersion, MomentSet, QualifyingMoment
from qualification.moments import moment_set_for, moments_of, ready_set

pytestmark = pytest.mark.django_db

AS_OF = "2026-06-15T00:00:00+09:00"
MQL_CRITERIA = {
    "stage": "mql",
    "name": "Pricing page and score, or two downloads",
    "groups": [
        {
            "all": [
                {"field": "lead_score", "op": "gte", "value": 60},
                {
                    "activity": ["web_visit"],
                    "detail_contains": "/PRICING",
                    "at_least": 1,
                    "within_days": 30,
                },
            ]
        },
        {"all": [{"activity": ["download"], "at_least": 2, "within_days": 14}]},
        {
            "all": [
                {"field": "company_size", "op": "not_in", "value": ["1-49"]},
                {"activity": ["web_visit", "email_open"], "at_least": 2, "within_days": 7},
            ]
        },
    ],
}


def _import(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())


def _kpis(*, as_of: str = AS_OF, criteria: str | None = None) -> dict[str, Any]:
    out = StringIO()
    options: dict[str, Any] = {"period": "FY2026Q1", "as_of": as_of, "format": "json"}
    if criteria:
        options["criteria"] = criteria
    call_command("kpis", stdout=out, **options)
    return json.loads(out.getvalue())


def _brute_force_moment(person: Person, activities: list[Activity]) -> dt.datetime | None:
    """The spec's definition read literally: try lead_at and every activity at or after it,
    in order, and count each group's activities in (t - N days, t] one by one."""
    candidates = sorted(
        {person.lead_at} | {a.occurred_at for a in activities if a.occurred_at >= person.lead_at}
    )
    for t in candidates:
        first = (person.lead_score or -1) >= 60 and any(
            a.type == "web_visit"
            and "/pricing" in a.detail.lower()
            and t - dt.timedelta(days=30) < a.occurred_at <= t
            for a in activities
        )
        downloads = [
            a
            for a in activities
            if a.type == "download" and t - dt.timedelta(days=14) < a.occurred_at <= t
        ]
        visits = [
            a
            for a in activities
            if a.type in ("web_visit", "email_open")
            and t - dt.timedelta(days=7) < a.occurred_at <= t
        ]
        third = person.company_size != "1-49" and len(visits) >= 2
        if first or len(downloads) >= 2 or third:
            return t
    return None


def _expected_moments() -> dict[int, dt.datetime]:
    moments = {}
    for person in Person.objects.all():
        moment = _brute_force_moment(person, list(Activity.objects.filter(person=person)))
        if moment is not None:
            moments[person.pk] = moment
    return moments


def test_the_worked_example_under_a_criteria_file_equals_the_brute_force(
    example_dir: Path, tmp_path: Path
) -> None:
    _import(example_dir)
    criteria_file = tmp_path / "mql.json"
    criteria_file.write_text(json.dumps(MQL_CRITERIA, ensure_ascii=False), encoding="utf-8")
    moments = _expected_moments()
    period, as_of = parse_period("FY2026Q1"), parse_as_of(AS_OF)
    in_period = {
        pid: m for pid, m in moments.items() if period.start_at <= m < period.end_at and m <= as_of
    }
    assert 5 < len(in_period) < Person.objects.count()  # the criteria select, not all or none

    result = _kpis(criteria=f"mql={criteria_file}")
    source = _kpis()

    assert result["kpis"]["mqls"] == len(in_period)
    assert result["kpis"]["mqls"] != source["kpis"]["mqls"]
    persons = {p.pk: p for p in Person.objects.filter(pk__in=in_period)}
    converted = [
        pid
        for pid, p in persons.items()
        if any(d is not None and d <= as_of for d in (p.sql_at, p.opportunity_at, p.won_at))
    ]
    cohort = result["cohorts"]["mql_to_sql_rate"]
    assert (cohort["size"], cohort["converted"]) == (len(in_period), len(converted))
    reached_opportunity = [
        pid
        for pid, p in persons.items()
        if any(d is not None and d <= as_of for d in (p.opportunity_at, p.won_at))
    ]
    assert result["cohorts"]["opportunity_rate"]["converted"] == len(reached_opportunity)
    # lead -> MQL days over the lead cohort of the period that reached MQL by the rules.
    leads = Person.objects.filter(lead_at__gte=period.start_at, lead_at__lt=period.end_at)
    days = [
        max((moments[p.pk] - p.lead_at).total_seconds(), 0) / 86_400
        for p in leads
        if p.pk in moments and moments[p.pk] <= as_of
    ]
    expected_days = statistics.median(days) if days else None
    assert result["velocity"]["lead_to_mql_days"] == pytest.approx(expected_days)
    # Everything not about MQL dates is untouched.
    for key in ("leads", "sqls", "opportunities", "won_deals", "won_amount"):
        assert result["kpis"][key] == source["kpis"][key]
    # A version id gives the same numbers as the file.
    version = CriteriaVersion.objects.create(
        stage="mql", name="draft", definition=parse_criteria(MQL_CRITERIA).as_json()
    )
    assert _kpis(criteria=f"mql={version.pk}") == result


def test_the_version_in_effect_at_as_of_applies_in_rules_mode(example_dir: Path) -> None:
    _import(example_dir)
    source = _kpis()
    chosen = _kpis(criteria="mql=" + str(_version_in_effect_from("2026-05-01T00:00:00+09:00").pk))
    # Source mode: the version in effect is not used.
    assert _kpis() == source
    QualificationSetting.objects.update_or_create(stage="mql", defaults={"mode": "rules"})
    assert _kpis() == chosen
    # The trend, the records behind a number and the SLA read the same dates.
    from funnel.metrics.filters import KpiFilters
    from funnel.metrics.records import record_count, records_behind
    from funnel.metrics.trend import shared_kpi_trend
    from funnel.metrics.window import Window
    from qualification.applied import stage_dates

    period, as_of = parse_period("FY2026Q1"), parse_as_of(AS_OF)
    dates = stage_dates(as_of)
    assert dates.mql_set is not None and dates.sql_set is None
    (trend,) = shared_kpi_trend([period], as_of, None, dates)
    for key in ("mqls", "mql_to_sql_rate", "opportunity_rate", "sqls", "leads"):
        assert trend["kpis"][key] == pytest.approx(chosen["kpis"][key]), key
    window = Window(period, as_of, dates)
    assert (
        record_count("mqls", records_behind("mqls", window, KpiFilters())).count
        == (chosen["kpis"]["mqls"])
    )
    cohort = record_count(
        "opportunity_rate", records_behind("opportunity_rate", window, KpiFilters())
    )
    shown = chosen["cohorts"]["opportunity_rate"]
    assert (cohort.count, cohort.converted) == (shown["size"], shown["converted"])
    # Before the version took effect the source dates stand (a past report is unchanged).
    before = _kpis(as_of="2026-04-30T23:59:59+09:00")
    QualificationSetting.objects.update_or_create(stage="mql", defaults={"mode": "source"})
    assert before == _kpis(as_of="2026-04-30T23:59:59+09:00")


def _version_in_effect_from(moment: str) -> CriteriaVersion:
    return CriteriaVersion.objects.create(
        stage="mql",
        name="agreed",
        definition=parse_criteria(MQL_CRITERIA).as_json(),
        status=CriteriaVersion.Status.IN_EFFECT,
        effective_at=parse_as_of(moment),
    )


def _stored(moment_set: MomentSet) -> dict[int, dt.datetime]:
    return dict(
        QualifyingMoment.objects.filter(moment_set=moment_set).values_list("person_id", "moment")
    )


def test_imports_keep_the_moments_current(example_dir: Path, tmp_path: Path) -> None:
    _import(example_dir)
    criteria = parse_criteria(MQL_CRITERIA)
    moment_set = ready_set(criteria)
    assert _stored(moment_set) == _expected_moments()
    # New activities make a person qualify: two downloads within 14 days.
    person = Person.objects.filter(qualifying_moments__isnull=True).order_by("pk").first()
    assert person is not None
    email = person.email_normalized
    extra = tmp_path / "activities"
    extra.mkdir()
    (extra / "activities.csv").write_text(
        "external_id,person_external_id,person_email,type,occurred_at,detail\n"
        f"X1,,{email},download,2026-05-01T00:00:00Z,whitepaper\n"
        f"X2,,{email},download,2026-05-03T00:00:00Z,guide\n",
        encoding="utf-8",
    )
    call_command("import_csv", str(extra), source="extra", stdout=StringIO())
    stored = _stored(moment_set)
    assert stored[person.pk] == dt.datetime(2026, 5, 3, tzinfo=dt.UTC)
    assert stored == _expected_moments()
    assert stored == moments_of(criteria, list(Person.objects.values_list("pk", flat=True)))
    # Removing the activities takes the moment away again.
    from funnel.ingest.removal import remove_activities
    from funnel.models import Source

    remove_activities(Source.objects.get(name="extra"), ["X1", "X2"])
    assert person.pk not in _stored(moment_set)
    assert _stored(moment_set) == _expected_moments()


def test_sql_under_rules_is_the_earlier_of_the_rules_and_sales_acceptance(
    example_dir: Path,
) -> None:
    _import(example_dir)
    sql_criteria = {**MQL_CRITERIA, "stage": "sql", "name": "SQL"}
    moment_set = ready_set(parse_criteria(sql_criteria))
    qualified = _stored(moment_set)
    pid, moment = next(iter(sorted(qualified.items())))
    never = Person.objects.exclude(pk__in=qualified).order_by("pk").first()
    assert never is not None
    earlier = moment - dt.timedelta(days=1)
    record_acceptance(Person.objects.get(pk=pid), earlier)
    accepted_at = timezone.now().replace(microsecond=0)
    record_acceptance(never, accepted_at)
    stored = _stored(moment_set)
    assert stored[pid] == earlier
    assert stored[never.pk] == accepted_at
    assert moment_set_for(parse_criteria(sql_criteria)).pk == moment_set.pk


def test_the_api_computes_a_version_and_refuses_a_bad_one(
    example_dir: Path, role_user: Any
) -> None:
    _import(example_dir)
    version = CriteriaVersion.objects.create(
        stage="mql", name="draft", definition=parse_criteria(MQL_CRITERIA).as_json()
    )
    client = Client()
    client.force_login(role_user("marketing"))
    answer = client.get(
        "/api/v1/kpis/", {"period": "FY2026Q1", "as_of": AS_OF, "criteria_mql": version.pk}
    )
    assert answer.status_code == 200
    assert answer.json()["kpis"] == _kpis(criteria=f"mql={version.pk}")["kpis"]
    for value, words in (
        ("abc", "criteria version id"),
        ("999999", "no criteria version"),
    ):
        bad = client.get("/api/v1/kpis/", {"period": "FY2026Q1", "criteria_mql": value})
        assert bad.status_code == 400
        assert words in bad.json()["detail"]
    wrong_stage = client.get("/api/v1/kpis/", {"criteria_sql": version.pk})
    assert wrong_stage.status_code == 400
    assert "is for mql" in wrong_stage.json()["detail"]


def test_the_command_names_what_is_wrong_with_criteria(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"stage": "mql", "name": "x", "groups": [{"all": []}]}', encoding="utf-8")
    sql_file = tmp_path / "sql.json"
    sql_file.write_text(json.dumps({**MQL_CRITERIA, "stage": "sql"}), encoding="utf-8")
    for spec, words in (
        ("mql", "expected mql=FILE_OR_ID"),
        (f"mql={tmp_path / 'missing.json'}", "cannot read"),
        (f"mql={broken}", "groups[0]"),
        (f"mql={sql_file}", "holds sql criteria"),
        ("mql=424242", "no criteria version 424242"),
    ):
        with pytest.raises(CommandError, match=words.replace("[", r"\[").replace("]", r"\]")):
            _kpis(criteria=spec)


def test_sets_nobody_needs_are_deleted_and_lost_ones_computed_again(
    example_dir: Path, tmp_path: Path
) -> None:
    from qualification.moments import tidy_sets

    _import(example_dir)
    criteria_file = tmp_path / "mql.json"
    criteria_file.write_text(json.dumps(MQL_CRITERIA), encoding="utf-8")
    _kpis(criteria=f"mql={criteria_file}")  # a set for a file, used now
    from_file = MomentSet.objects.get()
    version = CriteriaVersion.objects.create(
        stage="sql", name="draft", definition={**MQL_CRITERIA, "stage": "sql"}
    )
    lost = moment_set_for(parse_criteria(version.definition))  # its task never ran
    now = timezone.now()
    assert tidy_sets(now) == ([lost.pk], 0)
    assert tidy_sets(now + dt.timedelta(days=8)) == ([lost.pk], 1)
    assert not MomentSet.objects.filter(pk=from_file.pk).exists()
    assert MomentSet.objects.filter(pk=lost.pk).exists()  # a draft's set stays


def test_the_version_in_effect_now_is_read_from_the_persons_as_from_the_join(
    example_dir: Path, tmp_path: Path
) -> None:
    """The set of the version in effect now is copied to Person.ruled_mql_at (for speed);
    read there or joined, every number is the same, and imports keep the copy current."""
    from funnel.metrics.snapshot import kpi_snapshot
    from funnel.metrics.window import StageDates
    from qualification.applied import stage_dates
    from qualification.moments import sync_persons_with_versions

    _import(example_dir)
    _version_in_effect_from("2026-05-01T00:00:00+09:00")
    QualificationSetting.objects.update_or_create(stage="mql", defaults={"mode": "rules"})
    moment_set = ready_set(parse_criteria(MQL_CRITERIA))
    sync_persons_with_versions(timezone.now())
    moment_set.refresh_from_db()
    assert moment_set.on_persons

    def copied() -> dict[int, dt.datetime]:
        return dict(Person.objects.exclude(ruled_mql_at=None).values_list("pk", "ruled_mql_at"))

    assert copied() == _stored(moment_set)
    period, as_of = parse_period("FY2026Q1"), parse_as_of(AS_OF)
    dates = stage_dates(as_of)
    assert dates.mql_on_persons and dates.field("mql_at") == "ruled_mql_at"
    joined = StageDates(mql_set=moment_set.pk)
    assert joined.field("mql_at") == "ruled_mql__moment"
    assert kpi_snapshot(period, as_of, dates=dates) == kpi_snapshot(period, as_of, dates=joined)
    # An import keeps the copy current, in its transaction.
    person = Person.objects.filter(ruled_mql_at=None).order_by("pk").first()
    assert person is not None
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "activities.csv").write_text(
        "external_id,person_external_id,person_email,type,occurred_at,detail\n"
        f"Y1,,{person.email_normalized},download,2026-05-01T00:00:00Z,a\n"
        f"Y2,,{person.email_normalized},download,2026-05-02T00:00:00Z,b\n",
        encoding="utf-8",
    )
    call_command("import_csv", str(extra), source="more", stdout=StringIO())
    assert copied()[person.pk] == dt.datetime(2026, 5, 2, tzinfo=dt.UTC)
    assert copied() == _stored(moment_set) == _expected_moments()
    # With no version in effect any more, the copy is cleared.
    CriteriaVersion.objects.all().delete()
    sync_persons_with_versions(timezone.now())
    assert copied() == {}
    assert not MomentSet.objects.filter(on_persons=True).exists()


def test_the_dashboard_says_which_definition_its_numbers_use(
    example_dir: Path, role_user: Any
) -> None:
    _import(example_dir)
    client = Client()
    client.force_login(role_user("marketing"))
    question = {"period": "FY2026Q1", "as_of": AS_OF}
    assert "data-definitions" not in client.get("/", question).content.decode()
    version = _version_in_effect_from("2026-05-01T00:00:00+09:00")
    QualificationSetting.objects.update_or_create(stage="mql", defaults={"mode": "rules"})
    page = client.get("/", question, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "MQL: by the agreed criteria “agreed” (in effect since 2026-05-01)" in page
    before = client.get("/", {**question, "as_of": "2026-04-15"}).content.decode()
    assert "data-definitions" not in before  # not yet in effect then
    draft = client.get(
        "/", {**question, "criteria_mql": version.pk}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert f"computed with the criteria “{MQL_CRITERIA['name']}” (not in effect)" in draft
