"""Celery tasks: load by id, call the service. Bound to our app explicitly, since the
project package no longer imports it at start-up (see kpi_dashboard/__init__.py)."""

from integrations.services import run_csv_import, sweep_dead_runs
from kpi_dashboard.celery import app


@app.task(acks_late=True, reject_on_worker_lost=True)
def run_csv_import_task(run_id: int) -> str:
    """Idempotent: when its worker is lost, the task is requeued and runs the import again."""
    return str(run_csv_import(run_id).status)


@app.task
def sweep_dead_runs_task() -> int:
    """Celery beat, every minute (settings.CELERY_BEAT_SCHEDULE)."""
    return len(sweep_dead_runs())
