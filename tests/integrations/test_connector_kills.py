"""SIGKILL of the worker mid-sync, for Salesforce and Marketo (PostgreSQL + Redis + real
Celery workers): the run is swept to failed, Redis redelivers the task to a new worker,
which syncs on; every record once, and the KPIs of one clean run of the same vendor state.
The contract servers answer slowly here so that a run takes seconds."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from funnel.metrics.snapshot import json_ready
from funnel.models import Activity, CostEntry, Opportunity, Person, SourcePerson, StageEntry
from integrations.connections import add_connection
from integrations.models import Connection, SyncCursor, SyncRun, VendorLink, VendorObject
from integrations.sync import queue_sync, run_sync
from tests.contract_servers.marketo import MarketoContractServer
from tests.contract_servers.salesforce import SalesforceContractServer
from tests.funnel.factories import snapshot
from tests.integrations.test_sync_runs import _log_tail, _routed_to, _start_worker, _stop

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
LEADS = 800


class SlowSalesforce(SalesforceContractServer):
    def _answer(self, *args: Any) -> Any:
        time.sleep(0.1)
        return super()._answer(*args)


def _kill_and_resume(
    connection: Connection, begun: Callable[[], bool], tmp_path: Path, settings: Any
) -> dict[str, Any]:
    """Queue a sync, SIGKILL its worker once `begun()`, let a second worker finish it;
    returns the KPIs after."""
    queue = f"kpi-bridge-test-{uuid.uuid4().hex[:10]}"
    quick = {
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "SYNC_RUN_STALE_SECONDS": "3",
        "CONNECTION_SECRET_KEYS": settings.CONNECTION_SECRET_KEYS[0],
    }
    settings.SYNC_RUN_STALE_SECONDS = 3
    with _routed_to(queue):
        first = _start_worker(queue, tmp_path / "first.log", **quick)
        try:
            queue_sync(connection)
            deadline = time.monotonic() + 120
            while not begun():
                assert time.monotonic() < deadline, _log_tail(tmp_path / "first.log")
                time.sleep(0.05)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                _stop(first)
        killed = SyncRun.objects.get(kind=connection.vendor)
        assert killed.status == SyncRun.Status.RUNNING
        time.sleep(3.5)
        second = _start_worker(queue, tmp_path / "second.log", **quick)
        try:
            deadline = time.monotonic() + 180
            while not SyncRun.objects.filter(
                kind=connection.vendor, status=SyncRun.Status.SUCCEEDED
            ).exists():
                assert time.monotonic() < deadline, _log_tail(tmp_path / "second.log")
                time.sleep(0.5)
        finally:
            _stop(second)
    killed.refresh_from_db()
    assert killed.status == SyncRun.Status.FAILED
    return json_ready(snapshot())


def _clean_run(connection: Connection) -> dict[str, Any]:
    """One run of the same vendor state, in-process, on an empty funnel."""
    for model in (Activity, Opportunity, StageEntry, SourcePerson, Person, CostEntry):
        model.objects.all().delete()
    for model in (SyncCursor, VendorObject, VendorLink):
        model.objects.all().delete()
    run, _summary = run_sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return json_ready(snapshot())


def test_a_salesforce_sync_killed_mid_run_loses_and_doubles_nothing(
    tmp_path: Path, settings: Any
) -> None:
    with SlowSalesforce(max_batch=50) as sf:
        account = sf.put("Account", Name="株式会社キル")
        for number in range(1, LEADS + 1):
            lead = f"00Q{number:012d}AAA"
            sf.put(
                "Lead", lead, LastName=f"k{number}", Email=f"k{number}@example.jp",
                CreatedDate="2026-05-01T00:00:00Z", LeadSource="Paid Search",
            )  # fmt: skip
            sf.history(lead, "MQL", "2026-05-03T00:00:00Z", old="Open")
            if number % 4 == 0:
                opportunity = f"006{number:012d}AAA"
                sf.put(
                    "Opportunity", opportunity, Name=f"d{number}", Amount=number * 1000,
                    CreatedDate="2026-05-10T00:00:00Z", CloseDate="2026-06-01", IsClosed=True,
                    IsWon=True, StageName="Closed Won",
                )  # fmt: skip
                sf.put("Contact", f"003{number:012d}AAA", LastName=f"k{number}")
                sf.convert(lead, f"003{number:012d}AAA", account, opportunity)
        connection = add_connection(
            "sf",
            "salesforce",
            {"client_id": "sf-client", "client_secret": "sf-secret", "refresh_token": "sf-refresh"},
            login_url=sf.base_url,
        )

        def reading_leads() -> bool:
            return VendorObject.objects.filter(object="Lead").count() > 200

        after_kill = _kill_and_resume(connection, reading_leads, tmp_path, settings)
        assert SourcePerson.objects.count() == Person.objects.count() == LEADS
        assert Opportunity.objects.count() == LEADS // 4
        assert Person.objects.filter(mql_at__isnull=False).count() == LEADS
        assert after_kill == _clean_run(Connection.objects.get(name="sf"))


def test_a_marketo_sync_killed_mid_run_loses_and_doubles_nothing(
    tmp_path: Path, settings: Any
) -> None:
    with MarketoContractServer(page_size=50, latency=0.05) as mk:
        for number in range(1, LEADS + 1):
            lead = mk.put_lead(
                number, email=f"m{number}@example.jp", createdAt="2026-05-01T00:00:00Z",
                leadSource="Webinar",
            )  # fmt: skip
            mk.add_activity(lead, 2, "2026-05-01T00:00:00Z", primary="資料請求")
            mk.add_activity(
                lead, 13, "2026-05-03T00:00:00Z", primary="Lead Status",
                attributes={"New Value": "MQL"},
            )  # fmt: skip
        connection = add_connection(
            "mk",
            "marketo",
            {"client_id": "mk-client", "client_secret": "mk-secret"},
            base_url=mk.base_url,
        )
        connection.options = {"calls_per_20s": 95}  # the instance is ours alone here
        connection.save(update_fields=["options"])

        def reading_activities() -> bool:
            return Activity.objects.count() > 200

        after_kill = _kill_and_resume(connection, reading_activities, tmp_path, settings)
        assert SourcePerson.objects.count() == Person.objects.count() == LEADS
        assert Activity.objects.count() == LEADS
        assert Person.objects.filter(mql_at__isnull=False).count() == LEADS
        assert after_kill == _clean_run(Connection.objects.get(name="mk"))
