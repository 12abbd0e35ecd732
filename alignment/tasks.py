"""Celery tasks of the alignment pages: load nothing at import, call the services."""

from kpi_dashboard.celery import app


@app.task
def record_checklist_score_task() -> int:
    """Celery beat, daily: the checklist's score over time."""
    from alignment.checklist import record_score

    return record_score().held


@app.task
def check_alerts_task() -> int:
    """Celery beat, hourly: KPIs behind their pace, the SLA under its threshold."""
    from alignment.alerts import check_alerts

    return len(check_alerts())


@app.task
def send_digest_task() -> bool:
    """Celery beat, Monday morning: the executives' weekly digest."""
    from alignment.alerts import send_digest

    return send_digest()
