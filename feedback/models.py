"""Who decided what on which MQL, and why: the history the person page and the reports
show. The stage dates themselves are the `sales-feedback` source's (funnel/ingest)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from funnel.choices import DisqualifyReason
from funnel.models import Person


class RejectionReason(models.Model):
    """A reason sales may give when rejecting an MQL, added by ops admins beside the spec's
    list (kpi-spec section 2). It counts as one code of that list wherever the KPIs use the
    disqualify reason; marketing sees it by its own name in the feedback view and report."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    label = models.CharField(_("name (Japanese)"), max_length=100)
    label_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    counts_as = models.CharField(
        _("counts as"),
        max_length=30,
        choices=DisqualifyReason.choices,
        help_text=_("The reason of the standard list it counts as in the KPIs."),
    )
    active = models.BooleanField(
        _("offered"), default=True, help_text=_("Offered to sales when they reject an MQL.")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("rejection reason")
        verbose_name_plural = _("rejection reasons")
        ordering = ["order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(counts_as__in=DisqualifyReason.values),
                name="rejectionreason_counts_as_valid",
            )
        ]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        if get_language() == "ja" or not self.label_en:
            return self.label
        return self.label_en

    @property
    def key(self) -> str:
        """How forms and tallies name it beside the standard codes."""
        return f"{CUSTOM_PREFIX}{self.code}"


CUSTOM_PREFIX = "custom:"


class Feedback(models.Model):
    class Decision(models.TextChoices):
        ACCEPT = "accept", _("Accepted (SQL)")
        REJECT = "reject", _("Rejected")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="feedback")
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    reason = models.CharField(
        _("reason"), max_length=30, blank=True, choices=DisqualifyReason.choices
    )
    # The ops admins' reason sales chose, if any (`reason` is the code it counts as).
    detail = models.ForeignKey(
        RejectionReason,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reason as given"),
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

    @property
    def reason_key(self) -> str:
        """The reason as given: the ops admins' reason, else the standard code."""
        return self.detail.key if self.detail_id and self.detail else self.reason
