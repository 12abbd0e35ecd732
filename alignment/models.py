"""Quarterly reviews of the KPI definitions, and improvement proposals with the other
team's comments and ops' decision (the article: KPIの定期的な見直し, 改善提案)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class KpiReview(models.Model):
    """Who reviewed which KPI definitions, for which fiscal quarter, and what they noted."""

    quarter = models.CharField(_("quarter"), max_length=10)  # FY2026Q3
    kpis = models.JSONField(_("KPIs reviewed"), default=list)  # catalogue keys
    note = models.TextField(_("note"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("KPI review")
        verbose_name_plural = _("KPI reviews")
        ordering = ["-reviewed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.quarter} by {self.reviewed_by}"


class Proposal(models.Model):
    class Kind(models.TextChoices):
        KPI = "kpi", _("A KPI")
        CRITERION = "criterion", _("An MQL/SQL criterion")
        TARGET = "target", _("A target")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    kind = models.CharField(_("about"), max_length=10, choices=Kind.choices)
    title = models.CharField(_("proposal"), max_length=200)
    reason = models.TextField(_("why"))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    team = models.CharField(_("team"), max_length=20)
    created_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        verbose_name = _("improvement proposal")
        verbose_name_plural = _("improvement proposals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", decided_at__isnull=True)
                | (~Q(status="open") & Q(decided_at__isnull=False)),
                name="proposal_decided_has_a_moment",
            )
        ]

    def __str__(self) -> str:
        return self.title


class ProposalComment(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    team = models.CharField(_("team"), max_length=20)
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)

    class Meta:
        verbose_name = _("proposal comment")
        verbose_name_plural = _("proposal comments")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.proposal_id}: {self.text[:40]}"


class ChecklistAnswer(models.Model):
    """A checklist item the data cannot tell, answered by hand: who said so, and when."""

    item = models.CharField(_("item"), max_length=40)
    holds = models.BooleanField(_("holds"))
    note = models.TextField(_("note"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("checklist answer")
        verbose_name_plural = _("checklist answers")
        ordering = ["-answered_at", "-pk"]
        indexes = [models.Index(fields=["item", "answered_at"], name="checklist_item_latest")]

    def __str__(self) -> str:
        return f"{self.item}: {self.holds}"


class Meeting(models.Model):
    """One weekly sales-marketing meeting: who came, what was said and decided."""

    held_on = models.DateField(_("held on"))
    attendees = models.TextField(_("attendees"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    decisions = models.TextField(_("decisions"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.held_on}"


class ActionItem(models.Model):
    """A to-do agreed in a meeting, carried over week to week until it is done."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    class Team(models.TextChoices):
        BOTH = "both", _("Both teams")
        MARKETING = "marketing", _("Marketing")
        SALES = "sales", _("Sales")

    title = models.CharField(_("action"), max_length=300)
    owner = models.CharField(_("owner"), max_length=150)
    team = models.CharField(_("team"), max_length=20, choices=Team.choices)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["status", "due_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", done_at__isnull=True)
                | Q(status="done", done_at__isnull=False),
                name="actionitem_done_has_a_moment",
            )
        ]

    def __str__(self) -> str:
        return self.title


class ChecklistScore(models.Model):
    """The checklist as it stood on a day: the score over time (recorded daily by beat,
    and when the page is opened), and the quarterly report's."""

    day = models.DateField(_("day"), unique=True)
    held = models.PositiveSmallIntegerField(_("items that hold"))
    total = models.PositiveSmallIntegerField(_("items"))
    items = models.JSONField(_("items"), default=dict)  # key -> true / false / null

    class Meta:
        verbose_name = _("checklist score")
        verbose_name_plural = _("checklist scores")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.held}/{self.total}"
