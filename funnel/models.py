"""The funnel model (kpi-spec section 2): sources, merged persons, opportunities, activities,
costs, targets and the history of stage changes.

Models hold fields, constraints and indexes only; writes go through funnel/ingest.py and
reads through funnel/metrics/.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from funnel.choices import (
    PERIOD_KPI_KEYS,
    ActivityType,
    DisqualifyReason,
    OpportunityStatus,
    QualificationMode,
    SourceKind,
    Stage,
)


def _in_choices(field: str, choices: type[models.TextChoices] | tuple[str, ...]) -> Q:
    values = choices if isinstance(choices, tuple) else tuple(choices.values)
    return Q(**{f"{field}__in": values})


class KeyField(models.CharField):
    """Text that identifies a record (an external id, a normalised email): on PostgreSQL
    compared and sorted byte by byte (COLLATE "C"), which is Unicode code point order in
    UTF-8. Sorting by the database's linguistic collation cost an import twice the time
    for each unique index over these columns; nobody reads them in alphabetical order."""

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        parameters = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            parameters["collation"] = "C"
        return parameters


class Source(models.Model):
    """One system records come from: an MA or SFA instance, or a family of CSV exports."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=SourceKind.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("kind", SourceKind), name="source_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Channel(models.Model):
    """An acquisition channel; `is_marketing` decides a person's origin (spec section 2)."""

    key = models.CharField(_("key"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    is_marketing = models.BooleanField(
        _("marketing channel"),
        default=True,
        help_text=_("Persons first touched through this channel are marketing-sourced."),
    )

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name or self.key


class Campaign(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="campaigns")
    key = models.CharField(_("key"), max_length=200)
    name = models.CharField(_("name"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="campaign_unique_per_channel")
        ]

    def __str__(self) -> str:
        return self.name or self.key


class Account(models.Model):
    """A customer company, keyed by its name as the sources spell it."""

    name = models.CharField(_("name"), max_length=300, unique=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    company_size = models.CharField(_("company size"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self) -> str:
        return self.name


class PersonQuerySet(models.QuerySet["Person"]):
    def with_email(self) -> PersonQuerySet:
        """Persons that have an email. Lookups by email must start here: the unique email
        index is partial (email <> ''), and PostgreSQL only uses it when the query repeats
        that condition (it cannot infer it from an IN list of more than 100 values)."""
        return self.exclude(email_normalized="")


class Person(models.Model):
    """One human, merged across sources by normalised email, else by linked source records.

    Stage dates are derived by ingest from the source records and the stage history:
    each is the first time the person entered that stage (spec section 2).
    """

    email_normalized = KeyField(_("email"), max_length=320, blank=True)
    name = models.CharField(_("name"), max_length=300, blank=True)
    company = models.CharField(_("company"), max_length=300, blank=True)
    # No index of their own, as on SourcePerson: persons are read by their stage dates
    # (the indexes below, which end with channel_id), and an account, channel or campaign
    # is deleted rarely enough to scan for its persons. Every index of this table is
    # written for each person an import brings, and again whenever an opportunity date
    # changes.
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="persons",
        db_index=False,
    )
    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="persons",
        verbose_name=_("first-touch channel"),
        db_index=False,
    )
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="persons",
        db_index=False,
    )
    lead_at = models.DateTimeField(_("lead at"))
    mql_at = models.DateTimeField(_("MQL at"), null=True, blank=True)
    sql_at = models.DateTimeField(_("SQL at"), null=True, blank=True)
    opportunity_at = models.DateTimeField(_("opportunity at"), null=True, blank=True)
    won_at = models.DateTimeField(_("won at"), null=True, blank=True)
    # The MQL and SQL dates under the agreed criteria in effect now (kpi-spec 2b): a copy of
    # the qualifying moments of the one criteria set per stage marked `on_persons`, kept
    # here so the KPI passes read them from the person's indexes as they read the sources'.
    ruled_mql_at = models.DateTimeField(null=True, blank=True, editable=False)
    ruled_sql_at = models.DateTimeField(null=True, blank=True, editable=False)
    disqualified_at = models.DateTimeField(_("disqualified at"), null=True, blank=True)
    disqualify_reason = models.CharField(
        _("disqualify reason"), max_length=30, blank=True, choices=DisqualifyReason.choices
    )
    lead_score = models.IntegerField(_("lead score"), null=True, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    company_size = models.CharField(_("company size"), max_length=50, blank=True)
    owner = models.CharField(_("owner"), max_length=200, blank=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(
                fields=["email_normalized"],
                condition=~Q(email_normalized=""),
                name="person_unique_email",
            ),
            models.CheckConstraint(
                condition=Q(disqualify_reason="")
                | _in_choices("disqualify_reason", DisqualifyReason),
                name="person_disqualify_reason_valid",
            ),
        ]
        # The period KPIs read one stage date's range at a time (funnel/metrics/counts.py).
        # Each index carries the later stage dates and the channel as trailing columns, so
        # those passes read the index alone (PostgreSQL's INCLUDE would do the same, but
        # SQLite warns about it). Only persons that reached MQL (SQL) are in its index.
        indexes = [
            models.Index(
                fields=[
                    "lead_at",
                    "mql_at",
                    "sql_at",
                    "opportunity_at",
                    "won_at",
                    "ruled_mql_at",
                    "ruled_sql_at",
                    "channel",
                ],
                name="person_lead_at",
            ),
            models.Index(
                fields=[
                    "mql_at",
                    "sql_at",
                    "opportunity_at",
                    "won_at",
                    "disqualified_at",
                    "channel",
                ],
                condition=Q(mql_at__isnull=False),
                name="person_mql_at",
            ),
            models.Index(
                fields=["sql_at", "opportunity_at", "won_at", "channel"],
                condition=Q(sql_at__isnull=False),
                name="person_sql_at",
            ),
            models.Index(
                fields=[
                    "ruled_mql_at",
                    "sql_at",
                    "ruled_sql_at",
                    "opportunity_at",
                    "won_at",
                    "disqualified_at",
                    "channel",
                ],
                condition=Q(ruled_mql_at__isnull=False),
                name="person_ruled_mql_at",
            ),
            models.Index(
                fields=["ruled_sql_at", "opportunity_at", "won_at", "channel"],
                condition=Q(ruled_sql_at__isnull=False),
                name="person_ruled_sql_at",
            ),
            models.Index(fields=["opportunity_at"], name="person_opportunity_at"),
            models.Index(fields=["won_at"], name="person_won_at"),
        ]

    def __str__(self) -> str:
        return self.name or self.email_normalized or f"#{self.pk}"


class SourcePerson(models.Model):
    """A person as one source holds it (a lead, contact or MA record), linked to its Person."""

    # No index of its own: the unique (source, external id) index leads with it, and a
    # second one lures the planner into scanning a whole source during bulk imports.
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="person_records", db_index=False
    )
    external_id = KeyField(_("external id"), max_length=200)
    # Indexed by sourceperson_person (person, created_at). No other column of a source
    # record is looked up: persons are found by Person.email_normalized, and a channel or
    # campaign is deleted rarely enough to scan for its records. Every index here is
    # written for each of the millions of records an initial import brings.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="source_records", db_index=False
    )
    email = models.CharField(_("email"), max_length=320, blank=True)
    email_normalized = models.CharField(max_length=320, blank=True)
    name = models.CharField(_("name"), max_length=300, blank=True)
    company = models.CharField(_("company"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    mql_at = models.DateTimeField(_("MQL at"), null=True, blank=True)
    sql_at = models.DateTimeField(_("SQL at"), null=True, blank=True)
    disqualified_at = models.DateTimeField(_("disqualified at"), null=True, blank=True)
    disqualify_reason = models.CharField(
        _("disqualify reason"), max_length=30, blank=True, choices=DisqualifyReason.choices
    )
    disqualify_reason_text = models.CharField(
        _("disqualify reason as sent"), max_length=200, blank=True
    )
    lead_score = models.IntegerField(_("lead score"), null=True, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    company_size = models.CharField(_("company size"), max_length=50, blank=True)
    owner = models.CharField(_("owner"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("source person record")
        verbose_name_plural = _("source person records")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="sourceperson_unique_external_id"
            ),
        ]
        indexes = [models.Index(fields=["person", "created_at"], name="sourceperson_person")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class StageEntry(models.Model):
    """History: every stage entry ever observed, so re-qualifications are kept (spec 2).

    A person's stage date is the earliest entry of the basis (source or rules) the ops
    admin chose for that stage.
    """

    # Both foreign keys are indexed as the leading column of an index below.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="stage_entries", db_index=False
    )
    source_record = models.ForeignKey(
        SourcePerson,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="stage_entries",
        db_index=False,
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    basis = models.CharField(
        _("basis"), max_length=10, choices=QualificationMode.choices, default="source"
    )
    entered_at = models.DateTimeField(_("entered at"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stage entry")
        verbose_name_plural = _("stage history")
        constraints = [
            models.UniqueConstraint(
                fields=["source_record", "stage", "basis", "entered_at"],
                name="stageentry_unique",
            ),
            models.CheckConstraint(
                condition=_in_choices("stage", Stage), name="stageentry_stage_valid"
            ),
            models.CheckConstraint(
                condition=_in_choices("basis", QualificationMode), name="stageentry_basis_valid"
            ),
        ]
        indexes = [models.Index(fields=["person", "stage"], name="stageentry_person_stage")]

    def __str__(self) -> str:
        return f"{self.stage} at {self.entered_at:%Y-%m-%d %H:%M}"


class Opportunity(models.Model):
    """An SFA opportunity (商談). Its primary person is resolved by ingest (spec section 2)."""

    # No index of its own: the unique (source, external id) index leads with it, and a
    # second one lures the planner into scanning a whole source during bulk imports.
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="opportunities", db_index=False
    )
    external_id = KeyField(_("external id"), max_length=200)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    person_external_id = models.CharField(max_length=200, blank=True)
    person_email_normalized = models.CharField(max_length=320, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    name = models.CharField(_("name"), max_length=300, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    created_at = models.DateTimeField(_("created at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=OpportunityStatus.choices)
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    loss_reason = models.CharField(_("loss reason"), max_length=200, blank=True)
    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opportunities",
        verbose_name=_("channel in the source"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="opportunity_unique_external_id"
            ),
            models.CheckConstraint(
                condition=_in_choices("status", OpportunityStatus), name="opportunity_status_valid"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_nonneg"),
        ]
        # Like the person stage dates: what the period KPIs read beside each date, so a
        # pass over a date's range reads the index alone (only closed deals have closed_at).
        indexes = [
            models.Index(
                fields=["created_at", "closed_at", "status", "amount", "person", "channel"],
                name="opportunity_created_at",
            ),
            models.Index(
                fields=["closed_at", "created_at", "status", "amount", "person", "channel"],
                condition=Q(closed_at__isnull=False),
                name="opportunity_closed_at",
            ),
            models.Index(
                fields=["source", "person_external_id"],
                name="opportunity_person_ref",
                condition=Q(person__isnull=True),
            ),
            models.Index(
                fields=["person_email_normalized"],
                name="opportunity_person_email",
                condition=Q(person__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.source}:{self.external_id}"


class OpportunityChange(models.Model):
    """History of an opportunity's stage, status, amount and close date, one row per change."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="changes")
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=OpportunityStatus.choices)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("opportunity change")
        verbose_name_plural = _("opportunity history")
        ordering = ["opportunity", "recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.status} / {self.stage} ({self.recorded_at:%Y-%m-%d})"


class Activity(models.Model):
    """An MA activity (web visit, download, email open, ...); anonymous when person is empty."""

    # No index of its own: the unique (source, external id) index leads with it, and a
    # second one lures the planner into scanning a whole source during bulk imports.
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    external_id = KeyField(_("external id"), max_length=200)
    person = models.ForeignKey(  # indexed by activity_person_timeline
        Person,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        db_index=False,
    )
    person_external_id = models.CharField(max_length=200, blank=True)
    person_email_normalized = models.CharField(max_length=320, blank=True)
    type = models.CharField(_("type"), max_length=20, choices=ActivityType.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="activity_unique_external_id"
            ),
            models.CheckConstraint(
                condition=_in_choices("type", ActivityType), name="activity_type_valid"
            ),
        ]
        indexes = [
            # The one count by type (web visits in a period, kpi-spec): a partial index of
            # those rows sorts timestamps alone; (type, occurred_at) over every activity
            # was the slowest index an import builds.
            models.Index(
                fields=["occurred_at"],
                name="activity_web_visit_occurred",
                condition=Q(type=ActivityType.WEB_VISIT),
            ),
            models.Index(fields=["person", "occurred_at"], name="activity_person_timeline"),
            # Only unlinked rows wait for their person: small partial indexes.
            models.Index(
                fields=["source", "person_external_id"],
                name="activity_person_ref",
                condition=Q(person__isnull=True),
            ),
            models.Index(
                fields=["person_email_normalized"],
                name="activity_person_email",
                condition=Q(person__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.occurred_at:%Y-%m-%d %H:%M}"


class CostEntry(models.Model):
    """Marketing cost of a day (or a month, dated on its first day) for a channel/campaign."""

    # No index of its own: the unique (source, external id) index leads with it, and a
    # second one lures the planner into scanning a whole source during bulk imports.
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="costs", db_index=False
    )
    date = models.DateField(_("date"))
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="costs")
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("cost entry")
        verbose_name_plural = _("cost entries")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "date", "channel", "campaign"], name="costentry_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="costentry_amount_nonneg"),
        ]
        indexes = [models.Index(fields=["date"], name="costentry_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.channel_id} {self.amount}"


class Target(models.Model):
    """A target for one KPI of one period (spec section 5); the won_amount target is T."""

    period = models.CharField(_("period"), max_length=40, help_text=_("e.g. FY2026Q1"))
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    kpi = models.CharField(_("KPI"), max_length=40, choices=[(key, key) for key in PERIOD_KPI_KEYS])
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4)
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="targets"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.UniqueConstraint(fields=["period", "kpi"], name="target_unique_period_kpi"),
            models.CheckConstraint(
                condition=_in_choices("kpi", PERIOD_KPI_KEYS), name="target_kpi_valid"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="target_value_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.kpi} = {self.value}"


class TreeOverride(models.Model):
    """A hand-set input of the KPI tree for one period (spec section 5: overrides)."""

    class Input(models.TextChoices):
        AVERAGE_DEAL_SIZE = "average_deal_size", _("Average deal size")
        CPA = "cpa", _("CPA")
        R_LEAD_MQL = "r_lead_mql", _("Lead → MQL rate")
        R_MQL_SQL = "r_mql_sql", _("MQL → SQL rate")
        R_SQL_OPP = "r_sql_opp", _("SQL → opportunity rate")
        R_OPP_WON = "r_opp_won", _("Opportunity → won rate")

    period = models.CharField(_("period"), max_length=40)
    input = models.CharField(_("input"), max_length=30, choices=Input.choices)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=6)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("KPI tree override")
        verbose_name_plural = _("KPI tree overrides")
        constraints = [
            models.UniqueConstraint(fields=["period", "input"], name="treeoverride_unique"),
            models.CheckConstraint(condition=Q(value__gte=0), name="treeoverride_value_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.input} = {self.value}"


class CompanyHoliday(models.Model):
    """A company day off on top of the national holidays (for the MQL follow-up SLA)."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("company holiday")
        verbose_name_plural = _("company holidays")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class QualificationSetting(models.Model):
    """Per stage (MQL, SQL): take dates from the source or compute them from agreed rules."""

    stage = models.CharField(
        _("stage"),
        max_length=10,
        unique=True,
        choices=[(Stage.MQL.value, Stage.MQL.label), (Stage.SQL.value, Stage.SQL.label)],
    )
    mode = models.CharField(
        _("mode"), max_length=10, choices=QualificationMode.choices, default="source"
    )

    class Meta:
        verbose_name = _("qualification setting")
        verbose_name_plural = _("qualification settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(stage__in=["mql", "sql"]), name="qualification_stage_valid"
            ),
            models.CheckConstraint(
                condition=_in_choices("mode", QualificationMode), name="qualification_mode_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage}: {self.mode}"


class DataVersion(models.Model):
    """One slot of the data version (funnel/data_version.py): the number of committed
    writes its writers made to the tables the numbers read. The version is the sum."""

    slot = models.PositiveSmallIntegerField(primary_key=True)
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("data version slot")
        verbose_name_plural = _("data version slots")

    def __str__(self) -> str:
        return f"{self.slot}: {self.version}"
