"""Celery tasks: load by id, call the service. Bound to our app explicitly, since the
project package no longer imports it at start-up (see kpi_dashboard/__init__.py)."""

from integrations.services import run_csv_import
from kpi_dashboard.celery import app


@app.task(acks_late=True)
def run_csv_import_task(run_id: int) -> str:
    return str(run_csv_import(run_id).status)
