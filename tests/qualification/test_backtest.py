"""The backtest of a draft (kpi-spec 2b): the last four complete quarters at as_of = now,
draft beside the version in effect; every number equals `kpis --criteria`; the page shows
it, or the progress of the moments still being computed."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from funnel.models import Opportunity, Person
from funnel.periods import Period
from qualification.backtest import backtest, backtest_quarters
from qualification.criteria import parse_criteria
from qualification.models import CriteriaVersion, MomentSet, QualifyingMoment
from qualification.moments import moment_set_for, ready_set
from qualification.services import propose
from tests.qualification.test_kpis_under_criteria import MQL_CRITERIA

pytestmark = pytest.mark.django_db


def _import(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())


def _kpis(period: Period, as_of: str, criteria: str | None = None) -> dict[str, Any]:
    out = StringIO()
    extra = {"criteria": criteria} if criteria else {}
    call_command("kpis", period=period.name, as_of=as_of, format="json", stdout=out, **extra)
    return json.loads(out.getvalue())


def test_every_number_of_the_backtest_equals_kpis_with_criteria(example_dir: Path) -> None:
    _import(example_dir)
    draft = propose(parse_criteria(MQL_CRITERIA), None, "fewer, better MQLs")
    in_effect = CriteriaVersion.objects.create(
        stage="mql",
        name="score only",
        definition={
            "stage": "mql",
            "name": "score only",
            "groups": [{"all": [{"field": "lead_score", "op": "gte", "value": 50}]}],
        },
        status=CriteriaVersion.Status.IN_EFFECT,
        effective_at=timezone.now() - timezone.timedelta(days=400),
    )
    now = timezone.now().replace(microsecond=0)
    result = backtest(draft, now, compute=True)
    assert result.compared_with == in_effect
    assert [row.period for row in result.rows] == backtest_quarters(now)
    assert len(result.rows) == 4
    moments = dict(
        QualifyingMoment.objects.filter(
            moment_set=moment_set_for(parse_criteria(draft.definition))
        ).values_list("person_id", "moment")
    )
    total_mqls = 0
    for row in result.rows:
        for figures, version in ((row.draft, draft), (row.current, in_effect)):
            expected = _kpis(row.period, now.isoformat(), f"mql={version.pk}")
            assert figures.mqls == expected["kpis"]["mqls"]
            for key, cohort in (
                ("mql_to_sql_rate", figures.mql_to_sql),
                ("opportunity_rate", figures.opportunity_rate),
            ):
                shown = expected["cohorts"][key]
                assert (cohort.size, cohort.converted) == (shown["size"], shown["converted"])
        # The two numbers the KPI object lacks, counted directly from the draft's moments.
        cohort_ids = {
            pid for pid, m in moments.items() if row.period.start_at <= m < row.period.end_at
        }
        won = Opportunity.objects.filter(
            person_id__in=cohort_ids, status="won", closed_at__lte=now
        ).count()
        dropped = Person.objects.filter(pk__in=cohort_ids, disqualified_at__lte=now).count()
        assert row.draft.won_deals == won
        assert (row.draft.disqualified.size, row.draft.disqualified.converted) == (
            len(cohort_ids),
            dropped,
        )
        total_mqls += row.draft.mqls
    assert total_mqls > 0  # the example's data falls in the backtest's quarters


def test_the_page_shows_the_backtest_or_its_progress(example_dir: Path, role_user: Any) -> None:
    _import(example_dir)
    draft = propose(parse_criteria(MQL_CRITERIA), None, "fewer, better MQLs")
    client = Client()
    client.force_login(role_user("sales"))
    waiting = client.get("/agreement/").content.decode()
    assert 'data-progress="pending"' in waiting
    assert "backtest-figure" not in waiting
    ready_set(parse_criteria(draft.definition))
    page = client.get("/agreement/").content.decode()
    assert f'id="backtest-figure-{draft.pk}"' in page
    assert "data-progress" not in page
    for quarter in backtest_quarters(timezone.now()):
        assert quarter.name in page
    assert MomentSet.objects.get().status == MomentSet.Status.READY
