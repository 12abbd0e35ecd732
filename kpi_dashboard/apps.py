from django.apps import AppConfig


class KpiDashboardConfig(AppConfig):
    """The project package. It keeps settings, urls, the Celery app and the history of the
    migrations made before the pages moved to their apps (the roles groups among them)."""

    name = "kpi_dashboard"
    verbose_name = "KPI Bridge"
