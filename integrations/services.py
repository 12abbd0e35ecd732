"""Starting and running import jobs; Celery tasks only call these."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from funnel.csv_import.importer import import_csv_files
from integrations.models import SyncRun

logger = logging.getLogger(__name__)


def queue_csv_import(source_name: str, paths: Sequence[Path]) -> SyncRun:
    """Record the job, and enqueue it once the record is committed (worker sees it)."""
    from integrations.tasks import run_csv_import_task

    run = SyncRun.objects.create(source_name=source_name, kind="csv", paths=[str(p) for p in paths])
    transaction.on_commit(lambda: run_csv_import_task.delay(run.pk))
    return run


def run_csv_import(run_id: int) -> SyncRun:
    """Run a queued CSV import. Safe to retry: a finished run is left alone, and the import
    itself is idempotent, so a run killed part-way is simply run again."""
    run = SyncRun.objects.get(pk=run_id)
    if run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL):
        return run
    run.status, run.started_at, run.error = SyncRun.Status.RUNNING, timezone.now(), ""
    run.save(update_fields=["status", "started_at", "error"])
    try:
        report = import_csv_files(run.source_name, [Path(p) for p in run.paths])
    except Exception as exc:
        logger.exception("sync run %s failed", run.pk)
        run.status, run.error = SyncRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        run.report = [f.as_dict() for f in report.files]
        run.status = SyncRun.Status.SUCCEEDED if report.ok else SyncRun.Status.PARTIAL
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "report", "error", "finished_at"])
    return run
