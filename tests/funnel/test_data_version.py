"""The data version and the results kept under it (funnel/data_version.py,
funnel/metrics/kept.py), on PostgreSQL: every committed write to a table the numbers read
moves the version, a kept result is only ever the one the rows give now, and a question
asked again while nothing changed costs no scan."""

from __future__ import annotations

import datetime as dt
import random
import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from alignment.models import PageView
from funnel import data_version, ingest
from funnel.metrics import snapshot as snapshot_module
from funnel.metrics.snapshot import kpi_snapshot
from funnel.periods import parse_period
from funnel.records import OpportunityRecord, PersonRecord
from tests.funnel.factories import jst

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PERIOD = parse_period("FY2026Q1")
AS_OF = jst(2026, 9, 1)


def _uncached() -> dict[str, Any]:
    return snapshot_module.kpi_snapshot.__wrapped__(PERIOD, AS_OF)  # type: ignore[attr-defined]


def _person(number: int, **fields: Any) -> PersonRecord:
    return PersonRecord(
        f"p{number}", jst(2026, 4, 1 + number % 28), email=f"p{number}@example.jp", **fields
    )


def test_a_committed_write_moves_the_version_and_a_page_view_does_not() -> None:
    first = data_version.current()
    assert first is not None
    ingest.ingest_persons(ingest.get_or_create_source("s", "csv"), [_person(1)])
    second = data_version.current()
    assert second != first
    PageView.objects.create(page="dashboard", role="marketing", day=dt.date(2026, 4, 1))
    assert data_version.current() == second
    with transaction.atomic():
        assert data_version.current() is None  # never read inside a transaction


def test_a_kept_result_is_the_rows_answer_after_any_sequence_of_writes() -> None:
    rng = random.Random(7)
    source = ingest.get_or_create_source("s", "csv")
    for step in range(12):
        action = rng.choice(("person", "mql", "deal", "remove"))
        number = rng.randint(1, 15)
        if action == "person":
            ingest.ingest_persons(source, [_person(number)])
        elif action == "mql":
            ingest.ingest_persons(source, [_person(number, mql_at=jst(2026, 5, number))])
        elif action == "deal":
            record = OpportunityRecord(
                f"o{number}", number * 1000, jst(2026, 5, 2), "won",
                person_external_id=f"p{number}", closed_at=jst(2026, 6, 1),
            )  # fmt: skip
            ingest.ingest_opportunities(source, [record])
        else:
            from funnel.ingest.removal import remove_persons

            remove_persons(source, [f"p{number}"])
        kept = kpi_snapshot(PERIOD, AS_OF)
        assert kept == _uncached(), (step, action)
        assert kpi_snapshot(PERIOD, AS_OF) == kept  # asked again: the same, from the cache


def test_asked_again_while_nothing_changed_costs_no_scan() -> None:
    ingest.ingest_persons(ingest.get_or_create_source("s", "csv"), [_person(1)])
    kpi_snapshot(PERIOD, AS_OF)
    with CaptureQueriesContext(connection) as queries:
        kpi_snapshot(PERIOD, AS_OF)
    assert len(queries) == 1  # the version, nothing else
    assert "funnel_dataversion" in queries[0]["sql"]


def test_a_result_computed_while_a_write_commits_is_not_kept() -> None:
    from django.core.cache import cache

    from funnel.metrics.kept import kept, key_of

    source = ingest.get_or_create_source("s", "csv")
    ingest.ingest_persons(source, [_person(1)])

    def leads_while_a_write_commits() -> int:
        leads = int(_uncached()["kpis"]["leads"])

        def write() -> None:  # another connection commits while we compute
            ingest.ingest_persons(source, [_person(2)])
            connection.close()

        thread = threading.Thread(target=write)
        thread.start()
        thread.join()
        return leads

    before = data_version.current()
    assert before is not None
    assert kept(leads_while_a_write_commits)() == 1
    assert cache.get(key_of(leads_while_a_write_commits, before)) is None  # not kept
    assert kpi_snapshot(PERIOD, AS_OF)["kpis"]["leads"] == 2


def test_the_dashboard_warmed_each_minute_opens_from_what_is_kept(
    client: Any, role_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    from dashboard import questions
    from dashboard.selectors import VIEWED, warm_dashboard

    cache.delete(VIEWED)  # the cache outlives a test where it is Redis
    minute = dt.datetime(2026, 6, 15, 3, 0, 59, tzinfo=dt.UTC)
    monkeypatch.setattr(questions, "this_minute", lambda: minute)
    source = ingest.get_or_create_source("s", "csv")
    ingest.ingest_persons(source, [_person(n, mql_at=jst(2026, 5, n)) for n in range(1, 9)])
    assert not warm_dashboard()  # nobody looked: nothing to do
    client.force_login(role_user("marketing"))
    with CaptureQueriesContext(connection) as cold:
        assert client.get("/").status_code == 200
    ingest.ingest_persons(source, [_person(20)])  # a write: what was kept is for old data
    assert warm_dashboard()  # someone looked lately: the task computes the page's numbers
    with CaptureQueriesContext(connection) as warm:
        page = client.get("/")
    assert page.status_code == 200
    reads = [q["sql"] for q in warm if "funnel_person" in q["sql"] and "LIMIT 1" not in q["sql"]]
    assert reads == []  # no scan of the persons: every number came from the cache
    assert len(warm) < len(cold) / 2
