from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """The rows behind every number: lists, details, CSV exports."""

    name = "records"
