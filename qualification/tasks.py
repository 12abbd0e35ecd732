"""Celery tasks of the qualification module: load nothing at import, call the services."""

from kpi_dashboard.celery import app


@app.task(acks_late=True, reject_on_worker_lost=True)
def compute_moments_task(set_id: int) -> None:
    """Qualifying moments of every person under one criteria set (idempotent: a redelivered
    task computes the set again, or finds it ready)."""
    from qualification.moments import compute_set

    compute_set(set_id)


@app.task
def follow_versions_task() -> None:
    """The persons carry the dates of the versions in effect now (after an approval)."""
    from django.utils import timezone

    from qualification.moments import sync_persons_with_versions

    sync_persons_with_versions(timezone.now())


@app.task
def tidy_moment_sets_task() -> int:
    """Celery beat, daily: sets nobody needs deleted; sets left pending or failed (a lost
    task) queued again."""
    from django.utils import timezone

    from qualification.moments import sync_persons_with_versions, tidy_sets

    again, deleted = tidy_sets(timezone.now())
    sync_persons_with_versions(timezone.now())
    for set_id in again:
        compute_moments_task.delay(set_id)
    return deleted
