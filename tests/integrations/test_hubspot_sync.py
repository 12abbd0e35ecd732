"""A HubSpot sync end to end (integrations/hubspot/, sync.py, the `sync` command) against
the contract server of tests/contract_servers/hubspot.py: the KPIs equal those of importing
the same facts as canonical CSV, also when HubSpot throttles, fails and cuts answers short;
a second sync changes nothing; records HubSpot no longer lists leave."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from funnel.csv_import.importer import import_csv_files
from funnel.metrics.snapshot import json_ready
from funnel.models import Activity, Opportunity, Person, SourcePerson, StageEntry
from integrations.connections import add_connection
from integrations.models import SyncRun
from tests.contract_servers.hubspot import Fault, HubSpotContractServer
from tests.funnel.factories import snapshot
from tests.integrations.test_hubspot_mapping import _stage

pytestmark = pytest.mark.django_db(transaction=True)

PERSONS_CSV = "\n".join(
    [
        "external_id,email,name,company,created_at,channel,campaign,mql_at,sql_at,lead_score,"
        "industry,company_size,owner",
        "101,taro@example.jp,山田 太郎,サンプル,2026-04-02T01:00:00Z,paid_search,spring,"
        "2026-04-05T00:00:00Z,2026-04-08T00:00:00Z,40,製造,50-299,佐藤 花子",
        "102,jane@example.com,Jane Doe,Acme,2026-04-03T01:00:00Z,organic_search,,"
        "2026-04-06T00:00:00Z,,,IT,300+,",
        "103,ken@example.jp,鈴木 健,,2026-04-20T01:00:00Z,offline,,,,,,,",
        "",
    ]
)
OPPORTUNITIES_CSV = "\n".join(
    [
        "external_id,person_external_id,account,name,amount,created_at,closed_at,status,stage,"
        "loss_reason,channel",
        "9001,101,株式会社サンプル,導入,1200000,2026-04-10T00:00:00Z,2026-05-01T00:00:00Z,won,"
        "受注,,paid_search",
        "9002,102,Acme Inc,拡張,300000,2026-04-12T00:00:00Z,2026-05-02T00:00:00Z,lost,失注,価格,"
        "organic_search",
        "9003,101,,追加,0,2026-05-01T00:00:00Z,,open,初回商談,,paid_search",
        "",
    ]
)


def _seed(hs: HubSpotContractServer) -> None:
    hs.state.pipelines = [
        {
            "id": "default",
            "label": "Sales",
            "stages": [
                _stage("appt", "初回商談", "false", "0.2"),
                _stage("won", "受注", "true", "1.0"),
                _stage("lost", "失注", "true", "0.0"),
            ],
        }
    ]
    hs.state.owners = [
        {"id": "7", "firstName": "花子", "lastName": "佐藤", "email": "h@example.jp"}
    ]
    hs.put("companies", "501", name="株式会社サンプル", industry="製造", numberofemployees="120")
    hs.put("companies", "502", name="Acme Inc", industry="IT", numberofemployees="5000")
    hs.put(
        "contacts", "101", email="taro@example.jp", firstname="太郎", lastname="山田",
        company="サンプル", createdate="2026-04-02T01:00:00Z", hs_analytics_source="PAID_SEARCH",
        hs_analytics_source_data_1="spring",
        hs_lifecyclestage_marketingqualifiedlead_date="2026-04-05T00:00:00Z",
        hs_lifecyclestage_salesqualifiedlead_date="2026-04-08T00:00:00Z",
        hubspotscore="40", associatedcompanyid="501", hubspot_owner_id="7",
    )  # fmt: skip
    hs.put(
        "contacts", "102", email="jane@example.com", firstname="Jane", lastname="Doe",
        company="Acme", createdate="2026-04-03T01:00:00Z", hs_analytics_source="ORGANIC_SEARCH",
        hs_analytics_source_data_1="google",
        hs_v2_date_entered_marketingqualifiedlead="1775433600000",
        associatedcompanyid="502",
    )  # fmt: skip
    hs.put(
        "contacts", "103", email="ken@example.jp", firstname="健", lastname="鈴木",
        createdate="2026-04-20T01:00:00Z", hs_analytics_source="OFFLINE",
    )  # fmt: skip
    hs.put(
        "deals", "9001", dealname="導入", amount="1200000", deal_currency_code="JPY",
        createdate="2026-04-10T00:00:00Z", closedate="2026-05-01T00:00:00Z", dealstage="won",
        hs_analytics_source="PAID_SEARCH",
    )  # fmt: skip
    hs.put(
        "deals", "9002", dealname="拡張", amount="300000", createdate="2026-04-12T00:00:00Z",
        closedate="2026-05-02T00:00:00Z", dealstage="lost", closed_lost_reason="価格",
        hs_analytics_source="ORGANIC_SEARCH",
    )  # fmt: skip
    hs.put(
        "deals", "9003", dealname="追加", createdate="2026-05-01T00:00:00Z",
        closedate="2026-09-30T00:00:00Z", dealstage="appt", hs_analytics_source="PAID_SEARCH",
    )  # fmt: skip
    hs.put(
        "deals", "9004", dealname="海外", amount="1000", deal_currency_code="USD",
        createdate="2026-05-03T00:00:00Z", dealstage="appt",
    )  # fmt: skip
    hs.associate("9001", "contacts", "101")
    hs.associate("9001", "contacts", "103")
    hs.associate("9001", "companies", "501", "Primary")
    hs.associate("9002", "contacts", "102")
    hs.associate("9002", "companies", "502", "Primary")
    hs.associate("9003", "contacts", "101")
    hs.associate("9003", "companies", "501", None)  # not the primary company


@pytest.fixture
def hs() -> Iterator[HubSpotContractServer]:
    with HubSpotContractServer(token="pat-na1-test") as server:
        _seed(server)
        yield server


def _sync(name: str = "hs") -> dict[str, Any]:
    out = StringIO()
    call_command("sync", name, "--format", "json", stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def _kpis() -> dict[str, Any]:
    return json_ready(snapshot())


def _as_csv(tmp_path: Path, persons: str, opportunities: str) -> dict[str, Any]:
    """The same facts imported as canonical CSV under the same source, on an empty funnel."""
    with transaction.atomic():
        for model in (Activity, Opportunity, StageEntry, SourcePerson, Person):
            model.objects.all().delete()
    (tmp_path / "persons.csv").write_text(persons)
    (tmp_path / "opportunities.csv").write_text(opportunities)
    report = import_csv_files("hs", [tmp_path / "persons.csv", tmp_path / "opportunities.csv"])
    assert report.ok, [f.errors for f in report.files]
    return _kpis()


def test_a_sync_gives_the_kpis_of_the_same_facts_as_csv(
    hs: HubSpotContractServer, tmp_path: Path
) -> None:
    hs.faults = [
        Fault(r"/objects/contacts", "429"),
        Fault(r"/objects/deals", "502"),
        Fault(r"/objects/companies", "cut"),
        Fault(r"/owners", "not-json"),
        Fault(r"/associations/", "429-retry-after"),
    ]
    add_connection("hs", "hubspot", {"token": "pat-na1-test"}, base_url=hs.base_url)
    summary = _sync()
    assert summary["status"] == "succeeded"
    assert summary["objects"]["persons"] == {
        "fetched": 3, "created": 3, "updated": 0, "unchanged": 0, "rejected": 0, "deleted": 0
    }  # fmt: skip
    assert summary["objects"]["opportunities"]["fetched"] == 4
    assert summary["objects"]["opportunities"]["created"] == 3
    assert summary["objects"]["opportunities"]["rejected"] == 1  # the USD deal
    assert all(fault.times == 0 for fault in hs.faults)  # every fault was met, and retried
    assert summary["requests"] == len(hs.requests)
    run = SyncRun.objects.get(kind="hubspot")
    assert run.status == SyncRun.Status.PARTIAL
    assert "deal 9004, deal_currency_code: 'USD'" in run.error
    synced = _kpis()
    assert synced["kpis"]["won_amount"] == 1200000
    assert synced == _as_csv(tmp_path, PERSONS_CSV, OPPORTUNITIES_CSV)


def test_a_second_sync_changes_nothing_and_gone_records_leave(
    hs: HubSpotContractServer, tmp_path: Path
) -> None:
    add_connection("hs", "hubspot", {"token": "pat-na1-test"}, base_url=hs.base_url)
    _sync()
    again = _sync()
    for counts in again["objects"].values():
        assert (counts["created"], counts["updated"], counts["deleted"]) == (0, 0, 0)
    hs.archive("contacts", "103")
    hs.archive("deals", "9003")
    after = _sync()
    assert after["objects"]["persons"]["deleted"] == 1
    assert after["objects"]["opportunities"]["deleted"] == 1
    synced = _kpis()
    persons = "\n".join(PERSONS_CSV.splitlines()[:3]) + "\n"
    opportunities = "\n".join(OPPORTUNITIES_CSV.splitlines()[:3]) + "\n"
    assert synced == _as_csv(tmp_path, persons, opportunities)


def test_a_refused_token_fails_the_run_without_showing_it(hs: HubSpotContractServer) -> None:
    add_connection("hs", "hubspot", {"token": "pat-wrong-secret"}, base_url=hs.base_url)
    with pytest.raises(Exception, match="authentication failed") as failure:
        _sync()
    assert "pat-wrong-secret" not in str(failure.value)
    run = SyncRun.objects.get(kind="hubspot")
    assert run.status == SyncRun.Status.FAILED and "pat-wrong-secret" not in run.error
    assert Person.objects.count() == 0


def test_the_schedule_runs_due_connections_through_the_task(
    hs: HubSpotContractServer, settings: Any
) -> None:
    from django.utils import timezone

    from integrations.sync import due_connections
    from integrations.tasks import sync_due_connections_task
    from kpi_dashboard.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        connection = add_connection(
            "hs", "hubspot", {"token": "pat-na1-test"}, base_url=hs.base_url
        )
        assert due_connections() == [connection]  # never synced
        assert sync_due_connections_task.delay().get() == 1
        run = SyncRun.objects.get(kind="hubspot")
        assert run.status == SyncRun.Status.PARTIAL  # the USD deal is rejected
        assert run.report["objects"]["persons"]["created"] == 3
        assert due_connections() == []  # ran just now
        later = timezone.now() + dt.timedelta(minutes=61)
        assert due_connections(later) == [connection]
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.RUNNING, heartbeat_at=later
        )  # a live run holds it
        assert due_connections(later) == []
        connection.enabled = False
        connection.save()
        assert due_connections(later + dt.timedelta(hours=1)) == []
    finally:
        app.conf.task_always_eager = False


def test_connections_test_makes_one_authenticated_call(hs: HubSpotContractServer) -> None:
    from django.core.management.base import CommandError

    add_connection("hs", "hubspot", {"token": "pat-na1-test"}, base_url=hs.base_url)
    add_connection("bad", "hubspot", {"token": "pat-nope"}, base_url=hs.base_url)
    out = StringIO()
    call_command("connections", "test", "hs", stdout=out)
    assert out.getvalue().strip() == "ok: HubSpot portal 1234567"
    assert [path for _, path, _ in hs.requests] == ["/account-info/v3/details"]
    with pytest.raises(CommandError, match="authentication failed") as failure:
        call_command("connections", "test", "bad", stdout=StringIO())
    assert "pat-nope" not in str(failure.value)
