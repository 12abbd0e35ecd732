"""Sync runs: each import or sync job, with its health (last run, duration, counts, errors)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SyncRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Succeeded with rejected rows")
        FAILED = "failed", _("Failed")

    source_name = models.CharField(_("source"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, default="csv")
    paths = models.JSONField(_("files"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    report = models.JSONField(_("report"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    # Which worker process runs it, and when it last said it was alive: a run whose worker
    # is gone (killed, machine lost) is swept to failed instead of "running" forever.
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "partial", "failed"]),
                name="syncrun_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_name} {self.kind} {self.status}"
