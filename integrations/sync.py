"""One sync of one connection (the same code for `manage.py sync` and the Celery task):
claim, run the vendor's steps with a heartbeat, record per-object counts, requests and
duration on a SyncRun (docs/connectors.md sections 1 and 2). Never two syncs of one
connection at once: a live run of it makes another refuse."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from funnel.records import IngestResult
from integrations.models import Connection, SyncRun, Vendor
from integrations.services import heartbeat, stale_after, sweep_dead_runs, this_worker
from integrations.transport import SyncError, Transport

T = TypeVar("T")
V = TypeVar("V")


@dataclass
class ObjectCounts:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    deleted: int = 0

    def add(self, result: IngestResult) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.rejected += result.rejected


@dataclass
class SyncProgress:
    """Counts per canonical kind, and the rejected records' messages (object, id, field)."""

    objects: dict[str, ObjectCounts] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    run_id: int | None = None

    def of(self, kind: str) -> ObjectCounts:
        return self.objects.setdefault(kind, ObjectCounts())

    def publish(self) -> None:
        """Show the counts so far on the run (the sync page reads them while it runs)."""
        if self.run_id is not None:
            SyncRun.objects.filter(pk=self.run_id).update(
                report={"objects": {k: asdict(v) for k, v in self.objects.items()}},
                heartbeat_at=timezone.now(),
            )


def mapped_records(
    records: Sequence[V], to_record: Callable[[V], T], counts: ObjectCounts, progress: SyncProgress
) -> list[T]:
    """The canonical records of vendor records; one that cannot be mapped is counted
    rejected and named in the run's errors, the rest go on."""
    from integrations.values import RejectedRecord

    mapped = []
    for record in records:
        try:
            mapped.append(to_record(record))
        except RejectedRecord as exc:
            counts.rejected += 1
            progress.errors.append(str(exc))
    return mapped


def counting_requests(transport: Transport, steps: Callable[[], None]) -> int:
    """Run a vendor's steps; returns the requests its transport made, which a SyncError it
    raises carries too (the run records them either way)."""
    try:
        steps()
    except SyncError as exc:
        exc.requests = transport.requests_made  # type: ignore[attr-defined]
        raise
    return transport.requests_made


VendorSync = Callable[[Connection, bool, SyncProgress], int]  # returns requests made


def _vendor_sync(vendor: str) -> VendorSync:
    if vendor == Vendor.HUBSPOT:
        from integrations.hubspot.sync import sync_hubspot

        return sync_hubspot
    if vendor == Vendor.SALESFORCE:
        from integrations.salesforce.sync import sync_salesforce

        return sync_salesforce
    if vendor == Vendor.MARKETO:
        from integrations.marketo.sync import sync_marketo

        return sync_marketo
    if vendor == Vendor.PARDOT:
        from integrations.pardot.sync import sync_pardot

        return sync_pardot
    raise SyncError(f"syncing {vendor} is not available yet")


def _claim(connection: Connection) -> SyncRun:
    """A new run of the connection, unless a live one holds it; runs whose worker died are
    marked failed first, so none stays "running" beside the new one."""
    now = timezone.now()
    sweep_dead_runs(now)
    with transaction.atomic():
        Connection.objects.select_for_update().get(pk=connection.pk)
        running = SyncRun.objects.filter(
            source_name=connection.name,
            kind=connection.vendor,
            status=SyncRun.Status.RUNNING,
            heartbeat_at__gt=now - stale_after(),
        ).first()
        if running is not None:
            raise SyncError(f"a sync of {connection.name} is running ({running.worker})")
        return SyncRun.objects.create(
            source_name=connection.name,
            kind=connection.vendor,
            status=SyncRun.Status.RUNNING,
            started_at=now,
            worker=this_worker(),
            heartbeat_at=now,
        )


def run_sync(connection: Connection, full: bool = False) -> tuple[SyncRun, dict[str, Any]]:
    """Run one sync; returns the run and its summary (the JSON of `sync --format json`)."""
    started = time.monotonic()
    run = _claim(connection)
    progress = SyncProgress(run_id=run.pk)
    requests = 0
    with heartbeat(run):
        try:
            requests = _vendor_sync(connection.vendor)(connection, full, progress)
        except SyncError as exc:
            run.status, run.error = SyncRun.Status.FAILED, str(exc)
            requests = getattr(exc, "requests", requests)
        else:
            run.status = SyncRun.Status.PARTIAL if progress.errors else SyncRun.Status.SUCCEEDED
            run.error = "\n".join(progress.errors[:200])
    summary = {
        "status": "failed" if run.status == SyncRun.Status.FAILED else "succeeded",
        "objects": {kind: asdict(counts) for kind, counts in progress.objects.items()},
        "requests": requests,
        "seconds": round(time.monotonic() - started, 3),
    }
    run.report = summary
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "report", "finished_at"])
    return run, summary


def next_run_at(connection: Connection, last_started: dt.datetime | None) -> dt.datetime:
    """When the schedule runs the connection next: its interval after the last start."""
    if last_started is None:
        return timezone.now()
    return last_started + dt.timedelta(minutes=connection.sync_every_minutes)


def due_connections(now: dt.datetime | None = None) -> list[Connection]:
    """Enabled connections whose interval has passed since their last run started, and
    that no live run holds."""
    now = now or timezone.now()
    due = []
    for connection in Connection.objects.filter(enabled=True):
        runs = SyncRun.objects.filter(source_name=connection.name, kind=connection.vendor)
        last = runs.order_by("-requested_at").first()
        if last is not None and last.status in (SyncRun.Status.RUNNING, SyncRun.Status.QUEUED):
            fresh = last.heartbeat_at or last.requested_at
            if fresh > now - stale_after():
                continue
        started = (last.started_at or last.requested_at) if last else None
        if started is None or next_run_at(connection, started) <= now:
            due.append(connection)
    return due


def queue_sync(connection: Connection, full: bool = False) -> None:
    """Sync now (a page's button, the schedule): the task is enqueued once the caller's
    transaction commits."""
    from integrations.tasks import sync_connection_task

    transaction.on_commit(lambda: sync_connection_task.delay(connection.pk, full))


def test_connection(connection: Connection) -> str:
    """One cheap authenticated call (docs/connectors.md section 1): what it answered, or a
    SyncError with the reason."""
    if connection.vendor == Vendor.HUBSPOT:
        from integrations.hubspot.client import HubSpotClient

        account = HubSpotClient(connection).account()
        return f"ok: HubSpot portal {account.get('portalId', '?')}"
    if connection.vendor == Vendor.SALESFORCE:
        from integrations.options import options_of
        from integrations.salesforce.client import SalesforceClient

        limits = SalesforceClient(connection, options_of(connection.options)["api_share"]).limits()
        daily = limits.get("DailyApiRequests") or {}
        return (
            f"ok: Salesforce org, {daily.get('Remaining', '?')} of {daily.get('Max', '?')} "
            "API requests left today"
        )
    if connection.vendor == Vendor.MARKETO:
        from integrations.marketo.client import MarketoClient

        fields = MarketoClient(connection).describe()
        return f"ok: Marketo instance, {len(fields)} lead fields"
    if connection.vendor == Vendor.PARDOT:
        from integrations.pardot.sync import test_pardot

        return test_pardot(connection)
    raise SyncError(f"testing {connection.vendor} is not available yet")
