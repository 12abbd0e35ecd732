"""Who decided what on which MQL, and why: the history the person page and the reports
show. The stage dates themselves are the `sales-feedback` source's (funnel/ingest)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from funnel.choices import DisqualifyReason
from funnel.models import Person


class Feedback(models.Model):
    class Decision(models.TextChoices):
        ACCEPT = "accept", _("Accepted (SQL)")
        REJECT = "reject", _("Rejected")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="feedback")
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    reason = models.CharField(
        _("reason"), max_length=30, blank=True, choices=DisqualifyReason.choices
    )
    comment = models.TextField(_("comment"), blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("sales feedback")
        verbose_name_plural = _("sales feedback")
        ordering = ["-decided_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision="accept", reason="") | Q(decision="reject") & ~Q(reason=""),
                name="feedback_reason_with_rejections",
            )
        ]
        indexes = [models.Index(fields=["person", "decided_at"], name="feedback_person")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.decision} by {self.author}"
