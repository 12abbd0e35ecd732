"""Celery tasks of the alignment pages: load nothing at import, call the services."""

from kpi_dashboard.celery import app


@app.task
def record_checklist_score_task() -> int:
    """Celery beat, daily: the checklist's score over time."""
    from alignment.checklist import record_score

    return record_score().held
