from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualificationConfig(AppConfig):
    """MQL and SQL criteria agreed by both teams (kpi-spec section 2b)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "qualification"
    verbose_name = _("Qualification criteria")
