from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The shared dashboard (every role) and the KPI API."""

    name = "dashboard"
