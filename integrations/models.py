"""Sync runs: each import or sync job, with its health (last run, duration, counts, errors)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

HTTP_URL = URLValidator(schemes=["http", "https"])
# The credentials a connection may hold (which ones each vendor needs: connections.NEEDS).
SECRET_NAMES = ("token", "client_id", "client_secret", "refresh_token")


class Vendor(models.TextChoices):
    HUBSPOT = "hubspot", "HubSpot"
    SALESFORCE = "salesforce", "Salesforce"
    MARKETO = "marketo", "Marketo Engage"
    PARDOT = "pardot", "Account Engagement (Pardot)"


class Connection(models.Model):
    """An MA or SFA the company runs, synced on a schedule (docs/connectors.md).

    `name` is the funnel source its records land under, exactly as `import_csv --source
    NAME`. Credentials are a Fernet token of a JSON object (integrations/secrets.py): never
    stored in clear, never shown back."""

    name = models.CharField(_("name (source)"), max_length=100, unique=True)
    vendor = models.CharField(_("vendor"), max_length=20, choices=Vendor.choices)
    base_url = models.URLField(_("base URL"), blank=True, validators=[HTTP_URL])
    login_url = models.URLField(_("login URL"), blank=True, validators=[HTTP_URL])
    business_unit_id = models.CharField(_("business unit id"), max_length=40, blank=True)
    credentials = models.TextField(_("credentials (encrypted)"), blank=True, editable=False)
    sync_every_minutes = models.PositiveIntegerField(_("sync every (minutes)"), default=60)
    enabled = models.BooleanField(_("enabled"), default=True)
    options = models.JSONField(
        _("options"),
        default=dict,
        blank=True,
        help_text=_(
            "Lookup tables and settings that differ from the defaults of docs/connectors.md "
            '(section 7 and each vendor\'s section), e.g. {"lead_source": {"Web": '
            '"organic_search"}, "status_values": {"mql": "MQL"}}. Empty: the defaults.'
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vendor__in=Vendor.values), name="connection_vendor_valid"
            ),
            models.CheckConstraint(
                condition=Q(sync_every_minutes__gte=5), name="connection_sync_every_5_minutes"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_vendor_display()})"


class SyncCursor(models.Model):
    """Per connection and vendor object: the highest modification stamp seen in the data,
    saved in the transaction of the records it covers (docs/connectors.md section 2)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    object = models.CharField(_("object"), max_length=60)
    value = models.CharField(_("cursor"), max_length=200)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sync cursor")
        verbose_name_plural = _("sync cursors")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "object"], name="synccursor_unique_connection_object"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection.name} {self.object}"


class VendorObject(models.Model):
    """The properties of a vendor record as last synced (the ones the mapping reads).

    An incremental sync reads only what changed; a change to one record can change the
    canonical records of others (a company's size is its contacts' segment, a merged
    contact's deals move to the survivor). Kept here, those are mapped again from what is
    stored instead of read again from the vendor."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="vendor_objects"
    )
    object = models.CharField(_("object"), max_length=40)
    external_id = models.CharField(_("external id"), max_length=100)
    properties = models.JSONField(_("properties"), default=dict)

    class Meta:
        verbose_name = _("synced vendor record")
        verbose_name_plural = _("synced vendor records")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "object", "external_id"],
                name="vendorobject_unique_connection_object_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.object} {self.external_id}"


class VendorLink(models.Model):
    """One association between two vendor records as last synced (a contact's company, a
    deal's contacts and companies with their label): which records to map again when the
    other end changes or leaves."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="vendor_links"
    )
    from_object = models.CharField(max_length=40)
    from_id = models.CharField(max_length=100)
    to_object = models.CharField(max_length=40)
    to_id = models.CharField(max_length=100)
    label = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = _("synced vendor link")
        verbose_name_plural = _("synced vendor links")
        indexes = [
            models.Index(fields=["connection", "from_object", "from_id"], name="vendorlink_from"),
            models.Index(fields=["connection", "to_object", "to_id"], name="vendorlink_to"),
        ]

    def __str__(self) -> str:
        return f"{self.from_object} {self.from_id} -> {self.to_object} {self.to_id}"


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
    # A CSV run's --kind (every file of that kind); blank: each file's name says its kind.
    file_kind = models.CharField(_("kind of every file"), max_length=20, blank=True)
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


class CsvUpload(models.Model):
    """CSV files uploaded on the upload page: previewed (a dry run) first, imported as a
    sync run once confirmed. The files wait in a directory of their own until then."""

    token = models.CharField(max_length=64, unique=True)
    source_name = models.CharField(_("source"), max_length=100)
    file_kind = models.CharField(_("kind of every file"), max_length=20, blank=True)
    names = models.JSONField(_("files"), default=list)  # as the user named them
    directory = models.CharField(max_length=500)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Check(models.TextChoices):
        PENDING = "pending", _("Being checked")
        DONE = "done", _("Checked")
        FAILED = "failed", _("Could not be checked")

    # The dry run runs as a task (a big file takes longer than a request may).
    check_status = models.CharField(max_length=10, choices=Check.choices, default=Check.PENDING)
    check_error = models.TextField(blank=True)
    preview = models.JSONField(_("preview"), default=list)  # the dry run's file reports
    run = models.OneToOneField(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="upload"
    )

    class Meta:
        verbose_name = _("CSV upload")
        verbose_name_plural = _("CSV uploads")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source_name}: {', '.join(self.names)}"
