"""Celery tasks of the dashboard: thin wrappers around dashboard/selectors.py, bound to our
app explicitly as integrations/tasks.py's are."""

from __future__ import annotations

from kpi_dashboard.celery import app


@app.task(ignore_result=True)
def warm_dashboard_task() -> bool:
    """Celery beat, every minute, and after every sync or import (settings)."""
    from dashboard.selectors import warm_dashboard

    return warm_dashboard()
