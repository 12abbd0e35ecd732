"""Quarterly reviews of the KPI definitions, and improvement proposals with the other
team's comments and ops' decision (the article: KPIの定期的な見直し, 改善提案)."""

from __future__ import annotations

from decimal import Decimal

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


class AlertSettings(models.Model):
    """Who is told when a shared KPI falls behind its pace or the MQL follow-up SLA drops
    under its threshold (one row, edited by ops admins in admin)."""

    enabled = models.BooleanField(_("send alerts"), default=True)
    sla_threshold = models.DecimalField(
        _("MQL follow-up SLA threshold"), max_digits=4, decimal_places=3, default=Decimal("0.8"),
        help_text=_("A share between 0 and 1: 0.8 alerts under 80%."),
    )  # fmt: skip
    marketing_emails = models.TextField(_("marketing recipients"), blank=True)
    sales_emails = models.TextField(_("sales recipients"), blank=True)
    executive_emails = models.TextField(_("executive recipients (weekly digest)"), blank=True)

    class Meta:
        verbose_name = _("alert settings")
        verbose_name_plural = _("alert settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(sla_threshold__gte=0, sla_threshold__lte=1),
                name="alertsettings_threshold_is_a_share",
            )
        ]

    def __str__(self) -> str:
        return str(_("alert settings"))


class Alert(models.Model):
    """One alert: a KPI behind its pace, or the SLA under its threshold, at most once a day
    per KPI; shown on the dashboard that day and mailed to the owners."""

    key = models.CharField(_("KPI"), max_length=40)
    day = models.DateField(_("day"))
    value = models.CharField(_("value"), max_length=100)
    message = models.TextField(_("message"))
    sent_to = models.TextField(_("sent to"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-day", "key"]
        constraints = [
            models.UniqueConstraint(fields=["key", "day"], name="alert_once_a_day_per_kpi")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.key}"


class DigestSent(models.Model):
    """The executives' weekly digest, sent once per ISO week."""

    week = models.CharField(max_length=10, unique=True)  # 2026-W49
    sent_to = models.TextField(blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("weekly digest")
        verbose_name_plural = _("weekly digests")

    def __str__(self) -> str:
        return self.week


class PageView(models.Model):
    """How often each role opened a page that the checklist asks about, per day: the
    shared dashboard, person pages, the quarterly report (and its downloads), what
    converts, the weekly meeting. Counts only: no user, no URL, no query."""

    day = models.DateField(_("day"))
    page = models.CharField(_("page"), max_length=40)
    role = models.CharField(_("role"), max_length=20)
    count = models.PositiveIntegerField(_("views"), default=0)

    class Meta:
        verbose_name = _("page views")
        verbose_name_plural = _("page views")
        ordering = ["-day", "page", "role"]
        constraints = [
            models.UniqueConstraint(fields=["day", "page", "role"], name="pageview_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.page} {self.role}: {self.count}"
