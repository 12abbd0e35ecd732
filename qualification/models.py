"""Criteria versions and the two teams' decisions on them (kpi-spec section 2b).

A version is proposed as a draft; it takes effect at the moment one marketing user and
one sales user, neither its proposer, have approved it; once in effect it is never edited
(a change is a new draft). Its history is its decisions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CriteriaStage(models.TextChoices):
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"


class CriteriaVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_EFFECT = "in_effect", _("Agreed (in effect from its approval)")
        REJECTED = "rejected", _("Rejected")

    stage = models.CharField(_("stage"), max_length=3, choices=CriteriaStage.choices)
    name = models.CharField(_("name"), max_length=200)
    # The exchange JSON of kpi-spec 2b, canonical (qualification/criteria.py).
    definition = models.JSONField(_("criteria"))
    reason = models.TextField(_("why this change"), blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    effective_at = models.DateTimeField(_("in effect from"), null=True, blank=True)

    class Meta:
        verbose_name = _("criteria version")
        verbose_name_plural = _("criteria versions")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stage__in=CriteriaStage.values), name="criteriaversion_stage_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "in_effect", "rejected"]),
                name="criteriaversion_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="in_effect", effective_at__isnull=False)
                | (~Q(status="in_effect") & Q(effective_at__isnull=True)),
                name="criteriaversion_in_effect_has_a_moment",
            ),
        ]
        indexes = [
            models.Index(fields=["stage", "status", "effective_at"], name="criteria_in_effect")
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} #{self.pk} {self.name}"


class CriteriaDecision(models.Model):
    class Decision(models.TextChoices):
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")

    version = models.ForeignKey(CriteriaVersion, on_delete=models.CASCADE, related_name="decisions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("for the team"), max_length=20)  # marketing, sales
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    comment = models.TextField(_("comment"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        verbose_name = _("criteria decision")
        verbose_name_plural = _("criteria decisions")
        ordering = ["decided_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["version", "user"], name="criteriadecision_once"),
            models.UniqueConstraint(fields=["version", "role"], name="criteriadecision_per_team"),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.decision} by {self.user} ({self.role})"


class MomentSet(models.Model):
    """The qualifying moments of every person under one set of criteria (kpi-spec 2b),
    stored so the KPI engine reads them as it reads the source dates.

    Keyed by stage and a fingerprint of the groups (not the name): a draft, the version it
    becomes and a criteria file of the same conditions share one set. Computed for all
    persons by a background job (`moments.compute_set`), then kept current by the ingest,
    in the same transaction, for the persons each import or sync touches."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be computed")
        COMPUTING = "computing", _("Being computed")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    stage = models.CharField(_("stage"), max_length=3, choices=CriteriaStage.choices)
    fingerprint = models.CharField(max_length=64)
    definition = models.JSONField(_("criteria"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    persons_done = models.PositiveIntegerField(default=0)
    persons_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # Its moments are copied to Person.ruled_<stage>_at (the version in effect now): at
    # most one set per stage.
    on_persons = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("qualifying moments")
        verbose_name_plural = _("qualifying moments")
        constraints = [
            models.UniqueConstraint(fields=["stage", "fingerprint"], name="momentset_once"),
            models.UniqueConstraint(
                fields=["stage"], condition=Q(on_persons=True), name="momentset_one_on_persons"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "computing", "ready", "failed"]),
                name="momentset_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage} {self.fingerprint[:12]} ({self.status})"

    @property
    def progress(self) -> float:
        return self.persons_done / self.persons_total if self.persons_total else 1.0


class QualifyingMoment(models.Model):
    """A person's qualifying moment under a set; a person who never qualifies has none.
    For an SQL set it is the earlier of the rules' moment and sales' acceptance (2b)."""

    moment_set = models.ForeignKey(MomentSet, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(
        "funnel.Person", on_delete=models.CASCADE, related_name="qualifying_moments"
    )
    moment = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["moment_set", "person"], name="qualifyingmoment_once"),
        ]
        indexes = [
            models.Index(fields=["moment_set", "moment", "person"], name="qualifyingmoment_range")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.moment:%Y-%m-%d %H:%M}"
