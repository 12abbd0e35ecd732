"""Celery tasks of the dashboard: thin wrappers around dashboard/selectors.py."""

from __future__ import annotations

from celery import shared_task

from dashboard.selectors import warm_dashboard


@shared_task(ignore_result=True)
def warm_dashboard_task() -> bool:
    return warm_dashboard()
