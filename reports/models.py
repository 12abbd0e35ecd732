"""What managers write on the quarterly report."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.TextChoices):
    """The two teams that each write their own part of the quarterly report."""

    MARKETING = "marketing", _("Marketing")
    SALES = "sales", _("Sales")


class ReportCommentary(models.Model):
    """A manager's commentary on a quarter, one per (period, department).

    Written by that department's manager (or an ops admin) on the quarterly report and shown
    to everyone with its author and date; writes go through reports/services.py.
    """

    period = models.CharField(_("period"), max_length=40, help_text=_("e.g. FY2026Q1"))
    department = models.CharField(_("department"), max_length=20, choices=Department.choices)
    text = models.TextField(_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="report_commentaries",
        verbose_name=_("author"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "kpi_dashboard_reportcommentary"  # created before the model moved here
        verbose_name = _("report commentary")
        verbose_name_plural = _("report commentaries")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "department"], name="reportcommentary_unique_period_department"
            ),
            models.CheckConstraint(
                condition=models.Q(department__in=Department.values),
                name="reportcommentary_department_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.department}"
