"""The Celery app; tasks are thin wrappers around services (see integrations/tasks.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpi_dashboard.settings")

app = Celery("kpi_dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
