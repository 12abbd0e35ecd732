from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlignmentConfig(AppConfig):
    """What keeps the two teams aligned beyond the numbers: the KPI definitions and their
    quarterly review, and improvement proposals (the article's checklist)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "alignment"
    verbose_name = _("Alignment")
