from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FunnelConfig(AppConfig):
    name = "funnel"
    verbose_name = _("Funnel")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from funnel import db_lookups  # noqa: F401  (registers the `__any` lookup)

        post_migrate.connect(_watch_writes, sender=self)


def _watch_writes(**kwargs: object) -> None:
    """After every migrate: the data version's triggers on every table the numbers read."""
    from funnel import data_version

    data_version.install()
