"""Starting and running import jobs (sync runs); Celery tasks only call these.

A run is claimed by one worker process at a time and says it is alive (a heartbeat) while it
runs; each file's report is saved as the file commits. A worker that dies (SIGKILL, a lost
machine) leaves a run whose heartbeat stops: `sweep_dead_runs` marks it failed, naming the
files that committed. Its task comes back (acks_late: Redis redelivers it after the
visibility timeout; a killed pool child's task is requeued) and runs the import again, which
is idempotent: what committed is unchanged, the rest is written.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from funnel.csv_import.importer import FileReport, import_csv_files
from integrations.models import SyncRun

logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10


def stale_after() -> dt.timedelta:
    """A running run silent this long has lost its worker (several missed heartbeats)."""
    return dt.timedelta(seconds=settings.SYNC_RUN_STALE_SECONDS)


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def queue_csv_import(source_name: str, paths: Sequence[Path], file_kind: str = "") -> SyncRun:
    """Record the job, and enqueue it once the record is committed (worker sees it)."""
    from integrations.tasks import run_csv_import_task

    run = SyncRun.objects.create(
        source_name=source_name,
        kind="csv",
        paths=[str(p) for p in paths],
        file_kind=file_kind,
    )
    transaction.on_commit(lambda: run_csv_import_task.delay(run.pk))
    return run


def claim_run(run_id: int) -> SyncRun | None:
    """Take the run for this process, or None: it is finished, or another live worker
    runs it (a redelivered task must not run an import twice at once)."""
    now = timezone.now()
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run_id)
        if run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL):
            return None
        alive = run.heartbeat_at is not None and run.heartbeat_at > now - stale_after()
        if run.status == SyncRun.Status.RUNNING and alive:
            return None
        run.status, run.started_at, run.finished_at = SyncRun.Status.RUNNING, now, None
        run.worker, run.heartbeat_at, run.error, run.report = this_worker(), now, "", []
        run.save(
            update_fields=[
                "status",
                "started_at",
                "finished_at",
                "worker",
                "heartbeat_at",
                "error",
                "report",
            ]
        )
    return run


@contextmanager
def heartbeat(run: SyncRun) -> Iterator[None]:
    """While the block runs, a thread stamps the run's heartbeat_at every few seconds, on
    its own database connection; a failed stamp (SQLite busy) is simply tried again."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_SECONDS):
                try:
                    SyncRun.objects.filter(pk=run.pk, worker=run.worker).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:
                    logger.debug("sync run %s: heartbeat not written this time", run.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"sync-run-{run.pk}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=HEARTBEAT_SECONDS * 2)


def run_csv_import(run_id: int) -> SyncRun:
    """Run a queued CSV import. Safe to retry: a finished run or one a live worker holds is
    left alone, and the import itself is idempotent, so a run killed part-way runs again."""
    run = claim_run(run_id)
    if run is None:
        return SyncRun.objects.get(pk=run_id)
    committed: list[dict[str, object]] = []

    def file_done(file_report: FileReport) -> None:
        committed.append(file_report.as_dict(with_problems=True))
        SyncRun.objects.filter(pk=run.pk).update(report=committed, heartbeat_at=timezone.now())

    with heartbeat(run):
        try:
            report = import_csv_files(
                run.source_name,
                [Path(p) for p in run.paths],
                kind=run.file_kind or None,
                on_file=file_done,
            )
        except Exception as exc:
            logger.exception("sync run %s failed", run.pk)
            run.status, run.error = SyncRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
            run.report = committed
        else:
            run.report = [f.as_dict(with_problems=True) for f in report.files]
            run.status = SyncRun.Status.SUCCEEDED if report.ok else SyncRun.Status.PARTIAL
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "report", "error", "finished_at"])
    return run


def _lost_worker(run: SyncRun) -> str:
    stopped = (
        f"The worker running this {'import' if run.kind == 'csv' else 'sync'} "
        f"({run.worker or 'unknown'}) stopped: no sign of life since "
        f"{run.heartbeat_at:%Y-%m-%d %H:%M:%S %Z}."
    )
    if run.kind != "csv":
        return (
            f"{stopped} Every page it read before is written, with the cursor that covers "
            "it; the next sync goes on from there."
        )
    files = [Path(str(f.get("file", ""))).name for f in run.report if not f.get("failed")]
    committed = ", ".join(files) if files else "none"
    return (
        f"{stopped} Files committed: {committed}; the others were not written. Its task "
        "runs the import again when it is redelivered; importing the same files again is "
        "safe."
    )


def sweep_dead_runs(now: dt.datetime | None = None) -> list[SyncRun]:
    """Mark failed the runs still "running" whose worker has gone silent, saying so and
    which files committed. Returns them."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    swept = []
    for run in SyncRun.objects.filter(status=SyncRun.Status.RUNNING, heartbeat_at__lt=cutoff):
        run.status, run.finished_at, run.error = SyncRun.Status.FAILED, now, _lost_worker(run)
        run.save(update_fields=["status", "finished_at", "error"])
        swept.append(run)
    return swept
