"""Celery tasks: load by id, call the service."""

from celery import shared_task

from integrations.services import run_csv_import


@shared_task(acks_late=True)
def run_csv_import_task(run_id: int) -> str:
    return str(run_csv_import(run_id).status)
