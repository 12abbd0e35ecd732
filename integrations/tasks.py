"""Celery tasks: load by id, call the service. Bound to our app explicitly, since the
project package no longer imports it at start-up (see kpi_dashboard/__init__.py)."""

from integrations.services import run_csv_import, sweep_dead_runs
from kpi_dashboard.celery import app


@app.task(acks_late=True, reject_on_worker_lost=True)
def run_csv_import_task(run_id: int) -> str:
    """Idempotent: when its worker is lost, the task is requeued and runs the import again."""
    status = str(run_csv_import(run_id).status)
    _warm_dashboard()
    return status


@app.task
def sweep_dead_runs_task() -> int:
    """Celery beat, every minute (settings.CELERY_BEAT_SCHEDULE): dead runs to failed, and
    the files of uploads never confirmed (or long imported) deleted."""
    from integrations.uploads import purge_stale_uploads

    purge_stale_uploads()
    return len(sweep_dead_runs())


@app.task(acks_late=True, reject_on_worker_lost=True)
def sync_connection_task(connection_id: int, full: bool = False) -> str:
    """One sync of one connection; another live sync of it makes this one refuse."""
    from integrations.models import Connection
    from integrations.sync import run_sync
    from integrations.transport import SyncError

    connection = Connection.objects.filter(pk=connection_id, enabled=True).first()
    if connection is None:
        return "gone"
    try:
        run, _summary = run_sync(connection, full=full)
    except SyncError as exc:  # another run holds the connection
        return str(exc)
    _warm_dashboard()
    return str(run.status)


def _warm_dashboard() -> None:
    """New data: compute the dashboard as it opens now rather than on the next load."""
    from dashboard.tasks import warm_dashboard_task

    warm_dashboard_task.delay()


@app.task
def sync_due_connections_task() -> int:
    """Celery beat, every minute: enqueue the connections whose interval has passed."""
    from integrations.sync import due_connections, queue_sync

    due = due_connections()
    for connection in due:
        queue_sync(connection)
    return len(due)


@app.task(acks_late=True, reject_on_worker_lost=True)
def preview_upload_task(upload_id: int) -> str:
    """The dry run of uploaded files; it writes nothing, so running it again is safe."""
    from integrations.uploads import check_upload

    return str(check_upload(upload_id).check_status)
