from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The quarterly executive report (HTML, PDF, Excel) and its commentary."""

    name = "reports"
